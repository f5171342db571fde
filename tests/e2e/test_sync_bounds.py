"""What one sync connection may hold, against a real server over real sockets.

The bounds are checked by counting (the server's GET /api/syncline/sync_stats: bytes
queued per connection, actions in flight, and the most ever), never by timing.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import httpx
import pytest
import websockets

from syncline.server.sync_endpoint import MAX_ACTIONS_IN_FLIGHT, MAX_QUEUED_BYTES
from syncline.sync.protocol import MAX_CLIENT_MESSAGE_BYTES
from tests.e2e.conftest import Server, copy_app, start_server
from tests.e2e.test_sync_protocol import add, connect_message, receive, ws_url

SLOW_CLIENTS = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_app("bounds", tmp_path_factory.mktemp("bounds")))
    yield server
    server.stop()


async def stats(server: Server) -> dict:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{server.url}/api/syncline/sync_stats",
                                    headers={"Authorization": f"Convex {server.admin_key}"})
    assert response.status_code == 200, response.text
    return response.json()


async def wait_for(server: Server, condition, what: str, timeout: float = 20) -> dict:
    """Poll the stats until `condition(stats)` holds; fail saying `what` otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        current = await stats(server)
        if condition(current):
            return current
        if loop.time() > deadline:
            raise AssertionError(f"{what}; the server's sync stats: {current}")
        await asyncio.sleep(0.02)


def small_receive_buffer() -> socket.socket:
    """A client socket that buffers little, so that a client that stops reading shows up
    at the server after a few hundred KB instead of the several MB of loopback buffers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    return sock


async def test_the_stats_need_the_admin_key(server):
    response = httpx.get(f"{server.url}/api/syncline/sync_stats")
    assert response.status_code == 401


async def test_clients_that_stop_reading_are_cut_off_at_the_byte_bound(server):
    """Issue 17 item 2: three clients subscribed to a 200 KB result stop reading while
    another client writes; each may hold at most MAX_QUEUED_BYTES queued, then it is
    disconnected. A client that reads gets every update and stays connected."""
    before = await stats(server)
    host, port = server.url.removeprefix("http://").split(":")
    sockets: list = []
    reading: asyncio.Task | None = None
    try:
        for i in range(SLOW_CLIENTS):
            sock = small_receive_buffer()
            sock.connect((host, int(port)))
            ws = await websockets.connect(ws_url(server), sock=sock, max_queue=1,
                                          max_size=None)
            sockets.append(ws)
            await ws.send(connect_message(f"slow-{i}"))
            await ws.send(add(0, "bounds:big", {"name": "slow"}))
            assert len((await receive(ws, "Transition"))["modifications"]) == 1
            # ... and it reads nothing more until the end.
        slow = list(sockets)
        reader = await websockets.connect(ws_url(server), max_size=None)
        sockets.append(reader)
        await reader.send(connect_message("reader"))
        await reader.send(add(0, "bounds:big", {"name": "slow"}))
        seen: list[float] = []

        async def read() -> None:
            while True:
                message = json.loads(await reader.recv())
                for modification in message.get("modifications", []):
                    seen.append(modification["value"]["tick"])

        reading = asyncio.create_task(read())
        writes, last_tick = 0, 0
        async with httpx.AsyncClient(timeout=30) as http:
            while writes < 2_000:
                response = await http.post(f"{server.url}/api/mutation", json={
                    "path": "bounds:tick", "args": {"name": "slow"}, "format": "json"})
                assert response.status_code == 200, response.text
                last_tick = response.json()["value"]
                writes += 1
                if writes % 10 == 0:
                    current = await stats(server)
                    assert current["peakQueuedBytes"] <= MAX_QUEUED_BYTES
                    if current["slowClientDisconnects"] - before["slowClientDisconnects"] \
                            >= SLOW_CLIENTS:
                        break
        after = await wait_for(
            server, lambda s: s["connections"] == before["connections"] + 1,
            "the slow clients' connections did not end")
        # The byte bound, not the frame bound, cut them off: ~20 frames of 200 KB.
        assert after["slowClientDisconnects"] - before["slowClientDisconnects"] == SLOW_CLIENTS
        assert MAX_QUEUED_BYTES // 2 < after["peakQueuedBytes"] <= MAX_QUEUED_BYTES
        assert after["peakQueuedFrames"] < 100
        assert after["sessions"] == before["sessions"] + 1  # theirs are gone
        # The client that reads saw the last write and is still served.
        async with asyncio.timeout(20):
            while not seen or seen[-1] < last_tick:
                await asyncio.sleep(0.02)
        assert reader.state is websockets.State.OPEN
        for ws in slow:  # reading again, each finds its connection closed
            with pytest.raises(websockets.ConnectionClosed):
                async with asyncio.timeout(20):
                    while True:
                        await ws.recv()
    finally:
        if reading is not None:
            reading.cancel()
        for ws in sockets:
            ws.transport.abort()


async def test_a_binary_frame_gets_a_fatal_error_and_no_traceback(server):
    """Issue 17 item 6: the protocol is JSON text frames; a binary frame is refused with
    a FatalError saying so and a clean close, and the server logs no traceback."""
    logged_before = len(server.output())
    before = await stats(server)
    async with websockets.connect(ws_url(server)) as ws:
        await ws.send(connect_message("binary"))
        await ws.send(b'{"type": "Event", "eventType": "x"}')
        fatal = await receive(ws, "FatalError")
        assert "text frames" in fatal["error"] and "binary frame" in fatal["error"]
        with pytest.raises(websockets.ConnectionClosedOK):
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
    await wait_for(server, lambda s: s["connections"] == before["connections"],
                   "the connection did not end")
    output = server.output()[logged_before:]
    assert "Traceback" not in output and "ERROR" not in output, output
    assert server.run("query", "bounds:get", {"name": "x"})["value"] == 0


OFFICIAL_CLIENT_CALL = textwrap.dedent("""
    import sys
    from convex import ConvexClient
    client = ConvexClient(sys.argv[1])
    try:
        print("ok", client.mutation("bounds:size", {"data": bytes(int(sys.argv[2]))}))
    except Exception as e:
        print("error", e)
