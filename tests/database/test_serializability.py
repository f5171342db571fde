"""A history checker: committed transactions must be equivalent to running them
one at a time in commit-timestamp order.

Random read-modify-write transactions (point reads, whole-table scans, inserts,
deletes) run interleaved, in one event loop and across threads. For every
committed transaction we log what it read and wrote, then replay the log in
commit order against a plain dict: each transaction's reads must equal the
replayed state at its position. Snapshot isolation, lost updates or phantoms
would make the replay disagree.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass, field

import pytest

from syncline.database import Database
from syncline.errors import WriteConflictError
from tests.database.threads import run_on_threads


@dataclass
class Record:
    ts: int = 0
    point_reads: dict[str, float | None] = field(default_factory=dict)
    scans: list[dict[str, float]] = field(default_factory=list)
    writes: dict[str, float | None] = field(default_factory=dict)


async def one_transaction(db: Database, ids: list[str], rng: random.Random,
                          log: list[Record], lock: threading.Lock) -> None:
    plan_seed = rng.random()
    while True:
        plan = random.Random(plan_seed)
        record = Record()
        tx = db.begin()
        try:
            total = 0.0
            for doc_id in plan.sample(ids, plan.randint(1, 3)):
                doc = await tx.get(doc_id)
                record.point_reads.setdefault(doc_id, None if doc is None else doc["v"])
                total += 0.0 if doc is None else doc["v"]
                await asyncio.sleep(0)
            if plan.random() < 0.3:
                seen = {d["_id"]: d["v"] for d in await tx.query("cells").collect()}
                record.scans.append(seen)
                total += len(seen)
            await asyncio.sleep(0)
            choice = plan.random()
            if choice < 0.15:
                new_id = await tx.insert("cells", {"v": total})
                record.writes[new_id] = total
            elif choice < 0.25:
                victim = plan.choice(ids)
                if record.point_reads.get(victim, 0.0) is not None and await tx.get(victim):
                    await tx.delete(victim)
                    record.writes[victim] = None
            else:
                target = plan.choice(ids)
                if await tx.get(target) is not None:
                    await tx.patch(target, {"v": total + 1})
                    record.writes[target] = total + 1
            record.ts = await tx.commit()
        except WriteConflictError:
            await asyncio.sleep(rng.random() * 0.002)
            continue
        if record.writes:
            with lock:
                log.append(record)
        return


def replay(initial: dict[str, float], log: list[Record]) -> dict[str, float]:
    state = dict(initial)
    for record in sorted(log, key=lambda r: r.ts):
        for doc_id, value in record.point_reads.items():
            # a read of a document this transaction wrote earlier is not a snapshot read,
            # but every read here happens before the transaction's own writes
            assert state.get(doc_id) == value, f"non-serializable read of {doc_id} at {record.ts}"
        for seen in record.scans:
            assert seen == state, f"non-serializable scan at {record.ts}"
        for doc_id, value in record.writes.items():
            if value is None:
                state.pop(doc_id, None)
            else:
                state[doc_id] = value
    return state


async def setup(db: Database) -> tuple[list[str], dict[str, float]]:
    async def fn(tx):
        return [await tx.insert("cells", {"v": float(i)}) for i in range(6)]
    ids = await db.run_transaction(fn)
    return ids, {doc_id: float(i) for i, doc_id in enumerate(ids)}


async def final_state(db: Database) -> dict[str, float]:
    return {d["_id"]: d["v"] for d in await db.read(lambda tx: tx.query("cells").collect())}


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_interleaved_history_is_serializable(db: Database, seed: int) -> None:
    ids, initial = await setup(db)
    rng = random.Random(seed)
    log: list[Record] = []
    lock = threading.Lock()
    await asyncio.gather(*(one_transaction(db, ids, rng, log, lock) for _ in range(150)))
    assert len(log) > 30  # a history with plenty of committed writes to check
    assert replay(initial, log) == await final_state(db)


def test_multithreaded_history_is_serializable(db: Database) -> None:
    ids, initial = asyncio.run(setup(db))
    log: list[Record] = []
    lock = threading.Lock()
    run_on_threads(4, 40, lambda rng: one_transaction(db, ids, rng, log, lock))
    assert replay(initial, log) == asyncio.run(final_state(db))
