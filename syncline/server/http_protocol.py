"""An idle timeout on reading a request: uvicorn waits without limit for a request whose
headers or body (a `Content-Length` larger than what is sent) never finish arriving.

The timeout lives in the connection's protocol rather than in each endpoint, so it covers
every request (headers included, and bodies an endpoint never reads) and costs nothing
for a request that arrives whole: the timer is armed only while a request has begun and
not yet been read to its end. Time when uvicorn itself stopped reading (flow control,
while the app is not consuming the body, or a pipelined request waiting its turn) is not
counted against the client. On timeout the client gets a 408 (unless a response has
begun) and the connection is closed; the app sees a disconnect, which endpoints handle
without a traceback (request_bodies.py).
"""

from __future__ import annotations

from asyncio import TimerHandle

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def timeout_response(idle_timeout_s: float) -> bytes:
    body = orjson.dumps({
        "code": "RequestTimeout",
        "message": f"The request was not received in full: nothing arrived for "
                   f"{idle_timeout_s:g} s (does its Content-Length promise more than the "
                   "body it sends?)",
    })
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
            + body)


def bounded_protocol(idle_timeout_s: float,
                     base: type[HttpToolsProtocol] = HttpToolsProtocol,
                     ) -> type[HttpToolsProtocol]:
    """`base` with a request that sends nothing for `idle_timeout_s` answered 408 and closed."""
    response = timeout_response(idle_timeout_s)

    class BoundedHttpToolsProtocol(base):  # type: ignore[valid-type, misc]
        _reading = False  # a request has begun and not been read to its end
        _has_cycle = False  # ... and its headers are in: `self.cycle` is that request's
        _last_data = 0.0
        _idle_timer: TimerHandle | None = None

        def on_message_begin(self) -> None:
            self._reading = True
            self._has_cycle = False
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._has_cycle = True

        def on_message_complete(self) -> None:
            self._reading = False
            super().on_message_complete()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._reading:  # part of a request: (re)start the clock
                self._last_data = self.loop.time()
                if self._idle_timer is None and self.transport.get_protocol() is self:
                    self._idle_timer = self.loop.call_later(idle_timeout_s, self._check_idle)

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_timer()
            super().connection_lost(exc)

        def _stop_timer(self) -> None:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None

        def _check_idle(self) -> None:
            self._idle_timer = None
            transport = self.transport
            if (not self._reading or transport.is_closing()
                    or transport.get_protocol() is not self):  # done, closed, or a WebSocket
                return
            now = self.loop.time()
            if self.flow.read_paused:  # uvicorn is not reading: not the client's delay
                self._last_data = now
            idle = now - self._last_data
            if idle < idle_timeout_s:
                self._idle_timer = self.loop.call_later(idle_timeout_s - idle, self._check_idle)
                return
            cycle = self.cycle if self._has_cycle else None
            if cycle is None or not cycle.response_started:
                transport.write(response)
            if cycle is not None and not cycle.response_complete:
                # As connection_lost does: the app's receive() answers a disconnect, and what
                # it sends goes nowhere.
                cycle.disconnected = True
                cycle.message_event.set()
            transport.close()

    return BoundedHttpToolsProtocol
