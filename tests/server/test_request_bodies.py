"""The shared budget of request bodies and the strict number parsing, in process; the
same bounds against a real server are in tests/e2e/test_http_bounds.py."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from syncline.server.request_bodies import (
    SCOPE_KEY,
    BodyBudget,
    BodyLimits,
    BoundedBodies,
    ClientDisconnected,
    InvalidSettingError,
    ascii_uint,
    read_body,
)
from syncline.server.responses import BadRequest
from syncline.server.storage_api import parse_range


async def test_a_body_that_does_not_fit_waits_until_room_is_given_back():
    budget = BodyBudget(100)
    assert budget.try_take(80) and budget.in_flight == 80
    waiter = asyncio.create_task(budget.take(50, wait_s=30))
    while budget.waiting == 0:
        await asyncio.sleep(0)
    assert not waiter.done() and budget.in_flight == 80
    budget.give_back(80)
    assert await waiter is True
    assert budget.in_flight == 50 and budget.waiting == 0


async def test_a_body_that_never_fits_in_time_is_refused_and_holds_nothing():
    budget = BodyBudget(100)
    budget.try_take(80)
    assert await budget.take(50, wait_s=0.01) is False
    assert budget.in_flight == 80 and budget.waiting == 0
    assert await budget.take(101, wait_s=30) is False  # more than the whole budget: at once
    assert budget.in_flight == 80 and budget.waiting == 0


async def test_bodies_are_held_until_the_response_then_given_back():
    limits = BodyLimits(BodyBudget(1000), budget_wait_s=0.01)
    held_during: list[int] = []

    async def app(scope, receive, send) -> None:
        body = await read_body(Request(scope, receive), 10_000)
        held_during.append(limits.budget.in_flight)
        if body == b"fail":
            raise RuntimeError("the handler failed")

    async def run(body: bytes, declared: bool) -> None:
        headers = [(b"content-length", str(len(body)).encode())] if declared else []
        messages = iter([{"type": "http.request", "body": body[:2], "more_body": True},
                         {"type": "http.request", "body": body[2:], "more_body": False}])

        async def receive() -> dict:
            return next(messages)

        scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
        await BoundedBodies(app, limits)(scope, receive, None)  # type: ignore[arg-type]
        assert SCOPE_KEY in scope

    await run(b"x" * 600, declared=True)  # reserved up front
    await run(b"y" * 700, declared=False)  # chunked: reserved as it arrives
    with pytest.raises(RuntimeError):
        await run(b"fail", declared=True)
    assert held_during == [600, 700, 4]
    assert limits.budget.in_flight == 0


async def test_a_body_refused_by_the_budget_says_why_and_closes_the_connection():
    limits = BodyLimits(BodyBudget(1000), budget_wait_s=0.01)
    limits.budget.try_take(900)
    refused: list[BadRequest] = []

    async def app(scope, receive, send) -> None:
        try:
            await read_body(Request(scope, receive), 10_000)
        except BadRequest as e:
            refused.append(e)

    async def receive() -> dict:
        raise AssertionError("a refused body is not read")

    for size in (200, 1001):
        scope = {"type": "http", "method": "POST", "path": "/",
                 "headers": [(b"content-length", str(size).encode())]}
        await BoundedBodies(app, limits)(scope, receive, None)  # type: ignore[arg-type]
    busy, too_large = refused
    assert (busy.status, busy.code) == (503, "ServerBusy")
    assert "900 of the 1000 bytes it holds at once are in use" in busy.message
    assert busy.headers == {"Connection": "close", "Retry-After": "1"}
    assert (too_large.status, too_large.code) == (413, "PayloadTooLarge")
    assert too_large.headers == {"Connection": "close"}
    assert limits.budget.in_flight == 900


async def test_a_client_leaving_mid_body_is_client_disconnected():
    messages = iter([{"type": "http.request", "body": b"ab", "more_body": True},
                     {"type": "http.disconnect"}])

    async def receive() -> dict:
        return next(messages)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    with pytest.raises(ClientDisconnected):
        await read_body(Request(scope, receive), 10_000)


@pytest.mark.parametrize(("raw", "value"), [
    ("0", 0), ("42", 42), ("0042", 42), ("9" * 19, int("9" * 19)),
    ("²", None), ("١٢", None), ("1_0", None), (" 5", None), ("5 ", None), ("-1", None),
    ("+1", None), ("", None), ("9" * 20, None), ("9" * 5000, None), (None, None),
], ids=lambda v: str(v)[:24])
def test_ascii_uint_takes_only_ascii_digits(raw, value):
    assert ascii_uint(raw) == value


@pytest.mark.parametrize(("name", "raw"), [
    ("SYNCLINE_BODY_BUDGET_BYTES", "²"), ("SYNCLINE_BODY_BUDGET_BYTES", "0"),
    ("SYNCLINE_BODY_BUDGET_BYTES", "1e6"), ("SYNCLINE_BODY_IDLE_TIMEOUT_S", "-1"),
    ("SYNCLINE_BODY_IDLE_TIMEOUT_S", "nan"), ("SYNCLINE_BODY_BUDGET_WAIT_S", "0"),
])
def test_bad_settings_are_refused_naming_the_variable(monkeypatch, name, raw):
    monkeypatch.setenv(name, raw)
    with pytest.raises(InvalidSettingError, match=name):
        BodyLimits.from_env()


def test_settings_from_the_environment(monkeypatch):
    for name in ("SYNCLINE_BODY_BUDGET_BYTES", "SYNCLINE_BODY_IDLE_TIMEOUT_S",
                 "SYNCLINE_BODY_BUDGET_WAIT_S"):
        monkeypatch.delenv(name, raising=False)
    limits = BodyLimits.from_env()
    assert (limits.budget.capacity, limits.idle_timeout_s, limits.budget_wait_s) == (
        128 * 1024 * 1024, 30.0, 10.0)
    monkeypatch.setenv("SYNCLINE_BODY_BUDGET_BYTES", "1000")
    monkeypatch.setenv("SYNCLINE_BODY_IDLE_TIMEOUT_S", "1.5")
    monkeypatch.setenv("SYNCLINE_BODY_BUDGET_WAIT_S", "2")
    limits = BodyLimits.from_env()
    assert (limits.budget.capacity, limits.idle_timeout_s, limits.budget_wait_s) == (
        1000, 1.5, 2.0)


@pytest.mark.parametrize(("header", "wanted"), [
    ("bytes=5-3", None), ("bytes=1000-3", None), ("bytes=-", None), ("bytes=0-1,2-3", None),
    ("bytes=2-4", (2, 5)), ("bytes=7-", (7, 10)), ("bytes=-3", (7, 10)),
    ("bytes=0-" + "9" * 5000, (0, 10)),
], ids=lambda v: str(v)[:24])
def test_parse_range(header, wanted):
    assert parse_range(header, 10) == wanted


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=-0", "bytes=" + "9" * 5000 + "-"],
                         ids=lambda v: v[:24])
def test_parse_range_unsatisfiable(header):
    with pytest.raises(ValueError):
        parse_range(header, 10)
