"""Fuzzing the HTTP functions API of a real server with hostile JSON bodies.

One `syncline serve` process (tests/fuzz/apps/fuzz) answers every example of this
module. Each request must get a clear answer: a 4xx with a JSON `{"code", "message"}`
body, or a 200 with the function's outcome (`status: "success"` or `"error"` and a
message). Never a 500, never a traceback in the server's log, and the server stays
alive: a normal query still answers after every example.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncline.values.timestamps import encode_ts
from tests.fuzz.app_args import ARGS_FOR, args_values, often, wire, wire_args
from tests.fuzz.conftest import FUNCTIONS, Client
from tests.fuzz.strategies import field_names, json_text, json_values, note_event

FUZZ = settings(max_examples=800, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def assert_clear_answer(response: httpx.Response) -> None:
    """A 4xx JSON error saying why, or a 200 with the function's outcome."""
    assert response.status_code < 500, (response.status_code, response.text[:2000])
    body = response.json()
    if response.status_code == 200:
        assert body["status"] in ("success", "error"), body
        if body["status"] == "error":
            assert isinstance(body["errorMessage"], str) and body["errorMessage"]
            note_event(f"200 error {body['errorMessage'].split(':')[0][:40]}")
        else:
            note_event("200 success")
    else:
        assert 400 <= response.status_code < 500
        assert isinstance(body.get("code"), str) and body["code"], body
        assert isinstance(body.get("message"), str) and body["message"], body
        note_event(f"{response.status_code} {body['code']}")


# -- bodies -----------------------------------------------------------------------------------

@st.composite
def bodies(draw: st.DrawFn, function: str | None = None) -> dict[str, Any]:
    """A request body for `function` (or one in the body's `path`), each member usually
    right and sometimes anything at all."""
    body: dict[str, Any] = {}
    if function is None:
        function = draw(st.sampled_from(FUNCTIONS))
        if draw(often(10)):
            body["path"] = function
        elif draw(often(3)):
            body["path"] = draw(st.one_of(json_text, json_values))
    if draw(often(10)):
        right = ARGS_FOR.get(function, wire_args).map(wire)
        args = draw(right if draw(often(4)) else args_values)
        body["args"] = [args] if not draw(often(5)) else args
    if not draw(often(4)):
        body["format"] = draw(st.sampled_from(["json", "convex_encoded_json", None])
                              if draw(often(4)) else json_values)
    if not draw(often(5)):
        ts = st.one_of(st.sampled_from([0, 1, 2**63, 2**64 - 1]), st.integers(0, 2**64 - 1))
        body["ts"] = draw(ts.map(encode_ts) if draw(often(3)) else json_values)
    if not draw(often(6)):
        body[draw(field_names)] = draw(json_values)
    return body


headers = st.one_of(
    st.just({}), st.just({}), st.just({}), st.just({}),
    st.fixed_dictionaries({"Authorization": st.one_of(
        st.sampled_from(["Bearer", "Bearer a.b.c", "Convex", "Convex x:eyJ9", "Basic Zm9v"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
        .map(str.strip))}),  # (HTTP trims the ends of a header value)
)


def encoded(body: Any) -> bytes:
    return json.dumps(body).encode()


# -- properties -------------------------------------------------------------------------------


@FUZZ
@given(st.sampled_from(["/api/query", "/api/mutation", "/api/action", "/api/function",
                        "/api/query_at_ts"]), bodies(), headers)
def test_function_endpoints_answer_any_json_body_clearly(
        client: Client, endpoint: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    assert_clear_answer(client.http.post(endpoint, content=encoded(body),
                                         headers={"Content-Type": "application/json",
                                                  **headers}))
    client.check_alive()


@FUZZ
@given(st.data(), st.sampled_from(FUNCTIONS), often(5))
def test_run_endpoint_answers_any_path_and_body_clearly(client: Client, data: st.DataObject,
                                                        function: str, real: bool) -> None:
    # (No "." or ".." segments: the client resolves those, so the server never sees them.)
    identifier = function.replace(":", "/") if real else data.draw(st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="?#%"),
        min_size=1, max_size=30).filter(lambda s: not {".", ".."} & set(s.split("/"))),
        label="identifier")
    body = data.draw(bodies(function), label="body")
    assert_clear_answer(client.http.post(f"/api/run/{identifier}", content=encoded(body)))
    client.check_alive()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["/api/query", "/api/mutation", "/api/action", "/api/function",
                        "/api/run/fuzz/echo"]),
       st.one_of(st.binary(max_size=200), json_values.map(encoded),
                 st.just(b'{"path": "fuzz:echo", "args": {"a": 1e999}}'),
                 st.just(b'{"path": "fuzz:echo", "args": {"a": "\\ud800"}}'),
                 st.just(b'{"path": "fuzz:echo", "args": {"a": 123456789012345678901234}}'),
                 st.just(b"[" * 2000)))
def test_function_endpoints_answer_any_bytes_clearly(client: Client, endpoint: str,
                                                     raw: bytes) -> None:
    assert_clear_answer(client.http.post(endpoint, content=raw))
    client.check_alive()


@pytest.mark.parametrize("depth", [17, 300, 470, 480, 490, 1100])
@pytest.mark.parametrize(("endpoint", "path", "arg"), [
    ("/api/query", "fuzz:echo", "value"), ("/api/query", "fuzz:typed", "anything"),
    ("/api/mutation", "fuzz:store", "value"), ("/api/action", "fuzz:echo_action", "value")])
def test_deep_arguments_get_a_clear_answer(client: Client, depth: int, endpoint: str,
                                           path: str, arg: str) -> None:
    """Arguments nested from just past the limit (16) to past the JSON parser's (1,024);
    around 480 levels the decoded value is still accepted and a validator walks it.
    (Hypothesis prints its examples, which fails at these depths: a plain test.)"""
    for opening, closing in (("[", "]"), ('{"a":', "}")):
        deep = opening * depth + "1" + closing * depth  # (json.dumps cannot nest 1,100)
        body = f'{{"path": "{path}", "args": {{"{arg}": {deep}}}}}'
        response = client.http.post(endpoint, content=body.encode())
        assert_clear_answer(response)
        assert response.status_code == 400 or response.json()["status"] == "error"
    client.check_alive()


@pytest.mark.parametrize("depth", [16, 17, 300, 600, 3000])
def test_convex_error_data_of_any_depth_is_a_clear_error(client: Client, depth: int) -> None:
    """Found by the fuzz tests above: ConvexError data the function nested 255 to ~500
    levels deep made the error encoder fail, a 500. Data past the value limits (16
    levels) now reaches the caller as its repr."""
    response = client.http.post("/api/mutation", json={
        "path": "fuzz:fail_nested", "args": {"depth": depth}, "format": "convex_encoded_json"})
    assert_clear_answer(response)
    body = response.json()
    assert body["status"] == "error"
    if depth <= 16:
        assert body["errorMessage"].startswith("Uncaught ConvexError: [[")
        assert isinstance(body["errorData"], list)
    elif depth < 1000:  # (deeper, the function cannot even build the error: a Server Error)
        assert isinstance(body["errorData"], str) and body["errorData"].startswith("[[")
    client.check_alive()
