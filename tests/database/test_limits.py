"""Transaction limits: enforced with clear errors, nothing written when they trip."""

from __future__ import annotations

import pytest

from syncline.database import Database, limits
from syncline.errors import TransactionLimitError


async def test_documents_written_limit_is_the_documented_16000(db: Database) -> None:
    assert limits.MAX_DOCUMENTS_WRITTEN == 16_000

    async def fn(tx):
        for i in range(limits.MAX_DOCUMENTS_WRITTEN + 1):
            await tx.insert("bulk", {"i": float(i)})
    with pytest.raises(TransactionLimitError, match="Too many documents written"):
        await db.run_transaction(fn)
    assert await db.read(lambda tx: tx.query("bulk").take(1)) == []


async def test_documents_scanned_limit_counts_filtered_rows(db: Database, monkeypatch) -> None:
    async def fill(tx):
        for i in range(30):
            await tx.insert("t", {"i": float(i)})
    await db.run_transaction(fill)
    monkeypatch.setattr(limits, "MAX_DOCUMENTS_SCANNED", 20)
    with pytest.raises(TransactionLimitError, match="Too many documents read"):
        await db.read(lambda tx: tx.query("t").filter(lambda q: q.eq(q.field("i"), -1)).collect())
    assert len(await db.read(lambda tx: tx.query("t").take(20))) == 20


async def test_bytes_read_and_written_limits(db: Database, monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_BYTES_WRITTEN", 10_000)

    async def big(tx):
        for _ in range(3):
            await tx.insert("t", {"s": "x" * 4000})
    with pytest.raises(TransactionLimitError, match="bytes written"):
        await db.run_transaction(big)
    monkeypatch.setattr(limits, "MAX_BYTES_WRITTEN", 16 * 1024 * 1024)
    await db.run_transaction(big)
    monkeypatch.setattr(limits, "MAX_BYTES_READ", 10_000)
    with pytest.raises(TransactionLimitError, match="bytes read"):
        await db.read(lambda tx: tx.query("t").collect())


async def test_index_range_limit(db: Database, monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_INDEX_RANGES", 5)
    async def fn(tx):
        doc_id = await tx.insert("t", {})
        await tx.commit() if False else None
        return doc_id
    doc_id = await db.run_transaction(fn)

    async def many_reads(tx):
        for _ in range(6):
            await tx.query("t").first()
    with pytest.raises(TransactionLimitError, match="index ranges"):
        await db.read(many_reads)
    assert doc_id
