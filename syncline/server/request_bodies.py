"""Bounds on reading request bodies, so that clients cannot make the server buffer or wait
without limit (both ports: the API and the HTTP actions site).

- A byte budget shared by every request whose body is held in memory (function calls,
  HTTP actions, admin JSON bodies). A request reserves its declared `Content-Length`
  before its first byte is read (a chunked body reserves chunk by chunk) and gives the
  bytes back only once its response is sent, since the body (and what it parses into)
  lives until then. A body that does not fit waits up to `budget_wait_s` for room, then
  is refused with 503; one larger than the whole budget is refused at once with 413.
  Reserving the declared length up front means no request holds part of the budget
  while it waits for more, so waiting requests cannot deadlock one another.
- An idle timeout (`idle_timeout_s`, enforced by the connection's protocol in
  http_protocol.py): a request that sends nothing for that long, say one whose
  `Content-Length` is larger than its body, is answered 408 and its connection closed.
- A client that goes away mid-body is a ClientDisconnected, answered to no one, without
  a traceback.

File uploads stream to disk and imports need the admin key, so neither draws on the
budget. The defaults can be changed with environment variables read when a deployment
starts (see `BodyLimits.from_env`).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncline.errors import InvalidSettingError  # raised here; cli/deploy.py catches it
from syncline.server.responses import BadRequest

MiB = 1024 * 1024
# Twice the largest body a single request may send (a function call's JSON: 64 MiB, for
# the documented 16 MiB of arguments once base64 and escapes are counted; HTTP actions
# take 20 MiB), so one maximal request always fits and leaves room for the others.
DEFAULT_BUDGET_BYTES = 128 * MiB
# How long a body may send nothing, and how long one may wait for room in the budget.
DEFAULT_IDLE_TIMEOUT_S = 30.0
DEFAULT_BUDGET_WAIT_S = 10.0
SCOPE_KEY = "syncline.body_reservation"
# Sent with every refusal that leaves the body unread: uvicorn would otherwise keep the
# connection open and read (and discard) the rest of the body.
CLOSE = {"Connection": "close"}

_UINT = re.compile(r"[0-9]{1,19}")
_SECONDS = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?")


def ascii_uint(raw: str | None) -> int | None:
    """`raw` as an int if it is 1-19 ASCII digits, else None. Unlike `str.isdigit()` then
    `int()`, this refuses `²`, Arabic-Indic digits, `1_000`, spaces and huge numbers."""
    if raw is None or _UINT.fullmatch(raw) is None:
        return None
    return int(raw)


def env_bytes(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    value = ascii_uint(raw)
    if value is None or value == 0:
        raise InvalidSettingError(f"{name} must be a positive whole number of bytes, got {raw!r}")
    return value


def env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    if _SECONDS.fullmatch(raw) is None or float(raw) <= 0:
        raise InvalidSettingError(f"{name} must be a positive number of seconds, got {raw!r}")
    return float(raw)


class BodyBudget:
    """Bytes of request bodies held in memory, shared by all requests, capped at `capacity`."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_flight = 0  # bytes reserved by requests not yet answered
        self.waiting = 0  # requests waiting for room
        self._wakeups: set[asyncio.Future[None]] = set()

    def try_take(self, n: int) -> bool:
        if self.in_flight + n > self.capacity:
            return False
        self.in_flight += n
        return True

    async def take(self, n: int, wait_s: float) -> bool:
        """Reserve `n` bytes, waiting up to `wait_s` seconds for room; False if none came."""
        if self.try_take(n):
            return True
        if n > self.capacity:
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        self.waiting += 1
        try:
            while not self.try_take(n):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                wakeup = loop.create_future()
                self._wakeups.add(wakeup)
                try:
                    await asyncio.wait_for(wakeup, remaining)
                except TimeoutError:
                    return False
                finally:
                    self._wakeups.discard(wakeup)
            return True
        finally:
            self.waiting -= 1

    def give_back(self, n: int) -> None:
        self.in_flight -= n
        if n and self._wakeups:  # every waiter checks whether it fits now
            for wakeup in self._wakeups:
                if not wakeup.done():
                    wakeup.set_result(None)
            self._wakeups.clear()


