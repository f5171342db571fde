"""A full disk, end to end: a real `syncline serve` whose data folder is a small tmpfs,
filled to the last block by a filler file.

Writes fail with a message saying the disk is full and nothing was written (in production
too), uploads answer 507, reads and searches go on, and writes work again as soon as the
filler is deleted. A restart on the full disk serves reads and refuses writes the same
way, whether the last stop left SQLite's log behind (the disk filled while it ran) or not
(a clean stop, then the disk filled). A first start with no room exits with one line.
No acknowledged write is lost and no refused one appears.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from convex import ConvexClient

from tests.small_disk import fill, free, small_tmpfs

from .conftest import Server, copy_app, start_server

DISK_KIB = 4096
TOO_BIG = 600_000  # padding bytes: no full disk has room for such a write


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Path]:
    """The app, its data folder (`.syncline`) on a small tmpfs, unmounted at the end."""
    app_dir = copy_app("diskfull", tmp_path)
    with small_tmpfs(app_dir / ".syncline", DISK_KIB):
        yield app_dir


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Every server a test starts, stopped at its end (before the tmpfs is unmounted)."""
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def start_on_full_disk(app_dir: Path, servers: list[Server],
                       extra: list[str] | None = None) -> Server:
    """`syncline serve`, without waiting for its deployment record (a full disk may have
    no room for it): its address is read from what it prints."""
    server = start_server(app_dir, "serve", expect_ready=False, extra=extra)
    servers.append(server)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = server.output()
        url = re.search(r"API and sync:\s+(\S+)", text)
        key = re.search(r"Admin key:\s+(\S+)", text)
        if url and key:
            server.url, server.admin_key = url.group(1), key.group(1)
            return server
        if server.process.poll() is not None:
            return server
        time.sleep(0.05)
    pytest.fail(f"the server neither started nor exited:\n{server.output()}")


def call(server: Server, kind: str, path: str, args: dict | None = None) -> dict:
    response = server.call(f"/api/{kind}", {"path": path, "args": args or {}, "format": "json"})
    assert response.status_code == 200, response.text
    return response.json()


def value(server: Server, kind: str, path: str, args: dict | None = None):
    result = call(server, kind, path, args)
    assert result["status"] == "success", result
    return result["value"]


def assert_refused_for_a_full_disk(server: Server) -> None:
    result = call(server, "mutation", "notes:add", {"body": "refused",
                                                   "padding_bytes": TOO_BIG})
    assert result["status"] == "error", result
    message = result["errorMessage"]
    assert "disk is full" in message and "nothing was written" in message, message
    assert "Server Error" not in message and "rollback" not in message


def upload(server: Server, size: int) -> httpx.Response:
    url = value(server, "mutation", "notes:upload_url")
    return httpx.post(url, content=b"u" * size, timeout=60)


def assert_no_traceback(server: Server) -> None:
    assert "Traceback" not in server.output(), server.output()


