"""SIGKILL the server again and again under writes, in both durability modes.

HTTP writers and a WebSocket writer (speaking the sync protocol as the official clients
do: a window of mutations in flight, re-sent on reconnect under the same session and
request ids) write three documents per mutation. After every kill the server restarts
on the same data. At the end:
- every acknowledged commit is there (durability);
- every mutation's writes are there entirely or not at all (atomicity);
- every sync mutation ran exactly once, however often it was re-sent, and answered
  with the value of its one run (exactly-once, sync/exactly_once.py).
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
import websockets

from tests.e2e.conftest import Server, start_server
from tests.e2e.test_sync_protocol import connect_message, ws_url

APP = Path(__file__).parent / "apps" / "crashy"
KILLS_PER_MODE = 10
HTTP_WRITERS = 3
WS_WINDOW = 16  # sync mutations in flight at once, as a busy client has


class HttpWriter:
    """Writes seq 1, 2, ... over HTTP; a request cut by a kill has an unknown outcome."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seq = 0
        self.acked: set[int] = set()
        self.unknown: set[int] = set()

    async def run(self, url: str) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            while True:
                self.seq += 1
                body = {"path": "ledger:write", "args": {"writer": self.name, "seq": self.seq},
                        "format": "json"}
                try:
                    response = await client.post(f"{url}/api/mutation", json=body)
                except httpx.HTTPError:
                    self.unknown.add(self.seq)
                    return
                except asyncio.CancelledError:
                    self.unknown.add(self.seq)
                    raise
                assert response.status_code == 200, response.text
                assert response.json()["status"] == "success", response.text
                self.acked.add(self.seq)


class SyncWriter:
    """One client session over the sync protocol; request id n writes seq n."""

    def __init__(self) -> None:
        self.name = "sync"
        self.session_id = f"crash-loop-{uuid.uuid4()}"
        self.connections = 0
        self.next_request = 0
        self.pending: dict[int, str] = {}  # sent, no response yet: re-sent on reconnect
        self.results: dict[int, float] = {}
        self.resent = 0  # requests re-sent after a reconnect

    def _mutation(self, request_id: int) -> str:
        return json.dumps({"type": "Mutation", "requestId": request_id,
                           "udfPath": "ledger:write",
                           "args": [{"writer": self.name, "seq": float(request_id)}]})

    async def run(self, server: Server, *, more: bool) -> None:
        """Connect, re-send what is pending, then (with `more`) keep a window of new
        mutations in flight until the connection dies; else until nothing is pending."""
        try:
            async with websockets.connect(ws_url(server), max_size=None) as ws:
                await ws.send(connect_message(self.session_id, count=self.connections))
                self.connections += 1
                if self.connections > 1:
                    self.resent += len(self.pending)
                for request_id in sorted(self.pending):
                    await ws.send(self.pending[request_id])
                while more or self.pending:
                    while more and len(self.pending) < WS_WINDOW:
                        request_id = self.next_request
                        self.next_request += 1
                        self.pending[request_id] = self._mutation(request_id)
                        await ws.send(self.pending[request_id])
                    message = json.loads(await ws.recv())
                    if message["type"] != "MutationResponse":
                        continue
                    assert message["success"], message
                    request_id = message["requestId"]
                    self.results[request_id] = message["result"]
                    self.pending.pop(request_id, None)
        except (websockets.ConnectionClosed, OSError):
            return


async def _entries(client: httpx.AsyncClient, url: str, writer: str) -> Counter[float]:
    """How many entries each seq of `writer` has, read page by page."""
    parts: Counter[float] = Counter()
    after = 0.0 if writer != "sync" else -1.0
    while True:
        response = await client.post(f"{url}/api/query", json={
            "path": "ledger:entries", "args": {"writer": writer, "after": after},
            "format": "json"})
        rows = response.json()["value"]
        if not rows:
            return parts
        for seq, _part in rows:
            parts[seq] += 1
        after = rows[-1][0]


async def _total(client: httpx.AsyncClient, url: str, writer: str) -> int:
    response = await client.post(f"{url}/api/query", json={
        "path": "ledger:total", "args": {"writer": writer}, "format": "json"})
    return int(response.json()["value"])


@pytest.mark.parametrize("durability", ["full", "normal"])
async def test_kills_under_writes_lose_nothing_acknowledged_and_run_nothing_twice(
        tmp_path, durability):
    rng = random.Random(f"crash-loop-{durability}")
    app = tmp_path / "crashy"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__", ".syncline"))
    extra = ["--durability", durability]
    http_writers = [HttpWriter(f"http-{i}") for i in range(HTTP_WRITERS)]
    sync_writer = SyncWriter()
    loop = asyncio.get_running_loop()
    for _kill in range(KILLS_PER_MODE):
        server = await loop.run_in_executor(None, lambda: start_server(app, extra=extra))
        try:
            tasks = [asyncio.create_task(w.run(server.url)) for w in http_writers]
            tasks.append(asyncio.create_task(sync_writer.run(server, more=True)))
            await asyncio.sleep(rng.uniform(0.4, 1.2))
            server.process.kill()  # SIGKILL: no shutdown, whatever is in flight
            server.process.wait()
            await asyncio.gather(*tasks)
        finally:
            server.stop()
    server = await loop.run_in_executor(None, lambda: start_server(app, extra=extra))
    try:
        await asyncio.wait_for(sync_writer.run(server, more=False), 60)
        assert not sync_writer.pending, "re-sent sync mutations were never answered"
        async with httpx.AsyncClient(timeout=30) as client:
            for writer in http_writers:
                parts = await _entries(client, server.url, writer.name)
                assert all(n == 2 for n in parts.values()), "a mutation landed in part"
                present = {int(seq) for seq in parts}
                assert writer.acked <= present, "an acknowledged commit was lost"
                assert present <= writer.acked | writer.unknown
                assert await _total(client, server.url, writer.name) == len(present)
            parts = await _entries(client, server.url, "sync")
            sent = sync_writer.next_request
            assert sorted(parts) == list(range(sent)), "a sync mutation is missing"
            assert set(parts.values()) == {2}, "a re-sent sync mutation ran twice"
            assert await _total(client, server.url, "sync") == sent
            # Each answer is its one run's value, also when it came from the record.
            assert sorted(sync_writer.results.values()) == list(range(1, sent + 1))
    finally:
        server.stop()
    acked = sum(len(w.acked) for w in http_writers)
    print(f"{durability}: {KILLS_PER_MODE} kills, {acked} acknowledged HTTP commits, "
          f"{sync_writer.next_request} sync mutations over {sync_writer.connections} "
          f"connections, {sync_writer.resent} re-sent after a kill")
    assert acked > 0 and sync_writer.connections == KILLS_PER_MODE + 1
