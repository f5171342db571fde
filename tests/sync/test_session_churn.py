"""Connection churn leaves nothing behind: every per-session structure is bounded by the
connections open now, not by the sessions ever seen (real sockets, in-process server so
the structures can be counted)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
import websockets

from syncline.server.http_api import create_api_app
from syncline.sync.session import Session, Subscription
from tests.sync.test_engine import deployment  # noqa: F401 - the fixture

__all__ = ["deployment"]

SESSIONS = 1_500


@pytest.fixture
async def server_url(deployment) -> AsyncIterator[str]:
    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(create_api_app(deployment), log_level="warning", lifespan="off",
                            ws="websockets-sansio")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}/api/1.48.0/sync"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)
        sock.close()


def _sizes(root: Any, depth: int = 3, seen: set[int] | None = None) -> int:
    """Total length of the containers reachable from `root`'s attributes (syncline objects
    only, a few levels deep): what grows if anything keeps per-session entries."""
    seen = seen if seen is not None else set()
    if id(root) in seen or depth == 0:
        return 0
    seen.add(id(root))
    total = 0
    attributes = getattr(root, "__dict__", {})
    for value in attributes.values():
        if isinstance(value, (dict, set, list, frozenset)) or hasattr(value, "__len__") and \
                type(value).__module__ == "collections":
            total += len(value)
        elif type(value).__module__.startswith("syncline."):
            total += _sizes(value, depth - 1, seen)
    return total


async def _visit(url: str, n: int) -> None:
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "Connect", "sessionId": f"churn-{n}",
                                  "connectionCount": 0, "lastCloseReason": None,
                                  "clientTs": 0}))
        if n % 3 == 0:  # some subscribe, some only connect
            await ws.send(json.dumps({
                "type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1,
                "modifications": [{"type": "Add", "queryId": 0, "udfPath": "messages:count",
                                   "args": [{"channel": f"c{abs(n) % 7}"}]}]}))
            while json.loads(await ws.recv())["type"] != "Transition":
                pass


async def _feeds_quiet(engine: Any) -> None:
    """Let pending feed changes (the calls' metrics and logs, a bounded set of names) be
    handled, so both measurements see the same, empty set."""
    await asyncio.sleep(0.1)
    for _ in range(200):
        if not engine._changed_feeds and not engine._feed_wake_armed:
            return
        await asyncio.sleep(0.05)


async def test_sessions_that_come_and_go_leave_no_per_session_state(deployment, server_url):
    engine = deployment.sync
    # Warm up: the engine's lazily made parts and the (bounded, per query) cache entries of
    # every query the churn subscribes to exist now.
    await asyncio.gather(*(_visit(server_url, -n) for n in range(1, 22)))
    await _feeds_quiet(engine)
    baseline = _sizes(engine)
    for start in range(0, SESSIONS, 50):
        await asyncio.gather(*(_visit(server_url, n) for n in range(start, start + 50)))
    for _ in range(100):  # disconnects finish on the server's side
        if not engine.sessions:
            break
        await asyncio.sleep(0.05)
    assert not engine.sessions
    await _feeds_quiet(engine)
    assert _sizes(engine) == baseline, "a structure grew with the sessions seen"
    gc.collect()
    survivors = [o for o in gc.get_objects() if isinstance(o, (Session, Subscription))]
    sessions = [o if isinstance(o, Session) else o.session for o in survivors]
    assert not [s for s in sessions if s.session_id.startswith("churn-")]
