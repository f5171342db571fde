"""The `_system/metrics:*` queries: the deployment's metrics (system/metrics.py), admin only.

- `_system/metrics:snapshot`: everything, as `Metrics.snapshot()` (what `syncline metrics`
  shows): `{functions: [...], failureRatePerMinute, schedulerLagMs, syncSessions, ...}`.
- `_system/metrics:function` with `{path}`: one function's row, or null.
- `_system/metrics:deployment`: the per-deployment part only (no function rows).

The figures live in memory, not in the database, so a subscription to these queries is not
re-run when they change: poll them (or GET /metrics).
"""

from __future__ import annotations

from typing import Any

from syncline.schema import v
from syncline.system.registry import system_query


@system_query("_system/metrics:snapshot")
async def snapshot(ctx: Any) -> dict[str, Any]:
    return ctx.deployment.metrics.snapshot()


@system_query("_system/metrics:function", args={"path": v.string()})
async def function(ctx: Any, path: str) -> dict[str, Any] | None:
    rows = ctx.deployment.metrics.snapshot()["functions"]
    return next((row for row in rows if row["path"] == path), None)


@system_query("_system/metrics:deployment")
async def deployment(ctx: Any) -> dict[str, Any]:
    whole = ctx.deployment.metrics.snapshot()
    del whole["functions"]
    return whole
