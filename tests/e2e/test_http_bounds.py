"""Hostile HTTP input against a real server, over real sockets (issue 17, items 6 and 7):
numbers that are not plain ASCII digits, invalid ranges, bodies that never finish arriving,
clients that leave mid-upload, and more concurrent bodies than the server holds at once.
Each case gets a clear 4xx/5xx, leaves nothing behind, and logs no traceback."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import Server, copy_app, start_server

BUDGET = 1_000_000  # bytes of request bodies the budget server holds at once
HELD = 600_000  # a body that fits alone; two do not


def _start(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Server:
    with pytest.MonkeyPatch.context() as patch:  # the server process inherits them
        for name, value in env.items():
            patch.setenv(name, value)
        return start_server(copy_app("httpbounds", tmp_path_factory.mktemp("bounds")))


@pytest.fixture(scope="module")
def budget_server(tmp_path_factory) -> Iterator[Server]:
    running = _start(tmp_path_factory, {"SYNCLINE_BODY_BUDGET_BYTES": str(BUDGET),
                                        "SYNCLINE_BODY_BUDGET_WAIT_S": "0.5"})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def timeout_server(tmp_path_factory) -> Iterator[Server]:
    running = _start(tmp_path_factory, {"SYNCLINE_BODY_IDLE_TIMEOUT_S": "1"})
    yield running
    running.stop()


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def connect(url: str) -> socket.socket:
    sock = socket.create_connection(address(url))
    sock.settimeout(15)  # a test fails rather than hang; no test waits for it
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length body: status, headers, body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return status, headers, body


def parse(raw: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


def admin(server: Server) -> dict[str, str]:
    return {"Authorization": f"Convex {server.admin_key}"}


def upload_path(server: Server) -> str:
    url = server.run("mutation", "bounds:generate_upload_url")["value"]
    return url.removeprefix(server.url)


def files_on_disk(server: Server) -> list[Path]:
    """Blobs and partial uploads in the deployment's file store."""
    root = server.app_dir / ".syncline" / "files"
    return sorted(p for p in root.rglob("*") if p.is_file())


def stored_files(server: Server) -> int:
    return server.run("query", "bounds:stored_files")["value"]


def assert_no_traceback(server: Server) -> None:
    # A request after the case makes sure the server has finished handling it.
    assert httpx.get(f"{server.url}/version").status_code == 200
    assert "Traceback" not in server.output(), server.output()[-5000:]


# -- item 6: numbers in requests are ASCII digits ---------------------------------------------

NOT_ASCII_NUMBERS = ["²", "١٢", "9" * 5000, "1_0", " 5", "-1"]


def short(value: object) -> str:
    """A test id that does not spell out thousands of digits."""
    text = str(value)
    return text if len(text) <= 30 else f"{text[:12]}...({len(text)} chars)"


@pytest.mark.parametrize("raw", NOT_ASCII_NUMBERS, ids=short)
def test_streaming_export_timestamps_must_be_ascii_digits(budget_server, raw):
    for endpoint, name, code in (("list_snapshot", "snapshot", "InvalidSnapshot"),
                                 ("document_deltas", "cursor", "InvalidCursor")):
        response = httpx.get(f"{budget_server.url}/api/{endpoint}", params={name: raw},
                             headers=admin(budget_server))
        assert response.status_code == 400, response.text
        assert response.json()["code"] == code
        assert response.json()["message"].startswith(f"{name} must be a database timestamp")
        assert len(response.text) < 500  # thousands of digits are not echoed back
    assert_no_traceback(budget_server)


@pytest.mark.parametrize("raw", NOT_ASCII_NUMBERS, ids=short)
def test_admin_limits_must_be_ascii_digits(budget_server, raw):
    for path in ("/api/logs", "/api/syncline/scheduled_functions"):
        response = httpx.get(f"{budget_server.url}{path}", params={"limit": raw},
                             headers=admin(budget_server))
        assert response.status_code == 400, (path, response.text)
        assert response.json()["code"] == "InvalidLimit"
        assert "limit must be a whole number" in response.json()["message"]
    assert_no_traceback(budget_server)


