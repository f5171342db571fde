"""The streaming export's storage reads: snapshot pages and revisions after a timestamp."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncline.storage import CommitRecord, DocumentRevision, SQLitePersistence, TableRecord

A = TableRecord(number=10001, name="a", id_index_id=1, creation_index_id=2)
B = TableRecord(number=10002, name="b", id_index_id=3, creation_index_id=4)
SYS = TableRecord(number=2, name="_storage", id_index_id=5, creation_index_id=6)


def doc(i: int) -> bytes:
    return bytes([i]) * 16


def rev(table: TableRecord, i: int, ts: int, value: bytes | None) -> DocumentRevision:
    return DocumentRevision(table.number, doc(i), ts, value)


@pytest.fixture
def store(tmp_path: Path) -> SQLitePersistence:
    s = SQLitePersistence(tmp_path / "s.sqlite3", durability="normal")
    s.write_commits([
        CommitRecord(10, [rev(A, 1, 10, b"a1"), rev(A, 2, 10, b"a2"), rev(B, 1, 10, b"b1"),
                          rev(SYS, 1, 10, b"s1")], [], new_tables=[A, B, SYS]),
        CommitRecord(20, [rev(A, 1, 20, b"a1'"), rev(B, 2, 20, b"b2")], []),
        CommitRecord(30, [rev(A, 2, 30, None), rev(B, 3, 30, b"b3")], []),
    ])
    yield s
    s.close()


def keys(rows: list[DocumentRevision]) -> list[tuple[int, bytes, int, bytes | None]]:
    return [(r.table_number, r.internal_id, r.ts, r.value) for r in rows]


def test_snapshot_page_reads_live_documents_at_the_snapshot(store: SQLitePersistence) -> None:
    assert keys(store.snapshot_page(A.number, b"", 15, 100)) == [
        (A.number, doc(1), 10, b"a1"), (A.number, doc(2), 10, b"a2"),
        (B.number, doc(1), 10, b"b1")]
    assert keys(store.snapshot_page(A.number, b"", 30, 100)) == [
        (A.number, doc(1), 20, b"a1'"), (B.number, doc(1), 10, b"b1"),
        (B.number, doc(2), 20, b"b2"), (B.number, doc(3), 30, b"b3")]
    assert store.snapshot_page(A.number, b"", 5, 100) == []
    # Starting before the user tables includes the system table.
    assert keys(store.snapshot_page(0, b"", 10, 1)) == [(SYS.number, doc(1), 10, b"s1")]


def test_snapshot_page_pages_by_table_then_id(store: SQLitePersistence) -> None:
    seen, after = [], (A.number, b"")
    while True:
        page = store.snapshot_page(*after, 30, 2)
        seen += page
        if len(page) < 2:
            break
        after = (page[-1].table_number, page[-1].internal_id)
    assert [(r.table_number, r.internal_id) for r in seen] == [
        (A.number, doc(1)), (B.number, doc(1)), (B.number, doc(2)), (B.number, doc(3))]


def test_snapshot_page_of_one_table(store: SQLitePersistence) -> None:
    assert keys(store.snapshot_page(A.number, b"", 30, 100, B.number))[0][:2] == (
        B.number, doc(1))
    assert len(store.snapshot_page(A.number, b"", 30, 100, B.number)) == 3
    assert keys(store.snapshot_page(B.number, doc(1), 30, 100, B.number)) == [
        (B.number, doc(2), 20, b"b2"), (B.number, doc(3), 30, b"b3")]
    assert store.snapshot_page(B.number, doc(3), 30, 100, A.number) == []  # already past A
    assert store.snapshot_page(A.number, b"", 30, 100, 99999) == []


def test_revisions_after_in_commit_order_with_deletions(store: SQLitePersistence) -> None:
    assert keys(store.revisions_after(10, 30, 100)) == [
        (A.number, doc(1), 20, b"a1'"), (B.number, doc(2), 20, b"b2"),
        (A.number, doc(2), 30, None), (B.number, doc(3), 30, b"b3")]
    assert keys(store.revisions_after(10, 20, 100)) == [
        (A.number, doc(1), 20, b"a1'"), (B.number, doc(2), 20, b"b2")]
    assert store.revisions_after(30, 30, 100) == []
    assert keys(store.revisions_after(0, 30, 100, A.number)) == [
        (A.number, doc(1), 10, b"a1"), (A.number, doc(2), 10, b"a2"),
        (A.number, doc(1), 20, b"a1'"), (A.number, doc(2), 30, None)]


def test_revisions_after_never_splits_a_commit(store: SQLitePersistence) -> None:
    # The first commit has four revisions: a limit of 1 still returns all of them.
    page = store.revisions_after(0, 30, 1)
    assert [r.ts for r in page] == [10, 10, 10, 10]
    assert [(r.table_number, r.internal_id) for r in page] == [
        (SYS.number, doc(1)), (A.number, doc(1)), (A.number, doc(2)), (B.number, doc(1))]
    assert [r.ts for r in store.revisions_after(10, 30, 3)] == [20, 20, 30, 30]
    assert [r.ts for r in store.revisions_after(0, 30, 1, B.number)] == [10]


def test_the_ts_index_exists(store: SQLitePersistence) -> None:
    with store._reader() as conn:
        names = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'documents'")}
    assert "documents_by_ts" in names
