"""Serializable optimistic concurrency control: these fail if the claims are false."""

from __future__ import annotations

import asyncio
import random

import pytest

from syncline.database import Database
from syncline.errors import WriteConflictError
from tests.database.threads import run_on_threads


async def seed(db: Database, table: str, docs: list[dict]) -> list[str]:
    async def fn(tx):
        return [await tx.insert(table, d) for d in docs]
    return await db.run_transaction(fn)


async def test_write_skew_is_prevented(db: Database) -> None:
    """Two doctors on call; each may go off call only if the other stays. Under
    snapshot isolation both succeed and nobody is on call; serializable must refuse one."""
    a, b = await seed(db, "doctors", [{"on_call": True}, {"on_call": True}])
    t1, t2 = db.begin(), db.begin()
    for tx, me in ((t1, a), (t2, b)):
        on_call = [d for d in await tx.query("doctors").collect() if d["on_call"]]
        assert len(on_call) == 2
        await tx.patch(me, {"on_call": False})
    await t1.commit()
    with pytest.raises(WriteConflictError) as info:
        await t2.commit()
    assert info.value.table == "doctors"
    assert info.value.document_id == a
    docs = await db.read(lambda tx: tx.query("doctors").collect())
    assert sum(d["on_call"] for d in docs) == 1


async def test_write_skew_with_point_reads(db: Database) -> None:
    a, b = await seed(db, "acct", [{"v": 1.0}, {"v": 1.0}])
    t1, t2 = db.begin(), db.begin()
    for tx, target in ((t1, a), (t2, b)):
        total = (await tx.get(a))["v"] + (await tx.get(b))["v"]
        await tx.patch(target, {"v": (await tx.get(target))["v"] - total})
    await t1.commit()
    with pytest.raises(WriteConflictError):
        await t2.commit()


async def test_lost_update_is_prevented(db: Database) -> None:
    (counter,) = await seed(db, "c", [{"n": 0.0}])
    t1, t2 = db.begin(), db.begin()
    for tx in (t1, t2):
        await tx.patch(counter, {"n": (await tx.get(counter))["n"] + 1})
    await t1.commit()
    with pytest.raises(WriteConflictError):
        await t2.commit()
    # run_transaction retries, so concurrent increments all land
    async def incr(tx):
        doc = await tx.get(counter)
        await asyncio.sleep(0)
        await tx.patch(counter, {"n": doc["n"] + 1})
    await asyncio.gather(*(db.run_transaction(incr, max_attempts=200) for _ in range(30)))
    assert (await db.read(lambda tx: tx.get(counter)))["n"] == 31.0


async def test_concurrent_inserts_never_conflict(db: Database) -> None:
    await seed(db, "log", [{"i": -1.0}])

    async def add(i: int):
        async def fn(tx):
            await asyncio.sleep(0)
            return await tx.insert("log", {"i": float(i)})
        return await db.run_transaction(fn, max_attempts=1)  # a conflict would raise
    ids = await asyncio.gather(*(add(i) for i in range(200)))
    assert len(set(ids)) == 200
    assert len(await db.read(lambda tx: tx.query("log").collect())) == 201


async def test_take_at_one_end_does_not_conflict_with_inserts_at_the_other(db: Database) -> None:
    await seed(db, "events", [{"i": float(i)} for i in range(30)])
    reader = db.begin()
    oldest = await reader.query("events").take(10)
    assert [d["i"] for d in oldest] == [float(i) for i in range(10)]
    await reader.insert("summaries", {"first_ten": 10.0})
    await seed(db, "events", [{"i": 99.0}])  # lands after the scanned range
    await reader.commit()  # no conflict

    # ...but reading the newest ten does observe the end where the insert lands.
    reader = db.begin()
    newest = await reader.query("events").order("desc").take(10)
    assert newest[0]["i"] == 99.0
    await reader.insert("summaries", {"last_ten": 10.0})
    await seed(db, "events", [{"i": 100.0}])
    with pytest.raises(WriteConflictError):
        await reader.commit()


async def test_reading_a_missing_document_conflicts_with_its_later_write(db: Database) -> None:
    (doc,) = await seed(db, "t", [{"v": 1.0}])
    t1 = db.begin()
    await t1.delete(doc)
    await t1.commit()
    # a tx that saw the document absent vs one re-creating state in that range
    t2 = db.begin()
    assert await t2.get(doc) is None
    t3 = db.begin()
    await t3.insert("t", {"v": 2.0})
    await t2.insert("other", {"saw_missing": True})
    await t3.commit()
    await t2.commit()  # t3 did not touch doc's key: no conflict


async def test_empty_range_read_conflicts_with_insert_into_that_range(db: Database) -> None:
    reader = db.begin()
    assert await reader.query("fresh").collect() == []
    await reader.insert("audit", {"saw": 0.0})
    await seed(db, "fresh", [{"x": 1.0}])
    with pytest.raises(WriteConflictError):
        await reader.commit()


