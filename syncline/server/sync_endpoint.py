"""The WebSocket endpoint `/api/{client_version}/sync` the official Convex clients connect to.

One reader task parses client messages in order; mutations go to a per-connection
queue so they run one after another (Convex runs a client's mutations in order),
actions run concurrently. An outgoing frame is written at once when nothing is
queued ahead of it (a fan-out to 1,000 subscribers then wakes no task per
subscriber); otherwise it goes through a queue drained by one writer task.

What one connection may hold is bounded, so a hostile or stuck client costs a
fixed amount of memory:

- outgoing: MAX_QUEUED_BYTES and MAX_QUEUED_FRAMES. A client that stops reading
  fills them and is disconnected (code 1008, with the reason), instead of holding
  memory or stalling the engine. A message is always admitted into an empty queue,
  so one result larger than the byte bound (the limits allow 16 MiB) still goes out.
- incoming: at most MAX_ACTIONS_IN_FLIGHT actions running and MAX_MUTATIONS_QUEUED
  mutations (about MAX_MUTATION_BYTES_QUEUED of message text) waiting. Past either,
  the reader stops reading until some finish: the client is slowed down through TCP
  (backpressure) rather than buffered without end. A message is at most
  protocol.MAX_CLIENT_MESSAGE_BYTES (the WebSocket server refuses a longer one).

A `Ping` goes out when the connection has been quiet, so clients keep the socket
open. `SyncStats` counts what the connections hold (the most ever, too), for
operators and for the tests of these bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from syncline.functions import Credentials
from syncline.functions.coroutines import Resume
from syncline.server.deployment import Deployment
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    require_admin_key,
)
from syncline.sync import protocol
from syncline.sync.engine import SyncEngine
from syncline.sync.protocol import (
    ActionRequest,
    Authenticate,
    Connect,
    Event,
    ModifyQuerySet,
    MutationRequest,
    ProtocolError,
)
from syncline.sync.session import Session
from syncline.values.limits import MAX_FUNCTION_ARGS_SIZE

# Outgoing, per connection. A client that reads keeps its queue near empty: frames queue
# only while the socket's buffers are full. 4 MiB is 64 times uvicorn's 64 KiB write
# buffer, room for hundreds of ordinary transitions while the network catches up, and
# bounds 1,000 stuck clients to 4 GB rather than to whatever they are sent.
MAX_QUEUED_BYTES = 4 << 20
MAX_QUEUED_FRAMES = 1_000  # many small frames cost more than their bytes
# Incoming, per connection. Actions run on the runner's 64 action threads: one
# connection may use a quarter of them, so one client cannot starve the others.
MAX_ACTIONS_IN_FLIGHT = 16
# Mutations run one at a time per connection; this many may wait. The reader also stops
# once the waiting ones hold MAX_MUTATION_BYTES_QUEUED of message text, so they hold at
# most that plus the one message that reached it (one 16 MiB call always gets through).
MAX_MUTATIONS_QUEUED = 1_000
MAX_MUTATION_BYTES_QUEUED = MAX_FUNCTION_ARGS_SIZE
PING_INTERVAL_S = 15.0
SLOW_CLIENT_CLOSE_CODE = 1008

_log = logging.getLogger(__name__)

# An outgoing item: a frame, the rest of a send that had to wait (flow control), or
# None (close); with its size in bytes.
_Outgoing = tuple[str | Resume | None, int]


def _close_reason(reason: str | None) -> str:
    """`reason` cut to the 123 UTF-8 bytes a close frame holds (RFC 6455 5.5: 125 bytes of
    payload, 2 of them the code), at a character boundary: a longer one is refused by
    the WebSocket library and the connection would end without a close frame."""
    return (reason or "").encode()[:123].decode("utf-8", "ignore")


def _frame_size(frame: str) -> int:
    """The frame's bytes on the wire (UTF-8); `isascii` is O(1) on a str."""
    return len(frame) if frame.isascii() else len(frame.encode("utf-8", "surrogatepass"))


