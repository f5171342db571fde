"""The system functions the official `npx convex` CLI calls (convex/dist/cjs/cli/lib).

- `_system/cli/tables` (data.js): a page `{page: [{name}], isDone, continueCursor}` of the
  user tables, all in one page.
- `_system/cli/tableData` (data.js): `{table, order, paginationOpts}`, a page of the
  table's documents in creation order, through the normal paginated query (so a
  subscribed page is live and re-runs keep their bounds).
- `_system/cli/queryEnvironmentVariables` (env.js): `[{name, value}]` sorted by name;
  `:get` with `{name}` is `{name, value}` or null.
- `_system/cli/modules:apiSpec` (run.js, functionSpec.js): the function spec.
- `_system/cli/convexUrl:cloudUrl` (functionSpec.js): the deployment's URL.
"""

from __future__ import annotations

from typing import Any

from syncline.functions.environment import ENVIRONMENT_VARIABLES, MAX_VARIABLES
from syncline.schema import pagination_opts_validator, v
from syncline.system.function_spec import function_spec
from syncline.system.registry import system_query
from syncline.system.tables import is_readable_table

PAGINATION = pagination_opts_validator  # `paginationOpts`, as app queries take it


@system_query("_system/cli/tables", args={"paginationOpts": v.optional(PAGINATION)})
async def tables(ctx: Any, paginationOpts: Any = None) -> dict[str, Any]:  # noqa: N803
    names = ctx.db.user_tables()
    return {"page": [{"name": name} for name in names], "isDone": True,
            "continueCursor": "end"}


@system_query("_system/cli/tableData", args={
    "table": v.string(), "order": v.optional(v.union(v.literal("asc"), v.literal("desc"))),
    "paginationOpts": PAGINATION})
async def table_data(ctx: Any, table: str, paginationOpts: dict[str, Any],  # noqa: N803
                     order: str | None = None) -> dict[str, Any]:
    if not is_readable_table(ctx, table):  # as Convex: a table that does not exist is empty
        return {"page": [], "isDone": True, "continueCursor": "end"}
    return await ctx.db.query(table).order(order or "asc").paginate(paginationOpts)


@system_query("_system/cli/queryEnvironmentVariables")
async def environment_variables(ctx: Any) -> list[dict[str, str]]:
    rows = await ctx.db.query(ENVIRONMENT_VARIABLES).take(MAX_VARIABLES + 1)
    return sorted(({"name": row["name"], "value": row["value"]} for row in rows),
                  key=lambda row: row["name"])


@system_query("_system/cli/queryEnvironmentVariables:get", args={"name": v.string()})
async def environment_variable(ctx: Any, name: str) -> dict[str, str] | None:
    for row in await environment_variables.handler(ctx):
        if row["name"] == name:
            return row
    return None


@system_query("_system/cli/modules:apiSpec")
async def api_spec(ctx: Any) -> list[dict[str, Any]]:
    return function_spec(ctx.deployment.runner.app)


@system_query("_system/cli/convexUrl:cloudUrl")
async def cloud_url(ctx: Any) -> str | None:
    return ctx.deployment.cloud_url
