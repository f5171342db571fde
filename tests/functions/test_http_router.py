"""HTTP routers (`convex/http.py`): routing rules, validation, Request/Response, CORS, and
running a handler with `FunctionRunner.run_http_action`."""

from __future__ import annotations

import asyncio
import time
import types

import pytest

from syncline.functions import FunctionRunner
from syncline.functions.http_router import (
    HttpRouter,
    HttpRouterError,
    Request,
    Response,
    cors,
    find_router,
    http_action,
)


def named(label: str):
    @http_action
    async def handler(ctx, request):
        return Response(label)
    return handler


def router_with(*routes: tuple[str, str, str]) -> HttpRouter:
    """routes: (kind "path"/"prefix", value, method); each handler answers its label."""
    http = HttpRouter()
    for kind, value, method in routes:
        handler = named(f"{method} {value}")
        if kind == "path":
            http.route(path=value, method=method, handler=handler)
        else:
            http.route(path_prefix=value, method=method, handler=handler)
    return http


def test_exact_beats_prefix_and_longest_prefix_wins() -> None:
    http = router_with(("path", "/files/a", "GET"), ("prefix", "/files/", "GET"),
                       ("prefix", "/files/img/", "GET"), ("prefix", "/", "GET"))
    assert http.lookup("GET", "/files/a").route.label == "GET /files/a"
    assert http.lookup("GET", "/files/b").route.label == "GET /files/*"
    assert http.lookup("GET", "/files/img/x").route.label == "GET /files/img/*"
    assert http.lookup("GET", "/other").route.label == "GET /*"
    assert http.lookup("get", "/files/a").status == 200


def test_404_and_405() -> None:
    http = router_with(("path", "/a", "GET"), ("path", "/a", "POST"), ("prefix", "/p/", "PUT"))
    assert http.lookup("GET", "/b").status == 404
    assert http.lookup("GET", "/p").status == 404
    match = http.lookup("DELETE", "/a")
    assert (match.status, match.allowed, match.route) == (405, ("GET", "POST"), None)
    assert http.lookup("GET", "/p/x").allowed == ("PUT",)


def test_a_shorter_prefix_serves_a_method_the_longer_one_lacks() -> None:
    http = router_with(("prefix", "/a/", "POST"), ("prefix", "/a/b/", "GET"))
    assert http.lookup("POST", "/a/b/c").route.label == "POST /a/*"


@pytest.mark.parametrize("kwargs, message", [
    ({"path": "x"}, "must start with '/'"),
    ({"path_prefix": "/x"}, "must end with '/'"),
    ({"path_prefix": "x/"}, "must start with '/'"),
    ({"path": "/x", "method": "FETCH"}, "Invalid HTTP method"),
    ({"path": "/x", "method": "HEAD"}, "Invalid HTTP method"),
    ({}, "exactly one of path= and path_prefix="),
    ({"path": "/x", "path_prefix": "/x/"}, "exactly one of"),
])
def test_invalid_routes(kwargs: dict, message: str) -> None:
    http = HttpRouter()
    kwargs = {"method": "GET", "handler": named("x"), **kwargs}
    with pytest.raises(HttpRouterError, match=message):
        http.route(**kwargs)


def test_duplicates_and_undecorated_handlers() -> None:
    http = router_with(("path", "/x", "GET"), ("prefix", "/x/", "GET"))
    with pytest.raises(HttpRouterError, match="Duplicate route: GET /x"):
        http.route(path="/x", method="get", handler=named("again"))
    with pytest.raises(HttpRouterError, match=r"Duplicate route: GET /x/\*"):
        http.route(path_prefix="/x/", method="GET", handler=named("again"))
    http.route(path="/x", method="POST", handler=named("other method"))

    async def plain(ctx, request):
        return Response()

    with pytest.raises(HttpRouterError, match="@http_action"):
        http.route(path="/y", method="GET", handler=plain)
    with pytest.raises(HttpRouterError, match="async def"):
        http_action(lambda ctx, request: None)


def test_find_router() -> None:
    assert find_router(None) is None
    module = types.ModuleType("http")
    with pytest.raises(HttpRouterError, match=r"must define `http = HttpRouter\(\)`"):
        find_router(module)
    module.http = "nope"
    with pytest.raises(HttpRouterError, match="found str"):
        find_router(module)
    module.http = router_with(("path", "/x", "GET"))
    assert find_router(module) is module.http


