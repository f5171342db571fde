"""The connection's outgoing side: a client that stops reading is cut off, not buffered."""

from syncline.server.sync_endpoint import MAX_QUEUED_FRAMES, _Connection
from syncline.sync import protocol


class _Engine:
    pass


class _Socket:
    pass


async def test_a_client_that_stops_reading_is_disconnected_with_a_reason():
    connection = _Connection(_Engine(), _Socket())
    for _ in range(MAX_QUEUED_FRAMES):
        connection.send(protocol.ping())
    assert connection.close_reason is None
    connection.send(protocol.ping())
    assert connection.close_reason is not None
    assert "not reading" in connection.close_reason
    assert connection.session.closed
    assert connection.outgoing.qsize() <= MAX_QUEUED_FRAMES
    # Nothing more is queued once it is closing.
    connection.send(protocol.ping())
    assert connection.outgoing.qsize() <= MAX_QUEUED_FRAMES


class _RecordingSocket:
    def __init__(self) -> None:
        self.frames: list[str] = []

    async def send_text(self, frame: str) -> None:
        self.frames.append(frame)

    async def close(self, code: int, reason: str) -> None:
        pass


async def test_a_quiet_connection_gets_pings_and_a_busy_one_does_not(monkeypatch):
    import asyncio
    import json

    from syncline.server import sync_endpoint

    monkeypatch.setattr(sync_endpoint, "PING_INTERVAL_S", 0.2)
    socket = _RecordingSocket()
    connection = _Connection(_Engine(), socket)
    connection.writer_task = asyncio.create_task(connection._write())
    connection._ping_if_quiet()  # arms the timer as run() does (sends nothing yet)
    assert socket.frames == []
    await asyncio.sleep(0.5)
    pings = [f for f in socket.frames if json.loads(f)["type"] == "Ping"]
    assert len(pings) >= 1  # quiet for longer than the interval
    socket.frames.clear()
    for _ in range(6):  # now busy: a frame every 0.05 s, never quiet for 0.2 s
        connection.send(protocol.transition(
            protocol.StateVersion(0, 0, 0), protocol.StateVersion(0, 1, 0), []))
        await asyncio.sleep(0.05)
    assert all(json.loads(f)["type"] != "Ping" for f in socket.frames)
    connection.fail("done")
    connection.ping_timer.cancel()
    await connection.writer_task
