"""End-to-end fixtures: real `syncline` server processes on free loopback ports."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

APPS = Path(__file__).parent / "apps"


@dataclass
class Server:
    """A running `syncline dev` or `syncline serve` process."""

    process: subprocess.Popen[str]
    app_dir: Path
    url: str
    site_url: str
    admin_key: str
    log_path: Path

    def call(self, endpoint: str, body: dict, *, admin: bool = False,
             headers: dict | None = None) -> httpx.Response:
        all_headers = dict(headers or {})
        if admin:
            all_headers["Authorization"] = f"Convex {self.admin_key}"
        return httpx.post(f"{self.url}{endpoint}", json=body, headers=all_headers, timeout=30)

    def run(self, kind: str, path: str, args: dict | None = None, **kw) -> dict:
        response = self.call(f"/api/{kind}", {"path": path, "args": args or {}, "format": "json"},
                             **kw)
        assert response.status_code == 200, response.text
        return response.json()

    def output(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(app_dir: Path, mode: str = "dev", *, extra: list[str] | None = None,
                 expect_ready: bool = True, cwd: Path | None = None) -> Server:
    """Start `syncline dev|serve` on free ports (port 0) and wait until it answers."""
    log_path = app_dir.parent / f"server-{mode}-{time.monotonic_ns()}.log"
    log = log_path.open("w")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    record = app_dir / ".syncline" / "deployment.json"
    if expect_ready:
        record.unlink(missing_ok=True)  # wait for this server's own record
    process = subprocess.Popen(
        [sys.executable, "-m", "syncline.cli.main", mode, str(app_dir), "--port", "0",
         "--site-port", "0", *(extra or [])],
        stdout=log, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd,
    )
    if not expect_ready:
        return Server(process, app_dir, "", "", "", log_path)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"server did not start:\n{log_path.read_text()}")
        if record.exists():
            try:
                info = json.loads(record.read_text())
                if httpx.get(f"{info['url']}/version", timeout=1).status_code == 200:
                    break
            except (ValueError, KeyError, httpx.HTTPError):
                pass
        time.sleep(0.05)
    return Server(process, app_dir, info["url"], info["site_url"], info["admin_key"], log_path)


def copy_app(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(APPS / name, target, ignore=shutil.ignore_patterns("__pycache__", ".syncline"))
    return target


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_app("basic", tmp_path_factory.mktemp("dev")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def prod_server(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_app("basic", tmp_path_factory.mktemp("prod")), "serve")
    yield server
    server.stop()


JS_DIR = Path(__file__).resolve().parent.parent / "js"


def run_node_script(server: Server, script: str, *args: str, timeout: float = 120,
                    env: dict[str, str] | None = None) -> str:
    """Run a tests/js script against `server` (SYNCLINE_URL, SYNCLINE_ADMIN_KEY); fail with
    its output and the server log unless it exits 0. Returns its stdout."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` is not on PATH: Node.js 18+ is needed to run tests/js")
    if not (JS_DIR / "node_modules" / "convex" / "package.json").is_file():
        pytest.fail("tests/js/node_modules is missing: run `npm ci --prefix tests/js` first")
    env = {**os.environ, "SYNCLINE_URL": server.url, "SYNCLINE_ADMIN_KEY": server.admin_key,
           **(env or {})}
    try:
        result = subprocess.run([node, str(JS_DIR / script), *args], cwd=JS_DIR, env=env,
                                capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"node timed out after {timeout} s\nstdout:\n{e.stdout}\nstderr:\n"
                    f"{e.stderr}\nserver log:\n{server.output()[-5000:]}")
    assert result.returncode == 0, (
        f"node exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n"
        f"{result.stderr}\nserver log:\n{server.output()[-5000:]}")
    return result.stdout


def next_value(subscription: Any, until: Any = lambda value: True, timeout: float = 20) -> Any:
    """The subscription's next value for which `until` holds (the PyPI client may repeat an
    unchanged value after any transition), or a test failure after `timeout` seconds.

    Call it only once the update is due: the PyPI client holds the GIL while it waits,
    so nothing else in this process runs meanwhile."""
    results: queue.Queue[Any] = queue.Queue()

    def read() -> None:
        try:
            while not until(value := next(subscription)):
                pass
            results.put(("ok", value))
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            results.put(("error", e))

    threading.Thread(target=read, daemon=True).start()
    try:
        kind, value = results.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"no matching subscription update within {timeout} s")
    if kind == "error":
        raise value
    return value