@pytest.mark.parametrize("durability", ["full", "normal"])
def test_writes_fail_clearly_reads_go_on_and_writes_recover(app, servers,
                                                            durability) -> None:
    data = app / ".syncline"
    mode = ["--durability", durability]
    server = start_server(app, "serve", extra=mode)
    servers.append(server)
    acknowledged = {value(server, "mutation", "notes:add", {"body": "alpha before"})}
    fill(data)
    for _ in range(3):
        assert_refused_for_a_full_disk(server)
    client = ConvexClient(server.url)  # over the sync protocol too
    with pytest.raises(Exception, match="disk is full") as refused:
        client.mutation("notes:add", {"body": "refused", "padding_bytes": TOO_BIG})
    assert "nothing was written" in str(refused.value)
    response = upload(server, 1_000_000)
    assert response.status_code == 507, response.text
    assert response.json()["code"] == "DiskFull"
    assert "disk is full" in response.json()["message"]
    lines = "\n".join(f'{{"body": "imported {i}", "padding": "{"p" * 100_000}"}}'
                      for i in range(10))
    response = httpx.post(f"{server.url}/api/import?table=notes&mode=append&format=jsonl",
                          content=lines.encode(), timeout=60,
                          headers={"Authorization": f"Convex {server.admin_key}"})
    assert response.status_code == 507, response.text  # any endpoint's write
    assert "disk is full" in response.json()["message"]
    # Reads and searches are served.
    assert value(server, "query", "notes:bodies") == ["alpha before"]
    assert value(server, "query", "notes:search", {"text": "alpha"}) == ["alpha before"]
    assert value(server, "query", "notes:file_count") == 0

    free(data)  # writes work again at once, big ones too
    acknowledged.add(client.mutation("notes:add", {"body": "alpha after",
                                                   "padding_bytes": TOO_BIG}))
    assert upload(server, 1_000_000).status_code == 200
    assert value(server, "query", "notes:file_count") == 1
    assert value(server, "query", "notes:search", {"text": "alpha"}) == [
        "alpha after", "alpha before"]

    # The disk fills again while it runs, and it is stopped and started on the full disk.
    fill(data)
    assert_refused_for_a_full_disk(server)
    assert server.stop() == 0
    assert_no_traceback(server)
    fill(data, "filler-2.bin")  # whatever the stop freed
    again = start_on_full_disk(app, servers, mode)
    assert again.process.poll() is None, again.output()
    assert value(again, "query", "notes:bodies") == ["alpha after", "alpha before"]
    assert value(again, "query", "notes:search", {"text": "alpha"}) == [
        "alpha after", "alpha before"]
    assert_refused_for_a_full_disk(again)
    assert upload(again, 1_000_000).status_code == 507
    free(data)
    free(data, "filler-2.bin")
    acknowledged.add(value(again, "mutation", "notes:add", {"body": "alpha last"}))
    assert again.stop() == 0
    assert_no_traceback(again)

    final = start_server(app, "serve", extra=mode)
    servers.append(final)
    assert set(value(final, "query", "notes:ids")) == acknowledged
    assert value(final, "query", "notes:search", {"text": "alpha"}) == [
        "alpha after", "alpha before", "alpha last"]


def test_a_restart_on_a_full_disk_comes_up_read_only(app, servers) -> None:
    data = app / ".syncline"
    first = start_server(app, "serve")
    servers.append(first)
    acknowledged = {value(first, "mutation", "notes:add", {"body": f"beta {i}"})
                    for i in range(3)}
    assert first.stop() == 0  # a clean stop: SQLite's log is folded into the database
    fill(data)
    server = start_on_full_disk(app, servers)
    assert server.process.poll() is None, server.output()
    assert "serving reads only" in server.output()
    assert value(server, "query", "notes:bodies") == ["beta 0", "beta 1", "beta 2"]
    assert value(server, "query", "notes:search", {"text": "beta"}) == [
        "beta 0", "beta 1", "beta 2"]
    assert_refused_for_a_full_disk(server)
    assert upload(server, 100_000).status_code == 507
    free(data)  # the read-only start takes writes as soon as there is room
    acknowledged.add(value(server, "mutation", "notes:add", {"body": "beta 3"}))
    assert value(server, "query", "notes:bodies") == ["beta 0", "beta 1", "beta 2", "beta 3"]
    assert value(server, "query", "notes:search", {"text": "beta"}) == [
        "beta 0", "beta 1", "beta 2", "beta 3"]
    assert server.stop() == 0
    assert_no_traceback(server)

    final = start_server(app, "serve")
    servers.append(final)
    assert set(value(final, "query", "notes:ids")) == acknowledged


def test_a_first_start_with_no_room_fails_with_one_line(app, servers) -> None:
    fill(app / ".syncline")
    server = start_on_full_disk(app, servers)
    assert server.process.wait(timeout=60) != 0
    lines = server.output().strip().splitlines()
    assert len(lines) == 1, server.output()
    assert "disk" in lines[0] and "is full" in lines[0], lines
