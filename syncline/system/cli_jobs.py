"""The system queries the official CLI follows its imports and exports with
(convex/dist/cjs/cli/lib/convexImport.js, convexExport.js).

- `_system/cli/queryImport` `{importId}`: the `_snapshot_imports` job (its `state`
  drives the CLI: uploaded -> waiting_for_confirmation -> in_progress ->
  completed | failed), or null.
- `_system/cli/queryImport:list`: the newest jobs, newest first (the CLI warns when one
  is `in_progress`).
- `_system/cli/exports:getLatest`: the newest `_exports` job, or null.

The jobs are written by server/cli_import_api.py; the readers are in
data/snapshot_jobs.py. Read through the function's own transaction, so a subscription
re-runs when a job changes state.
"""

from __future__ import annotations

from typing import Any

from syncline.data.snapshot_jobs import get_import, latest_export, list_imports
from syncline.schema import v
from syncline.system.registry import system_query


@system_query("_system/cli/queryImport", args={"importId": v.string()})
async def query_import(ctx: Any, importId: str) -> dict[str, Any] | None:  # noqa: N803
    return await get_import(ctx.db.transaction, importId)


@system_query("_system/cli/queryImport:list")
async def list_recent_imports(ctx: Any) -> list[dict[str, Any]]:
    return await list_imports(ctx.db.transaction)


@system_query("_system/cli/exports:getLatest")
async def get_latest_export(ctx: Any) -> dict[str, Any] | None:
    return await latest_export(ctx.db.transaction)
