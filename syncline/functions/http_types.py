"""`Request` and `Response` of HTTP actions (`convex/http.py`).

A handler gets a `Request` whose body the site has already read (up to
MAX_HTTP_BODY_SIZE), and returns a `Response` whose body is text, bytes, JSON
(`Response.json(...)`), nothing, or an (async) iterable of chunks, which is
streamed to the client chunk by chunk and is not size-limited.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

MAX_HTTP_BODY_SIZE = 20 * 1024 * 1024  # request and non-streamed response bodies

HeadersInit = Mapping[str, str] | Iterable[tuple[str, str]] | None


class Headers:
    """Case-insensitive HTTP headers; a name may repeat (`get_all`, `append`)."""

    def __init__(self, init: HeadersInit | Headers = None) -> None:
        self._items: list[tuple[str, str]] = []
        if init is None:
            return
        pairs = init.items() if isinstance(init, (Mapping, Headers)) else init
        for name, value in pairs:
            self.append(name, value)

    def get(self, name: str, default: str | None = None) -> str | None:
        key = name.lower()
        for item_name, value in self._items:
            if item_name == key:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [value for item_name, value in self._items if item_name == key]

    def set(self, name: str, value: str) -> None:
        self.delete(name)
        self.append(name, value)

    def append(self, name: str, value: str) -> None:
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"header names and values must be str, got {name!r}: {value!r}")
        self._items.append((name.lower(), value))

    def delete(self, name: str) -> None:
        key = name.lower()
        self._items = [item for item in self._items if item[0] != key]

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        self.set(name, value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class Request:
    """An incoming HTTP request, as an HTTP action's handler sees it."""

    def __init__(self, method: str, url: str, headers: HeadersInit | Headers = None,
                 body: bytes = b"") -> None:
        self.method = method.upper()
        self.url = url
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self._body = body
        parts = urlsplit(url)
        self.path = parts.path or "/"
        # Every (name, value) in order, and the first value of each name.
        self.query_list: list[tuple[str, str]] = parse_qsl(parts.query, keep_blank_values=True)
        self.query_params: dict[str, str] = {}
        for name, value in self.query_list:
            self.query_params.setdefault(name, value)

    async def body(self) -> bytes:
        return self._body

    async def text(self) -> str:
        return self._body.decode("utf-8", errors="replace")

    async def json(self) -> Any:
        return orjson.loads(self._body)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"


BodyInit = str | bytes | bytearray | memoryview | AsyncIterable[Any] | Iterable[Any] | None


class Response:
    """What an HTTP action returns. `body` is text (utf-8), bytes, None, or an async or
    plain iterable of str/bytes chunks, streamed as they are produced."""

    def __init__(self, body: BodyInit = None, *, status: int = 200,
                 headers: HeadersInit | Headers = None) -> None:
        if not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError(f"Response status must be an int from 200 to 599, got {status!r}")
        self.status = status
        self.headers = Headers(headers)
        self.body: bytes | None = None
        self.stream: AsyncIterable[Any] | Iterable[Any] | None = None
        if body is None:
            self.body = b""
        elif isinstance(body, str):
            self.body = body.encode()
            if "content-type" not in self.headers:
                self.headers.set("content-type", "text/plain; charset=utf-8")
        elif isinstance(body, (bytes, bytearray, memoryview)):
            self.body = bytes(body)
        elif isinstance(body, (AsyncIterable, Iterable)) and not isinstance(body, dict):
            self.stream = body
        else:
            raise TypeError(
                "Response body must be str, bytes, None or an (async) iterable of chunks, got "
                f"{type(body).__name__} (use Response.json(...) for JSON)"
            )

    @classmethod
    def json(cls, data: Any, *, status: int = 200,
             headers: HeadersInit | Headers = None) -> Response:
        response = cls(orjson.dumps(data), status=status, headers=headers)
        if "content-type" not in response.headers:
            response.headers.set("content-type", "application/json")
        return response

    @property
    def streamed(self) -> bool:
        return self.stream is not None

    def __repr__(self) -> str:
        kind = "streamed" if self.streamed else f"{len(self.body or b'')} bytes"
        return f"<Response {self.status} {kind}>"


def chunk_bytes(chunk: Any) -> bytes:
    """A streamed chunk as bytes (str is utf-8 encoded)."""
    if isinstance(chunk, str):
        return chunk.encode()
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"A streamed response chunk must be str or bytes, got {type(chunk).__name__}")


# -- running a handler on an action thread, its response read on the server's loop ------------


class HttpResult:
    """What `FunctionRunner.run_http_action` answers: the handler's Response (its body, or
    `chunks` to stream), or the failure that makes it a 500."""

    def __init__(self, request_id: str, response: Response | None, failure: Any = None,
                 chunks: AsyncIterator[bytes] | None = None) -> None:
        self.request_id = request_id
        self.response = response
        self.failure = failure
        self.chunks = chunks


class ResponseChannel:
    """Carries a response from the action thread's loop to the server's loop: the head,
    then (streamed) each chunk as it is produced, then the end. `put` is thread-safe."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.closed = False  # the client went away: the producer stops

    def put(self, kind: str, value: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, value))
        except RuntimeError:  # the server's loop is closed: nobody is listening
            self.closed = True

    async def produce(self, action: Any, ctx: Any, request: Request) -> None:
        """Run on the action thread: call the handler and send what it returns."""
        response = await action(ctx, request)
        if not isinstance(response, Response):
            raise TypeError(
                f"An HTTP action must return a Response, got {type(response).__name__}")
        if not response.streamed:
            if len(response.body or b"") > MAX_HTTP_BODY_SIZE:
                raise ValueError(
                    f"The response body is {len(response.body or b'')} bytes, more than the "
                    f"{MAX_HTTP_BODY_SIZE // (1024 * 1024)} MiB limit of a non-streamed "
                    "response; stream it instead")
            self.put("head", response)
            return
        self.put("head", response)
        stream = response.stream
        if isinstance(stream, AsyncIterable):
            iterator = aiter(stream)
            try:
                async for chunk in iterator:
                    if self.closed:
                        break
                    self.put("chunk", chunk_bytes(chunk))
            finally:
                close = getattr(iterator, "aclose", None)
                if close is not None:
                    await close()
        else:
            assert stream is not None
            for chunk in stream:
                if self.closed:
                    break
                self.put("chunk", chunk_bytes(chunk))
        self.put("end", None)

    async def result(self, request_id: str) -> HttpResult:
        """Wait for the head (or the failure) on the server's loop."""
        try:
            kind, value = await self._queue.get()
        except BaseException:
            self.closed = True
            raise
        if kind == "head":
            return HttpResult(request_id, value, None,
                              self._chunks() if value.streamed else None)
        return HttpResult(request_id, None, value)  # "done": failed before a response

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            while True:
                kind, value = await self._queue.get()
                if kind == "chunk":
                    yield value
                else:  # "end", or "done" after a failure mid-stream (logged; stream cut)
                    return
        finally:
            self.closed = True