class SyncStats:
    """What the live sync connections hold, and the most any one connection ever held.

    Served to admins at GET /api/syncline/sync_stats; the tests of the per-connection
    bounds read it (they count, they do not time)."""

    def __init__(self) -> None:
        self.live: set[_Connection] = set()
        self.peak_queued_bytes = 0
        self.peak_queued_frames = 0
        self.peak_actions_in_flight = 0
        self.peak_mutations_queued = 0
        self.peak_mutation_bytes_queued = 0
        self.slow_client_disconnects = 0

    def snapshot(self) -> dict[str, Any]:
        live = list(self.live)
        return {
            "connections": len(live),
            "queuedBytes": max((c.queued_bytes for c in live), default=0),
            "queuedFrames": max((c.queued_frames for c in live), default=0),
            "actionsInFlight": max((len(c.tasks) for c in live), default=0),
            "mutationsQueued": max((c.counted_mutations for c in live), default=0),
            "peakQueuedBytes": self.peak_queued_bytes,
            "peakQueuedFrames": self.peak_queued_frames,
            "peakActionsInFlight": self.peak_actions_in_flight,
            "peakMutationsQueued": self.peak_mutations_queued,
            "peakMutationBytesQueued": self.peak_mutation_bytes_queued,
            "slowClientDisconnects": self.slow_client_disconnects,
            "limits": {
                "maxQueuedBytes": MAX_QUEUED_BYTES,
                "maxQueuedFrames": MAX_QUEUED_FRAMES,
                "maxActionsInFlight": MAX_ACTIONS_IN_FLIGHT,
                "maxMutationsQueued": MAX_MUTATIONS_QUEUED,
                "maxMutationBytesQueued": MAX_MUTATION_BYTES_QUEUED,
                "maxClientMessageBytes": protocol.MAX_CLIENT_MESSAGE_BYTES,
            },
        }


