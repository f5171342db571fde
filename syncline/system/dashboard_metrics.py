"""The dashboard's metric queries: per-minute series over the last hour and the insights.

- `_system/frontend/functionMetrics` `{path}`: one function's last hour, a point per minute
  (`minutes`, 60 of them, oldest first: `time` in Unix seconds, `invocations`, `errors`,
  `cacheHits`, `cacheMisses`, `cacheHitRate`, `p50`/`p95`/`p99` execution time in ms), with
  its totals since the metrics began (`totals`, as `_system/metrics:function`).
- `_system/frontend/healthMetrics`: the deployment's last hour per minute (failure rate,
  cache hit rate, latency and scheduler lag percentiles, conflicts and retries, sessions and
  subscriptions) and `current`: the last CURRENT_MINUTES minutes' rates, the hour's
  conflicts, and the gauges as they are now.
- `_system/frontend/insights`: over the last hour, per category the TOP functions: most
  documents/bytes read or written per call, most write conflicts, most errors, and nearest
  a per-call limit (documents or bytes read or written, execution time).

The figures are in memory, not in the database: each query calls `ctx.watch("metrics")`, so
a subscription re-runs when they change (system/live_feeds.py). The series leave out the
`_system/` functions (metric_series.py): the dashboard's own queries would count themselves.
"""

from __future__ import annotations

import weakref
from operator import attrgetter
from typing import Any

from syncline.schema import v
from syncline.system import metric_series as series
from syncline.system.live_feeds import METRICS_FEED
from syncline.system.metric_series import LIMITS, time_limit_ms
from syncline.system.metrics import UNKNOWN, quantile_ms
from syncline.system.registry import system_query

QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
CURRENT_MINUTES = 5
TOP = 10


def _quantiles(histogram: Any, prefix: str = "") -> dict[str, float | None]:
    buckets = list(histogram)
    return {(prefix + name.upper() if prefix else name): quantile_ms(buckets, q)
            for name, q in QUANTILES}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _function_point(minute: int, slot: Any, kind: str) -> dict[str, Any]:
    if slot is None:
        return {"time": minute * 60, "invocations": 0, "errors": 0, "cacheHits": 0,
                "cacheMisses": 0, "cacheHitRate": None, "p50": None, "p95": None, "p99": None}
    misses = slot.invocations - slot.cache_hits if kind == "query" else 0
    return {"time": minute * 60, "invocations": slot.invocations, "errors": slot.errors,
            "cacheHits": slot.cache_hits, "cacheMisses": misses,
            "cacheHitRate": _rate(slot.cache_hits, slot.cache_hits + misses),
            **_quantiles(slot.time)}


def function_metrics(metrics: Any, path: str, now_ms: float | None = None) -> dict[str, Any]:
    now = series.current_minute(now_ms)
    minutes = range(now - series.MINUTES + 1, now + 1)
    found = metrics.function_hour(path, now_ms)
    kind, slots = found if found is not None else (None, [None] * series.MINUTES)
    return {"path": path, "kind": kind, "totals": metrics.function_totals(path),
            "minutes": [_function_point(m, s, kind or "") for m, s in zip(minutes, slots,
                                                                          strict=True)]}


_EMPTY_DEPLOYMENT = {"invocations": 0, "failures": 0, "failureRate": None, "cacheHits": 0,
                     "queryCalls": 0, "cacheHitRate": None, "occConflicts": 0, "occRetries": 0,
                     "jobsStarted": 0, "syncSessions": None, "syncSubscriptions": None,
                     **{f"latency{n.upper()}": None for n, _ in QUANTILES},
                     **{f"schedulerLag{n.upper()}": None for n, _ in QUANTILES}}


def _deployment_point(minute: int, slot: Any) -> dict[str, Any]:
    if slot is None:
        return {"time": minute * 60, **_EMPTY_DEPLOYMENT}
    sampled = slot.gauge_samples > 0
    return {"time": minute * 60, "invocations": slot.invocations, "failures": slot.failures,
            "failureRate": _rate(slot.failures, slot.invocations),
            "cacheHits": slot.cache_hits, "queryCalls": slot.query_calls,
            "cacheHitRate": _rate(slot.cache_hits, slot.query_calls),
            "occConflicts": slot.occ_conflicts, "occRetries": slot.occ_retries,
            "jobsStarted": slot.jobs_started,
            # the largest count sampled in the minute (None when nothing was sampled)
            "syncSessions": slot.max_sync_sessions if sampled else None,
            "syncSubscriptions": slot.max_sync_subscriptions if sampled else None,
            **_quantiles(slot.latency, "latency"), **_quantiles(slot.lag, "schedulerLag")}


def _merged(slots: list[Any], attr: str) -> list[int]:
    total = [0] * series.HISTOGRAM_BUCKETS
    for s in slots:
        for i, n in enumerate(getattr(s, attr)):
            total[i] += n
    return total


def health_metrics(metrics: Any, now_ms: float | None = None) -> dict[str, Any]:
    now = series.current_minute(now_ms)
    slots = metrics.deployment_hour(now_ms)
    points = [_deployment_point(m, s) for m, s in
              zip(range(now - series.MINUTES + 1, now + 1), slots, strict=True)]
    recent = [s for s in slots[-CURRENT_MINUTES:] if s is not None]
    hour = [s for s in slots if s is not None]
    calls = sum(s.invocations for s in recent)
    queries = sum(s.query_calls for s in recent)
    gauges = metrics.live()
    current = {
        "minutes": CURRENT_MINUTES,
        "invocations": calls,
        "failureRate": _rate(sum(s.failures for s in recent), calls),
        "cacheHitRate": _rate(sum(s.cache_hits for s in recent), queries),
        **_quantiles(_merged(recent, "latency"), "latency"),
        **_quantiles(_merged(hour, "lag"), "schedulerLag"),
        "occConflicts": sum(s.occ_conflicts for s in hour),
        "occRetries": sum(s.occ_retries for s in hour),
        **{key: gauges.get(key, 0) for key in ("syncSessions", "syncSubscriptions",
                                               "jobsRunning", "jobsQueued")},
    }
    return {"minutes": points, "current": current}