@pytest.mark.parametrize("expiry", ["²", "١٢", "9" * 5000, "0{real}"], ids=short)
def test_upload_token_expiry_must_be_ascii_digits(budget_server, expiry):
    path = upload_path(budget_server)
    base, token = path.split("?token=")
    real, nonce, signature = token.split(".")
    before = stored_files(budget_server)
    response = httpx.post(f"{budget_server.url}{base}", content=b"data",
                          params={"token": f"{expiry.format(real=real)}.{nonce}.{signature}"})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "InvalidStorageToken"
    assert "expiry must be a Unix time in ASCII digits" in response.json()["message"]
    assert stored_files(budget_server) == before
    assert_no_traceback(budget_server)


# -- item 7d: Range ------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "status", "content_range", "body"), [
    # Invalid (last before first, RFC 9110 14.1.1) or malformed: ignored, the whole file.
    ("bytes=5-3", 200, None, b"0123456789"),
    ("bytes=1000-3", 200, None, b"0123456789"),
    ("bytes=-", 200, None, b"0123456789"),
    ("bytes=abc", 200, None, b"0123456789"),
    ("bytes=\u00b2-3", 200, None, b"0123456789"),
    ("bytes=0-1-2", 200, None, b"0123456789"),
    ("bytes=0-1,3-4", 200, None, b"0123456789"),  # several ranges: ignored
    ("items=0-1", 200, None, b"0123456789"),
    # Valid.
    ("bytes=2-4", 206, "bytes 2-4/10", b"234"),
    ("BYTES=2-4", 206, "bytes 2-4/10", b"234"),
    ("bytes=0-0", 206, "bytes 0-0/10", b"0"),
    ("bytes=7-", 206, "bytes 7-9/10", b"789"),
    ("bytes=-3", 206, "bytes 7-9/10", b"789"),
    ("bytes=5-" + "9" * 5000, 206, "bytes 5-9/10", b"56789"),
    ("bytes=-" + "9" * 5000, 206, "bytes 0-9/10", b"0123456789"),
    # Valid but unsatisfiable.
    ("bytes=1000-", 416, "bytes */10", b""),
    ("bytes=10-12", 416, "bytes */10", b""),
    ("bytes=-0", 416, "bytes */10", b""),
    ("bytes=" + "9" * 5000 + "-", 416, "bytes */10", b""),
], ids=short)
def test_range_requests(budget_server, header, status, content_range, body):
    path = upload_path(budget_server)
    storage_id = httpx.post(f"{budget_server.url}{path}", content=b"0123456789").json()[
        "storageId"]
    response = httpx.get(f"{budget_server.url}/api/storage/{storage_id}",
                         headers=[(b"Range", header.encode("latin-1"))])
    assert response.status_code == status
    assert response.headers.get("content-range") == content_range
    assert response.content == body
    assert_no_traceback(budget_server)


# -- item 7a: the budget of request bodies held at once --------------------------------------


def padded_query(size: int) -> bytes:
    """A valid `POST /api/query` body of exactly `size` bytes."""
    body = b'{"path": "bounds:size", "args": {"pad": "x"}}'
    return body + b" " * (size - len(body))


