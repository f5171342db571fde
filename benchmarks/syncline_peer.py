"""syncline as a peer in benchmarks/compare.py: its requests, and a cheap WebSocket client.

`RawWebSocket` is a minimal RFC 6455 client on `asyncio.Protocol` (one `data_received`
call parses every frame that arrived; sends are one `transport.write`). With the
`websockets` library (sync_latency.Subscriber) the load generator spent about 27 ms
of CPU per write fanned out to 1,000 subscribers on this 2-core machine, as much as
the server; this client spends about 12 ms, close to the raw SSE reader on the
PocketBase side (about 9 ms), so the fan-out and WebSocket-create figures measure the
servers more than the load generator. It
answers pings, reassembles fragmented messages, and records problems (a refused
handshake, an unexpected close) instead of raising them inside the event loop.

On top of it: `SyncSubscriber` (Connect, then ModifyQuerySet adding one query, then
Transitions, for the fan-out) and `ws_create_load` (c connections, each sending one
`Mutation` at a time and counting a create when its successful `MutationResponse`
arrives). Message shapes are the Convex sync protocol's (convex/src/browser/sync/
protocol.ts), as in benchmarks/sync_latency.py.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, cast

import orjson
from http_api import Measurement, Request
from sync_latency import SYNC_PATH
from websockets.speedups import apply_mask

clock = time.perf_counter
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class RawWebSocket(asyncio.Protocol):
    """One client WebSocket; subclasses override `on_message(payload, arrival_time)`."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.problems: Counter[str] = Counter()
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closing = False  # we are closing: a close is not a problem
        self._buf = bytearray()
        self._fragments: list[bytes] = []
        self._handshake_done = False

    async def open(self, host: str, port: int, path: str = SYNC_PATH,
                   timeout: float = 60.0) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, host, port)
        assert self.transport is not None
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        await asyncio.wait_for(asyncio.shield(self.opened), timeout)

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed during the handshake: {exc}"))
        elif not self.closing:
            self.problems[f"disconnected by the server ({exc or 'clean close'})"] += 1
        self.transport = None
        self.on_closed()

    def data_received(self, data: bytes) -> None:
        now = clock()
        buf = self._buf
        buf += data
        pos = 0
        if not self._handshake_done:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:buf.find(b"\r\n")])
            if status.split(b" ")[1:2] != [b"101"]:
                self.opened.set_exception(ConnectionError(f"handshake refused: {status[:80]!r}"))
                self.closing = True
                if self.transport is not None:
                    self.transport.close()
                return
            self._handshake_done = True
            self.opened.set_result(None)
            pos = end + 4
        size = len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            end = pos + head + length
            if end > size:
                break
            payload = bytes(buf[pos + head:end])
            pos = end
            self._frame(b0 & 0x80, b0 & 0x0F, payload, now)
        del buf[:pos]

    def _frame(self, fin: int, opcode: int, payload: bytes, now: float) -> None:
        if opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
            if not fin:
                self._fragments.append(payload)
                return
            if self._fragments:
                payload = b"".join([*self._fragments, payload])
                self._fragments = []
            try:
                self.on_message(payload, now)
            except Exception as e:  # a bug here must be seen, not kill the event loop
                self.problems[f"client error: {type(e).__name__}: {str(e)[:100]}"] += 1
        elif opcode == OP_PING:
            self._send(OP_PONG, payload)
        elif opcode == OP_CLOSE:
            if not self.closing:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                self.problems[f"closed by the server: code {code} "
                              f"{payload[2:102].decode(errors='replace')!r}"] += 1
                self.closing = True
                self._send(OP_CLOSE, payload[:2])
            if self.transport is not None:
                self.transport.close()

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        length = len(payload)
        if length < 126:
            head = bytes((0x80 | opcode, 0x80 | length))
        elif length < 65536:
            head = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
        else:
            head = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
        mask = os.urandom(4)
        self.transport.write(head + mask + apply_mask(payload, mask))

    # -- for users ---------------------------------------------------------------------------

    def send_json(self, message: dict[str, Any]) -> None:
        self._send(OP_TEXT, orjson.dumps(message))

    def on_message(self, payload: bytes, now: float) -> None:
        raise NotImplementedError

    def on_closed(self) -> None:
        """Called once the connection is gone (either side closed it)."""

    async def close(self) -> None:
        self.closing = True
        transport = self.transport
        if transport is None:
            return
        self._send(OP_CLOSE, (1000).to_bytes(2, "big"))
        transport.close()


class SyncConnection(RawWebSocket):
    """A sync-protocol session: `start` sends Connect; FatalErrors are problems."""

    def start(self) -> None:
        self.send_json({"type": "Connect", "sessionId": str(uuid.uuid4()),
                        "connectionCount": 0, "lastCloseReason": None, "clientTs": 0})

    def on_message(self, payload: bytes, now: float) -> None:
        message = orjson.loads(payload)
        kind = message.get("type")
        if kind == "FatalError":
            self.problems[f"FatalError: {str(message.get('error'))[:120]}"] += 1
        else:
            self.on_sync_message(kind, message, now)

    def on_sync_message(self, kind: str, message: dict[str, Any], now: float) -> None:
        pass