async def test_filtered_out_documents_are_still_read(db: Database) -> None:
    (doc,) = await seed(db, "t", [{"flag": False}])
    reader = db.begin()
    assert await reader.query("t").filter(lambda q: q.eq(q.field("flag"), True)).collect() == []
    await reader.insert("audit", {})
    writer = db.begin()
    await writer.patch(doc, {"flag": True})
    await writer.commit()
    with pytest.raises(WriteConflictError):
        await reader.commit()


async def test_update_that_keeps_index_key_still_conflicts_with_range_readers(db: Database) -> None:
    await seed(db, "acct", [{"balance": 5.0}])
    reader = db.begin()
    total = sum(d["balance"] for d in await reader.query("acct").collect())
    await reader.insert("totals", {"total": total})
    writer = db.begin()
    doc = (await writer.query("acct").first())
    await writer.patch(doc["_id"], {"balance": 6.0})
    await writer.commit()
    with pytest.raises(WriteConflictError):
        await reader.commit()


async def _transfer(db: Database, ids: list[str], rng: random.Random) -> None:
    src, dst = rng.sample(ids, 2)
    amount = float(rng.randint(1, 20))

    async def fn(tx):
        a = await tx.get(src)
        await asyncio.sleep(0)  # let other transactions interleave
        b = await tx.get(dst)
        if a["balance"] < amount:
            return
        await tx.patch(src, {"balance": a["balance"] - amount})
        await asyncio.sleep(0)
        await tx.patch(dst, {"balance": b["balance"] + amount})
    await db.run_transaction(fn, max_attempts=1000)


async def test_bank_transfers_keep_the_total_under_interleaving(db: Database) -> None:
    ids = await seed(db, "accounts", [{"balance": 100.0} for _ in range(8)])
    rng = random.Random(7)
    await asyncio.gather(*(_transfer(db, ids, rng) for _ in range(400)))
    docs = await db.read(lambda tx: tx.query("accounts").collect())
    assert sum(d["balance"] for d in docs) == 800.0
    assert all(d["balance"] >= 0 for d in docs)


def test_bank_transfers_keep_the_total_across_threads(db: Database) -> None:
    """Real parallelism: several threads, each with its own event loop, one database."""
    ids = asyncio.run(seed(db, "accounts", [{"balance": 100.0} for _ in range(5)]))
    run_on_threads(4, 60, lambda rng: _transfer(db, ids, rng))
    docs = asyncio.run(db.read(lambda tx: tx.query("accounts").collect()))
    assert sum(d["balance"] for d in docs) == 500.0


async def test_conflict_retry_is_bounded(db: Database) -> None:
    (doc,) = await seed(db, "t", [{"n": 0.0}])
    attempts = 0

    async def always_conflicts(tx):
        nonlocal attempts
        attempts += 1
        await tx.patch(doc, {"n": (await tx.get(doc))["n"] + 1})
        other = db.begin()
        await other.patch(doc, {"n": -1.0})
        await other.commit()
    with pytest.raises(WriteConflictError, match="gave up after 3 attempts"):
        await db.run_transaction(always_conflicts, max_attempts=3)
    assert attempts == 3


async def test_reads_are_repeatable_at_the_snapshot(db: Database) -> None:
    (doc,) = await seed(db, "t", [{"v": 1.0}])
    reader = db.begin(read_only=True)
    assert (await reader.get(doc))["v"] == 1.0
    writer = db.begin()
    await writer.patch(doc, {"v": 2.0})
    await writer.insert("t", {"v": 3.0})
    await writer.commit()
    assert (await reader.get(doc))["v"] == 1.0
    assert [d["v"] for d in await reader.query("t").collect()] == [1.0]
    fresh = db.begin(read_only=True)
    assert [d["v"] for d in await fresh.query("t").collect()] == [2.0, 3.0]


async def test_a_conflict_names_the_commit_a_retry_must_read(db):
    setup = db.begin()
    doc = await setup.insert("accounts", {"n": 0})
    await setup.commit()
    first, second = db.begin(), db.begin()
    for tx, n in ((first, 1), (second, 2)):
        await tx.get(doc)
        await tx.patch(doc, {"n": n})
    first_ts = await first.commit()
    with pytest.raises(WriteConflictError) as info:
        await second.commit()
    assert info.value.conflict_ts == first_ts
    await db.wait_visible(first_ts)  # already visible: returns at once
    retry = db.begin()
    assert retry.snapshot_ts >= first_ts and (await retry.get(doc))["n"] == 1
    retry.abort()


async def test_waiting_for_a_timestamp_returns_once_a_commit_reaches_it(db):
    target = db.visible_ts + 1
    waiter = asyncio.ensure_future(db.wait_visible(target))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    tx = db.begin()
    await tx.insert("accounts", {"n": 1})
    await tx.commit()  # not inline: the writer thread makes it visible
    await asyncio.wait_for(waiter, 10)
    assert db.visible_ts >= target