@dataclass
class BodyLimits:
    """The body bounds of one deployment (one budget for both of its ports)."""

    budget: BodyBudget = field(default_factory=lambda: BodyBudget(DEFAULT_BUDGET_BYTES))
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S
    budget_wait_s: float = DEFAULT_BUDGET_WAIT_S

    @classmethod
    def from_env(cls) -> BodyLimits:
        """SYNCLINE_BODY_BUDGET_BYTES (default 128 MiB), SYNCLINE_BODY_IDLE_TIMEOUT_S
        (default 30) and SYNCLINE_BODY_BUDGET_WAIT_S (default 10)."""
        return cls(BodyBudget(env_bytes("SYNCLINE_BODY_BUDGET_BYTES", DEFAULT_BUDGET_BYTES)),
                   env_seconds("SYNCLINE_BODY_IDLE_TIMEOUT_S", DEFAULT_IDLE_TIMEOUT_S),
                   env_seconds("SYNCLINE_BODY_BUDGET_WAIT_S", DEFAULT_BUDGET_WAIT_S))


class Reservation:
    """The budget bytes one request holds, given back when its response is sent."""

    __slots__ = ("held", "limits")

    def __init__(self, limits: BodyLimits) -> None:
        self.limits = limits
        self.held = 0

    async def reserve(self, n: int) -> None:
        """Reserve `n` more bytes, or raise BadRequest (413 or 503) saying why."""
        budget = self.limits.budget
        if budget.try_take(n) or await budget.take(n, self.limits.budget_wait_s):
            self.held += n
            return
        if n > budget.capacity:
            raise BadRequest(
                "PayloadTooLarge", f"The request body ({n} bytes) is larger than the "
                f"{budget.capacity} bytes of request bodies this server holds in memory at "
                "once (SYNCLINE_BODY_BUDGET_BYTES)", 413, CLOSE)
        raise BadRequest(
            "ServerBusy", f"The server is busy receiving other request bodies: "
            f"{budget.in_flight} of the {budget.capacity} bytes it holds at once are in use "
            f"and {budget.waiting} other requests are waiting; this {n}-byte body waited "
            f"{self.limits.budget_wait_s:g} s for room. Retry later.", 503,
            {**CLOSE, "Retry-After": "1"})

    def release(self) -> None:
        if self.held:
            held, self.held = self.held, 0
            self.limits.budget.give_back(held)


class BoundedBodies:
    """ASGI middleware: each HTTP request gets a Reservation, which `read_body` fills and
    which is given back once the wrapped app has answered (or failed)."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        reservation = Reservation(self.limits)
        scope[SCOPE_KEY] = reservation
        try:
            await self.app(scope, receive, send)
        finally:
            reservation.release()


class ClientDisconnected(BadRequest):
    """The client went away before sending its whole body (nobody reads the answer). The
    idle timeout (http_protocol.py) ends a stalled request this way too."""

    def __init__(self) -> None:
        super().__init__("ClientDisconnected", "The client disconnected", 400)


async def receive_chunk(receive: Receive) -> tuple[bytes, bool]:
    """The next body chunk and whether more follow; ClientDisconnected if the client went
    away (or stalled past the idle timeout)."""
    message: Message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientDisconnected
    return message.get("body", b""), message.get("more_body", False)


async def stream_body(receive: Receive) -> AsyncIterator[bytes]:
    """The body chunk by chunk, not drawing on the budget (for streaming it to disk)."""
    more = True
    while more:
        chunk, more = await receive_chunk(receive)
        if chunk:
            yield chunk


def declared_length(headers: Any) -> int | None:
    """The request's Content-Length, if it is a plain ASCII number (uvicorn has already
    refused a malformed one)."""
    return ascii_uint(headers.get("content-length"))


def _size_text(limit: int) -> str:
    if limit >= MiB:
        return f"{limit // MiB} MiB"
    return f"{limit // 1024} KiB"


async def read_body(request: Request, max_bytes: int, *, budgeted: bool = True) -> bytes:
    """The whole body, refused (413) past `max_bytes` without reading on, held within the
    shared budget unless `budgeted` is False (admin imports)."""
    too_large = BadRequest("PayloadTooLarge",
                           f"The request body is larger than the {_size_text(max_bytes)} this "
                           "endpoint accepts", 413, CLOSE)
    declared = declared_length(request.headers)
    if declared is not None and declared > max_bytes:
        raise too_large
    reservation = request.scope.get(SCOPE_KEY) if budgeted else None
    if reservation is not None and declared is not None:
        await reservation.reserve(declared)
    # The ASGI messages directly: Starlette's `stream()` costs a small request more.
    chunks, size, more = [], 0, True
    while more:
        chunk, more = await receive_chunk(request.receive)
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        if reservation is not None and declared is None:  # chunked: reserve as it comes
            await reservation.reserve(len(chunk))
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """The JSON object in the body (an empty body is `{}`), streamed in and refused past
    `max_bytes` without reading the rest."""
    raw = await read_body(request, max_bytes)
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as e:
        raise BadRequest("BadJsonBody", f"The request body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise BadRequest("BadJsonBody", "The request body must be a JSON object")
    return body
