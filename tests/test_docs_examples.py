"""The examples in docs/ run and their assertions hold: documentation that lies fails CI."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
SESSION_PAGES = ["values.md", "schema.md", "database.md"]


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), re.S)


@pytest.mark.parametrize("name", SESSION_PAGES)
def test_page_examples_run_in_order_as_one_session(name: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(DOCS / name)
    assert blocks, f"{name} has no python examples"
    code = "async def _session():\n" + textwrap.indent("\n".join(blocks), "    ") + "\n"
    namespace: dict = {}
    exec(compile(code, str(DOCS / name), "exec"), namespace)  # noqa: S102 - our own docs
    asyncio.run(namespace["_session"]())


def test_embedded_engine_script_runs(tmp_path: Path) -> None:
    (script,) = python_blocks(DOCS / "embedded-engine.md")
    path = tmp_path / "quickstart.py"
    path.write_text(script)
    result = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def write_app_blocks(page: Path, app_dir: Path) -> list[str]:
    """Write the page's `# convex/<file>.py` blocks as an app; return their paths."""
    written = []
    for block in python_blocks(page):
        first, _, _ = block.partition("\n")
        match = re.fullmatch(r"# (convex/[\w/]+\.py)", first.strip())
        if match:
            target = app_dir / match.group(1)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block)
            written.append(match.group(1))
    return written


async def test_functions_page_app_loads_and_behaves_as_described(tmp_path: Path) -> None:
    from syncline.server.deployment import Deployment

    written = write_app_blocks(DOCS / "functions.md", tmp_path / "app")
    assert "convex/messages.py" in written and "convex/errors_demo.py" in written
    deployment = Deployment(tmp_path / "app", data_dir=tmp_path / "data")
    try:
        await deployment.push()
        run = deployment.runner.run
        channel = await deployment.db.run_transaction(_insert_channel)
        sent = await run("messages:send", {"channel": channel, "author": "ada",
                                           "body": "  hello   there "})
        assert sent.ok, sent.failure
        listed = await run("messages:list", {"channel": channel})
        assert listed.value[0]["body"] == "hello there"
        empty = await run("messages:send", {"channel": channel, "author": "ada", "body": " "})
        assert empty.failure.data == {"code": "EMPTY", "message": "Say something"}
        assert (await run("errors_demo:relay", {})).value == "FORBIDDEN"
    finally:
        deployment.close()


async def _insert_channel(tx):
    return await tx.insert("channels", {"name": "general"})
