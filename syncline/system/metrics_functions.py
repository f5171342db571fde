"""The `_system/metrics:*` queries: the deployment's metrics (system/metrics.py), admin only.

- `_system/metrics:snapshot`: everything, as `Metrics.snapshot()` (what `syncline metrics`
  shows): `{functions: [...], failureRatePerMinute, schedulerLagMs, syncSessions, ...}`.
- `_system/metrics:function` with `{path}`: one function's row, or null.
- `_system/metrics:deployment`: the per-deployment part only (no function rows).

The figures live in memory, not in the database; each query watches the `metrics` feed
(system/live_feeds.py), so a subscription re-runs when an execution moves them.
"""

from __future__ import annotations

from typing import Any

from syncline.schema import v
from syncline.system.live_feeds import METRICS_FEED
from syncline.system.registry import system_query


@system_query("_system/metrics:snapshot")
async def snapshot(ctx: Any) -> dict[str, Any]:
    ctx.watch(METRICS_FEED)
    return ctx.deployment.metrics.snapshot()


@system_query("_system/metrics:function", args={"path": v.string()})
async def function(ctx: Any, path: str) -> dict[str, Any] | None:
    ctx.watch(METRICS_FEED)
    rows = ctx.deployment.metrics.snapshot()["functions"]
    return next((row for row in rows if row["path"] == path), None)


@system_query("_system/metrics:deployment")
async def deployment(ctx: Any) -> dict[str, Any]:
    ctx.watch(METRICS_FEED)
    whole = ctx.deployment.metrics.snapshot()
    del whole["functions"]
    return whole
