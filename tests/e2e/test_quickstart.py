"""docs/quickstart.md, followed literally in a fresh virtual environment.

The commands are read from the page, so the page and this test cannot drift apart: a
fresh `python -m venv`, the page's install command in a copy of this checkout (pip
fetches the dependencies), `syncline init`, `syncline dev`, every `syncline run` and the
curl call, the JavaScript snippet (with the official `convex` npm package from tests/js),
the function the page adds, the page's test command, and `syncline serve`.

The only changes made to the page's commands: servers listen on free ports (`--port 0`)
and on loopback, and URLs in commands point at the port the server got; `serve` keeps
its data in a temp folder instead of /var/lib.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "quickstart.md"
JS_DIR = REPO / "tests" / "js"
DOC_URL = "http://127.0.0.1:3210"  # what the page's commands call
COPY_IGNORED = shutil.ignore_patterns(
    ".git", "__pycache__", ".syncline", "node_modules", "*.egg-info", "build", "dist", ".venv",
    ".pytest_cache", ".ruff_cache", ".hypothesis", "results")


# -- the page ---------------------------------------------------------------------------------


def sections() -> dict[str, str]:
    """The page's `## ` sections by title."""
    parts = re.split(r"^## +(.+)$", PAGE.read_text(), flags=re.M)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def blocks(body: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", body, re.S)


def commands(body: str) -> list[str]:
    """The shell commands of a section's bash blocks, one per line, comments dropped."""
    lines = [line for block in blocks(body, "bash") for line in block.splitlines()]
    return [shlex.join(shlex.split(line, comments=True)) if "&&" not in line else line.strip()
            for line in lines if line.strip()]


# -- processes --------------------------------------------------------------------------------


@dataclass
class Venv:
    path: Path
    env: dict[str, str]

    def sh(self, command: str, cwd: Path, *, timeout: float = 600,
           check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one of the page's command lines with bash, as a user's shell would."""
        result = subprocess.run(["bash", "-c", command], cwd=cwd, env=self.env, text=True,
                                capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check:
            assert result.returncode == 0, (
                f"`{command}` in {cwd} exited {result.returncode}\nstdout:\n{result.stdout}"
                f"\nstderr:\n{result.stderr}")
        return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Venv:
    """A fresh virtual environment (no access to this interpreter's packages)."""
    path = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "PYTEST", "VIRTUAL_ENV", "SYNCLINE_", "CONVEX_"))}
    env.update(VIRTUAL_ENV=str(path), PATH=f"{path / 'bin'}{os.pathsep}{env.get('PATH', '')}",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONUNBUFFERED="1")
    return Venv(path, env)


def with_option(argv: list[str], option: str, value: str) -> list[str]:
    """`argv` with `option` set to `value` (replaced if present, else appended)."""
    if option in argv:
        i = argv.index(option)
        return [*argv[:i + 1], value, *argv[i + 2:]]
    return [*argv, option, value]


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    log: Path


