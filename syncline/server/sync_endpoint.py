"""The WebSocket endpoint `/api/{client_version}/sync` the official Convex clients connect to.

One reader task parses client messages in order; mutations go to a per-connection
queue so they run one after another (Convex runs a client's mutations in order),
actions run concurrently. An outgoing frame is written at once when nothing is
queued ahead of it (a fan-out to 1,000 subscribers then wakes no task per
subscriber); otherwise it goes through a bounded queue drained by one writer task:
a client that stops reading fills it and is disconnected with a reason, instead of
holding memory or stalling the engine. A `Ping` goes out when the connection has
been quiet, so clients keep the socket open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from syncline.functions import Credentials
from syncline.functions.coroutines import Resume
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

MAX_QUEUED_FRAMES = 1_000
PING_INTERVAL_S = 15.0
SLOW_CLIENT_CLOSE_CODE = 1008

_log = logging.getLogger(__name__)


class _Connection:
    def __init__(self, engine: SyncEngine, websocket: WebSocket) -> None:
        self.engine = engine
        self.websocket = websocket
        # Frames, None (close), or the rest of a send that had to wait (flow control).
        self.outgoing: asyncio.Queue[str | Resume | None] = asyncio.Queue(MAX_QUEUED_FRAMES)
        self.writer_idle = False  # the writer waits on an empty queue: frames may go direct
        self.session = Session(send=self.send, close=self.fail)
        # Each with who the session was when it arrived (a later Authenticate must not
        # change the identity of a mutation already sent).
        self.mutations: asyncio.Queue[tuple[MutationRequest, Credentials]] = asyncio.Queue()
        self.tasks: set[asyncio.Task[Any]] = set()
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

    def send(self, message: dict[str, Any]) -> None:
        if self.close_reason is not None:
            return
        for frame in protocol.encode_server_message(message):
            if self.writer_idle and self.outgoing.empty():
                self._send_now(frame)
                continue
            try:
                self.outgoing.put_nowait(frame)
            except asyncio.QueueFull:
                self.fail(f"The client is not reading its messages ({MAX_QUEUED_FRAMES} "
                          "frames queued); disconnecting it", code=SLOW_CLIENT_CLOSE_CODE)
                return

    def _send_now(self, frame: str) -> None:
        """Write `frame` without going through the writer task. Sending a data frame
        normally completes without suspending; if it must wait (the transport is paused),
        the writer finishes it before any later frame. Called only with the queue empty."""
        send = self.websocket.send_text(frame)
        try:
            pending = send.send(None)
        except StopIteration:
            self.last_sent = time.monotonic()
            return
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.close_reason = self.close_reason or "disconnected"
            self.session.closed = True
            self.outgoing.put_nowait(None)  # the writer closes the socket
            return
        self.writer_idle = False
        self.outgoing.put_nowait(Resume(send, pending))

    def fail(self, reason: str, *, code: int = 1000, fatal: bool = False) -> None:
        """Close the connection (once), telling the client why."""
        if self.close_reason is not None:
            return
        self.close_reason = reason
        self.session.closed = True
        if fatal:
            with contextlib.suppress(asyncio.QueueFull):
                for frame in protocol.encode_server_message(protocol.fatal_error(reason)):
                    self.outgoing.put_nowait(frame)
        self.close_code = code
        # Wake the writer even when the queue is full: it closes after what is queued.
        with contextlib.suppress(asyncio.QueueFull):
            self.outgoing.put_nowait(None)
        if self.outgoing.full() and self.writer_task is not None:
            self.writer_task.cancel()

    async def run(self) -> None:
        self.writer_task = asyncio.create_task(self._write())
        self.ping_timer = asyncio.get_running_loop().call_later(
            PING_INTERVAL_S, self._ping_if_quiet)
        try:
            await self._read()
        finally:
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
                self.close_reason = "closed"
                with contextlib.suppress(asyncio.QueueFull):
                    self.outgoing.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self.writer_task, timeout=5)

    async def _read(self) -> None:
        connected = False
        while self.close_reason is None:
            try:
                text = await self.websocket.receive_text()
            except (WebSocketDisconnect, RuntimeError):
                return
            try:
                message = protocol.parse_client_message(text)
                if isinstance(message, Connect):
                    if connected:
                        raise ProtocolError("Connect was sent twice on one connection")
                    connected = True
                    self.session.session_id = message.session_id
                    self.engine.connect(self.session)
                    continue
                if not connected:
                    raise ProtocolError(
                        f"{type(message).__name__} before Connect: the first message on a "
                        "connection must be Connect")
                await self._dispatch(message)
            except ProtocolError as e:
                self.fail(str(e), fatal=True)
                return
            except Exception as e:  # a server bug must not take the server down
                _log.exception("sync connection failed")
                self.fail(f"Internal server error: {type(e).__name__}", fatal=True)
                return

    async def _dispatch(self, message: Any) -> None:
        if isinstance(message, ModifyQuerySet):
            await self.engine.modify_query_set(self.session, message)
        elif isinstance(message, MutationRequest):
            if self.mutation_task is None:  # started on first use: most clients mostly read
                self.mutation_task = asyncio.create_task(self._run_mutations())
            self.mutations.put_nowait(
                (message, Credentials(self.session.identity, self.session.admin)))
            self._count_waiting(1)
        elif isinstance(message, ActionRequest):
            task = asyncio.create_task(self.engine.action(self.session, message))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif isinstance(message, Authenticate):
            await self.engine.authenticate(self.session, message)
        elif isinstance(message, Event):
            pass  # client telemetry: nothing to do

    async def _run_mutations(self) -> None:
        while True:
            message, caller = await self.mutations.get()
            try:
                await self.engine.mutation(self.session, message, caller)
            except Exception as e:
                _log.exception("mutation over sync failed")
                self.fail(f"Internal server error: {type(e).__name__}", fatal=True)
                return
            finally:
                self._count_waiting(-1)

    async def _write(self) -> None:
        websocket = self.websocket
        try:
            while True:
                self.writer_idle = self.outgoing.empty()
                frame = await self.outgoing.get()
                self.writer_idle = False
                if frame is None:
                    break
                if isinstance(frame, Resume):
                    await frame
                else:
                    await websocket.send_text(frame)
                self.last_sent = time.monotonic()
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.close_reason = self.close_reason or "disconnected"
            self.session.closed = True
            return
        finally:
            with contextlib.suppress(Exception):
                await websocket.close(self.close_code, (self.close_reason or "")[:120])


async def sync_endpoint(engine: SyncEngine, websocket: WebSocket) -> None:
    await websocket.accept()
    await _Connection(engine, websocket).run()
