"""A full disk, for real: storage on a small tmpfs filled to the last block.

A write that finds the disk full fails whole with DiskFullError (not SQLite's "cannot
rollback - no transaction is active"), leaves nothing behind, and does not wedge the
committer in either durability mode, on any of its write paths; reads go on; writes work
again once space is freed; a start on a full disk comes up read-only; the text search
index keeps what it could not write and catches up. Every acknowledged write survives a
reopen, and no refused one appears.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncline.database import Database
from syncline.database.search.text import TextIndex
from syncline.errors import DiskFullError, WriteConflictError
from syncline.schema import define_schema, define_table, v
from syncline.storage import CommitRecord, DocumentRevision, IndexEntry, SQLitePersistence
from syncline.storage.blobs import LocalBlobStore
from syncline.storage.interface import TableRecord
from tests.small_disk import fill, free, small_tmpfs

DISK_KIB = 2048
TABLE = TableRecord(number=10001, name="t", id_index_id=1, creation_index_id=2)
DURABILITIES = ["full", "normal"]


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", DISK_KIB) as directory:
        yield directory


def record(ts: int, size: int) -> CommitRecord:
    internal_id = ts.to_bytes(16, "big")
    return CommitRecord(ts, [DocumentRevision(TABLE.number, internal_id, ts, os.urandom(size))],
                        [IndexEntry(TABLE.id_index_id, internal_id, ts, internal_id)],
                        new_tables=[TABLE])


def stored_ts(store: SQLitePersistence) -> list[int]:
    return [r.ts for r in store.revisions_after(0, 2**62, 10_000)]


# -- the persistence ------------------------------------------------------------------------


@pytest.mark.parametrize("durability", DURABILITIES)
@pytest.mark.parametrize("batch", ["one small commit", "a batch larger than the disk"])
def test_a_write_that_finds_the_disk_full_fails_clearly_and_applies_nothing(
        disk: Path, durability: str, batch: str) -> None:
    path = disk / "db.sqlite3"
    store = SQLitePersistence(path, durability=durability)  # type: ignore[arg-type]
    try:
        store.write_commits([record(10, 100)])
        fill(disk)
        refused = ([record(20, 16_000)] if batch == "one small commit" else
                   [record(20 + i, 64 * 1024) for i in range(48)])  # 3 MiB, disk 2 MiB
        with pytest.raises(DiskFullError) as failure:
            store.write_commits(refused)
        assert "disk is full" in str(failure.value)
        assert "nothing was written" in str(failure.value)
        assert isinstance(failure.value.__cause__, sqlite3.Error)
        assert not store._writer.in_transaction
        # Reads go on, and see nothing of the refused batch.
        assert store.get_document(TABLE.number, (10).to_bytes(16, "big"), 10) is not None
        assert stored_ts(store) == [10]
        with pytest.raises(DiskFullError):  # and again: the writer is not left wedged
            store.write_commits(refused)
        free(disk)
        store.write_commits(refused[:4])
        assert stored_ts(store) == [10] + [r.ts for r in refused[:4]]
    finally:
        free(disk)
        store.close()
    reopened = SQLitePersistence(path, durability=durability)  # type: ignore[arg-type]
    try:
        assert stored_ts(reopened) == [10] + [r.ts for r in refused[:4]]
    finally:
        reopened.close()


def test_a_start_on_a_full_disk_reads_and_takes_writes_once_there_is_room(
        disk: Path) -> None:
    path = disk / "db.sqlite3"
    store = SQLitePersistence(path)
    store.write_commits([record(10, 100), record(11, 100)])
    store.close()  # a clean close: the WAL and its -shm file are gone
    assert not os.path.exists(f"{path}-shm")
    fill(disk)
    store = SQLitePersistence(path)  # WAL mode needs a new -shm file: there is no room
    try:
        assert store.read_only
        assert stored_ts(store) == [10, 11]
        assert store.load_catalog().max_ts == 11
        with pytest.raises(DiskFullError, match="nothing was written"):
            store.write_commits([record(20, 100)])
        free(disk)
        store.write_commits([record(20, 100)])
        assert not store.read_only
        # This thread's reader was replaced: it sees the new commit.
        assert stored_ts(store) == [10, 11, 20]
    finally:
        free(disk)
        store.close()
    reopened = SQLitePersistence(path)
    try:
        assert stored_ts(reopened) == [10, 11, 20]
    finally:
        reopened.close()


def test_a_database_never_created_for_lack_of_space_says_so(disk: Path) -> None:
    fill(disk)
    with pytest.raises(DiskFullError, match="cannot be created"):
        SQLitePersistence(disk / "db.sqlite3")


# -- the committer -------------------------------------------------------------------------


async def _commit_all(db: Database, bodies: list[str], path: str) -> list[object]:
    """Insert one document per body, each in its own transaction, committed together by
    the committer's `path`; per transaction, its id or the exception."""
    txs = [db.begin() for _ in bodies]
    ids = [await tx.insert("notes", {"body": body}) for tx, body in zip(txs, bodies, strict=True)]
    if path == "inline":  # the caller's thread writes while the committer is idle
        results: list[object] = []
        for tx in txs:
            try:
                await tx.commit(inline=True)
                results.append(None)
            except Exception as e:  # noqa: BLE001 - collected for the test
                results.append(e)
    elif path == "deferred":  # queued without waking the writer, then flushed as one batch
        waits = [asyncio.ensure_future(tx.commit(defer=True)) for tx in txs]
        await asyncio.sleep(0)
        db.committer.flush()
        results = list(await asyncio.gather(*waits, return_exceptions=True))
    else:  # group commit on the writer thread
        results = list(await asyncio.gather(*(tx.commit() for tx in txs),
                                            return_exceptions=True))
    return [r if isinstance(r, BaseException) else i for r, i in zip(results, ids, strict=True)]


