"""System queries a dashboard reads (`_system/frontend/...`), all through the call's
transaction, so subscribed they are live where the data is in the database.

- `tables`: `[{name, documents}]`, user tables with their document counts;
- `tableSize` `{table}`: one table's count;
- `paginatedTableDocuments` `{table, index?, order?, paginationOpts}`: a page of a table's
  documents in any index's order, either direction, from a cursor;
- `schema`: the pushed schema (Convex's export shape) and every table's indexes as the
  database has them, with their backfill state (syncline backfills inside the push, so an
  index a table has is always `done`);
- `files` `{paginationOpts}`: a page of `_storage`;
- `deploymentState`: running state, mode, instance name, URLs, counts;
- `functionSpec`: the function spec (function_spec.py), as `_system/cli/modules:apiSpec`.

Scheduled functions and cron jobs are in dashboard_schedules.py, logs in dashboard_logs.py.

Counting reads every document of a table (the counts' read set is the whole table, so they
re-run on its writes); it is not held to a function's read limits, since an admin view of
a big table must still answer.
"""

from __future__ import annotations

from typing import Any

from syncline import __version__
from syncline.database.transaction import UnlimitedUsage
from syncline.schema import v
from syncline.system.cli_functions import PAGINATION
from syncline.system.function_spec import function_spec
from syncline.system.registry import system_query
from syncline.system.tables import readable_table

ORDER = v.optional(v.union(v.literal("asc"), v.literal("desc")))


def _unlimited(ctx: Any) -> None:
    tx = ctx.db.transaction
    if not isinstance(tx.usage, UnlimitedUsage):
        usage = UnlimitedUsage()
        for name in tx.usage.__slots__:
            setattr(usage, name, getattr(tx.usage, name))
        tx.usage = usage


async def count_documents(ctx: Any, table: str) -> int:
    _unlimited(ctx)
    count = 0
    async for _ in ctx.db.query(table):
        count += 1
    return count


@system_query("_system/frontend/tables")
async def tables(ctx: Any) -> list[dict[str, Any]]:
    return [{"name": name, "documents": await count_documents(ctx, name)}
            for name in ctx.db.user_tables()]


@system_query("_system/frontend/tableSize", args={"table": v.string()})
async def table_size(ctx: Any, table: str) -> int:
    return await count_documents(ctx, readable_table(ctx, table))


@system_query("_system/frontend/paginatedTableDocuments", args={
    "table": v.string(), "index": v.optional(v.string()), "order": ORDER,
    "paginationOpts": PAGINATION})
async def table_documents(ctx: Any, table: str, paginationOpts: dict[str, Any],  # noqa: N803
                          index: str | None = None, order: str | None = None) -> Any:
    query = ctx.db.query(readable_table(ctx, table))
    if index is not None:
        query = query.with_index(index)
    return await query.order(order or "desc").paginate(paginationOpts)


@system_query("_system/frontend/schema")
async def schema(ctx: Any) -> dict[str, Any]:
    db = ctx.db.transaction.database
    pushed = db.schema
    tx = ctx.db.transaction
    indexes = []
    for name in ctx.db.user_tables():
        info = tx.table(name)
        indexes.append({"table": name, "indexes": [
            {"name": index.name, "fields": list(index.fields), "kind": index.kind,
             "backfill": {"state": "done"}}
            for index in tx.indexes_of(info)]})
    return {"schema": pushed.to_json() if pushed is not None else None, "tables": indexes}


@system_query("_system/frontend/files", args={"paginationOpts": PAGINATION})
async def files(ctx: Any, paginationOpts: dict[str, Any]) -> Any:  # noqa: N803
    return await ctx.db.query("_storage").order("desc").paginate(paginationOpts)


@system_query("_system/frontend/deploymentState")
async def deployment_state(ctx: Any) -> dict[str, Any]:
    services = ctx.deployment
    app = services.runner.app
    return {
        "state": "running", "dev": services.dev, "instanceName": services.instance_name,
        "cloudUrl": services.cloud_url, "siteUrl": services.site_url,
        "version": __version__, "functions": len(app.functions) if app is not None else 0,
        "tables": len(ctx.db.user_tables()),
    }


@system_query("_system/frontend/functionSpec")
async def frontend_function_spec(ctx: Any) -> list[dict[str, Any]]:
    return function_spec(ctx.deployment.runner.app)
