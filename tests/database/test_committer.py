"""The committer: ordered timestamps, commit listeners, group commit."""

from __future__ import annotations

import asyncio

import pytest

from syncline.database import Database


async def test_timestamps_strictly_increase_and_listeners_see_durable_commits(db: Database) -> None:
    seen = []

    def broken(_commit) -> None:
        raise RuntimeError("listener bug")

    db.add_commit_listener(broken)
    db.add_commit_listener(lambda commit: seen.append((commit.ts, db.visible_ts)))

    async def write(i: int) -> int:
        tx = db.begin()
        await tx.insert("t", {"i": float(i)})
        return await tx.commit()
    stamps = await asyncio.gather(*(write(i) for i in range(50)))
    assert len(set(stamps)) == 50
    assert [ts for ts, _ in seen] == sorted(stamps)
    # a listener runs only once the commit is durable and visible
    assert all(visible >= ts for ts, visible in seen)


async def test_concurrent_commits_share_storage_transactions(db: Database) -> None:
    batches: list[int] = []
    original = db.persistence.write_commits

    def counting(commits):
        batches.append(len(commits))
        return original(commits)
    db.persistence.write_commits = counting  # type: ignore[method-assign]

    async def write(i: int) -> None:
        async def fn(tx):
            await tx.insert("t", {"i": float(i)})
        await db.run_transaction(fn, max_attempts=1)
    await asyncio.gather(*(write(i) for i in range(200)))
    assert sum(batches) == 200
    assert len(batches) < 200  # at least some commits were grouped under one fsync


async def test_read_only_commit_returns_its_snapshot(db: Database) -> None:
    tx = db.begin()
    await tx.query("t").collect()
    assert await tx.commit() == tx.snapshot_ts


async def test_a_failed_storage_write_fails_its_commits_and_nothing_else(db: Database) -> None:
    original = db.persistence.write_commits
    calls = 0

    def flaky(commits):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")
        return original(commits)
    db.persistence.write_commits = flaky  # type: ignore[method-assign]

    async def add(tx):
        return await tx.insert("t", {"x": 1.0})
    before = db.visible_ts
    reader = db.begin()
    assert await reader.query("t").collect() == []
    with pytest.raises(OSError, match="disk full"):
        await db.run_transaction(add)
    assert db.visible_ts == before
    assert await db.read(lambda tx: tx.query("t").collect()) == []
    # the failed commit never happened, so it cannot conflict with what `reader` read
    await reader.insert("u", {})
    await reader.commit()
    doc_id = await db.run_transaction(add)  # and the database keeps working
    assert (await db.read(lambda tx: tx.get(doc_id)))["x"] == 1.0


async def test_a_cancelled_waiter_does_not_stop_the_committer(db):
    """Cancelling the task that awaits a commit must not kill the writer thread."""
    for _ in range(20):
        tx = db.begin()
        await tx.insert("t", {"n": 1})
        waiter = asyncio.ensure_future(tx.commit())
        await asyncio.sleep(0)
        waiter.cancel()
    # Later commits still complete, and the cancelled ones landed all the same.
    await asyncio.wait_for(db.run_transaction(lambda tx: tx.insert("t", {"n": 2})), 30)
    rows = await db.read(lambda tx: tx.query("t").collect())
    assert sum(1 for r in rows if r["n"] == 2) == 1
    assert db.committer._thread.is_alive()


async def test_deferred_commits_wait_for_a_flush_and_land_as_one_batch(db: Database) -> None:
    import threading

    batches: list[tuple[int, str]] = []
    original = db.persistence.write_commits

    def recording(commits):
        batches.append((len(commits), threading.current_thread().name))
        return original(commits)
    db.persistence.write_commits = recording  # type: ignore[method-assign]

    async def write(i: int) -> int:
        tx = db.begin()
        await tx.insert("t", {"i": float(i)})
        return await tx.commit(defer=True)

    writers = [asyncio.ensure_future(write(i)) for i in range(10)]
    await asyncio.sleep(0.1)
    assert batches == [] and not any(w.done() for w in writers)  # queued, not written
    db.committer.flush()
    stamps = await asyncio.gather(*writers)
    assert batches == [(10, threading.current_thread().name)]  # one batch, on this thread
    assert db.visible_ts == max(stamps)
    reader = db.begin(read_only=True)
    assert len(await reader.query("t").collect()) == 10
    reader.abort()


async def test_a_flush_while_the_writer_is_busy_leaves_the_batch_to_it(db: Database) -> None:
    import threading

    release = threading.Event()
    original = db.persistence.write_commits

    def slow(commits):
        release.wait(5)
        return original(commits)
    db.persistence.write_commits = slow  # type: ignore[method-assign]
    first = db.begin()
    await first.insert("t", {"i": 0.0})
    first_commit = asyncio.ensure_future(first.commit())  # the writer thread takes it
    await asyncio.sleep(0.05)
    second = db.begin()
    await second.insert("t", {"i": 1.0})
    second_commit = asyncio.ensure_future(second.commit(defer=True))
    await asyncio.sleep(0.05)
    db.committer.flush()  # busy: must not write here (it would block on `release`)
    release.set()
    assert (await asyncio.wait_for(second_commit, 10)) > (await first_commit)


async def test_maintenance_runs_between_batches_and_a_cancelled_one_is_skipped(db):
    import threading

    release = threading.Event()
    ran: list[str] = []
    blocker = db.committer.run_exclusive(lambda ts: release.wait(10))
    skipped = db.committer.run_maintenance(lambda: ran.append("skipped"))
    kept = db.committer.run_maintenance(lambda: ran.append("kept") or 7)
    assert skipped.cancel()  # its caller stopped waiting before the writer got to it
    release.set()
    blocker.result(10)
    assert kept.result(10) == 7
    assert ran == ["kept"]
    tx = db.begin()  # the writer thread is alive and commits go on
    await tx.insert("t", {"x": 1.0})
    assert await tx.commit() > 0
