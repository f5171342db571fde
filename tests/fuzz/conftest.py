"""One real `syncline serve` process per fuzz module (tests/fuzz/apps/fuzz)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, start_server

APP = Path(__file__).parent / "apps" / "fuzz"
FUNCTIONS = ["fuzz:ping", "fuzz:echo", "fuzz:typed", "fuzz:lookup", "fuzz:get", "fuzz:page",
             "fuzz:store", "fuzz:store_doc", "fuzz:fail", "fuzz:fail_nested", "fuzz:echo_action",
             "fuzz:noop"]


class Client:
    """The module's server, with a log cursor so each example sees only its own lines."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=60)
        self.log_offset = 0

    def new_log(self) -> str:
        text = self.server.output()
        new, self.log_offset = text[self.log_offset:], len(text)
        return new

    def check_alive(self) -> None:
        """Still serving a normal query, and nothing unexpected was logged meanwhile."""
        assert self.server.process.poll() is None, self.server.output()[-3000:]
        response = self.http.post("/api/query", json={"path": "fuzz:ping", "args": {}})
        assert response.status_code == 200 and response.json()["value"] == "pong"
        log = self.new_log()
        assert "Traceback" not in log and "Internal Server Error" not in log, log[-3000:]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """A server of its own for each module, stopped when the module is done."""
    app_dir = tmp_path_factory.mktemp("fuzz-server") / "fuzz"
    shutil.copytree(APP, app_dir, ignore=shutil.ignore_patterns("__pycache__", ".syncline"))
    server = start_server(app_dir, "serve")
    try:
        fuzz_client = Client(server)
        fuzz_client.check_alive()
        yield fuzz_client
        fuzz_client.http.close()
    finally:
        server.stop()