def test_concurrent_bodies_past_the_budget_are_refused_with_503(budget_server):
    url = budget_server.url
    holder = connect(url)
    try:
        # `Expect: 100-continue`: the server asks for the body once it has reserved room
        # for it, so the reservation is known to be in place.
        holder.sendall(f"POST /api/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                       f"\r\nContent-Length: {HELD}\r\nExpect: 100-continue\r\n\r\n".encode())
        assert holder.recv(100).startswith(b"HTTP/1.1 100 Continue")
        body = padded_query(HELD)
        holder.sendall(body[:1000])

        # A second body that does not fit waits (0.5 s here), then is refused, saying why.
        second = httpx.post(f"{url}/api/query", content=padded_query(HELD), timeout=15)
        assert second.status_code == 503, second.text
        assert second.headers["connection"] == "close"
        assert second.headers["retry-after"] == "1"
        message = second.json()["message"]
        assert second.json()["code"] == "ServerBusy"
        assert f"{HELD} of the {BUDGET} bytes it holds at once are in use" in message
        # The budget is shared by the HTTP actions site.
        site = httpx.post(f"{budget_server.site_url}/size", content=b"x" * HELD, timeout=15)
        assert site.status_code == 503, site.text
        assert f"{HELD} of the {BUDGET} bytes" in site.text
        # A body that fits in what is left is served meanwhile.
        small = httpx.post(f"{url}/api/query", content=padded_query(1000), timeout=15)
        assert small.status_code == 200 and small.json()["value"] == 1

        holder.sendall(body[1000:])
        status, _, answer = read_response(holder)
        assert status == 200 and json.loads(answer)["value"] == 1
    finally:
        holder.close()
    # Its share given back, the refused body now goes through.
    again = httpx.post(f"{url}/api/query", content=padded_query(HELD), timeout=15)
    assert again.status_code == 200 and again.json()["value"] == 1
    assert httpx.post(f"{budget_server.site_url}/size", content=b"x" * HELD,
                      timeout=15).json() == {"size": HELD}
    assert_no_traceback(budget_server)


def test_a_body_larger_than_the_whole_budget_is_413(budget_server):
    # Under the endpoint's own limit (113 MiB) but over the budget: it could never fit.
    response = httpx.post(f"{budget_server.url}/api/query", content=padded_query(BUDGET + 1),
                          timeout=15)
    assert response.status_code == 413
    assert response.json()["code"] == "PayloadTooLarge"
    assert f"larger than the {BUDGET} bytes of request bodies" in response.json()["message"]
    assert_no_traceback(budget_server)


# -- item 7b: a request that stops arriving ---------------------------------------------------


def assert_timed_out(sock: socket.socket) -> None:
    """A 408 saying why, then the server closes the connection."""
    status, headers, body = parse(read_until_closed(sock))
    assert status == 408
    assert headers["connection"] == "close"
    assert body["code"] == "RequestTimeout"
    assert "nothing arrived for 1 s" in body["message"]


@pytest.mark.parametrize("request_bytes", [
    b"POST /api/mutation HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}",
    b"POST /api/query HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",
    b"POST /api/mutation HTTP/1.1\r\nHost: x\r\nContent-Le",  # headers cut short
], ids=["content-length", "chunked", "headers"])
def test_a_request_shorter_than_announced_gets_408(timeout_server, request_bytes):
    sock = connect(timeout_server.url)
    try:
        sock.sendall(request_bytes)
        assert_timed_out(sock)
    finally:
        sock.close()
    assert_no_traceback(timeout_server)


def test_an_http_action_body_shorter_than_announced_gets_408(timeout_server):
    sock = connect(timeout_server.site_url)
    try:
        sock.sendall(b"POST /size HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        assert_timed_out(sock)
    finally:
        sock.close()
    assert_no_traceback(timeout_server)


def test_an_upload_shorter_than_announced_gets_408_and_leaves_nothing(timeout_server):
    before_files, before_rows = files_on_disk(timeout_server), stored_files(timeout_server)
    sock = connect(timeout_server.url)
    try:
        sock.sendall(f"POST {upload_path(timeout_server)} HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 1000000\r\n\r\n".encode() + os.urandom(300_000))
        assert_timed_out(sock)
    finally:
        sock.close()
    assert_no_traceback(timeout_server)
    assert files_on_disk(timeout_server) == before_files
    assert stored_files(timeout_server) == before_rows


# -- item 7c: a client that leaves mid-upload --------------------------------------------------


def wait_until(condition, what: str) -> None:
    """Poll `condition` (no timing is asserted: the deadline only stops a hung test)."""
    deadline = time.monotonic() + 20
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting until {what}")
        time.sleep(0.02)


def test_a_client_leaving_mid_upload_leaves_nothing_and_logs_no_traceback(timeout_server):
    before_files, before_rows = files_on_disk(timeout_server), stored_files(timeout_server)
    sock = connect(timeout_server.url)
    try:
        sock.sendall(f"POST {upload_path(timeout_server)} HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 10000000\r\n\r\n".encode() + os.urandom(2_000_000))
        # Leave once the server is writing the upload's partial file.
        wait_until(lambda: len(files_on_disk(timeout_server)) > len(before_files),
                   "the upload's partial file exists")
    finally:
        sock.close()
    wait_until(lambda: files_on_disk(timeout_server) == before_files,
               "the partial file is removed")
    assert stored_files(timeout_server) == before_rows
    assert_no_traceback(timeout_server)


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["SYNCLINE_BODY_BUDGET_BYTES", "SYNCLINE_MAX_UPLOAD_BYTES"])
def test_a_bad_setting_stops_the_server_with_one_clear_line(tmp_path, monkeypatch, name):
    monkeypatch.setenv(name, "\u00b2")
    server = start_server(copy_app("httpbounds", tmp_path), expect_ready=False)
    try:
        code = server.process.wait(timeout=30)
    finally:
        server.stop()
    output = server.output()
    assert code == 1, output
    assert f"{name} must be a positive whole number of bytes, got '\u00b2'" in output
    assert "Traceback" not in output
