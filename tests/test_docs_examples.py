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


def test_quickstart_script_runs(tmp_path: Path) -> None:
    (script,) = python_blocks(DOCS / "quickstart.md")
    path = tmp_path / "quickstart.py"
    path.write_text(script)
    result = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
