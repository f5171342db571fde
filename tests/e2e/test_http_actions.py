"""HTTP actions (`convex/http.py`) served on the site port of a real `syncline dev`."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import Server, copy_app, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_app("httpapp", tmp_path_factory.mktemp("http")))
    yield server
    server.stop()


def test_get_with_query_params_and_headers(server: Server) -> None:
    r = httpx.get(f"{server.site_url}/echo", params={"a": "1", "b": "two"},
                  headers={"X-Custom": "hi"})
    assert r.status_code == 200, r.text
    assert r.headers["x-echo"] == "yes"
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["method"] == "GET"
    assert body["query"] == {"a": "1", "b": "two"}
    assert body["x_custom"] == "hi"
    assert body["url"].endswith("/echo?a=1&b=two")


def test_post_json_text_and_bytes(server: Server) -> None:
    r = httpx.post(f"{server.site_url}/json", json={"x": [1, 2]})
    assert r.status_code == 201 and r.json() == {"got": {"x": [1, 2]}}
    r = httpx.post(f"{server.site_url}/text", content="hello")
    assert r.status_code == 200 and r.text == "HELLO"
    assert r.headers["content-type"] == "text/plain"
    r = httpx.post(f"{server.site_url}/bytes", content=b"\x00\x01\xff")
    assert r.content == b"\xff\x01\x00"
    assert r.headers["content-type"] == "application/octet-stream"


def test_exact_prefix_and_longest_prefix(server: Server) -> None:
    assert httpx.get(f"{server.site_url}/files/exact").text == "exact"
    assert httpx.get(f"{server.site_url}/files/exact/more").text == "files prefix"
    assert httpx.get(f"{server.site_url}/files/a/b").text == "files prefix"
    assert httpx.get(f"{server.site_url}/files/images/cat.png").text == "images prefix"


def test_unknown_route_404_and_wrong_method_405(server: Server) -> None:
    assert httpx.get(f"{server.site_url}/nowhere").status_code == 404
    assert httpx.get(f"{server.site_url}/files").status_code == 404  # prefix needs the '/'
    r = httpx.delete(f"{server.site_url}/echo")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, PUT"
    assert httpx.post(f"{server.site_url}/files/x").status_code == 405


def test_too_large_request_body_is_413(server: Server) -> None:
    r = httpx.post(f"{server.site_url}/bytes", content=b"x" * (20 * 1024 * 1024 + 1),
                   timeout=30)
    assert r.status_code == 413
    r = httpx.post(f"{server.site_url}/bytes", content=b"x" * (20 * 1024 * 1024), timeout=30)
    assert r.status_code == 200 and len(r.content) == 20 * 1024 * 1024


def test_handler_runs_mutation_then_query(server: Server) -> None:
    r = httpx.post(f"{server.site_url}/count", params={"name": "http"})
    assert r.json() == {"after": 1, "value": 1}
    r = httpx.post(f"{server.site_url}/count", params={"name": "http"})
    assert r.json() == {"after": 2, "value": 2}
    assert server.run("query", "counter:get", {"name": "http"})["value"] == 2


def test_exception_is_500_with_request_id_and_logged(server: Server) -> None:
    r = httpx.get(f"{server.site_url}/fail")
    assert r.status_code == 500
    match = re.search(r"\[Request ID: ([0-9a-f]+)\]", r.text)
    assert match, r.text
    assert "the handler broke" in r.text  # a dev deployment shows the error
    deadline = time.monotonic() + 5
    while "the handler broke" not in server.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    output = server.output()
    assert "GET /fail" in output and "the handler broke" in output, output


def test_streamed_response_arrives_chunk_by_chunk(server: Server) -> None:
    lines: list[tuple[str, float]] = []  # (line, when the client read it)
    with httpx.stream("GET", f"{server.site_url}/stream", timeout=30) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line:
                lines.append((line, time.time()))
    assert [line.split()[0] for line, _ in lines] == ["first", "second", "done"]
    first_received = lines[0][1]
    second_produced = float(lines[1][0].split()[1])
    # The client held the first chunk before the handler produced the second.
    assert first_received < second_produced


def test_cors_preflight_and_headers(server: Server) -> None:
    origin = {"Origin": "https://example.com"}
    r = httpx.options(f"{server.site_url}/cors", headers={
        **origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-Token"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://example.com"
    assert r.headers["access-control-allow-methods"] == "GET, POST"
    assert r.headers["access-control-allow-headers"] == "Content-Type, X-Token"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-max-age"] == "600"
    r = httpx.get(f"{server.site_url}/cors", headers=origin)
    assert r.json() == {"hello": "cors"}
    assert r.headers["access-control-allow-origin"] == "https://example.com"
    assert r.headers["access-control-expose-headers"] == "X-Echo"
    assert r.headers["vary"] == "Origin"
    # Another origin gets no CORS headers, and a refused preflight.
    r = httpx.get(f"{server.site_url}/cors", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    r = httpx.options(f"{server.site_url}/cors", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


def test_bad_router_fails_the_push_and_the_old_routes_keep_serving(server: Server) -> None:
    http_py = server.app_dir / "convex" / "http.py"
    good = http_py.read_text()
    http_py.write_text(good + '\nhttp.route(path="/echo", method="GET", handler=echo)\n')
    deadline = time.monotonic() + 10
    while "Duplicate route" not in server.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Duplicate route: GET /echo" in server.output()
    assert httpx.get(f"{server.site_url}/echo").status_code == 200
    http_py.write_text(good.replace('path="/text"', 'path="/text2"'))
    deadline = time.monotonic() + 10
    while (httpx.post(f"{server.site_url}/text2", content="a").status_code != 200
           and time.monotonic() < deadline):
        time.sleep(0.1)
    assert httpx.post(f"{server.site_url}/text2", content="a").text == "A"
    assert httpx.post(f"{server.site_url}/text").status_code == 404
