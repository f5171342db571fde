"""Fuzzing the sync protocol of a real server with hostile WebSocket frames.

One `syncline serve` process (tests/fuzz/apps/fuzz) answers every example. Each
example connects, sends a valid Connect, then fuzzed frames (mostly well-formed
messages with some fields wrong, some arbitrary text), then a sentinel mutation.
The server must either answer the sentinel (everything before it was handled) or
end the connection with a FatalError saying why (or AuthError for bad credentials).
Never an "Internal server error", never a traceback in its log, never a hang; and
a normal HTTP query still answers after every example.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.app_args import ARGS_FOR, args_values, often, wire
from tests.fuzz.conftest import FUNCTIONS, Client
from tests.fuzz.strategies import json_values, near_valid_messages, note_event

SENTINEL_ID = 2**53 - 2


@st.composite
def sessions(draw: st.DrawFn) -> list[str]:
    """The frames after Connect: a session a client could run (query set versions, query
    and request ids in step), its arguments anything from right to hostile, and now and
    then a frame that is wrong in some other way."""
    frames: list[str] = []
    version, request_id, identity_version = 0, 0, 0
    live: list[int] = []
    next_query_id = 0
    for _ in range(draw(st.integers(1, 6))):
        if not draw(often(20)):
            frames.append(draw(st.one_of(near_valid_messages().map(json.dumps),
                                         st.text(max_size=50))))
            continue
        kind = draw(st.sampled_from(["Add", "Add", "Remove", "Mutation", "Mutation", "Action",
                                     "Authenticate", "Event"]))
        path = draw(st.sampled_from(FUNCTIONS))
        args = draw(ARGS_FOR[path].map(wire) if draw(often(5)) else args_values)
        if kind == "Add":
            query_id = next_query_id if draw(often(10)) else draw(st.integers(0, 5))
            next_query_id = max(next_query_id, query_id) + 1
            live.append(query_id)
            change: dict[str, Any] = {"type": "Add", "queryId": query_id, "udfPath": path,
                                      "args": [args]}
        elif kind == "Remove":
            query_id = (live.pop(draw(st.integers(0, len(live) - 1)))
                        if live and draw(often(10)) else draw(st.integers(0, 5)))
            change = {"type": "Remove", "queryId": query_id}
        if kind in ("Add", "Remove"):
            message = {"type": "ModifyQuerySet", "baseVersion": version,
                       "newVersion": version + 1, "modifications": [change]}
            version += 1
        elif kind in ("Mutation", "Action"):
            message = {"type": kind, "requestId": request_id, "udfPath": path, "args": [args]}
            request_id += 1
        elif kind == "Authenticate":
            token_type = draw(st.sampled_from(["None", "Admin", "User"]))
            message = {"type": "Authenticate", "tokenType": token_type,
                       "baseVersion": identity_version}
            if token_type != "None":
                message["value"] = draw(st.sampled_from(["", "a.b.c", "not-a-key"]))
            identity_version += 1
        else:
            message = {"type": "Event", "eventType": "fuzz", "event": draw(json_values)}
        frames.append(json.dumps(message))
    return frames


async def exchange(url: str, fuzzed: list[str]) -> str:
    """Send Connect, the fuzzed frames and the sentinel; how the server answered."""
    sentinel = {"type": "Mutation", "requestId": SENTINEL_ID, "udfPath": "fuzz:noop",
                "args": [{}]}
    connect = {"type": "Connect", "sessionId": str(uuid.uuid4()), "connectionCount": 0,
               "lastCloseReason": None, "clientTs": 0}
    # Generous bounds (a busy CI machine): a hang fails the test, slowness does not.
    async with asyncio.timeout(60), websockets.connect(url, max_size=None,
                                                       open_timeout=None) as ws:
        for frame in [json.dumps(connect), *fuzzed, json.dumps(sentinel)]:
            try:
                await ws.send(frame)
            except websockets.ConnectionClosed:
                break  # the server already refused an earlier frame: read why below
        refusal = None  # what the server said before closing: FatalError or AuthError
        while True:
            try:
                message = json.loads(await ws.recv())
            except websockets.ConnectionClosed as closed:
                assert refusal is not None, f"closed without a FatalError: {closed!r}"
                assert closed.rcvd is not None, f"no close frame after {refusal}: {closed!r}"
                return refusal
            kind = message.get("type")
            if kind == "FatalError":
                error = message.get("error")
                assert isinstance(error, str) and error, message
                assert not error.startswith("Internal server error"), message
                refusal = f"FatalError {error[:30]}"  # then the close frame: read on
            if kind == "AuthError":
                assert isinstance(message.get("error"), str) and message["error"], message
                refusal = refusal or "AuthError"
            if kind == "MutationResponse" and message.get("requestId") == SENTINEL_ID:
                return "answered"


@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sessions())
def test_any_frames_get_answers_or_a_fatal_error_saying_why(client: Client,
                                                            fuzzed: list[str]) -> None:
    url = client.server.url.replace("http://", "ws://") + "/api/1.48.0/sync"
    note_event(asyncio.run(exchange(url, fuzzed)))
    client.check_alive()


async def test_a_long_non_ascii_fatal_error_still_ends_with_a_close_frame(
        client: Client) -> None:
    """Found by the fuzz test above. A FatalError naming a non-ASCII message type: its
    first 120 characters are 137 bytes, over a close frame's 123-byte reason."""
    url = client.server.url.replace("http://", "ws://") + "/api/1.48.0/sync"
    async with asyncio.timeout(30), websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "Connect", "sessionId": "s", "connectionCount": 0}))
        await ws.send(json.dumps({"type": "é" * 70}))
        fatal = json.loads(await ws.recv())
        assert fatal["type"] == "FatalError" and "unknown message type" in fatal["error"]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


async def test_convex_error_data_past_the_limits_is_a_failed_mutation(client: Client) -> None:
    """Found by the fuzz test above: ConvexError data nested 300 levels made the sync
    connection fail with "Internal server error" instead of answering the mutation."""
    url = client.server.url.replace("http://", "ws://") + "/api/1.48.0/sync"
    async with asyncio.timeout(30), websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "Connect", "sessionId": "deep", "connectionCount": 0}))
        await ws.send(json.dumps({"type": "Mutation", "requestId": 0,
                                  "udfPath": "fuzz:fail_nested", "args": [{"depth": 300}]}))
        while (message := json.loads(await ws.recv()))["type"] != "MutationResponse":
            assert message["type"] != "FatalError", message
    assert message["success"] is False and message["result"].startswith("Uncaught ConvexError")
    assert isinstance(message["errorData"], str)
    client.check_alive()
