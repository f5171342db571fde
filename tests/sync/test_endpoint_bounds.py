"""The connection's own bounds, driven message by message: backpressure on mutations, and
the outgoing byte count including a frame whose send had to wait.

The engine here is a stand-in whose mutations wait for the test to release them; the
connection (the component under test) is the real one. The same bounds are checked
over real sockets in tests/e2e/test_sync_bounds.py.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

from syncline.server.sync_endpoint import (
    MAX_MUTATION_BYTES_QUEUED,
    MAX_MUTATIONS_QUEUED,
    MAX_QUEUED_BYTES,
    SLOW_CLIENT_CLOSE_CODE,
    SyncStats,
    _Connection,
)
from syncline.sync import protocol

CONNECT = json.dumps({"type": "Connect", "sessionId": "s", "connectionCount": 0,
                      "lastCloseReason": None, "clientTs": 0})


def mutation(request_id: int, padding: int = 0) -> str:
    return json.dumps({"type": "Mutation", "requestId": request_id, "udfPath": "m:f",
                       "args": [{"pad": "x" * padding}]})


class _Engine:
    """Mutations wait until `release` is set, then answer."""

    def __init__(self) -> None:
        self.runner = SimpleNamespace(requests_waiting=0)
        self.release = asyncio.Event()
        self.answered = 0

    def connect(self, session) -> None:
        pass

    async def disconnect(self, session) -> None:
        pass

    async def mutation(self, session, message, caller) -> None:
        await self.release.wait()
        self.answered += 1


class _Socket:
    """Hands out `messages` one `receive` at a time, then the client's close."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        self.taken = 0
        self.closed: tuple[int, str] | None = None

    async def receive(self) -> dict:
        if self.taken == len(self.messages):
            await asyncio.Event().wait()  # the client keeps the socket open
        self.taken += 1
        return {"type": "websocket.receive", "text": self.messages[self.taken - 1]}

    async def send_text(self, frame: str) -> None:
        pass

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def spin(times: int = 200) -> None:
    for _ in range(times):
        await asyncio.sleep(0)


async def run_until_held(messages: list[str]) -> tuple[_Engine, _Socket, _Connection,
                                                      asyncio.Task]:
    engine, socket = _Engine(), _Socket(messages)
    connection = _Connection(engine, socket, SyncStats())
    task = asyncio.create_task(connection.run())
    await spin()
    return engine, socket, connection, task


async def finish(engine: _Engine, socket: _Socket, connection: _Connection,
                 task: asyncio.Task, count: int) -> None:
    engine.release.set()
    async with asyncio.timeout(20):
        while engine.answered < count or socket.taken < len(socket.messages):
            await asyncio.sleep(0)
    connection.fail("done")
    task.cancel()


async def test_pipelined_mutations_stop_the_reader_at_the_count_bound():
    """Issue 17 item 7: the reader reads no further while MAX_MUTATIONS_QUEUED mutations
    wait, so the rest stay in the socket (TCP backpressure); all run once released."""
    count = 2 * MAX_MUTATIONS_QUEUED
    engine, socket, connection, task = await run_until_held(
        [CONNECT, *(mutation(i) for i in range(count))])
    assert socket.taken == 1 + MAX_MUTATIONS_QUEUED  # Connect, then up to the bound
    assert connection.counted_mutations == MAX_MUTATIONS_QUEUED
    await spin()
    assert socket.taken == 1 + MAX_MUTATIONS_QUEUED  # and it stays there
    await finish(engine, socket, connection, task, count)
    assert engine.answered == count
    assert connection.stats.peak_mutations_queued == MAX_MUTATIONS_QUEUED


async def test_pipelined_mutations_stop_the_reader_at_the_byte_bound():
    """Large mutations: the reader stops once MAX_MUTATION_BYTES_QUEUED of them wait."""
    count = 40
    mutations = [mutation(i, 1 << 20) for i in range(count)]
    held = total = 0
    while total < MAX_MUTATION_BYTES_QUEUED:  # read until at or past the bound
        total += len(mutations[held])
        held += 1
    engine, socket, connection, task = await run_until_held([CONNECT, *mutations])
    assert socket.taken == 1 + held < count
    assert connection.mutation_bytes == total
    await finish(engine, socket, connection, task, count)
    assert engine.answered == count
    # Never more than the bound plus the one message that reached it.
    peak = connection.stats.peak_mutation_bytes_queued
    assert total <= peak < MAX_MUTATION_BYTES_QUEUED + max(map(len, mutations))


class _PausedSocket(_Socket):
    """A socket whose transport is paused: every send waits (the client is not reading)."""

    def __init__(self) -> None:
        super().__init__([])
        self.writable = asyncio.Event()

    async def send_text(self, frame: str) -> None:
        await self.writable.wait()


def transition_of(size: int) -> dict:
    return protocol.transition(protocol.StateVersion(0, 0, 0), protocol.StateVersion(0, 1, 0),
                               [protocol.query_updated(0, "x" * size, [], None)])


async def test_a_send_that_has_to_wait_is_counted_and_the_byte_bound_disconnects():
    """Issue 17 item 2: a frame sent directly whose send had to wait is queued as a
    `Resume` and counted with its bytes; past MAX_QUEUED_BYTES the client is cut off
    (code 1008, saying why) and what was queued for it is dropped."""
    socket = _PausedSocket()
    connection = _Connection(_Engine(), socket, SyncStats())
    connection.writer_task = asyncio.create_task(connection._write())
    await spin(5)  # the writer waits on the empty queue: the next frame goes direct
    assert connection.writer_idle
    frame_size = len(protocol.encode_server_message(transition_of(100_000))[0])
    connection.send(transition_of(100_000))  # direct; its send waits: queued as a Resume
    assert connection.queued_bytes == frame_size and connection.queued_frames == 1
    sent = 1
    while connection.close_reason is None:
        connection.send(transition_of(100_000))
        sent += 1
        assert connection.queued_bytes <= MAX_QUEUED_BYTES
    assert sent == MAX_QUEUED_BYTES // frame_size + 1
    assert connection.stats.peak_queued_bytes == (sent - 1) * frame_size
    assert connection.stats.slow_client_disconnects == 1
    assert connection.queued_bytes == 0 and connection.outgoing.empty()
    await asyncio.wait_for(asyncio.gather(connection.writer_task, return_exceptions=True), 5)
    assert socket.closed is not None and socket.closed[0] == SLOW_CLIENT_CLOSE_CODE
    assert "not reading" in socket.closed[1]


async def test_one_message_larger_than_the_bound_still_goes_out_alone():
    """The limits allow a 16 MiB result: into an empty queue it is admitted whatever its
    size; a second one behind it is past the bound."""
    connection = _Connection(_Engine(), _PausedSocket(), SyncStats())
    connection.send(transition_of(MAX_QUEUED_BYTES + 1))
    assert connection.close_reason is None
    assert connection.queued_bytes > MAX_QUEUED_BYTES
    connection.send(protocol.ping())
    assert connection.close_reason is not None and "not reading" in connection.close_reason
