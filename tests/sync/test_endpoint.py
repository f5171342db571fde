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