async def test_request_and_response() -> None:
    request = Request("post", "http://h/p/q?a=1&b=2&a=3&e=",
                      [("Content-Type", "application/json"), ("X-A", "1"), ("x-a", "2")],
                      b'{"k": [1]}')
    assert request.method == "POST" and request.path == "/p/q"
    assert request.query_params == {"a": "1", "b": "2", "e": ""}
    assert request.query_list == [("a", "1"), ("b", "2"), ("a", "3"), ("e", "")]
    assert request.headers["content-type"] == "application/json"
    assert request.headers.get_all("X-A") == ["1", "2"]
    assert await request.json() == {"k": [1]}
    assert await request.text() == '{"k": [1]}'
    assert await request.body() == b'{"k": [1]}'

    assert Response("hé").body == "hé".encode()
    assert Response("x").headers["Content-Type"] == "text/plain; charset=utf-8"
    assert Response(b"\x00", status=201).status == 201
    assert Response.json({"a": 1}).headers["content-type"] == "application/json"
    assert Response().body == b""
    assert Response(iter([b"a"])).streamed
    with pytest.raises(TypeError, match="Response.json"):
        Response({"a": 1})
    with pytest.raises(ValueError, match="status"):
        Response(status=99)


async def test_cors_routes() -> None:
    http = HttpRouter()
    api = cors(http, allowed_origins=["https://a.example"], allowed_headers=["*"],
               exposed_headers=["X-Id"])
    api.route(path="/r", method="GET", handler=named("r"))
    api.route(path="/r", method="DELETE", handler=named("r"))
    api.route(path_prefix="/p/", method="POST", handler=named("p"))
    assert {r.label for r in http.routes()} == {
        "GET /r", "DELETE /r", "OPTIONS /r", "POST /p/*", "OPTIONS /p/*"}

    preflight = http.lookup("OPTIONS", "/r").route.handler
    response = await preflight(None, Request("OPTIONS", "http://h/r", {
        "Origin": "https://a.example", "Access-Control-Request-Headers": "X-Token"}))
    assert response.status == 204
    assert response.headers["access-control-allow-methods"] == "DELETE, GET"
    assert response.headers["access-control-allow-headers"] == "X-Token"
    assert response.headers["access-control-allow-origin"] == "https://a.example"
    refused = await preflight(None, Request("OPTIONS", "http://h/r", {"Origin": "https://b"}))
    assert refused.status == 403

    get = http.lookup("GET", "/r").route.handler
    response = await get(None, Request("GET", "http://h/r", {"Origin": "https://a.example"}))
    assert response.body == b"r"
    assert response.headers["access-control-expose-headers"] == "X-Id"
    anyone = cors(HttpRouter())
    assert anyone._origin_headers(Request("GET", "http://h/")) == {
        "Access-Control-Allow-Origin": "*"}
    with pytest.raises(HttpRouterError, match="OPTIONS"):
        api.route(path="/z", method="OPTIONS", handler=named("z"))


@pytest.fixture
def runner(db):
    runner = FunctionRunner(db, None)
    yield runner
    runner.close()


async def test_run_http_action_streams_chunks_as_produced(runner: FunctionRunner) -> None:
    @http_action
    async def stream(ctx, request):
        async def chunks():
            yield "a"
            await asyncio.sleep(0.2)
            yield f"{time.time()}"
        return Response(chunks(), status=202, headers={"X-S": "1"})

    result = await runner.run_http_action(stream, Request("GET", "http://h/s"), label="GET /s")
    assert result.failure is None and result.response.status == 202
    assert result.response.headers["x-s"] == "1"
    assert result.chunks is not None
    first = await result.chunks.__anext__()
    first_at = time.time()
    second = await result.chunks.__anext__()
    assert first == b"a" and first_at < float(second)
    with pytest.raises(StopAsyncIteration):
        await result.chunks.__anext__()


async def test_run_http_action_failures_are_recorded(runner: FunctionRunner) -> None:
    @http_action
    async def broken(ctx, request):
        print("before")
        raise ValueError("nope")

    @http_action
    async def not_a_response(ctx, request):
        return {"a": 1}

    result = await runner.run_http_action(broken, Request("GET", "http://h/b"), label="GET /b")
    assert result.response is None
    assert "ValueError: nope" in result.failure.message
    assert f"[Request ID: {result.request_id}]" in result.failure.message
    await asyncio.sleep(0.05)  # the record is written when the worker is done
    record = runner.recent[-1]
    assert (record.path, record.success, record.kind) == ("GET /b", False, "action")
    assert [line.message for line in record.log_lines] == ["before"]

    result = await runner.run_http_action(not_a_response, Request("GET", "http://h/n"),
                                          label="GET /n")
    assert "must return a Response" in result.failure.message