async def _ids(db: Database) -> set[str]:
    return {d["_id"] for d in await db.read(lambda tx: tx.query("notes").collect())}


@pytest.mark.parametrize("durability", DURABILITIES)
@pytest.mark.parametrize("path", ["writer thread", "inline", "deferred"])
async def test_commits_refused_for_a_full_disk_leave_the_committer_working(
        disk: Path, durability: str, path: str) -> None:
    db_path = disk / "db.sqlite3"
    db = Database(db_path, durability=durability)  # type: ignore[arg-type]
    try:
        acknowledged = set(await _commit_all(db, ["before"], path))  # type: ignore[arg-type]
        visible = db.visible_ts
        fill(disk)
        big = [os.urandom(200_000).hex() for _ in range(4)]  # 1.6 MB: more than is left
        outcomes = await _commit_all(db, big, path)
        assert all(isinstance(o, DiskFullError) for o in outcomes), outcomes
        assert db.visible_ts == visible
        assert await _ids(db) == acknowledged  # reads go on; nothing refused is visible
        free(disk)
        outcomes = await _commit_all(db, big[:2], path)
        assert all(isinstance(o, str) for o in outcomes), outcomes
        acknowledged |= set(outcomes)  # type: ignore[arg-type]
        acknowledged |= set(await _commit_all(db, ["after"], "writer thread"))  # type: ignore[arg-type]
        assert await _ids(db) == acknowledged
    finally:
        free(disk)
        db.close()
    reopened = Database(db_path, durability=durability)  # type: ignore[arg-type]
    try:
        assert await _ids(reopened) == acknowledged
    finally:
        reopened.close()


@pytest.mark.parametrize("waits", ["before the refusal", "after the refusal"])
async def test_a_retry_waiting_for_a_commit_the_full_disk_refused_goes_ahead(
        disk: Path, waits: str) -> None:
    """A mutation that conflicted with a commit still being written waits for it to become
    visible before re-running; if the disk refuses that commit, the wait must end."""
    db = Database(disk / "db.sqlite3", durability="normal")
    try:
        note = await db.run_transaction(lambda tx: tx.insert("notes", {"body": "v0"}))
        fill(disk)
        first, second = db.begin(), db.begin()
        for tx, body in ((first, os.urandom(400_000).hex()), (second, "v2")):
            await tx.get(note)
            await tx.patch(note, {"body": body})
        refused = asyncio.ensure_future(first.commit(defer=True))  # queued, not yet written
        await asyncio.sleep(0)
        with pytest.raises(WriteConflictError) as conflict:
            await second.commit()
        assert conflict.value.conflict_ts is not None
        waiting = asyncio.ensure_future(db.wait_visible(conflict.value.conflict_ts))
        if waits == "before the refusal":
            await asyncio.sleep(0)  # the wait is registered now
        db.committer.flush()
        with pytest.raises(DiskFullError):
            await refused
        await asyncio.wait_for(waiting, timeout=30)  # a deadline, not a timing threshold
        free(disk)
        await db.run_transaction(lambda tx: tx.patch(note, {"body": "v3"}))
        assert (await db.read(lambda tx: tx.get(note)))["body"] == "v3"
    finally:
        free(disk)
        db.close()


