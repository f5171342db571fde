"""A large import leaves the caller's event loop free and keeps nothing once committed."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from syncline.data.import_progress import ImportProgress
from syncline.data.table_import import LARGE_IMPORT, import_tables, parse_table_file
from syncline.database import Database
from syncline.database.write_log import WrittenDocument
from syncline.errors import WriteConflictError
from syncline.storage.interface import DocumentRevision

ROWS = 20_000


def rows(n: int = ROWS) -> list:
    return parse_table_file(b"".join(b'{"i": %d, "s": "some text"}\n' % i for i in range(n)),
                            "jsonl")


def live(kind: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is kind)


async def test_the_event_loop_runs_while_rows_are_checked(db: Database) -> None:
    log: list[str] = []
    lock = threading.Lock()

    def on_event(event: dict) -> None:  # on the import's worker thread
        with lock:
            log.append(event["phase"])

    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            with lock:
                if log and log[-1] != "tick":
                    log.append("tick")
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    try:
        counts = await import_tables(db, {"t": rows()}, progress=ImportProgress(on_event))
    finally:
        stop.set()
        await task
    assert counts == {"t": ROWS}
    first = log.index("importing")
    assert "tick" in log[first:log.index("committing")], log


async def test_nothing_of_a_committed_import_is_kept(db: Database) -> None:
    assert ROWS >= LARGE_IMPORT
    documents_before = live(WrittenDocument)
    await import_tables(db, {"t": rows()})
    # Neither the committer (its last batch, its conflict history) nor anything else
    # holds the import's documents or revisions once it is committed.
    assert live(WrittenDocument) - documents_before < 100
    assert live(DocumentRevision) < 100


async def test_a_transaction_older_than_a_large_import_retries(db: Database) -> None:
    await import_tables(db, {"other": rows(1)})
    tx = db.begin()
    await tx.insert("other", {"i": -1})  # reads nothing the import writes
    await import_tables(db, {"t": rows()})
    with pytest.raises(WriteConflictError, match="retried"):
        await tx.commit()
    # ... which run_transaction does by itself.
    async def insert(tx):
        return await tx.insert("other", {"i": -2})
    assert await db.run_transaction(insert)


async def test_the_committer_keeps_no_commit_it_has_written(db: Database) -> None:
    from syncline.database.committer import _CommitJob

    await import_tables(db, {"t": rows(LARGE_IMPORT // 2)})  # no clean-up after it
    # The writer thread, now waiting for work, holds no job (with its record's documents).
    assert live(_CommitJob) == 0
