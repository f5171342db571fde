"""The durable record that makes re-sent sync mutations exactly-once (sync/exactly_once.py)."""

from __future__ import annotations

import asyncio
import contextlib

from syncline.database import Database
from syncline.sync.exactly_once import prune_forever, recorded_response
from syncline.sync.protocol import MutationRequest
from syncline.values import pack
from tests.sync.test_engine import deployment, session  # noqa: F401 - the fixture

__all__ = ["deployment"]


async def test_the_record_lands_with_the_writes_and_survives_a_reopen(deployment, tmp_path):
    engine = deployment.sync
    s, sent = session(engine, "durable")
    await engine.mutation(s, MutationRequest(5, "messages:send", {"channel": "a", "body": "x"}))
    response = next(m for m in sent if m["type"] == "MutationResponse")
    recorded = deployment.db.applied_request("durable", 5)
    assert recorded is not None
    ts, _result = recorded
    assert response["success"]
    # The record is in the very commit that wrote the document.
    assert deployment.db.persistence.revisions_after(ts - 1, ts, 10)
    replay = recorded_response(deployment.db, "durable", 5)
    assert replay is not None
    assert replay.response["result"] == response["result"]
    assert replay.response["ts"] == response["ts"]


async def test_failed_and_read_only_mutations_record_nothing(deployment):
    engine = deployment.sync
    s, sent = session(engine, "nothing")
    await engine.mutation(s, MutationRequest(1, "messages:send", {"channel": 1}))  # bad args
    await engine.mutation(s, MutationRequest(2, "messages:remove", {"body": "absent"}))
    responses = [m for m in sent if m["type"] == "MutationResponse"]
    assert [r["success"] for r in responses] == [False, False]
    assert deployment.db.applied_request("nothing", 1) is None
    assert deployment.db.applied_request("nothing", 2) is None


async def _commit_applied(db: Database, session_id: str, request_id: int) -> int:
    tx = db.begin()
    await tx.insert("notes", {"n": float(request_id)})
    tx.record_applied_request(session_id, request_id, pack(request_id))
    return await tx.commit()


async def test_pruning_forgets_only_records_older_than_the_cut(tmp_path):
    with Database(tmp_path / "db.sqlite3") as db:
        first = await _commit_applied(db, "s", 1)
        second = await _commit_applied(db, "s", 2)
        assert await db.prune_applied_requests(second, batch=1) == 1
        assert db.applied_request("s", 1) is None
        assert db.applied_request("s", 2) is not None
        assert first < second
        # The documents themselves are untouched.
        assert db.persistence.revisions_after(0, second, 10)


async def test_the_background_pruner_keeps_the_retention_window(tmp_path):
    with Database(tmp_path / "db.sqlite3") as db:
        await _commit_applied(db, "old", 1)
        new = await _commit_applied(db, "new", 1)
        sleeps: list[float] = []

        async def one_round(seconds: float) -> None:
            sleeps.append(seconds)
            raise asyncio.CancelledError

        with contextlib.suppress(asyncio.CancelledError):
            await prune_forever(db, retention_s=3600, interval_s=7, sleep=one_round,
                                now_ns=lambda: new + 3600 * 10**9)
        assert sleeps == [7]
        assert db.applied_request("old", 1) is None
        assert db.applied_request("new", 1) is not None  # exactly at the cut: kept
