"""The SQLite persistence on its own: MVCC reads at snapshots, atomic batches, reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from syncline.errors import DatabaseInUseError
from syncline.storage import (
    CommitRecord,
    DocumentRevision,
    IndexChange,
    IndexEntry,
    IndexRecord,
    SQLitePersistence,
    TableRecord,
)

TABLE = TableRecord(number=10001, name="t", id_index_id=1, creation_index_id=2)
DOC = b"\x01" * 16


def commit(ts: int, value: bytes | None, entries: list[IndexEntry]) -> CommitRecord:
    return CommitRecord(ts, [DocumentRevision(TABLE.number, DOC, ts, value)], entries,
                        new_tables=[TABLE])


@pytest.fixture
def store(tmp_path: Path) -> SQLitePersistence:
    s = SQLitePersistence(tmp_path / "s.sqlite3", durability="normal")
    yield s
    s.close()


def test_reads_see_the_version_current_at_their_snapshot(store: SQLitePersistence) -> None:
    store.write_commits([commit(10, b"v1", [IndexEntry(5, b"k1", 10, DOC)])])
    store.write_commits([commit(20, b"v2", [IndexEntry(5, b"k1", 20, None),
                                            IndexEntry(5, b"k2", 20, DOC)])])
    store.write_commits([commit(30, None, [IndexEntry(5, b"k2", 30, None)])])
    assert store.get_document(TABLE.number, DOC, 5) is None
    assert store.get_document(TABLE.number, DOC, 15) == b"v1"
    assert store.get_document(TABLE.number, DOC, 25) == b"v2"
    assert store.get_document(TABLE.number, DOC, 35) is None

    def scan(ts: int, reverse: bool = False) -> list:
        return store.scan_index(5, TABLE.number, b"", None, ts, reverse, 100)
    assert scan(15) == [(b"k1", b"v1")]
    assert scan(25) == [(b"k2", b"v2")]
    assert scan(35) == []
    assert store.scan_table(TABLE.number, b"", None, 15, False, 10) == [(DOC, b"v1")]
    assert store.scan_table(TABLE.number, b"", None, 35, False, 10) == []


def test_scan_bounds_order_and_limit(store: SQLitePersistence) -> None:
    docs = [bytes([i]) * 16 for i in range(1, 6)]
    store.write_commits([CommitRecord(
        10,
        [DocumentRevision(TABLE.number, d, 10, b"doc%d" % i) for i, d in enumerate(docs)],
        [IndexEntry(7, b"key%d" % i, 10, d) for i, d in enumerate(docs)],
        new_tables=[TABLE],
    )])
    rows = store.scan_index(7, TABLE.number, b"key1", b"key4", 10, False, 100)
    assert [k for k, _ in rows] == [b"key1", b"key2", b"key3"]
    rows = store.scan_index(7, TABLE.number, b"key1", b"key4", 10, True, 2)
    assert [k for k, _ in rows] == [b"key3", b"key2"]


def test_a_failing_batch_writes_nothing(store: SQLitePersistence) -> None:
    store.write_commits([commit(10, b"v1", [])])
    with pytest.raises(sqlite3.IntegrityError):
        # the second commit repeats (table, id, ts): the whole batch must roll back
        store.write_commits([commit(20, b"v2", []), commit(20, b"dup", [])])
    assert store.get_document(TABLE.number, DOC, 100) == b"v1"
    assert store.load_catalog().max_ts == 10


def test_catalog_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SQLitePersistence(path)
    store.write_commits([commit(10, b"v1", [])])
    store.apply_index_change(IndexChange(
        ts=11, new_tables=[], added=[IndexRecord(9, TABLE.number, "by_x", ("x", "y.z"))],
        backfill=[IndexEntry(9, b"k", 11, DOC)], dropped=[], schema_json='{"tables": []}',
    ))
    store.close()
    again = SQLitePersistence(path)
    try:
        catalog = again.load_catalog()
        assert catalog.tables == (TABLE,)
        assert catalog.indexes == (IndexRecord(9, TABLE.number, "by_x", ("x", "y.z")),)
        assert catalog.schema_json == '{"tables": []}'
        assert catalog.max_ts == 11
        assert again.scan_index(9, TABLE.number, b"", None, 11, False, 10) == [(b"k", b"v1")]
    finally:
        again.close()


def test_refuses_a_file_from_another_format(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    SQLitePersistence(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = 999 WHERE key = 'format'")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="format 999"):
        SQLitePersistence(path)


def test_bad_durability_setting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="durability"):
        SQLitePersistence(tmp_path / "x", durability="sometimes")  # type: ignore[arg-type]


def test_a_database_file_has_one_owner(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = SQLitePersistence(path)
    with pytest.raises(DatabaseInUseError, match="already open"):
        SQLitePersistence(path)
    first.close()
    SQLitePersistence(path).close()  # free again once closed


def test_dropped_index_entries_are_reclaimed_at_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SQLitePersistence(path)
    store.write_commits([commit(10, b"v1", [])])
    store.apply_index_change(IndexChange(
        ts=11, new_tables=[], added=[IndexRecord(9, TABLE.number, "by_x", ("x",))],
        backfill=[IndexEntry(9, b"k", 11, DOC)], dropped=[], schema_json=None))
    store.apply_index_change(IndexChange(
        ts=12, new_tables=[], added=[], backfill=[], dropped=[9], schema_json=None))
    assert store.load_catalog().indexes == ()
    assert store.scan_index(9, TABLE.number, b"", None, 12, False, 10) == [(b"k", b"v1")]
    store.close()
    store = SQLitePersistence(path)
    try:
        assert store.scan_index(9, TABLE.number, b"", None, 12, False, 10) == []
    finally:
        store.close()


_CLOSE_WHILE_READING = """
import sqlite3, sys, threading
from syncline.storage import CommitRecord, DocumentRevision, SQLitePersistence, TableRecord

table = TableRecord(number=10001, name="t", id_index_id=1, creation_index_id=2)
for round_ in range(40):
    store = SQLitePersistence(sys.argv[1], durability="normal")
    if round_ == 0:
        store.write_commits([CommitRecord(ts, [DocumentRevision(
            table.number, bytes([ts]) * 16, ts, b"x" * 200)], [], new_tables=[table] if ts == 1
            else []) for ts in range(1, 200)])
    started, problems = threading.Barrier(5), []

    def read() -> None:
        started.wait()
        try:
            while True:
                store.scan_table(table.number, b"", None, 10**9, False, 500)
                store.get_document(table.number, bytes([7]) * 16, 10**9)
        except sqlite3.ProgrammingError:
            return  # the store was closed: a clean error
        except BaseException as e:  # noqa: BLE001
            problems.append(repr(e))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    started.wait()
    store.close()
    for t in threads:
        t.join()
    assert not problems, problems
"""


def test_closing_while_other_threads_read_raises_in_them_and_never_crashes(tmp_path: Path):
    """A store closed (shutdown, a test's teardown) while worker threads still read: each
    read in progress finishes first, later ones get ProgrammingError. Closing a
    connection under a running read crashed the process (SIGSEGV) instead, and a thread
    without a reader yet opened a new connection to the closed store and read on."""
    import os
    import subprocess
    import sys

    script = tmp_path / "close_while_reading.py"
    script.write_text(_CLOSE_WHILE_READING)
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "s.sqlite3")],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(repo)})
    assert result.returncode == 0, (result.returncode, result.stderr[-3000:])
