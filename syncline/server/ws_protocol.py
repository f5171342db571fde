"""uvicorn's sans-I/O WebSocket protocol, made to close a connection whose peer stopped reading.

uvicorn's `send` first waits until the transport's write buffer has drained below its
low-water mark, for every message including the close. A client that stopped reading
never drains it, so the close was never sent: the connection, the app's task for it and
the unread buffer stayed until the client went away, and a slow client that the sync
endpoint had disconnected was not disconnected at all. Here a close asked for while the
buffer is full is queued behind what the client has not read, the app is told the
connection has ended (as uvicorn does for any close), and the socket is aborted if the
client has not read up to the close within UNREAD_CLOSE_TIMEOUT_S.

The rest is uvicorn's; this relies on its attributes (`writable`, `conn`, `close_sent`,
`close_timer`, `queue`), as request_counting.py does on its HTTP protocol.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

UNREAD_CLOSE_TIMEOUT_S = 2.0


class SyncWebSocketProtocol(WebSocketsSansIOProtocol):
    async def send(self, message: Any) -> None:
        if (message["type"] == "websocket.close" and not self.writable.is_set()
                and self.handshake_complete and self.initial_response is None
                and not self.close_sent and not self.disconnected):
            self._close_behind_unread(message.get("code", 1000), message.get("reason") or "")
            return
        await super().send(message)

    def _close_behind_unread(self, code: int, reason: str) -> None:
        if self.transport.is_closing():
            return
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:  # read on, to see the client's close reply
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(UNREAD_CLOSE_TIMEOUT_S, self.transport.abort)