class SyncSubscriber(SyncConnection):
    """Subscribed to one query whose value is a document with a `seq` (or null); calls
    `on_seq(seq, arrival_time)` with each new value's seq."""

    def __init__(self, query: str, on_seq: Callable[[SyncSubscriber, int, float], None]) -> None:
        super().__init__()
        self.query, self.on_seq = query, on_seq
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.latest = 0  # the newest seq seen (0: none)
        self._end_version: Any = None

    async def subscribe(self, host: str, port: int) -> None:
        await self.open(host, port)
        self.start()
        self.send_json({"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1,
                        "modifications": [{"type": "Add", "queryId": 0, "udfPath": self.query,
                                           "args": [{}]}]})
        await asyncio.wait_for(asyncio.shield(self.subscribed), 60)

    def on_sync_message(self, kind: str, message: dict[str, Any], now: float) -> None:
        if kind != "Transition":
            if kind != "Ping":
                self.problems[f"unexpected message {str(kind)[:40]}"] += 1
            return
        if self._end_version is not None and message["startVersion"] != self._end_version:
            self.problems["Transition.startVersion is not the previous endVersion"] += 1
        self._end_version = message["endVersion"]
        for modification in message["modifications"]:
            if modification["type"] == "QueryUpdated":
                value = modification["value"]
                if value is not None:
                    self.on_seq(self, int(value["seq"]), now)
            else:
                self.problems[f"{modification['type']}: "
                              f"{str(modification.get('errorMessage'))[:120]}"] += 1
            if not self.subscribed.done():
                self.subscribed.set_result(None)

    def on_closed(self) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError("closed before subscribing"))


class SyncMutator(SyncConnection):
    """Sends one Mutation at a time and waits for its MutationResponse."""

    def __init__(self) -> None:
        super().__init__()
        self.request_id = 0
        self.pending: asyncio.Future[dict[str, Any]] | None = None

    async def mutate(self, path: str, args: dict[str, Any]) -> dict[str, Any]:
        self.pending = asyncio.get_running_loop().create_future()
        self.send_json({"type": "Mutation", "requestId": self.request_id, "udfPath": path,
                        "args": [args]})
        self.request_id += 1
        return await self.pending

    def on_sync_message(self, kind: str, message: dict[str, Any], now: float) -> None:
        if kind == "MutationResponse":
            pending = self.pending
            if pending is None or pending.done() or message["requestId"] != self.request_id - 1:
                self.problems["a MutationResponse for no mutation in flight"] += 1
            else:
                pending.set_result(message)
        elif kind not in ("Transition", "Ping"):
            self.problems[f"unexpected message {str(kind)[:40]}"] += 1

    def on_closed(self) -> None:
        if self.pending is not None and not self.pending.done():
            self.pending.set_exception(ConnectionError("connection closed"))


async def ws_create_load(host: str, port: int, concurrency: int, seconds: float,
                         warmup: float, args_of: Callable[[], dict[str, Any]],
                         path: str = "inserts:create") -> Measurement:
    """`concurrency` sessions each send `path` mutations back to back (one in flight per
    session) for `seconds`, after `warmup` seconds of the same; a create counts when its
    MutationResponse says success. Failures are counted (warm-up ones too, marked so),
    never timed."""
    conns = [SyncMutator() for _ in range(concurrency)]
    failures: Counter[str] = Counter()
    latencies: list[float] = []

    async def worker(conn: SyncMutator, until: float, label: str,
                     timed: list[float] | None) -> None:
        while clock() < until:
            start = clock()
            try:
                response = await conn.mutate(path, args_of())
            except ConnectionError as e:
                failures[f"{label}{type(e).__name__}: {str(e)[:120]}"] += 1
                return
            if response.get("success"):
                if timed is not None:
                    timed.append(clock() - start)
            else:
                message = str(response.get("result")).split(" [Request ID:")[0]
                failures[f"{label}error: {message.splitlines()[0][:160]}"] += 1

    async def run(duration: float, label: str, timed: list[float] | None) -> None:
        until = clock() + duration
        try:  # a watchdog, not a per-request timeout (that would cost every request)
            async with asyncio.timeout(duration + 120):
                await asyncio.gather(*(worker(c, until, label, timed) for c in conns))
        except TimeoutError:
            raise RuntimeError("a mutation got no answer within 120 s: the server is "
                               "stuck") from None

    try:
        for conn in conns:
            await conn.open(host, port)
            conn.start()
        if warmup > 0:
            await run(warmup, "warm-up: ", None)
        start = clock()
        await run(seconds, "", latencies)
        elapsed = clock() - start
    finally:
        for conn in conns:
            await conn.close()
    for conn in conns:
        failures.update(conn.problems)
    return Measurement(len(latencies), elapsed, latencies, failures)


# -- HTTP requests -----------------------------------------------------------------------------


def call(kind: str, path: str, args: dict[str, Any]) -> Request:
    """`POST /api/query` or `/api/mutation` of `path` with `args`."""
    return "POST", f"/api/{kind}", orjson.dumps({"path": path, "args": args, "format": "json"})