_SUMMED = ("invocations", "errors", "occ_conflicts", "occ_retries", "metered", *LIMITS)
_MAXED = tuple(f"max_{name}" for name in (*LIMITS, "time_ms"))
_sums_of = attrgetter(*_SUMMED)
_maxima_of = attrgetter(*_MAXED)
_Totals = tuple[list[int], list[float]]  # sums (as _SUMMED), maxima (as _MAXED)
# Per Metrics, per function: the minute it was computed in and the totals of the hour's
# earlier minutes, which no longer change. So the insights, re-run on every metrics change,
# read one slot per function, not sixty; each function's past is summed once a minute.
_PAST: weakref.WeakKeyDictionary[Any, dict[str, tuple[int, _Totals | None]]] = \
    weakref.WeakKeyDictionary()


def _totals(slots: list[Any]) -> _Totals | None:
    if not slots:
        return None
    return ([sum(column) for column in zip(*map(_sums_of, slots), strict=True)],
            [max(column) for column in zip(*map(_maxima_of, slots), strict=True)])


def _combined(a: _Totals | None, b: _Totals | None) -> _Totals | None:
    if a is None or b is None:
        return a or b
    return ([x + y for x, y in zip(a[0], b[0], strict=True)],
            [max(x, y) for x, y in zip(a[1], b[1], strict=True)])


def _summaries(metrics: Any, now_ms: float | None) -> list[dict[str, Any]]:
    """Per function, the hour's sums and maxima."""
    now = series.current_minute(now_ms)
    past = _PAST.setdefault(metrics, {})
    rows = []
    for path, kind, ring in metrics.function_rings():
        if path == UNKNOWN:
            continue
        cached = past.get(path)
        if cached is None or cached[0] != now:
            earlier = [s for s in ring if s is not None and now - series.MINUTES < s.minute < now]
            cached = past[path] = (now, _totals(earlier))
        current = ring[now % series.MINUTES]
        totals = _combined(cached[1], _totals([current]) if current is not None
                           and current.minute == now else None)
        if totals is not None:
            rows.append({"path": path, "kind": kind, **dict(zip(_SUMMED, totals[0], strict=True)),
                         **dict(zip(_MAXED, totals[1], strict=True))})
    return rows


def insights(metrics: Any, now_ms: float | None = None, top: int = TOP) -> dict[str, Any]:
    rows = _summaries(metrics, now_ms)
    result: dict[str, Any] = {}
    near: list[dict[str, Any]] = []
    for row in rows:
        candidates = [(row["max_" + name], limit, label)
                      for name, (label, limit) in LIMITS.items()]
        candidates.append((row["max_time_ms"], time_limit_ms(row["kind"]), "executionTimeMs"))
        value, limit, label = max(candidates, key=lambda c: c[0] / c[1])
        if value:
            near.append({"path": row["path"], "kind": row["kind"], "limit": label,
                         "value": value, "limitValue": limit, "ratio": value / limit})
    for name, (label, limit) in LIMITS.items():
        ranked = [{"path": r["path"], "kind": r["kind"], "calls": r["metered"],
                   "average": r[name] / r["metered"], "max": r["max_" + name],
                   "limit": limit, "ratio": r["max_" + name] / limit}
                  for r in rows if r["metered"] and r["max_" + name]]
        ranked.sort(key=lambda r: (-r["max"], -r["average"], r["path"]))
        result[label] = ranked[:top]
    conflicts = [{"path": r["path"], "kind": r["kind"], "calls": r["invocations"],
                  "conflicts": r["occ_conflicts"], "retries": r["occ_retries"]}
                 for r in rows if r["occ_conflicts"]]
    conflicts.sort(key=lambda r: (-r["conflicts"], r["path"]))
    errors = [{"path": r["path"], "kind": r["kind"], "calls": r["invocations"],
               "errors": r["errors"], "errorRate": r["errors"] / r["invocations"]}
              for r in rows if r["errors"]]
    errors.sort(key=lambda r: (-r["errors"], r["path"]))
    near.sort(key=lambda r: (-r["ratio"], r["path"]))
    result.update(conflicts=conflicts[:top], errors=errors[:top], nearLimits=near[:top],
                  minutes=series.MINUTES)
    return result


@system_query("_system/frontend/functionMetrics", args={"path": v.string()})
async def function_metrics_query(ctx: Any, path: str) -> dict[str, Any]:
    ctx.watch(METRICS_FEED)
    return function_metrics(ctx.deployment.metrics, path)


@system_query("_system/frontend/healthMetrics")
async def health_metrics_query(ctx: Any) -> dict[str, Any]:
    ctx.watch(METRICS_FEED)
    return health_metrics(ctx.deployment.metrics)


@system_query("_system/frontend/insights")
async def insights_query(ctx: Any) -> dict[str, Any]:
    ctx.watch(METRICS_FEED)
    return insights(ctx.deployment.metrics)
