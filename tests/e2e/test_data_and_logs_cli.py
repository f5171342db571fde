"""`syncline data` and `syncline logs`, and the admin API behind them, against a real server."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import Server, copy_app, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_app("basic", tmp_path_factory.mktemp("data")))
    for body in ("first", "second", "third"):
        result = server.run("mutation", "messages:send", {"author": "ada", "body": body})
        assert result["status"] == "success", result
    yield server
    server.stop()


def cli(*args: str, cwd: Path | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("SYNCLINE_URL", "CONVEX_URL", "SYNCLINE_ADMIN_KEY", "CONVEX_ADMIN_KEY")}
    return subprocess.run([sys.executable, "-m", "syncline.cli.main", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**clean, "COLUMNS": "200"})


def get(server: Server, path: str, *, admin: bool = True, **params) -> httpx.Response:
    headers = {"Authorization": f"Convex {server.admin_key}"} if admin else {}
    return httpx.get(f"{server.url}{path}", params=params, headers=headers, timeout=30)


def test_data_lists_tables_with_counts(server):
    result = cli("data", "--dir", str(server.app_dir))
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]}
    assert rows == {"counters": "0", "messages": "3"}  # counters: in the schema, still empty
    assert get(server, "/api/data/tables").json() == {"tables": [
        {"name": "counters", "documents": 0}, {"name": "messages", "documents": 3}]}


def test_data_shows_newest_documents_first(server):
    result = cli("data", "messages", "--limit", "2", "--dir", str(server.app_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["_id", "_creationTime", "author", "body"]
    assert [line.split()[-1] for line in lines[1:]] == ["THIRD", "SECOND"]
    assert "Showing the 2 newest documents" in result.stderr

    oldest = cli("data", "messages", "--order", "asc", "--dir", str(server.app_dir))
    assert oldest.returncode == 0, oldest.stderr
    assert [line.split()[-1] for line in oldest.stdout.splitlines()[1:]] == [
        "FIRST", "SECOND", "THIRD"]
    assert "Showing" not in oldest.stderr

    as_json = cli("data", "messages", "--format", "jsonl", "--limit", "1",
                  "--dir", str(server.app_dir))
    assert as_json.returncode == 0, as_json.stderr
    assert '"body":"THIRD"' in as_json.stdout

    system = cli("data", "_storage", "--dir", str(server.app_dir))
    assert system.returncode == 0, system.stderr
    assert "no documents in _storage" in system.stdout


def test_documents_api_pages_and_validates(server):
    first = get(server, "/api/data/documents", table="messages", limit=2).json()
    assert [doc["body"] for doc in first["documents"]] == ["THIRD", "SECOND"]
    assert first["isDone"] is False
    rest = get(server, "/api/data/documents", table="messages", limit=2,
               cursor=first["cursor"]).json()
    assert [doc["body"] for doc in rest["documents"]] == ["FIRST"]
    assert rest["isDone"] is True

    missing = get(server, "/api/data/documents", table="nope")
    assert missing.status_code == 404
    assert "no table named 'nope'" in missing.json()["message"]
    for params in ({"limit": "0"}, {"limit": "x"}, {"order": "up"}, {"cursor": "garbage"}):
        response = get(server, "/api/data/documents", table="messages", **params)
        assert response.status_code == 400, (params, response.text)


def test_data_unknown_table_is_an_error(server):
    result = cli("data", "nope", "--dir", str(server.app_dir))
    assert result.returncode == 1
    assert "There is no table named 'nope'" in result.stderr
    assert "counters, messages" in result.stderr


def test_logs_history_shows_log_lines_and_failures(server):
    assert server.run("query", "messages:list")["status"] == "success"
    failed = server.run("mutation", "messages:fail_after_write")
    assert failed["status"] == "error"
    result = cli("logs", "--history", "5", "--once", "--dir", str(server.app_dir))
    assert result.returncode == 0, result.stderr
    assert "[CONVEX Q(messages:list)] [LOG] listing messages" in result.stdout
    assert "[CONVEX M(messages:fail_after_write)] Uncaught ValueError: exploded after writing" \
        in result.stderr
    failure = get(server, "/api/logs", history=1).json()["records"][-1]
    assert failure["success"] is False and failure["path"] == "messages:fail_after_write"
    assert f"[Request ID: {failure['requestId']}]" in result.stderr
    # Successful executions that logged nothing are shown only with --success.
    assert "messages:send" not in result.stdout + result.stderr

    with_success = cli("logs", "--history", "5", "--once", "--success",
                       "--dir", str(server.app_dir))
    assert with_success.returncode == 0, with_success.stderr
    sends = [line for line in with_success.stdout.splitlines()
             if line.startswith("[CONVEX M(messages:send)] Function executed in")]
    assert sends and all("[Request ID: " in line for line in sends)


def test_logs_api_polls_after_a_sequence_number(server):
    latest = get(server, "/api/logs").json()
    assert latest["records"] == []  # no history asked for: start from now
    cursor = latest["cursor"]
    assert server.run("query", "greet", {"name": "log"})["status"] == "success"
    page = get(server, "/api/logs", after=cursor).json()
    assert [(r["seq"], r["path"], r["kind"], r["success"]) for r in page["records"]] == [
        (cursor + 1, "greet:default", "query", True)]
    assert page["cursor"] == cursor + 1
    assert get(server, "/api/logs", after=page["cursor"]).json()["records"] == []
    limited = get(server, "/api/logs", after=0, limit=2).json()
    assert [r["seq"] for r in limited["records"]] == [1, 2] and limited["cursor"] == 2
    # A cursor from before a restart (ahead of the log) starts again from the oldest record.
    assert get(server, "/api/logs", after=10**9).json()["records"][0]["seq"] == 1
    assert get(server, "/api/logs", limit=0).status_code == 400


def start_tail(server: Server, sigint: signal.Handlers) -> subprocess.Popen[str]:
    """`syncline logs --success` with SIGINT in the given state. The state is set by a
    parent that then execs the CLI, as a shell or supervisor would: an ignored signal
    stays ignored across exec (`nohup`, background jobs, pytest without a terminal)."""
    command = [sys.executable, "-m", "syncline.cli.main", "logs", "--success",
               "--dir", str(server.app_dir)]
    launcher = (f"import os, signal, sys; signal.signal(signal.SIGINT, signal.{sigint.name}); "
                f"os.execv(sys.executable, {command!r})")
    return subprocess.Popen([sys.executable, "-c", launcher], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def tail_until_a_call_shows(server: Server, process: subprocess.Popen[str]) -> list[str]:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout],
                     daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + 20
    # Call until the tail shows a call: the first may run before the CLI has started.
    while not any("greet:default" in line for line in seen):
        assert time.monotonic() < deadline, f"nothing tailed: {seen}"
        assert server.run("query", "greet", {"name": "tail"})["status"] == "success"
        with contextlib.suppress(queue.Empty):
            seen.append(lines.get(timeout=1))
    return seen


def stop(process: subprocess.Popen[str], how: signal.Signals) -> tuple[int | None, str]:
    """Send `how`; (exit status, stderr), or (None, ...) if it did not stop (then killed)."""
    try:
        process.send_signal(how)
        try:
            _, err = process.communicate(timeout=15)
            return process.returncode, err
        except subprocess.TimeoutExpired:
            return None, f"still running 15 s after {how.name}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_logs_tails_until_interrupted(server):
    process = start_tail(server, signal.Handlers.SIG_DFL)
    try:
        seen = tail_until_a_call_shows(server, process)
    finally:
        status, err = stop(process, signal.SIGINT)  # Ctrl+C
    assert status == 0, err
    assert seen[0].startswith("[CONVEX Q(greet:default)] Function executed in ")
    assert not any("messages:send" in line for line in seen)  # only what ran after it started


def test_logs_tail_stops_on_sigterm_when_sigint_is_ignored(server):
    process = start_tail(server, signal.Handlers.SIG_IGN)
    try:
        tail_until_a_call_shows(server, process)
    finally:
        status, err = stop(process, signal.SIGTERM)
    assert status == 0, err


def test_endpoints_need_the_admin_key(server):
    for path, params in [("/api/data/tables", {}), ("/api/data/documents", {"table": "messages"}),
                         ("/api/logs", {"history": "5"})]:
        response = get(server, path, admin=False, **params)
        assert response.status_code == 401, path
        assert response.json()["code"] == "Unauthorized"
        wrong = httpx.get(f"{server.url}{path}", params=params, timeout=30,
                          headers={"Authorization": "Convex not-the-key"})
        assert wrong.status_code == 401, path