class _Connection:
    def __init__(self, engine: SyncEngine, websocket: WebSocket,
                 stats: SyncStats | None = None) -> None:
        self.engine = engine
        self.websocket = websocket
        self.stats = stats if stats is not None else SyncStats()
        # Bounded by `send` (MAX_QUEUED_BYTES, MAX_QUEUED_FRAMES), not by the queue.
        self.outgoing: asyncio.Queue[_Outgoing] = asyncio.Queue()
        self.queued_bytes = 0
        self.queued_frames = 0
        self.writer_idle = False  # the writer waits on an empty queue: frames may go direct
        self.session = Session(send=self.send, close=self.fail)
        # Each with who the session was when it arrived (a later Authenticate must not
        # change the identity of a mutation already sent), and its size.
        self.mutations: asyncio.Queue[tuple[MutationRequest, Credentials, int]] = \
            asyncio.Queue()
        self.mutation_bytes = 0  # of the mutations received and not yet answered
        self.tasks: set[asyncio.Task[Any]] = set()
        self.room = asyncio.Event()  # set when a request finishes (or the connection ends)
        self.close_reason: str | None = None
        self.close_code = 1000
        self.writer_task: asyncio.Task[None] | None = None
        self.mutation_task: asyncio.Task[None] | None = None
        self.last_sent = time.monotonic()
        self.ping_timer: asyncio.TimerHandle | None = None
        self.counted_mutations = 0  # in the runner's requests_waiting

    def _count_waiting(self, change: int) -> None:
        """Keep the runner's count of requests received and not yet answered (see
        request_counting.py): a mutation is counted from arrival until answered."""
        self.counted_mutations += change
        self.engine.runner.requests_waiting += change

    def _ping_if_quiet(self) -> None:
        """Keep the client's socket open: a Ping after PING_INTERVAL_S without a frame.
        One timer per connection, re-armed from here, rather than one per frame sent."""
        if self.close_reason is not None:
            return
        quiet = time.monotonic() - self.last_sent
        if quiet >= PING_INTERVAL_S:
            self.send(protocol.ping())
            quiet = 0.0
        self.ping_timer = asyncio.get_running_loop().call_later(
            PING_INTERVAL_S - quiet, self._ping_if_quiet)

    # -- outgoing ------------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        if self.close_reason is not None:
            return
        frames = protocol.encode_server_message(message)
        sent = 0
        while sent < len(frames) and self.writer_idle and self.outgoing.empty():
            self._send_now(frames[sent])
            sent += 1
        if sent == len(frames) or self.close_reason is not None:
            return
        rest = frames[sent:]
        sizes = [_frame_size(frame) for frame in rest]
        # The whole message or none of it; into an empty queue, always (one result may be
        # larger than the bound: the limits allow 16 MiB).
        if self.queued_frames and (self.queued_bytes + sum(sizes) > MAX_QUEUED_BYTES
                                   or self.queued_frames + len(rest) > MAX_QUEUED_FRAMES):
            self._disconnect_slow_client()
            return
        for frame, size in zip(rest, sizes, strict=True):
            self._enqueue(frame, size)

    def _enqueue(self, item: str | Resume, size: int) -> None:
        self.outgoing.put_nowait((item, size))
        self.queued_bytes += size
        self.queued_frames += 1
        stats = self.stats
        if self.queued_bytes > stats.peak_queued_bytes:
            stats.peak_queued_bytes = self.queued_bytes
        if self.queued_frames > stats.peak_queued_frames:
            stats.peak_queued_frames = self.queued_frames

    def _send_now(self, frame: str) -> None:
        """Write `frame` without going through the writer task. Sending a data frame
        normally completes without suspending; if it must wait (the transport is paused),
        the writer finishes it before any later frame: it is queued, and counted, as
        the frame it still holds. Called only with the queue empty."""
        send = self.websocket.send_text(frame)
        try:
            pending = send.send(None)
        except StopIteration:
            self.last_sent = time.monotonic()
            return
        except (WebSocketDisconnect, RuntimeError, OSError):
            self._closing("disconnected")
            self.outgoing.put_nowait((None, 0))  # the writer closes the socket
            return
        self.writer_idle = False
        self._enqueue(Resume(send, pending), _frame_size(frame))

    def _disconnect_slow_client(self) -> None:
        """The client is not reading what it is sent: drop what is queued for it (it
        would not read it either) and close, also if the writer is stuck mid-frame."""
        self.stats.slow_client_disconnects += 1
        self.fail(f"The client is not reading its messages (over {MAX_QUEUED_BYTES} bytes "
                  f"or {MAX_QUEUED_FRAMES} frames queued); disconnecting it",
                  code=SLOW_CLIENT_CLOSE_CODE)
        while not self.outgoing.empty():
            self.outgoing.get_nowait()
        self.queued_bytes = self.queued_frames = 0
        if self.writer_task is not None:
            self.writer_task.cancel()  # it closes the socket on its way out
        else:
            self.outgoing.put_nowait((None, 0))

    def _closing(self, reason: str) -> None:
        if self.close_reason is None:
            self.close_reason = reason
        self.session.closed = True
        self.room.set()  # a reader waiting for room stops waiting

    def fail(self, reason: str, *, code: int = 1000, fatal: bool = False) -> None:
        """Close the connection (once), telling the client why."""
        if self.close_reason is not None:
            return
        self._closing(reason)
        if fatal:
            for frame in protocol.encode_server_message(protocol.fatal_error(reason)):
                self._enqueue(frame, _frame_size(frame))
        self.close_code = code
        self.outgoing.put_nowait((None, 0))  # the writer closes after what is queued

    async def _write(self) -> None:
        websocket = self.websocket
        try:
            while True:
                self.writer_idle = self.outgoing.empty()
                item, size = await self.outgoing.get()
                self.writer_idle = False
                if item is None:
                    break
                if isinstance(item, Resume):
                    await item
                else:
                    await websocket.send_text(item)
                self.queued_bytes -= size
                self.queued_frames -= 1
                self.last_sent = time.monotonic()
        except (WebSocketDisconnect, RuntimeError, OSError):
            self._closing("disconnected")
            return
        finally:
            with contextlib.suppress(Exception):
                await websocket.close(self.close_code, _close_reason(self.close_reason))

    # -- incoming ------------------------------------------------------------------------------

    async def run(self) -> None:
        self.stats.live.add(self)
        self.writer_task = asyncio.create_task(self._write())
        self.ping_timer = asyncio.get_running_loop().call_later(
            PING_INTERVAL_S, self._ping_if_quiet)
        try:
            await self._read()
        finally:
            self.stats.live.discard(self)
            if self.ping_timer is not None:
                self.ping_timer.cancel()
            if self.mutation_task is not None:
                self.mutation_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self.mutation_task
            self._count_waiting(-self.counted_mutations)  # those never run
            for task in list(self.tasks):
                task.cancel()
            await self.engine.disconnect(self.session)
            if self.close_reason is None:
                self._closing("closed")
                self.outgoing.put_nowait((None, 0))
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self.writer_task, timeout=5)

    def _full(self) -> bool:
        """Too many requests of this connection are unanswered to read another."""
        return (len(self.tasks) >= MAX_ACTIONS_IN_FLIGHT
                or self.counted_mutations >= MAX_MUTATIONS_QUEUED
                or (self.counted_mutations > 0
                    and self.mutation_bytes >= MAX_MUTATION_BYTES_QUEUED))

    async def _wait_for_room(self) -> None:
        """Backpressure: read nothing more until a request finishes. uvicorn reads from
        the socket only when asked for a message, so the client's messages wait in the
        TCP buffers and then in the client, not in this server's memory."""
        while self._full() and self.close_reason is None:
            self.room.clear()
            await self.room.wait()

    async def _receive(self) -> str | None:
        """The next client message, or None when the connection has ended."""
        try:
            message = await self.websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return None
        if message["type"] != "websocket.receive":
            return None
        text = message.get("text")
        if text is None:
            self.fail("The sync protocol takes text frames: each message is one JSON text "
                      "frame, and a binary frame was received", fatal=True)
        return text

    async def _read(self) -> None:
        connected = False
        while self.close_reason is None:
            await self._wait_for_room()
            if self.close_reason is not None:
                return
            text = await self._receive()
            if text is None:
                return
            try:
                message = protocol.parse_client_message(text)
                if isinstance(message, Connect):
                    if connected:
                        raise ProtocolError("Connect was sent twice on one connection")
                    connected = True
                    self.session.session_id = message.session_id
                    self.session.resumed = message.connection_count > 0
                    self.engine.connect(self.session)
                    continue
                if not connected:
                    raise ProtocolError(
                        f"{type(message).__name__} before Connect: the first message on a "
                        "connection must be Connect")
                await self._dispatch(message, len(text))
            except ProtocolError as e:
                self.fail(str(e), fatal=True)
                return
            except Exception as e:  # a server bug must not take the server down
                _log.exception("sync connection failed")
                self.fail(f"Internal server error: {type(e).__name__}", fatal=True)
                return

    async def _dispatch(self, message: Any, size: int) -> None:
        stats = self.stats
        if isinstance(message, ModifyQuerySet):
            await self.engine.modify_query_set(self.session, message)
        elif isinstance(message, MutationRequest):
            if self.mutation_task is None:  # started on first use: most clients mostly read
                self.mutation_task = asyncio.create_task(self._run_mutations())
            self.mutations.put_nowait(
                (message, Credentials(self.session.identity, self.session.admin), size))
            self._count_waiting(1)
            self.mutation_bytes += size
            stats.peak_mutations_queued = max(stats.peak_mutations_queued,
                                              self.counted_mutations)
            stats.peak_mutation_bytes_queued = max(stats.peak_mutation_bytes_queued,
                                                   self.mutation_bytes)
        elif isinstance(message, ActionRequest):
            task = asyncio.create_task(self.engine.action(self.session, message))
            self.tasks.add(task)
            task.add_done_callback(self._action_done)
            stats.peak_actions_in_flight = max(stats.peak_actions_in_flight, len(self.tasks))
        elif isinstance(message, Authenticate):
            await self.engine.authenticate(self.session, message)
        elif isinstance(message, Event):
            pass  # client telemetry: nothing to do

    def _action_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        self.room.set()

    async def _run_mutations(self) -> None:
        while True:
            message, caller, size = await self.mutations.get()
            try:
                await self.engine.mutation(self.session, message, caller)
            except Exception as e:
                _log.exception("mutation over sync failed")
                self.fail(f"Internal server error: {type(e).__name__}", fatal=True)
                return
            finally:
                self._count_waiting(-1)
                self.mutation_bytes -= size
                self.room.set()


async def sync_endpoint(engine: SyncEngine, websocket: WebSocket,
                        stats: SyncStats | None = None) -> None:
    await websocket.accept()
    await _Connection(engine, websocket, stats).run()


def sync_routes(deployment: Deployment) -> list[BaseRoute]:
    """The sync WebSocket (with and without the client version in the path: the npm
    client puts it there, the Rust-based PyPI client does not) and its admin-only stats."""
    stats = SyncStats()

    async def endpoint(websocket: WebSocket) -> None:
        await sync_endpoint(deployment.sync, websocket, stats)

    async def stats_route(request: Request) -> Response:
        try:
            require_admin_key(deployment.admin_keys, request)
        except BadRequest as e:
            return bad_request_response(e)
        snapshot = stats.snapshot()
        snapshot["sessions"] = len(deployment.sync.sessions)
        snapshot["cachedQueries"] = len(deployment.sync.cache)
        return json_response(snapshot)

    return [
        WebSocketRoute("/api/{client_version}/sync", endpoint),
        WebSocketRoute("/api/sync", endpoint),
        Route("/api/syncline/sync_stats", stats_route, methods=["GET"]),
    ]
