"""Maintained document counts (database/counts.py): exact at every snapshot, across
concurrency, restarts and old snapshots, and live (their read set is the whole table)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from syncline.database import Database
from syncline.errors import WriteConflictError


async def scanned(db: Database, table: str, ts: int | None = None) -> int:
    """The count the slow way: every document at the snapshot."""
    tx = db.begin(read_only=True, snapshot_ts=ts, limits=False)
    try:
        return len(await tx.query(table).collect())
    finally:
        tx.abort()


def counted(db: Database, table: str, ts: int | None = None) -> int:
    tx = db.begin(read_only=True, snapshot_ts=ts)
    try:
        return tx.document_count(table)
    finally:
        tx.abort()


async def insert(db: Database, table: str, n: int) -> list[str]:
    async def fn(tx):
        return [await tx.insert(table, {"i": float(i)}) for i in range(n)]
    return await db.run_transaction(fn)


async def test_inserts_deletes_and_replaces_move_the_count(db: Database) -> None:
    ids = await insert(db, "t", 5)
    assert counted(db, "t") == 5
    await db.run_transaction(lambda tx: tx.delete(ids[0]))
    await db.run_transaction(lambda tx: tx.replace(ids[1], {"x": 1.0}))
    await db.run_transaction(lambda tx: tx.patch(ids[2], {"x": 2.0}))
    assert counted(db, "t") == 4 == await scanned(db, "t")
    assert counted(db, "never_written") == 0


async def test_a_transaction_counts_its_own_writes(db: Database) -> None:
    ids = await insert(db, "t", 3)
    tx = db.begin()
    await tx.insert("t", {})
    await tx.insert("t", {})
    await tx.delete(ids[0])
    new = await tx.insert("t", {})
    await tx.delete(new)  # inserted and deleted again: no change
    assert tx.document_count("t") == 4
    tx.abort()
    assert counted(db, "t") == 3


async def test_counts_are_exact_under_concurrent_inserts_and_deletes(db: Database) -> None:
    """Writers insert and delete concurrently (conflicting and retrying); after every
    commit the count at that commit's snapshot equals a scan at it."""
    snapshots: list[int] = []
    rng = random.Random(7)

    async def writer(k: int) -> None:
        for step in range(40):
            async def fn(tx, step=step):
                docs = await tx.query("t").take(3)
                if docs and rng.random() < 0.4:
                    await tx.delete(docs[rng.randrange(len(docs))]["_id"])
                else:
                    await tx.insert("t", {"k": float(k), "step": float(step)})
            await db.run_transaction(fn)
            snapshots.append(db.visible_ts)
            await asyncio.sleep(0)

    await asyncio.gather(*(writer(k) for k in range(6)))
    for ts in snapshots:
        assert counted(db, "t", ts) == await scanned(db, "t", ts)
    assert counted(db, "t") == await scanned(db, "t") > 0


async def test_counts_on_threads_match_a_scan(db: Database) -> None:
    """Commits from several threads at once (the committer batches them)."""
    def work(seed: int) -> None:
        async def body() -> None:
            ids = await insert(db, "t", 20)
            for doc_id in ids[: seed % 7]:
                await db.run_transaction(lambda tx, d=doc_id: tx.delete(d))
        asyncio.run(body())

    await asyncio.gather(*(asyncio.to_thread(work, s) for s in range(8)))
    expected = sum(20 - s % 7 for s in range(8))
    assert counted(db, "t") == expected == await scanned(db, "t")


async def test_old_snapshots_even_older_than_the_counts_remember(db: Database) -> None:
    db.committer.counts._kept = 3  # remember only the last few commits per table
    history: list[tuple[int, int]] = []
    for _ in range(20):
        await insert(db, "t", 2)
        history.append((db.visible_ts, await scanned(db, "t")))
        ids = [d["_id"] for d in await db.read(lambda tx: tx.query("t").take(1))]
        await db.run_transaction(lambda tx, first=ids[0]: tx.delete(first))
        history.append((db.visible_ts, await scanned(db, "t")))
    for ts, expected in history:  # the early ones come from storage's count
        assert counted(db, "t", ts) == expected
    assert db.committer.document_count(db.tables.get("t").number, history[0][0]) is None


async def test_counts_survive_a_restart(db_path: Path) -> None:
    with Database(db_path) as db:
        ids = await insert(db, "a", 50)
        await insert(db, "b", 7)
        for doc_id in ids[:20]:
            await db.run_transaction(lambda tx, d=doc_id: tx.delete(d))
        await db.run_transaction(lambda tx: tx.replace(ids[30], {"r": True}))
        before = db.visible_ts
    with Database(db_path) as db:
        assert counted(db, "a") == 30 and counted(db, "b") == 7
        assert counted(db, "a", before) == 30
        ids2 = await insert(db, "a", 3)
        await db.run_transaction(lambda tx: tx.delete(ids2[0]))
        assert counted(db, "a") == 32 == await scanned(db, "a")


async def test_a_count_is_in_the_read_set(db: Database) -> None:
    """A mutation that read a count conflicts with a concurrent insert into the table
    (and so a subscribed query re-runs), though no document was read."""
    await insert(db, "t", 2)
    tx = db.begin()
    assert tx.document_count("t") == 2
    assert tx.usage.documents_scanned == 0
    await tx.insert("other", {"seen": 2.0})
    await insert(db, "t", 1)
    with pytest.raises(WriteConflictError):
        await tx.commit()


async def test_reading_table_names_conflicts_with_a_new_table(db: Database) -> None:
    await insert(db, "t", 1)
    tx = db.begin()
    assert tx.table_names() == ["t"]
    await tx.insert("log", {})
    await insert(db, "brand_new", 1)
    with pytest.raises(WriteConflictError):
        await tx.commit()


async def test_a_hidden_table_stays_hidden_while_empty_and_undeclared(db_path: Path) -> None:
    from syncline.schema import define_schema, define_table, v

    with Database(db_path) as db:
        [doc_id] = await insert(db, "scratch", 1)
        await db.run_transaction(lambda tx: tx.delete(doc_id))
        await db.hide_table("scratch")
        assert db.table_names() == []
    with Database(db_path) as db:  # hidden durably
        assert db.table_names() == []
        await db.apply_schema(define_schema({"scratch": define_table({"i": v.float64()})}))
        assert db.table_names() == ["scratch"]  # declared again: listed, though empty
        await db.apply_schema(None)
        assert db.table_names() == []
        await insert(db, "scratch", 1)  # written again: listed
        assert db.table_names() == ["scratch"]
