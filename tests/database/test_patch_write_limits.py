"""`patch`, `replace` and `delete` are writes: the read of the document they write keeps it
in the read set (OCC) but is not a `db.get` call, so it counts toward no read limit. A
mutation can then write up to the documented 16,000 documents, however it found their IDs."""

from __future__ import annotations

import pytest

from syncline.database import Database, limits
from syncline.errors import TransactionLimitError, WriteConflictError

COUNT = limits.MAX_DOCUMENTS_WRITTEN  # 16,000, from the Convex limits page


async def seed(db: Database, count: int) -> list[str]:
    ids: list[str] = []
    while len(ids) < count:  # in chunks, each within the write limit
        chunk = min(8000, count - len(ids))
        ids += await db.run_transaction(lambda tx, chunk=chunk: _fill(tx, chunk))
    return ids


async def patched(db: Database) -> int:
    """How many documents hold the patched value (read in chunks, within the read limits)."""
    count, cursor = 0, None
    while True:
        page = await db.read(lambda tx, cursor=cursor: tx.query("items").paginate(
            {"numItems": 8000, "cursor": cursor}))
        count += sum(1 for doc in page["page"] if doc["n"] == 1.0)
        if page["isDone"]:
            return count
        cursor = page["continueCursor"]


async def _fill(tx, count: int) -> list[str]:
    return [await tx.insert("items", {"n": 0.0}) for _ in range(count)]


async def test_a_transaction_patches_the_documented_16000_documents(db: Database) -> None:
    assert COUNT == 16_000 and limits.MAX_INDEX_RANGES == 4_096
    ids = await seed(db, COUNT)

    async def patch_all(tx):
        for doc_id in ids:
            await tx.patch(doc_id, {"n": 1.0})
        return tx.usage.index_ranges, tx.usage.documents_scanned, tx.usage.documents_written

    assert await db.run_transaction(patch_all) == (0, 0, COUNT)
    assert await patched(db) == COUNT


async def test_replace_and_delete_count_as_writes_too(db: Database) -> None:
    ids = await seed(db, limits.MAX_INDEX_RANGES + 1)

    async def replace_all(tx):
        for doc_id in ids:
            await tx.replace(doc_id, {"n": 2.0, "replaced": True})
        return tx.usage.index_ranges

    assert await db.run_transaction(replace_all) == 0

    async def delete_all(tx):
        for doc_id in ids:
            await tx.delete(doc_id)
        return tx.usage.index_ranges

    assert await db.run_transaction(delete_all) == 0
    assert await db.read(lambda tx: tx.query("items").take(1)) == []


async def test_reading_then_patching_every_document_counts_one_range(db: Database) -> None:
    await seed(db, COUNT)

    async def read_and_patch(tx):
        for doc in await tx.query("items").collect():
            await tx.patch(doc["_id"], {"n": doc["n"] + 1})
        return tx.usage.index_ranges, tx.usage.documents_scanned

    assert await db.run_transaction(read_and_patch) == (1, COUNT)


async def test_the_16001st_write_fails_with_the_documented_limit(db: Database) -> None:
    ids = await seed(db, COUNT + 1)

    async def patch_all(tx):
        for doc_id in ids:
            await tx.patch(doc_id, {"n": 1.0})

    with pytest.raises(TransactionLimitError, match=r"Too many documents written.*16000"):
        await db.run_transaction(patch_all)
    # Nothing was written.
    assert await patched(db) == 0


async def test_db_get_calls_still_count_toward_the_4096_limit(db: Database) -> None:
    ids = await seed(db, limits.MAX_INDEX_RANGES + 1)

    async def get_all(tx):
        for doc_id in ids:
            await tx.get(doc_id)

    with pytest.raises(TransactionLimitError, match="index ranges"):
        await db.read(get_all)


@pytest.mark.parametrize("operation", ["patch", "replace", "delete"])
async def test_a_concurrent_write_to_a_written_document_still_conflicts(
        db: Database, operation: str) -> None:
    (target, other) = await seed(db, 2)
    writer = db.begin()
    if operation == "delete":
        await writer.delete(target)
    else:
        await getattr(writer, operation)(target, {"n": 5.0})
    assert writer.usage.index_ranges == 0

    async def concurrent(tx):
        await tx.patch(target, {"n": 9.0})
    await db.run_transaction(concurrent)
    with pytest.raises(WriteConflictError):
        await writer.commit()

    # A write to another document does not conflict.
    writer = db.begin()
    await writer.patch(target, {"n": 6.0})

    async def elsewhere(tx):
        await tx.patch(other, {"n": 7.0})
    await db.run_transaction(elsewhere)
    await writer.commit()
    assert (await db.read(lambda tx: tx.get(target)))["n"] == 6.0
