"""Child process for the mid-prune crash test: prunes a database up to a floor in small
batches and stops inside a batch's write transaction, for the parent to kill it there."""

from __future__ import annotations

import asyncio
import sys
import time

from syncline.database import Database
from syncline.database.retention import RetentionPolicy


async def main(path: str, floor: int, batch: int, stop_after: int) -> None:
    db = Database(path, retention=RetentionPolicy(background=False, batch=batch))
    keys_of = db._index_keys_of
    calls = 0

    def stopping_keys_of(table: int, internal: bytes, packed: bytes) -> list:
        # Called by the storage layer inside the batch's write transaction.
        nonlocal calls
        calls += 1
        if calls == stop_after:
            sys.stdout.write("inside a pruning batch\n")
            sys.stdout.flush()
            time.sleep(3600)  # the parent kills us here
        return keys_of(table, internal, packed)

    db._index_keys_of = stopping_keys_of  # type: ignore[method-assign]
    await db.prune_history(floor)
    sys.stdout.write("finished without stopping\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
