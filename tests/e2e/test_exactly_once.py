"""A mutation re-sent over the sync protocol after a server crash runs once (exactly_once.py).

The server commits the mutation and is SIGKILLed before the client reads the response;
the client reconnects to the restarted server with the same session and request ids and
re-sends it, as the official clients do.
"""

from __future__ import annotations

import json
import time

import pytest
import websockets

from syncline.values.timestamps import decode_ts
from tests.e2e.conftest import copy_app, start_server
from tests.e2e.test_sync_protocol import add, connect_message, receive, ws_url


def increment(request_id: int, name: str) -> str:
    return json.dumps({"type": "Mutation", "requestId": request_id,
                       "udfPath": "counter:increment", "args": [{"name": name}]})


def wait_for_count(server, name: str, expected: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while server.run("query", "counter:get", {"name": name})["value"] != expected:
        assert time.monotonic() < deadline, f"counter {name} never reached {expected}"
        time.sleep(0.02)


@pytest.mark.parametrize("durability", ["full", "normal"])
async def test_a_mutation_committed_before_a_crash_is_not_run_again(tmp_path, durability):
    app = copy_app("basic", tmp_path)
    extra = ["--durability", durability]
    server = start_server(app, extra=extra)
    try:
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send(connect_message("crash-session"))
            await ws.send(increment(3, "crash"))
            wait_for_count(server, "crash", 1)  # committed; the response is never read
            server.process.kill()
            server.process.wait()
    finally:
        server.stop()
    server = start_server(app, extra=extra)
    try:
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send(connect_message("crash-session", count=1))
            await ws.send(add(0, "counter:get", {"name": "crash"}))
            await ws.send(increment(3, "crash"))
            response = await receive(ws, "MutationResponse")
            assert response["success"] and response["result"] == 1
            transition = await receive(ws, "Transition")
            assert decode_ts(transition["endVersion"]["ts"]) >= decode_ts(response["ts"])
            assert server.run("query", "counter:get", {"name": "crash"})["value"] == 1
            # A new request of the same session runs as usual.
            await ws.send(increment(4, "crash"))
            assert (await receive(ws, "MutationResponse"))["result"] == 2
        # The same request id in another session is another request.
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send(connect_message("other-session"))
            await ws.send(increment(3, "crash"))
            assert (await receive(ws, "MutationResponse"))["result"] == 3
    finally:
        server.stop()