""")


def official_client_mutation(server: Server, size: int) -> str:
    """Call bounds:size with `size` bytes through the official PyPI client, in a process of
    its own: it holds the GIL while it waits, and a call the server never answers must
    fail this test rather than hang it."""
    try:
        result = subprocess.run([sys.executable, "-c", OFFICIAL_CLIENT_CALL, server.url,
                                 str(size)], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the official client's mutation() with {size} bytes never returned")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_arguments_up_to_the_limit_pass_the_websocket_and_over_it_get_the_limit_error(server):
    """Issue 17 item 6: 12 MiB of bytes is 16 MiB of base64 on the wire, which the 16 MiB
    frame cap refused (and the official client's mutation() never returned). The cap now
    admits any call within the 16 MiB argument limit; over it, the limit's own error."""
    assert official_client_mutation(server, 12 << 20) == f"ok {float(12 << 20)}"
    answer = official_client_mutation(server, 17 << 20)
    assert answer.startswith("error") and "Function arguments too large" in answer, answer


async def test_a_message_over_the_cap_is_refused_with_a_reason_before_it_is_read(server):
    """A frame announcing more than MAX_CLIENT_MESSAGE_BYTES is refused from its header
    (close code 1009, saying so), without the server reading or buffering its body."""
    async with websockets.connect(ws_url(server)) as ws:
        await ws.send(connect_message("too-big"))
        length = MAX_CLIENT_MESSAGE_BYTES + 1
        # A masked text frame header with a 64-bit length, and no body.
        ws.transport.write(struct.pack("!BBQ", 0x81, 0x80 | 127, length) + b"\0\0\0\0")
        with pytest.raises(websockets.ConnectionClosedError):
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
        assert ws.close_code == 1009
        assert f"exceeds limit of {MAX_CLIENT_MESSAGE_BYTES} bytes" in ws.close_reason
    assert server.run("query", "bounds:get", {"name": "x"})["value"] == 0


async def test_pipelined_actions_are_held_back_through_tcp(server, tmp_path):
    """Issue 17 item 7: 2,000 actions pipelined on one socket. At most
    MAX_ACTIONS_IN_FLIGHT run at a time; the reader stops reading until some finish, so
    the rest wait in TCP buffers, another connection is served meanwhile, and every
    action is answered in the end."""
    gate = tmp_path / "gate"
    count = 2_000
    before = await stats(server)
    assert before["actionsInFlight"] == 0
    async with websockets.connect(ws_url(server), max_size=None) as flood:
        await flood.send(connect_message("flood"))

        async def pipeline() -> None:
            for request_id in range(count):
                await flood.send(json.dumps({
                    "type": "Action", "requestId": request_id, "udfPath": "bounds:gated",
                    "args": [{"gate": str(gate)}]}))

        sending = asyncio.create_task(pipeline())
        try:
            held = await wait_for(server,
                                  lambda s: s["actionsInFlight"] >= MAX_ACTIONS_IN_FLIGHT,
                                  "the flood's actions never filled the in-flight limit")
            assert held["peakActionsInFlight"] == MAX_ACTIONS_IN_FLIGHT
            # Everything else waits for room; another connection is served meanwhile.
            async with websockets.connect(ws_url(server)) as other:
                await other.send(connect_message("other"))
                await other.send(add(0, "bounds:get", {"name": "other"}))
                assert (await receive(other, "Transition"))["modifications"][0]["value"] == 0
            during = await stats(server)
            assert during["actionsInFlight"] == MAX_ACTIONS_IN_FLIGHT
            gate.touch()
            answered: set[int] = set()
            async with asyncio.timeout(25):
                while len(answered) < count:
                    message = json.loads(await flood.recv())
                    if message["type"] == "ActionResponse":
                        assert not message["success"]
                        assert "the gated action failed" in message["result"]
                        answered.add(message["requestId"])
            await sending
        finally:
            gate.touch()
            sending.cancel()
    assert answered == set(range(count))
    after = await stats(server)
    assert after["peakActionsInFlight"] == MAX_ACTIONS_IN_FLIGHT
