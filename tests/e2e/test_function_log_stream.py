"""Function logs against a real `syncline dev`: the official `npx convex logs` (tailing and
`--history N`), `/api/stream_function_logs` and `/api/logs` across a restart, the count and
age bounds, and batched writes (syncline/system/function_logs.py, server/log_stream_api.py)."""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import JS_DIR, Server, copy_app, start_server

CLI = JS_DIR / "node_modules" / "convex" / "bin" / "main.js"
WAIT_S = 60  # how long a test waits for something due before it fails
LOG_FILE = "function_logs.sqlite3"


def _need_cli() -> str:
    node = shutil.which("node")
    if node is None or not CLI.is_file():
        pytest.fail("node and tests/js/node_modules (npm ci --prefix tests/js) are needed")
    return node


def cli_env(server: Server, admin_key: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEX_")}
    env.update(CONVEX_SELF_HOSTED_URL=server.url,
               CONVEX_SELF_HOSTED_ADMIN_KEY=admin_key or server.admin_key, NO_COLOR="1")
    return env


class Tail:
    """A running `npx convex logs`: its stdout read line by line on a thread."""

    def __init__(self, server: Server, workdir: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [_need_cli(), str(CLI), "logs", *args], cwd=workdir, env=cli_env(server),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def read_until(self, text: str) -> list[str]:
        """The lines printed so far, once one containing `text` is among them."""
        deadline = time.monotonic() + WAIT_S
        while not any(text in line for line in self.lines):
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"`convex logs` did not print {text!r} within {WAIT_S} s; "
                            f"output:\n" + "\n".join(self.lines))
            if line is None:
                pytest.fail(f"`convex logs` exited {self.process.wait()} before printing "
                            f"{text!r}; output:\n" + "\n".join(self.lines))
            self.lines.append(line)
        return self.lines

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def tail_of(tmp_path: Path) -> Iterator[Any]:
    tails: list[Tail] = []

    def start(server: Server, *args: str) -> Tail:
        workdir = tmp_path / f"cli{len(tails)}"
        workdir.mkdir()
        tails.append(Tail(server, workdir, *args))
        return tails[-1]

    try:
        yield start
    finally:
        for tail in tails:
            tail.stop()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers a test starts (one after another, on the same app); all stopped at the end."""
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def start(servers: list[Server], app_dir: Path) -> Server:
    servers.append(start_server(app_dir))
    return servers[-1]


def admin_get(server: Server, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", params=params, timeout=WAIT_S + 30,
                     headers={"Authorization": f"Convex {server.admin_key}"})


def status(server: Server) -> dict[str, Any]:
    response = admin_get(server, "/api/logs/status")
    assert response.status_code == 200, response.text
    return response.json()


def say(server: Server, text: str) -> None:
    assert server.run("query", "logged:say", {"text": text})["status"] == "success"


def rows_on_disk(app_dir: Path) -> int:
    with sqlite3.connect(app_dir / ".syncline" / LOG_FILE) as conn:
        return conn.execute("SELECT count(*) FROM entries").fetchone()[0]


def wait_for_long_polls(server: Server, count: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while status(server)["longPolls"] < count:
        if time.monotonic() > deadline:
            pytest.fail(f"no {count} long poll(s) waiting after {WAIT_S} s")
        time.sleep(0.05)


# -- the official CLI --------------------------------------------------------------------


def test_convex_logs_shows_calls_made_after_it_started(tmp_path, servers, tail_of) -> None:
    server = start(servers, copy_app("function_logs", tmp_path))
    say(server, "before the tail")
    tail = tail_of(server)
    wait_for_long_polls(server, 1)  # its first poll (the history) is done: it tails now
    assert server.run("mutation", "logged:note", {"text": "first"})["status"] == "success"
    server.run("action", "logged:shout", {"text": "loud"})
    server.run("mutation", "logged:fail", {})
    lines = tail.read_until("broken on purpose")
    text = "\n".join(lines)
    assert "[CONVEX M(logged:note)] [LOG] noted first" in text
    assert "[CONVEX A(logged:shout)] [LOG] shouted loud" in text
    assert "[CONVEX Q(logged:say)] [LOG] said loud" in text  # the action's nested query
    assert "[CONVEX M(logged:fail)] Uncaught ValueError: broken on purpose" in text
    assert "before the tail" not in text  # only calls after it started, without --history
    assert tail.process.poll() is None  # it tails on


def test_convex_logs_history_shows_the_last_n(tmp_path, servers, tail_of) -> None:
    server = start(servers, copy_app("function_logs", tmp_path))
    for i in range(6):
        say(server, f"h{i}")
    lines = tail_of(server, "--history", "2").read_until("said h5")
    text = "\n".join(lines)
    assert "[CONVEX Q(logged:say)] [LOG] said h4" in text
    assert not any(f"said h{i}" in text for i in range(4))
    # --success adds a line per successful execution ("Completion" entries).
    lines = tail_of(server, "--history", "2", "--success").read_until("said h5")
    assert "[CONVEX Q(logged:say)] Function executed in" in "\n".join(lines)


def test_convex_logs_with_a_wrong_admin_key_stops_with_the_reason(tmp_path, servers) -> None:
    server = start(servers, copy_app("function_logs", tmp_path))
    result = subprocess.run([_need_cli(), str(CLI), "logs"], cwd=tmp_path,
                            env=cli_env(server, admin_key="syncline-local|" + "0" * 64),
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=WAIT_S)
    assert result.returncode != 0
    assert "admin key" in result.stdout + result.stderr


# -- the stream endpoint -------------------------------------------------------------------


def test_stream_entries_have_convex_shapes(tmp_path, servers) -> None:
    server = start(servers, copy_app("function_logs", tmp_path))
    server.run("action", "logged:shout", {"text": "x"})
    server.run("mutation", "logged:fail", {})
    page = admin_get(server, "/api/stream_function_logs", cursor=0).json()
    query, action, failed = page["entries"]
    assert query["kind"] == "Completion" and query["udfType"] == "Query"
    assert query["identifier"] == "logged:say" and query["logLines"] == ["[LOG] said x"]
    assert action["udfType"] == "Action" and action["logLines"] == ["[LOG] shouted x"]
    assert failed["udfType"] == "Mutation" and "broken on purpose" in failed["error"]
    assert query["error"] is None
    for entry in page["entries"]:
        # seconds, not milliseconds: within a day of now
        assert abs(entry["timestamp"] - time.time()) < 86_400
        assert 0 <= entry["executionTime"] < 3_600
    assert page["newCursor"] > 0
    bad = admin_get(server, "/api/stream_function_logs", cursor="1_0")
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidCursor"
    anonymous = httpx.get(f"{server.url}/api/stream_function_logs?cursor=0", timeout=30)
    assert anonymous.status_code == 403 and "admin key" in anonymous.json()["message"]


def test_a_long_poll_answers_with_the_next_call(tmp_path, servers) -> None:
    server = start(servers, copy_app("function_logs", tmp_path))
    cursor = admin_get(server, "/api/stream_function_logs", cursor=0).json()["newCursor"]
    answers: queue.Queue[httpx.Response] = queue.Queue()
    threading.Thread(target=lambda: answers.put(admin_get(
        server, "/api/stream_function_logs", cursor=cursor)), daemon=True).start()
    wait_for_long_polls(server, 1)
    say(server, "wake up")
    page = answers.get(timeout=WAIT_S).json()
    assert [e["logLines"] for e in page["entries"]] == [["[LOG] said wake up"]]
    assert page["newCursor"] > cursor


def test_stopping_the_server_ends_a_waiting_long_poll(tmp_path, servers) -> None:
    """A long poll (30 s) must not hold up the stop: without release_waiters the server
    is still waiting when Server.stop gives up after 15 s and kills it."""
    server = start(servers, copy_app("function_logs", tmp_path))
    cursor = admin_get(server, "/api/stream_function_logs", cursor=0).json()["newCursor"]

    def poll() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the stop may cut it off
            admin_get(server, "/api/stream_function_logs", cursor=cursor)

    threading.Thread(target=poll, daemon=True).start()
    wait_for_long_polls(server, 1)
    assert server.stop() == 0


# -- persistence and bounds ----------------------------------------------------------------


def test_logs_survive_a_restart(tmp_path, servers, tail_of) -> None:
    app = copy_app("function_logs", tmp_path)
    server = start(servers, app)
    for i in range(4):
        say(server, f"r{i}")
    before = admin_get(server, "/api/logs", history=10).json()["records"]
    stream_before = admin_get(server, "/api/stream_function_logs", cursor=0).json()["entries"]
    middle = admin_get(server, "/api/stream_function_logs", cursor=0).json()
    assert server.stop() == 0

    server = start(servers, app)
    assert admin_get(server, "/api/logs", history=10).json()["records"] == before
    assert [r["seq"] for r in before] == [1, 2, 3, 4]
    assert admin_get(server, "/api/stream_function_logs", cursor=0).json()["entries"] == (
        stream_before)
    # A cursor from before the restart goes on where it was.
    say(server, "r4")
    page = admin_get(server, "/api/stream_function_logs", cursor=middle["newCursor"]).json()
    assert [e["logLines"] for e in page["entries"]] == [["[LOG] said r4"]]
    assert admin_get(server, "/api/logs", after=4).json()["records"][0]["seq"] == 5
    # And the official CLI shows them.
    lines = tail_of(server, "--history", "3").read_until("said r4")
    assert any("[CONVEX Q(logged:say)] [LOG] said r2" in line for line in lines)


def test_the_count_bound_holds_in_memory_and_on_disk(tmp_path, servers, monkeypatch) -> None:
    monkeypatch.setenv("SYNCLINE_FUNCTION_LOGS_MAX", "5")
    app = copy_app("function_logs", tmp_path)
    server = start(servers, app)
    for i in range(12):
        say(server, f"c{i}")
    assert status(server)["entries"] == 5
    records = admin_get(server, "/api/logs", history=100).json()["records"]
    assert [r["seq"] for r in records] == list(range(8, 13))
    assert len(admin_get(server, "/api/stream_function_logs", cursor=0).json()["entries"]) == 5
    assert server.stop() == 0
    assert rows_on_disk(app) == 5


def test_the_age_bound_drops_old_entries_at_start(tmp_path, servers) -> None:
    app = copy_app("function_logs", tmp_path)
    server = start(servers, app)
    for i in range(5):
        say(server, f"a{i}")
    assert server.stop() == 0
    week_and_a_day_ms = 8 * 24 * 3_600_000
    with sqlite3.connect(app / ".syncline" / LOG_FILE) as conn:  # age the first three
        conn.execute("UPDATE entries SET ts_ms = ts_ms - ? WHERE seq <= 3", (week_and_a_day_ms,))

    server = start(servers, app)  # the default retention is 7 days
    records = admin_get(server, "/api/logs", history=100).json()["records"]
    assert [r["seq"] for r in records] == [4, 5]
    assert status(server)["entries"] == 2
    assert rows_on_disk(app) == 2


def test_calls_are_written_in_batches_not_one_by_one(tmp_path, servers, monkeypatch) -> None:
    monkeypatch.setenv("SYNCLINE_FUNCTION_LOGS_FLUSH_S", "3600")
    app = copy_app("function_logs", tmp_path)
    server = start(servers, app)
    for i in range(40):
        say(server, f"b{i}")
    state = status(server)
    assert state["writeBatches"] == 0 and state["pending"] == 40 and state["entries"] == 40
    assert rows_on_disk(app) == 0
    assert server.stop() == 0  # a clean stop writes what waits, in one batch
    assert rows_on_disk(app) == 40
