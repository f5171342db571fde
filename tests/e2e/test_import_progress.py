"""A large `syncline import` against a real server: progress from the server's work,
queries and mutations served meanwhile, Ctrl+C, and memory given back afterwards."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from .conftest import Server, copy_app, start_server

ROWS = 50_000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = start_server(copy_app("basic", tmp_path))
    try:
        yield server
    finally:
        server.stop()


def rows_file(tmp_path: Path, n: int = ROWS) -> Path:
    path = tmp_path / "messages.jsonl"
    with path.open("wb") as file:
        for i in range(n):
            file.write(orjson.dumps({"author": f"user{i}", "body": f"message number {i}"}) + b"\n")
    return path


def documents(server: Server, table: str) -> int:
    response = httpx.get(f"{server.url}/api/data/tables", timeout=30,
                         headers={"Authorization": f"Convex {server.admin_key}"})
    assert response.status_code == 200, response.text
    return next((t["documents"] for t in response.json()["tables"] if t["name"] == table), 0)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def streamed_import(server: Server, path: Path) -> Iterator[dict]:
    """The progress events of an import of `path` into `messages`, as they arrive."""
    with httpx.stream("POST", f"{server.url}/api/import",
                      params={"table": "messages", "format": "jsonl"}, content=path.read_bytes(),
                      headers={"Authorization": f"Convex {server.admin_key}",
                               "Accept": "application/x-ndjson"},
                      timeout=httpx.Timeout(10.0, read=300.0)) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.strip():
                yield orjson.loads(line)


def test_progress_is_streamed_and_queries_and_mutations_are_served_meanwhile(
        server: Server, tmp_path: Path) -> None:
    path = rows_file(tmp_path)
    log: list[str] = []  # what happened, in order
    calls: list[threading.Thread] = []

    def call(kind: str, fn: str) -> None:
        server.run(kind, fn, {"name": "during"})
        log.append(f"{kind} answered")

    for event in streamed_import(server, path):
        log.append(event["phase"])
        if event["phase"] == "importing" and event["documents"] and not calls:
            # The server is reading and checking rows: a point query and a mutation
            # sent now are answered before the import reaches its commit.
            calls = [threading.Thread(target=call, args=("query", "counter:get")),
                     threading.Thread(target=call, args=("mutation", "counter:increment"))]
            for thread in calls:
                thread.start()
            for thread in calls:
                thread.join(timeout=60)
        final = event
    assert calls, f"no progress event with documents read: {log}"
    assert final["phase"] == "committed" and final["tables"] == {"messages": ROWS}
    assert log.index("query answered") < log.index("committing")
    assert log.index("mutation answered") < log.index("committing")
    progress = [e for e in log if e == "importing"]
    assert len(progress) >= ROWS // 5_000  # one every 5,000 documents, and the first
    assert documents(server, "messages") == ROWS


def test_a_cancel_before_the_commit_writes_nothing_and_after_it_is_refused(
        server: Server, tmp_path: Path) -> None:
    path = rows_file(tmp_path)
    headers = {"Authorization": f"Convex {server.admin_key}"}

    def cancel(import_id: str) -> dict:
        response = httpx.post(f"{server.url}/api/import/cancel", params={"importId": import_id},
                              headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    # Once the commit has started, a cancel is refused and the import completes.
    answer, import_id = None, ""
    for event in streamed_import(server, path):
        import_id = event.get("importId", import_id)
        if event["phase"] == "committing" and answer is None:
            answer = cancel(import_id)
        final = event
    assert answer == {"cancelled": False, "phase": "committing"}
    assert final["phase"] == "committed" and documents(server, "messages") == ROWS

    # Before: the import stops, says so, and nothing is written (`--replace` would have
    # emptied the table first).
    events = []
    with httpx.stream("POST", f"{server.url}/api/import",
                      params={"table": "messages", "format": "jsonl", "mode": "replace"},
                      content=path.read_bytes(),
                      headers={**headers, "Accept": "application/x-ndjson"},
                      timeout=httpx.Timeout(10.0, read=300.0)) as response:
        for line in response.iter_lines():
            event = orjson.loads(line)
            events.append(event)
            if "importId" in event:
                answer = cancel(event["importId"])
    assert events[-1]["phase"] == ("cancelled" if answer["cancelled"] else "committed")
    assert answer["cancelled"], f"the import committed before the cancel: {events[-1]}"
    assert "nothing was written" in events[-1]["message"]
    assert documents(server, "messages") == ROWS
    assert server.run("query", "counter:get", {})["value"] == 0  # still serving


def cli_import(server: Server, path: Path, *flags: str) -> tuple[subprocess.Popen[str],
                                                                 queue.Queue[str | None]]:
    """`syncline import` as a subprocess with its stderr lines in a queue (None at EOF)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "syncline.cli.main", "import", "--table", "messages", *flags,
         str(path), "--dir", str(server.app_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def drain(lines: queue.Queue[str | None]) -> list[str]:
    out = []
    while (line := lines.get(timeout=120)) is not None:
        out.append(line)
    return out


def test_the_cli_shows_the_servers_progress_and_memory_is_given_back(
        server: Server, tmp_path: Path) -> None:
    warm = tmp_path / "warm.jsonl"
    warm.write_bytes(b'{"author": "a", "body": "b"}\n' * 6_000)
    process, lines = cli_import(server, warm, "--append")
    drain(lines)
    assert process.wait(timeout=120) == 0
    before = rss_bytes(server.process.pid)

    path = rows_file(tmp_path)
    process, lines = cli_import(server, path, "--append")
    try:
        err = drain(lines)
        assert process.wait(timeout=120) == 0, err
    finally:
        process.kill()
    progress = [line for line in err if line.startswith("Importing: ")]
    assert progress[0].startswith("Importing: 5000 documents read and checked")
    assert progress[-1].startswith(f"Importing: {ROWS} documents read and checked (100%")
    assert err[-1].strip() == f"Committing {ROWS} documents..."

    after = rss_bytes(server.process.pid)  # before a count reads the table into SQLite's cache
    assert documents(server, "messages") == ROWS + 6_000
    # Kept after the import, the documents' conflict keys and SQLite's page cache came to
    # about 30 bytes per byte of the file (80 MB here); given back, about 5 remain
    # (allocator slack). Allowed: 12.
    assert after - before < 12 * path.stat().st_size, (before, after, path.stat().st_size)


def test_ctrl_c_cancels_or_says_the_import_will_still_commit(
        server: Server, tmp_path: Path) -> None:
    path = rows_file(tmp_path)
    process, lines = cli_import(server, path)
    try:
        err = []
        while not (line := lines.get(timeout=120) or "").startswith("Importing: "):
            assert line, f"the CLI ended before any progress: {err}"
            err.append(line)
        os.kill(process.pid, signal.SIGINT)  # what Ctrl+C sends; no terminal needed
        err += drain(lines)
        code = process.wait(timeout=120)
    finally:
        process.kill()
    text = "".join(err)
    if "Import cancelled: nothing was written." in text:
        assert code == 130 and documents(server, "messages") == 0
    else:
        assert "Too late to cancel: the import is being committed and will complete" in text
        assert code == 0 and documents(server, "messages") == ROWS


def test_a_snapshot_import_streams_progress_and_can_be_cancelled(
        server: Server, tmp_path: Path) -> None:
    path = rows_file(tmp_path)
    response = httpx.post(f"{server.url}/api/import", params={"table": "messages"},
                          content=path.read_bytes(), timeout=120,
                          headers={"Authorization": f"Convex {server.admin_key}"})
    assert response.json() == {"tables": {"messages": ROWS}}  # the plain answer still works
    snapshot = tmp_path / "snapshot.zip"
    exported = subprocess.run(
        [sys.executable, "-m", "syncline.cli.main", "export", "--path", str(snapshot),
         "--dir", str(server.app_dir)], capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0, exported.stderr

    headers = {"Authorization": f"Convex {server.admin_key}", "Accept": "application/x-ndjson"}
    events, answer = [], None
    with httpx.stream("POST", f"{server.url}/api/import_snapshot", params={"mode": "replace"},
                      content=snapshot.read_bytes(), headers=headers,
                      timeout=httpx.Timeout(10.0, read=300.0)) as response:
        for line in response.iter_lines():
            events.append(orjson.loads(line))
            if events[-1]["phase"] == "importing" and events[-1]["documents"] and not answer:
                answer = httpx.post(f"{server.url}/api/import/cancel", headers=headers,
                                    params={"importId": events[0]["importId"]},
                                    timeout=30).json()
    assert events[1]["documentsTotal"] == ROWS and events[1]["documents"] == 5_000
    assert answer == {"cancelled": True, "phase": "cancelled"}, events[-1]
    assert events[-1]["phase"] == "cancelled"
    # Nothing was written: not even the `--replace` deletion.
    with zipfile.ZipFile(snapshot) as archive:
        ids = {orjson.loads(line)["_id"]
               for line in archive.read("messages/documents.jsonl").splitlines()}
    page = httpx.get(f"{server.url}/api/data/documents", timeout=30,
                     params={"table": "messages", "limit": "1000"},
                     headers={"Authorization": f"Convex {server.admin_key}"}).json()
    assert {d["_id"] for d in page["documents"]} <= ids
    assert documents(server, "messages") == ROWS
