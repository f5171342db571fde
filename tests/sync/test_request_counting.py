"""The API server's count of requests received and not yet answered."""

import asyncio
import socket
from types import SimpleNamespace

import httpx
import uvicorn

from syncline.server.request_counting import counting_protocol


async def test_requests_are_counted_until_answered_or_abandoned():
    runner = SimpleNamespace(requests_waiting=0, requests_counted=False)
    seen: list[int] = []
    release = asyncio.Event()

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await receive()
        seen.append(runner.requests_waiting)
        if scope["path"] == "/slow":
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, http=counting_protocol(runner),
                                           log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        assert runner.requests_counted
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/")).status_code == 200
            assert seen == [1] and runner.requests_waiting == 0
            slow = asyncio.create_task(client.get("/slow"))
            while len(seen) < 2:
                await asyncio.sleep(0.01)
            assert (await client.get("/")).status_code == 200  # while /slow waits
            assert seen[2] == 2
            release.set()
            await slow
        assert runner.requests_waiting == 0
        # A client that sends a request and disconnects before the answer.
        release.clear()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        await writer.drain()
        while len(seen) < 4:
            await asyncio.sleep(0.01)
        assert runner.requests_waiting == 1
        writer.close()
        for _ in range(200):
            if runner.requests_waiting == 0:
                break
            await asyncio.sleep(0.01)
        assert runner.requests_waiting == 0
        release.set()
    finally:
        server.should_exit = True
        await serving
