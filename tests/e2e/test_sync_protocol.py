"""The sync endpoint against a real server, spoken to directly (no client library)."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from syncline.values.timestamps import decode_ts


def ws_url(server) -> str:
    return server.url.replace("http://", "ws://") + "/api/1.48.0/sync"


def connect_message(session_id: str = "session-1", count: int = 0) -> str:
    return json.dumps({"type": "Connect", "sessionId": session_id, "connectionCount": count,
                       "lastCloseReason": None, "clientTs": 0})


def add(query_id: int, path: str, args: dict, base: int = 0) -> str:
    return json.dumps({"type": "ModifyQuerySet", "baseVersion": base, "newVersion": base + 1,
                       "modifications": [{"type": "Add", "queryId": query_id, "udfPath": path,
                                          "args": [args]}]})


async def receive(ws, kind: str, timeout: float = 10.0) -> dict:
    """The next message of type `kind`, skipping others (Pings)."""
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message


@pytest.mark.parametrize(("frames", "reason"), [
    (["{not json"], "invalid JSON"),
    ([add(1, "greet", {})], "before Connect"),
    ([connect_message(), add(1, "greet", {}, base=5)], "baseVersion"),
    ([connect_message(), json.dumps({"type": "Teleport"})], "Teleport"),
    ([connect_message(), connect_message()], "Connect was sent twice"),
])
async def test_bad_messages_get_a_fatal_error_and_a_closed_socket(dev_server, frames, reason):
    async with websockets.connect(ws_url(dev_server)) as ws:
        for frame in frames:
            await ws.send(frame)
        fatal = await receive(ws, "FatalError")
        assert reason in fatal["error"]
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
    # The server is fine and serves the next client.
    assert dev_server.run("query", "greet")["value"] == "hello world"


async def test_subscribe_update_and_mutation_over_the_socket(dev_server):
    async with websockets.connect(ws_url(dev_server)) as ws:
        await ws.send(connect_message("live-1"))
        await ws.send(add(0, "counter:get", {"name": "sock"}))
        first = await receive(ws, "Transition")
        assert first["startVersion"]["querySet"] == 0 and first["endVersion"]["querySet"] == 1
        assert first["modifications"][0]["value"] == 0
        await ws.send(json.dumps({"type": "Mutation", "requestId": 0,
                                  "udfPath": "counter:increment", "args": [{"name": "sock"}]}))
        response = await receive(ws, "MutationResponse")
        assert response["success"] and response["result"] == 1
        update = await receive(ws, "Transition")
        assert update["startVersion"] == first["endVersion"]
        assert decode_ts(update["endVersion"]["ts"]) >= decode_ts(response["ts"])
        assert update["modifications"][0]["value"] == 1


async def test_a_replayed_mutation_runs_once_and_gets_the_same_answer(dev_server):
    mutation = json.dumps({"type": "Mutation", "requestId": 7, "udfPath": "counter:increment",
                           "args": [{"name": "replay"}]})
    async with websockets.connect(ws_url(dev_server)) as ws:
        await ws.send(connect_message("replay-session"))
        await ws.send(add(0, "counter:get", {"name": "replay"}))
        await ws.send(mutation)
        first = await receive(ws, "MutationResponse")
    # Reconnect with the same session id, re-add the query, re-send the same request.
    async with websockets.connect(ws_url(dev_server)) as ws:
        await ws.send(connect_message("replay-session", count=1))
        await ws.send(add(0, "counter:get", {"name": "replay"}))
        restored = await receive(ws, "Transition")
        assert restored["modifications"][0]["value"] == 1
        await ws.send(mutation)
        second = await receive(ws, "MutationResponse")
    assert second == first
    assert dev_server.run("query", "counter:get", {"name": "replay"})["value"] == 1


async def test_internal_queries_need_admin_authentication(dev_server):
    async with websockets.connect(ws_url(dev_server)) as ws:
        await ws.send(connect_message("auth-1"))
        await ws.send(json.dumps({"type": "Authenticate", "tokenType": "User",
                                  "value": "not-a-jwt", "baseVersion": 0}))
        error = await receive(ws, "AuthError")
        assert error["authUpdateAttempted"] is True and error["baseVersion"] == 0
        assert "no auth providers" in error["error"]
        # As in Convex, the connection ends after an AuthError; the client reconnects.
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    async with websockets.connect(ws_url(dev_server)) as ws:
        await ws.send(connect_message("auth-1"))
        await ws.send(json.dumps({"type": "Authenticate", "tokenType": "Admin",
                                  "value": dev_server.admin_key, "baseVersion": 0,
                                  "impersonating": {"subject": "ada", "issuer": "x"}}))
        confirmed = await receive(ws, "Transition")
        assert confirmed["endVersion"]["identity"] == 1


async def test_code_pushes_refresh_subscriptions(tmp_path):
    from tests.e2e.conftest import copy_app, start_server

    app = copy_app("basic", tmp_path)
    server = start_server(app)
    try:
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send(connect_message("push-1"))
            await ws.send(add(0, "greet", {}))
            assert (await receive(ws, "Transition"))["modifications"][0]["value"] == \
                "hello world"
            (app / "convex" / "greet.py").write_text(
                "from syncline import query\n\n@query\nasync def default(ctx, name='x'):\n"
                "    return 'pushed'\n")
            update = await receive(ws, "Transition", timeout=20)
            assert update["modifications"][0]["value"] == "pushed"
    finally:
        server.stop()
