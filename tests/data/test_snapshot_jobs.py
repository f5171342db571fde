"""The CLI's import and export jobs in `_snapshot_imports` / `_exports`: state moves that
cannot overwrite each other, one export at a time, recovery after a restart, pruning."""

from __future__ import annotations

import time

from syncline.data.snapshot_jobs import (
    EXPIRED_MESSAGE,
    EXPORTS,
    IMPORTS,
    KEPT_JOBS,
    RESTART_MESSAGE,
    get_import,
    housekeep,
    insert_export,
    insert_job,
    latest_export,
    list_imports,
    move_import,
    patch_job,
    recover,
)


def _job(state: str, **extra) -> dict:
    return {"state": {"state": state, **extra}, "format": "jsonLines",
            "mode": "requireEmpty", "upload": "u.jsonl"}


async def test_a_cancelled_import_stays_cancelled(db):
    import_id = await insert_job(db, IMPORTS, _job("uploaded"))
    assert await move_import(db, import_id, ("uploaded",),
                             {"state": "failed", "error_message": "Import canceled"}) \
        == "uploaded"
    # The summary finishing late must not bring it back to life.
    assert await move_import(db, import_id, ("uploaded",),
                             {"state": "waiting_for_confirmation"}) == "failed"
    job = await db.read(lambda tx: get_import(tx, import_id))
    assert job["state"] == {"state": "failed", "error_message": "Import canceled"}
    assert await move_import(db, "not-an-id", ("uploaded",), {"state": "failed"}) is None


async def test_imports_are_listed_newest_first_and_unknown_ids_are_none(db):
    first = await insert_job(db, IMPORTS, _job("completed", num_rows_written=1))
    second = await insert_job(db, IMPORTS, _job("uploaded"))
    listed = await db.read(list_imports)
    assert [row["_id"] for row in listed] == [second, first]
    assert await db.read(lambda tx: get_import(tx, "nope")) is None


async def test_one_export_at_a_time(db):
    assert await db.read(latest_export) is None
    first = await insert_export(db, {"state": "requested"})
    assert first is not None
    assert await insert_export(db, {"state": "requested"}) is None
    await patch_job(db, first, {"state": "completed"})
    second = await insert_export(db, {"state": "requested"})
    assert second is not None
    assert (await db.read(latest_export))["_id"] == second


async def test_recover_fails_what_a_restart_interrupted(db):
    running = await insert_job(db, IMPORTS, _job("in_progress", progress_message="x",
                                                 checkpoint_messages=[]))
    waiting = await insert_job(db, IMPORTS, _job("waiting_for_confirmation"))
    export = await insert_job(db, EXPORTS, {"state": "in_progress"})
    kept = await recover(db)
    assert [row["_id"] for row in kept] == [waiting]
    job = await db.read(lambda tx: get_import(tx, running))
    assert job["state"] == {"state": "failed", "error_message": RESTART_MESSAGE}
    assert (await db.read(latest_export))["_id"] == export
    assert (await db.read(latest_export))["state"] == "failed"


async def test_housekeeping_expires_unconfirmed_imports_and_prunes_old_jobs(db):
    for _ in range(KEPT_JOBS + 2):
        await insert_job(db, IMPORTS, _job("completed", num_rows_written=1))
    waiting = await insert_job(db, IMPORTS, _job("waiting_for_confirmation"))
    now_ms = time.time() * 1000
    pruned = await housekeep(db, now_ms, 3_600_000)  # nothing expired yet...
    assert [row["state"]["state"] for row in pruned] == ["completed", "completed"]
    rows = await db.read(lambda tx: tx.query(IMPORTS, system=True).collect())
    assert len(rows) == KEPT_JOBS + 1  # ...but the two oldest settled jobs went
    dropped = await housekeep(db, now_ms + 3_600_001, 3_600_000)
    assert [row["_id"] for row in dropped] == [waiting]
    job = await db.read(lambda tx: get_import(tx, waiting))
    assert job["state"] == {"state": "failed", "error_message": EXPIRED_MESSAGE}
