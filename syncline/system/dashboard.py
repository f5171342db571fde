"""System queries a dashboard reads (`_system/frontend/...`), all through the call's
transaction, so subscribed they are live where the data is in the database.

- `tables`: `[{name, documents}]`, user tables with their document counts;
- `tableSize` `{table}`: one table's count;
- `paginatedTableDocuments` (dashboard_data.py, with the Data page's other functions);
- `schema`: the pushed schema (Convex's export shape) and every table's indexes as the
  database has them, with their backfill state (syncline backfills inside the push, so an
  index a table has is always `done`);
- `files` `{paginationOpts}`: a page of `_storage`;
- `deploymentState`: running state, mode, instance name, URLs, counts;
- `functionSpec`: the function spec (function_spec.py), as `_system/cli/modules:apiSpec`.

Scheduled functions and cron jobs are in dashboard_schedules.py, logs in dashboard_logs.py.

Counts are the ones the database maintains (database/counts.py): no document is read, and
the read set is still the whole table, so they re-run on its writes.
"""

from __future__ import annotations

from typing import Any

from syncline import __version__
from syncline.schema import v
from syncline.system.cli_functions import PAGINATION
from syncline.system.function_spec import function_spec
from syncline.system.registry import system_query
from syncline.system.tables import readable_table


def count_documents(ctx: Any, table: str) -> int:
    """The table's maintained document count (Transaction.document_count)."""
    return ctx.db.transaction.document_count(table, system=table.startswith("_"))


@system_query("_system/frontend/tables")
async def tables(ctx: Any) -> list[dict[str, Any]]:
    return [{"name": name, "documents": count_documents(ctx, name)}
            for name in ctx.db.user_tables()]


@system_query("_system/frontend/tableSize", args={"table": v.string()})
async def table_size(ctx: Any, table: str) -> int:
    return count_documents(ctx, readable_table(ctx, table))


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