def start_server(venv: Venv, command: str, cwd: Path, data_dir: Path | None) -> Server:
    """Start the page's `syncline dev|serve` command in the background, on free ports."""
    argv = shlex.split(command)
    argv = with_option(with_option(argv, "--port", "0"), "--site-port", "0")
    if "--host" in argv:
        argv = with_option(argv, "--host", "127.0.0.1")
    if data_dir is not None and "--data-dir" in argv:
        argv = with_option(argv, "--data-dir", str(data_dir))
    app_dir = cwd / argv[2]
    record = app_dir / ".syncline" / "deployment.json"
    record.unlink(missing_ok=True)
    log = cwd / f"{argv[1]}.log"
    with log.open("w") as out:
        process = subprocess.Popen(argv, cwd=cwd, env=venv.env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   text=True)
    server = Server(process, "", log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"`{command}` exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"`{command}` did not start:\n{log.read_text()}"
            try:
                server.url = json.loads(record.read_text())["url"]
                if httpx.get(f"{server.url}/version", timeout=1).status_code == 200:
                    return server
            except (OSError, ValueError, KeyError, httpx.HTTPError):
                pass
            time.sleep(0.1)
    except BaseException:
        stop_server(server)
        raise


def stop_server(server: Server) -> None:
    """SIGTERM (the server stops cleanly on it), then kill if it has not stopped."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def until_it_answers(venv: Venv, command: str, cwd: Path) -> str:
    """Run `command` until it succeeds: `syncline dev` pushes a saved file moments later."""
    deadline = time.monotonic() + 60
    while True:
        result = venv.sh(command, cwd, check=False)
        if result.returncode == 0:
            return result.stdout
        assert time.monotonic() < deadline, f"`{command}` kept failing:\n{result.stderr}"
        time.sleep(0.2)


# -- the walk-through --------------------------------------------------------------------------


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Every server the test starts, stopped afterwards whatever happens."""
    started: list[Server] = []
    yield started
    for server in started:
        stop_server(server)


def test_the_quickstart_works_in_a_fresh_venv(venv, servers, tmp_path):
    page = sections()
    # Install: the page's command, in a copy of this checkout (pip writes build files there).
    checkout = tmp_path / "syncline"
    shutil.copytree(REPO, checkout, ignore=COPY_IGNORED)
    install = commands(page["Install"])
    assert install == ["pip install -e ."], install
    for command in install:
        venv.sh(command, checkout)
    workspace = tmp_path / "workspace"
    workspace.mkdir()

    # Create an app and run it: `syncline init my-app`, then `syncline dev my-app`.
    create = commands(page["Create an app and run it"])
    assert [c.split()[:2] for c in create] == [["syncline", "init"], ["syncline", "dev"]], create
    venv.sh(create[0], workspace)
    app = workspace / shlex.split(create[0])[2]
    dev = start_server(venv, create[1], workspace, None)
    servers.append(dev)

    # Call your functions: "From a second terminal, in `my-app`".
    calls = page["Call your functions"]
    assert "in `my-app`" in calls and app.name == "my-app"
    outputs = []
    for command in commands(calls):
        assert command.startswith(("syncline ", "curl ")), command
        outputs.append(venv.sh(command.replace(DOC_URL, dev.url), app).stdout)
    assert any(DOC_URL in c for c in commands(calls))  # the curl call was on the page
    curl = json.loads(outputs[-1])
    assert curl["status"] == "success", curl
    assert "Write docs" in [task["text"] for task in curl["value"]]

    # ... and from JavaScript, with the official `convex` npm package.
    [snippet] = blocks(calls, "js")
    node = shutil.which("node")
    assert node is not None, "Node.js is needed for the quickstart's JavaScript step"
    assert (JS_DIR / "node_modules" / "convex").is_dir(), "run `npm ci --prefix tests/js`"
    js = tmp_path / "js"
    js.mkdir()
    (js / "node_modules").symlink_to(JS_DIR / "node_modules", target_is_directory=True)
    (js / "quickstart.mjs").write_text(snippet.replace(DOC_URL, dev.url))
    result = subprocess.run([node, "quickstart.mjs"], capture_output=True, text=True,
                            timeout=120, cwd=js, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "Write docs" in result.stdout

    # Write a function: add the page's code to convex/tasks.py; `syncline run` answers.
    write = page["Write a function"]
    [code] = blocks(write, "python")
    tasks = app / "convex" / "tasks.py"
    tasks.write_text(tasks.read_text() + "\n\n" + code)
    [run] = re.findall(r"`(syncline run [^`]+)`", write)
    open_tasks = json.loads(until_it_answers(venv, run, app))
    listed = json.loads(venv.sh("syncline run tasks:list", app).stdout)
    assert open_tasks == sum(not task["is_completed"] for task in listed) > 0
    assert "From JS" in [task["text"] for task in listed]
    stop_server(dev)

    # Test it: the page's one command passes, with nothing else installed.
    [test_command] = commands(page["Test it"])
    result = venv.sh(test_command, workspace)
    assert re.search(r"\b\d+ passed\b", result.stdout) and "failed" not in result.stdout, (
        result.stdout)

    # Production: `syncline serve` serves the app.
    [serve] = commands(page["Production"])
    assert serve.startswith("syncline serve "), serve
    prod = start_server(venv, serve, workspace, tmp_path / "prod-data")
    servers.append(prod)
    response = httpx.post(f"{prod.url}/api/query", timeout=30,
                          json={"path": "tasks:list", "args": {}, "format": "json"})
    assert response.json()["status"] == "success" and response.json()["value"] == []