# -- the text search index -----------------------------------------------------------------

SEARCH_SCHEMA = define_schema({
    "notes": define_table({"body": v.string()}).search_index("by_body", search_field="body"),
})


async def _search(db: Database, text: str) -> set[str]:
    return {d["body"] for d in await db.read(lambda tx: tx.query("notes").with_search_index(
        "by_body", lambda q: q.search("body", text)).collect())}


def _engine(db: Database) -> TextIndex:
    info = db.search_index("notes", "by_body")
    assert info is not None
    engine = db.search.engine(info.id)
    assert isinstance(engine, TextIndex)
    return engine


def _in_tantivy(engine: TextIndex) -> int:
    """Documents in the tantivy index's published searcher (not our bookkeeping)."""
    return engine.snapshot(2**62)[0].searcher.num_docs


def _wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + 30  # a deadline for an event, not a timing threshold
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.05)


async def test_the_text_index_keeps_what_a_full_disk_refused_and_catches_up(
        tmp_path: Path) -> None:
    """The database has room; only the search indexes' disk is full."""
    db_path = tmp_path / "db.sqlite3"
    db = Database(db_path)
    with small_tmpfs(tmp_path / "search", DISK_KIB) as search_disk:
        try:
            await db.apply_schema(SEARCH_SCHEMA)
            await db.run_transaction(lambda tx: tx.insert("notes", {"body": "alpha one"}))
            db.search.wait_applied(db.visible_ts)
            fill(search_disk)
            for body in ("alpha two", "alpha three"):
                await db.run_transaction(lambda tx, b=body: tx.insert("notes", {"body": b}))
            db.search.wait_applied(db.visible_ts)
            engine = _engine(db)
            assert engine.behind  # tantivy could not take them
            # Searches are exact meanwhile: the refused changes are read from memory.
            assert await _search(db, "alpha") == {"alpha one", "alpha two", "alpha three"}
            free(search_disk)
            _wait_until(lambda: not engine.behind, "the text index to catch up")
            await db.run_transaction(lambda tx: tx.insert("notes", {"body": "alpha four"}))
            db.search.wait_applied(db.visible_ts)
            _wait_until(lambda: engine.committed_ts >= db.visible_ts, "tantivy to refresh")
            assert _in_tantivy(engine) == 4  # all four are in tantivy itself
        finally:
            free(search_disk)
            db.close()
        # The saved index holds every document: a restart reads it and searches find all.
        reopened = Database(db_path)
        try:
            assert await _search(reopened, "alpha") == {
                "alpha one", "alpha two", "alpha three", "alpha four"}
            assert _in_tantivy(_engine(reopened)) == 4
        finally:
            reopened.close()


async def test_a_start_with_the_search_disk_full_serves_exact_searches(tmp_path: Path) -> None:
    db_path = tmp_path / "db.sqlite3"
    with small_tmpfs(tmp_path / "search", DISK_KIB) as search_disk:
        db = Database(db_path)
        try:
            await db.apply_schema(SEARCH_SCHEMA)
            await db.run_transaction(lambda tx: tx.insert("notes", {"body": "beta one"}))
        finally:
            db.close()
        fill(search_disk)
        db = Database(db_path)  # the start-up catch-up cannot commit to tantivy
        try:
            await db.run_transaction(lambda tx: tx.insert("notes", {"body": "beta two"}))
            assert await _search(db, "beta") == {"beta one", "beta two"}
            free(search_disk)
            engine = _engine(db)
            _wait_until(lambda: not engine.behind, "the text index to catch up")
            assert await _search(db, "beta") == {"beta one", "beta two"}
        finally:
            free(search_disk)
            db.close()


# -- file blobs ------------------------------------------------------------------------------


async def test_a_blob_that_finds_the_disk_full_fails_clearly_and_leaves_nothing(
        disk: Path) -> None:
    store = LocalBlobStore(disk / "files")

    async def chunks(n: int):
        for _ in range(n):
            yield os.urandom(256 * 1024)

    kept = await store.put(chunks(1))
    fill(disk)
    with pytest.raises(DiskFullError, match="disk is full"):
        await store.put(chunks(12))  # 3 MiB on a 2 MiB disk
    assert list(store.keys()) == [kept.key]
    assert list((disk / "files" / "tmp").iterdir()) == []  # no partial upload left
    free(disk)
    again = await store.put(chunks(2))
    assert sorted(store.keys()) == sorted([kept.key, again.key])
