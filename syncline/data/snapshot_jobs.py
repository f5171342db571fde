"""Import and export jobs of the official `npx convex` CLI, kept in system tables.

The CLI starts an import or an export with an HTTP request and then *subscribes* to a
system query (`_system/cli/queryImport`, `_system/cli/exports:getLatest`) until the
job settles. Keeping each job as a document of a system table makes those queries
reactive for free (a state change is a write the subscription sees) and durable (a
restart keeps the record; `recover` marks what was running as failed).

`_snapshot_imports` documents: `{"state": {...}, "format", "mode", "tableName"?,
"upload"}` where `state` is one of (the CLI's state machine)
  {"state": "uploaded"}
  {"state": "waiting_for_confirmation", "message_to_confirm", "require_manual_confirmation"}
  {"state": "in_progress", "progress_message", "checkpoint_messages": [...]}
  {"state": "completed", "num_rows_written"}   (an int64)
  {"state": "failed", "error_message"}
`_exports` documents: `{"state": "requested" | "in_progress" | "completed" | "failed",
"format": "zip", "include_storage", "start_ts"?, "complete_ts"?, "zip_file"?,
"error_message"?}` (start_ts is the snapshot's commit timestamp, the download key).

Readers take a Transaction, so that a system query function can call them and have its
reads tracked for reactivity.
"""

from __future__ import annotations

from typing import Any

from syncline.database import Database, Transaction

IMPORTS = "_snapshot_imports"
EXPORTS = "_exports"
# Imports `queryImport:list` answers with (newest first): the CLI only looks for
# running ones, which are few.
LISTED_IMPORTS = 20
SETTLED_IMPORT_STATES = ("completed", "failed")
RUNNING_EXPORT_STATES = ("requested", "in_progress")
KEPT_JOBS = 100  # settled import and export documents kept (newest), per table
EXPIRED_MESSAGE = "The import waited too long for confirmation: upload it again"
RESTART_MESSAGE = "The deployment restarted while this job ran: nothing was written"


# ----------------------------------------------------------------------------- reading


async def get_import(tx: Transaction, import_id: str) -> dict[str, Any] | None:
    """The `_snapshot_imports` document with this ID (None if there is none)."""
    if tx.normalize_id(IMPORTS, import_id) is None:
        return None
    return await tx.get(import_id)


async def list_imports(tx: Transaction, limit: int = LISTED_IMPORTS) -> list[dict[str, Any]]:
    """The newest imports, newest first."""
    return await tx.query(IMPORTS, system=True).order("desc").take(limit)


async def latest_export(tx: Transaction) -> dict[str, Any] | None:
    """The newest `_exports` document, or None."""
    rows = await tx.query(EXPORTS, system=True).order("desc").take(1)
    return rows[0] if rows else None


async def find_export(tx: Transaction, start_ts: int) -> dict[str, Any] | None:
    """The completed export of the snapshot at `start_ts`, or None."""
    async for row in tx.query(EXPORTS, system=True).order("desc"):
        if row["state"] == "completed" and row.get("start_ts") == start_ts:
            return row
    return None


# ----------------------------------------------------------------------------- writing


async def insert_job(db: Database, table: str, document: dict[str, Any]) -> str:
    """Insert a job document; its ID."""

    async def insert(tx: Transaction) -> str:
        return str(await tx.insert(table, document, system=True))

    return await db.run_transaction(insert)


async def patch_job(db: Database, job_id: str, fields: dict[str, Any]) -> None:
    """Set `fields` of a job document (a state change the CLI's subscription sees)."""

    async def patch(tx: Transaction) -> None:
        await tx.patch(job_id, fields, system=True)

    await db.run_transaction(patch)


async def move_import(db: Database, import_id: str, from_states: tuple[str, ...],
                      state: dict[str, Any]) -> str | None:
    """Set the import's `state` if its current state is one of `from_states`, in one
    transaction (so a cancel and a confirmation cannot both win); returns the state it
    was in (None if there is no such import). The caller checks it was moved."""

    async def move(tx: Transaction) -> str | None:
        job = await get_import(tx, import_id)
        if job is None:
            return None
        current = str(job["state"]["state"])
        if current in from_states:
            await tx.patch(import_id, {"state": state}, system=True)
        return current

    return await db.run_transaction(move)


async def insert_export(db: Database, document: dict[str, Any]) -> str | None:
    """Insert an export job unless one is requested or in progress (checked in the
    same transaction); its ID, or None."""

    async def insert(tx: Transaction) -> str | None:
        latest = await latest_export(tx)
        if latest is not None and latest["state"] in RUNNING_EXPORT_STATES:
            return None
        return str(await tx.insert(EXPORTS, document, system=True))

    return await db.run_transaction(insert)


async def housekeep(db: Database, now_ms: float, idle_ms: float) -> list[dict[str, Any]]:
    """Fail imports that have waited for confirmation (or parsing) longer than
    `idle_ms`, and delete settled job documents past the newest KEPT_JOBS of each
    table; returns the import documents it failed or deleted (their uploads can go)."""

    async def clean(tx: Transaction) -> list[dict[str, Any]]:
        dropped = []
        settled = 0
        async for row in tx.query(IMPORTS, system=True).order("desc"):
            state = row["state"]["state"]
            if state in SETTLED_IMPORT_STATES:
                settled += 1
                if settled > KEPT_JOBS:
                    await tx.delete(row["_id"], system=True)
                    dropped.append(row)
            elif state != "in_progress" and now_ms - row["_creationTime"] > idle_ms:
                await tx.patch(row["_id"], {"state": {"state": "failed",
                                                      "error_message": EXPIRED_MESSAGE}},
                               system=True)
                dropped.append(row)
        settled = 0
        async for row in tx.query(EXPORTS, system=True).order("desc"):
            if row["state"] not in RUNNING_EXPORT_STATES:
                settled += 1
                if settled > KEPT_JOBS:
                    await tx.delete(row["_id"], system=True)
        return dropped

    return await db.run_transaction(clean)


async def recover(db: Database) -> list[dict[str, Any]]:
    """After a restart: imports and exports that were running did not finish (an import
    commits in one transaction, so none of it was written). Mark them failed; returns
    the import documents that still wait for confirmation or parsing (their uploads may
    be kept)."""

    async def fix(tx: Transaction) -> list[dict[str, Any]]:
        waiting = []
        async for row in tx.query(IMPORTS, system=True):
            state = row["state"]["state"]
            if state == "in_progress":
                await tx.patch(row["_id"], {"state": {"state": "failed",
                                                      "error_message": RESTART_MESSAGE}},
                               system=True)
            elif state not in SETTLED_IMPORT_STATES:
                waiting.append(row)
        async for row in tx.query(EXPORTS, system=True):
            if row["state"] in RUNNING_EXPORT_STATES:
                await tx.patch(row["_id"], {"state": "failed",
                                            "error_message": RESTART_MESSAGE}, system=True)
        return waiting

    return await db.run_transaction(fix)
