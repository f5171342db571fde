"""The document retention window (database/retention.py): pruning history behind it keeps
every read inside it exact, refuses reads before it, gives the space back, lets commits
through while it runs and survives a kill midway."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from syncline.database import Database
from syncline.database.retention import MIN_WINDOW_S, RetentionPolicy
from syncline.errors import InvalidSettingError, SnapshotTooOldError, WriteConflictError
from syncline.schema import define_schema, define_table, v
from tests.database import test_text_search as search

SCHEMA = define_schema({
    "items": define_table({"group": v.string(), "n": v.number(), "pad": v.string()})
    .index("by_group", ["group"])
    .index("by_group_n", ["group", "n"]),
})
CHILD = Path(__file__).with_name("retention_crash_child.py")
REPO = Path(__file__).resolve().parents[2]


def open_db(path: Path, **policy: Any) -> Database:
    return Database(path, retention=RetentionPolicy(background=False, **policy))


async def state(db: Database, ts: int | None = None) -> dict[str, Any]:
    """Everything the tests compare: a table scan, index ranges both ways, point reads."""
    tx = db.begin(read_only=True, snapshot_ts=ts) if ts is not None else db.begin(read_only=True)
    try:
        docs = await tx.query("items").collect()
        out: dict[str, Any] = {"all": docs}
        for group in ("a", "b", "c"):
            out[group] = await tx.query("items").with_index(
                "by_group", lambda q, g=group: q.eq("group", g)).collect()
            out[group + "desc"] = await tx.query("items").with_index(
                "by_group_n", lambda q, g=group: q.eq("group", g).gte("n", 3.0)
            ).order("desc").collect()
        out["by_creation"] = await tx.query("items").order("desc").take(7)
        out["gets"] = [await tx.get(d["_id"]) for d in docs[:20]]
        return out
    finally:
        tx.abort()


async def churn(db: Database, n: int = 120, rounds: int = 3, pad: int = 200) -> list[str]:
    """Insert `n` documents, then overwrite each several times (moving some between
    index keys), delete some and re-patch others: every kind of superseded history."""
    async def insert(tx):
        return [await tx.insert("items", {"group": "abc"[i % 3], "n": float(i),
                                          "pad": "x" * pad}) for i in range(n)]
    ids = await db.run_transaction(insert)
    for r in range(rounds):
        async def update(tx, r=r):
            for i, doc_id in enumerate(ids):
                if i % 5 == 0:
                    await tx.patch(doc_id, {"pad": str(r) * pad})  # no index key changes
                else:
                    await tx.patch(doc_id, {"group": "abc"[(i + r + 1) % 3],
                                            "n": float(i * 10 + r)})
        await db.run_transaction(update)

    async def delete(tx):
        for doc_id in ids[::7]:
            await tx.delete(doc_id)
    await db.run_transaction(delete)
    return ids


def rows(db: Database, sql: str) -> int:
    return db.persistence._writer.execute(sql).fetchone()[0]


@pytest.fixture
async def db(tmp_path: Path):
    database = open_db(tmp_path / "db.sqlite3")
    await database.apply_schema(SCHEMA)
    yield database
    database.close()


async def test_pruning_keeps_every_live_documents_latest_revision_and_query_results(
    db: Database,
) -> None:
    await churn(db)
    before = await state(db)
    live = len(before["all"])
    assert rows(db, "SELECT count(*) FROM documents") > live  # there is history to prune

    report = await db.prune_history(db.visible_ts)

    assert report.documents_deleted > 0 and report.index_entries_deleted > 0
    assert await state(db) == before
    # What is left is exactly the latest revision of each live document, and one entry per
    # live document in each index that has entries (by_creation_time and the two above).
    assert rows(db, "SELECT count(*) FROM documents") == live
    assert rows(db, "SELECT count(*) FROM documents WHERE value IS NULL") == 0
    assert rows(db, "SELECT count(*) FROM index_entries") == 3 * live
    assert rows(db, "SELECT count(*) FROM index_entries WHERE internal_id IS NULL") == 0
    # Writes after pruning work, and pruning again has nothing to do.
    await db.run_transaction(lambda tx: tx.insert("items", {"group": "a", "n": 0.5, "pad": ""}))
    assert len((await state(db))["all"]) == live + 1
    again = await db.prune_history(db.visible_ts)
    assert (again.documents_deleted, again.index_entries_deleted) == (0, 0)


async def test_reads_inside_the_window_still_see_history(db: Database) -> None:
    ids = await churn(db, rounds=1)
    t1 = db.visible_ts
    at_t1 = await state(db, t1)
    await churn(db, rounds=2)  # more history, on new documents and on the old ones:
    async def more(tx):
        for doc_id in ids[1::7]:
            await tx.patch(doc_id, {"n": -1.0, "group": "c"})
    await db.run_transaction(more)
    t2 = db.visible_ts
    at_t2 = await state(db, t2)
    snapshot_t1 = db.persistence.snapshot_page(0, b"", t1, 100_000)
    deltas = db.persistence.revisions_after(t1, t2, 100_000)

    report = await db.prune_history(t1)

    assert report.min_snapshot_ts == t1 and report.documents_deleted > 0
    assert await state(db, t1) == at_t1
    assert await state(db, t2) == at_t2
    assert db.persistence.snapshot_page(0, b"", t1, 100_000) == snapshot_t1
    # The change log from the floor on is whole: a connector at t1 misses nothing.
    assert db.persistence.revisions_after(t1, t2, 100_000) == deltas


async def test_a_read_before_the_window_gets_a_clear_error(db: Database, tmp_path: Path,
                                                           ) -> None:
    await churn(db, rounds=1)
    t1 = db.visible_ts
    await churn(db, rounds=1)
    floor = db.visible_ts
    await db.prune_history(floor)

    with pytest.raises(SnapshotTooOldError, match="older than the database's retention"):
        db.begin(read_only=True, snapshot_ts=t1)
    with pytest.raises(SnapshotTooOldError) as info:
        db.persistence.revisions_after(t1, floor, 1000)
    assert info.value.code == "InvalidWindowToReadDocuments" and info.value.min_ts == floor
    with pytest.raises(SnapshotTooOldError):
        db.persistence.snapshot_page(0, b"", t1, 1000)
    db.persistence.revisions_after(floor, floor, 1000)  # the floor itself is readable
    await state(db, floor)
    # The floor is durable: after a restart the old timestamp is still refused.
    db.close()
    reopened = open_db(tmp_path / "db.sqlite3")
    try:
        assert reopened.min_snapshot_ts == floor
        assert reopened.visible_ts >= floor
        with pytest.raises(SnapshotTooOldError):
            reopened.begin(read_only=True, snapshot_ts=t1)
    finally:
        reopened.close()


async def test_a_running_transaction_keeps_its_snapshot_readable(db: Database) -> None:
    ids = await churn(db, rounds=1)
    reader = db.begin(read_only=True)
    writer = db.begin()
    seen = await state(db, reader.snapshot_ts)
    old_second = await writer.get(ids[2])
    async def overwrite(tx):
        for i, doc_id in enumerate(ids):
            if i % 2 == 0 and i % 7:  # every seventh was deleted by churn()
                await tx.patch(doc_id, {"n": -2.0, "group": "b"})
    await db.run_transaction(overwrite)
    await churn(db, rounds=2)

    report = await db.prune_history(db.visible_ts)

    # Held back by the transactions still open: they read their snapshot as it was.
    assert report.min_snapshot_ts == min(reader.snapshot_ts, writer.snapshot_ts)
    assert await reader.query("items").collect() == seen["all"]
    assert await writer.get(ids[2]) == old_second
    assert (await writer.get(ids[4]))["n"] != -2.0
    # OCC validation of the old snapshot still sees the overwrite it read past.
    await writer.patch(ids[1], {"n": 1.5})
    with pytest.raises(WriteConflictError):
        await writer.commit()
    reader.abort()
    assert (await db.prune_history(db.visible_ts)).min_snapshot_ts == db.visible_ts


async def test_the_file_shrinks_after_churn_and_pruning(tmp_path: Path) -> None:
    path = tmp_path / "big.sqlite3"
    db = open_db(path)
    try:
        await db.apply_schema(SCHEMA)
        await churn(db, n=800, rounds=4, pad=2000)
        before = db.persistence.space_stats()
        assert before["auto_vacuum"] == 2
        report = await db.prune_history(db.visible_ts)
        after = db.persistence.space_stats()
        assert report.pages_reclaimed > 0
        assert after["freelist_count"] == 0
        assert after["page_count"] < before["page_count"] * 0.4
    finally:
        db.close()
    # With the log checkpointed on close, the file on disk is that small too.
    assert os.path.getsize(path) <= after["page_count"] * after["page_size"]


async def test_a_file_from_before_retention_is_converted_once_and_keeps_its_data(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    db = open_db(path)
    await db.apply_schema(SCHEMA)
    await churn(db, n=60, rounds=1)
    expected = await state(db)
    db.close()
    raw = sqlite3.connect(path)  # as every file written before this change was
    raw.execute("PRAGMA auto_vacuum=NONE")
    raw.execute("VACUUM")
    assert raw.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    raw.close()

    db = open_db(path)
    try:
        assert db.persistence.space_stats()["auto_vacuum"] == 2
        assert await state(db) == expected
        await db.prune_history(db.visible_ts)
        assert await state(db) == expected
        assert db.persistence.space_stats()["freelist_count"] == 0
    finally:
        db.close()


async def test_commits_proceed_while_pruning_runs(tmp_path: Path) -> None:
    db = open_db(tmp_path / "db.sqlite3", batch=20, vacuum_pages=8)
    try:
        await db.apply_schema(SCHEMA)
        await churn(db, n=300, rounds=3)
        expected_live = len((await state(db))["all"])
        floor = db.visible_ts
        batches_at_commit: list[int] = []
        prune_batches = [0]
        original = db.persistence.prune_history

        def counted(limit, keys_of):  # runs on the writer thread, between commits
            progress = original(limit, keys_of)
            prune_batches[0] += 1
            return progress
        db.persistence.prune_history = counted  # type: ignore[method-assign]
        db.add_commit_listener(lambda commit: batches_at_commit.append(prune_batches[0]))

        pruning = asyncio.ensure_future(db.prune_history(floor))
        written = 0
        while not pruning.done():
            await db.run_transaction(
                lambda tx: tx.insert("items", {"group": "c", "n": -1.0, "pad": "new"}))
            written += 1
        report = pruning.result()

        assert report.batches == prune_batches[0] > 10
        # Commits landed between the pruning batches, not only before or after them.
        assert any(0 < seen < report.batches for seen in batches_at_commit)
        assert len((await state(db))["all"]) == expected_live + written
        assert rows(db, f"SELECT count(*) FROM documents WHERE ts <= {floor}") == expected_live
    finally:
        db.close()


async def test_the_background_pass_prunes_past_the_window(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3",
                  retention=RetentionPolicy(window_s=MIN_WINDOW_S, interval_s=0.01))
    try:
        await db.apply_schema(SCHEMA)
        await churn(db, rounds=1)
        expected = await state(db)
        latest = db.visible_ts
        passes = db.retention.passes
        assert db.min_snapshot_ts < latest  # nothing is older than the window yet
        # An hour later, as far as the pruner can tell.
        db.retention._now_ns = lambda: time.time_ns() + 3600 * 10**9
        deadline = time.monotonic() + 60
        while db.retention.passes < passes + 2:
            assert time.monotonic() < deadline, "the background pass never ran"
            await asyncio.sleep(0.01)
        assert db.min_snapshot_ts == latest
        assert await state(db) == expected
        assert rows(db, "SELECT count(*) FROM documents") == len(expected["all"])
    finally:
        db.close()


def test_the_window_is_configured_by_an_environment_variable(monkeypatch) -> None:
    monkeypatch.delenv("SYNCLINE_DOCUMENT_RETENTION_S", raising=False)
    assert RetentionPolicy.from_env().window_s == 30 * 24 * 3600
    monkeypatch.setenv("SYNCLINE_DOCUMENT_RETENTION_S", "86400")
    assert RetentionPolicy.from_env().window_s == 86400
    for bad in ("10", "-5", "1e9", "a day", "٣٦٠٠"):
        monkeypatch.setenv("SYNCLINE_DOCUMENT_RETENTION_S", bad)
        with pytest.raises(InvalidSettingError, match="SYNCLINE_DOCUMENT_RETENTION_S"):
            RetentionPolicy.from_env()
    with pytest.raises(InvalidSettingError):
        RetentionPolicy(window_s=1)


async def test_a_kill_mid_prune_leaves_a_consistent_store(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = open_db(path)
    await db.apply_schema(SCHEMA)
    await churn(db, n=300, rounds=3)
    expected = await state(db)
    floor = db.visible_ts
    revisions = rows(db, "SELECT count(*) FROM documents")
    db.close()

    # The child prunes in batches of 50 and stops inside a write transaction (while it
    # computes the index keys of the 800th pruned revision, in the last round of
    # overwrites, whose losses no later revision would make up for), says so, and is
    # killed there: the batches before it are committed, the one in flight is not.
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, str(CHILD), str(path), str(floor), "50", "800"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == "inside a pruning batch\n", line + (child.stderr.read()
                                                           if child.stderr else "")
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()

    db = open_db(path)
    try:
        left = rows(db, "SELECT count(*) FROM documents")
        assert len(expected["all"]) < left < revisions  # some batches pruned, not all
        assert db.min_snapshot_ts == floor
        assert await state(db) == expected
        report = await db.prune_history(floor)  # resumes where the durable cursor stopped
        assert report.documents_deleted == left - len(expected["all"])
        assert await state(db) == expected
        assert rows(db, "SELECT count(*) FROM index_entries") == 3 * len(expected["all"])
    finally:
        db.close()


async def test_a_search_index_saved_before_the_window_is_rebuilt_not_caught_up(
    tmp_path: Path,
) -> None:
    """A saved text index catches up from the revisions written since it was saved; once
    those include pruned deletions it cannot, so it is rebuilt from the documents."""
    path = tmp_path / "db.sqlite3"
    db = open_db(path)
    try:
        await db.apply_schema(search.SCHEMA)
        patched, deleted, _ = await search.insert(
            db, "messages", {"body": "apple patched", "channel": "a"},
            {"body": "apple deleted", "channel": "a"}, {"body": "apple kept", "channel": "a"})
        search.caught_up(db)
    finally:
        db.close()
    folder = search._index_folder(tmp_path)
    backup = tmp_path / "backup"
    shutil.copytree(folder, backup)
    db = open_db(path)
    try:
        async def change(tx):
            await tx.patch(patched, {"body": "cherry"})
            await tx.delete(deleted)
        await db.run_transaction(change)
        await db.prune_history(db.visible_ts)  # the deletion's tombstone goes
    finally:
        db.close()
    shutil.rmtree(folder)
    shutil.copytree(backup, folder)  # the index as it was before the pruned deletion
    db = open_db(path)
    try:
        assert await search.bodies(db, "apple") == ["apple kept"]
        assert await search.bodies(db, "cherry") == ["cherry"]
        # The deleted document is gone from the index itself, not only filtered out of
        # results (it would still count in every score's document statistics).
        (engine,) = db.search._engines.values()
        state = engine.snapshot(db.visible_ts)[0]
        assert state.documents == 2 and not engine.is_indexed(state, deleted)
    finally:
        db.close()
