"""The per-minute series and insights of the dashboard (system/metric_series.py,
system/dashboard_metrics.py), on the metrics store with explicit times."""

from __future__ import annotations

import time

from syncline.database.limits import MAX_DOCUMENTS_SCANNED
from syncline.system.dashboard_metrics import function_metrics, health_metrics, insights
from syncline.system.metric_series import HISTOGRAM_BUCKETS, MINUTES
from syncline.system.metrics import LOG_BUCKETS, Metrics

MINUTE_MS = 60_000.0


class Usage:
    def __init__(self, read: int = 0, bytes_read: int = 0, written: int = 0,
                 bytes_written: int = 0) -> None:
        self.documents_scanned, self.bytes_read = read, bytes_read
        self.documents_written, self.bytes_written = written, bytes_written


def now_ms() -> float:
    return time.time() * 1000.0


def test_the_minute_histograms_use_the_totals_buckets() -> None:
    assert HISTOGRAM_BUCKETS == LOG_BUCKETS


def test_function_series_has_a_point_per_minute_with_exact_counts() -> None:
    m = Metrics()
    now = now_ms()
    for _ in range(7):
        m.record("f:q", "query", True, 3.0, now - 2 * MINUTE_MS, Usage(1))
    for _ in range(4):
        m.record("f:q", "query", False, 30.0, now, Usage(1))
    got = function_metrics(m, "f:q", now)
    points = got["minutes"]
    assert len(points) == MINUTES
    assert [p["invocations"] for p in points][-3:] == [7, 0, 4]
    assert points[-1]["errors"] == 4 and points[-3]["errors"] == 0
    assert points[-1]["time"] == int(now // MINUTE_MS) * 60
    assert points[-1]["time"] - points[0]["time"] == (MINUTES - 1) * 60
    assert 26 < points[-1]["p50"] < 34 and 2.6 < points[-3]["p99"] < 3.4
    assert points[-2]["p50"] is None and points[-2]["cacheHitRate"] is None
    assert sum(p["invocations"] for p in points) == got["totals"]["invocations"] == 11
    assert got["kind"] == "query"


def test_unseen_function_gets_an_empty_hour() -> None:
    got = function_metrics(Metrics(), "nope:q")
    assert got["kind"] is None and got["totals"] is None
    assert len(got["minutes"]) == MINUTES and not any(p["invocations"] for p in got["minutes"])


def test_cache_hits_and_misses_per_minute() -> None:
    m = Metrics()
    m.record("f:q", "query", True, 1.0, now_ms(), Usage(1))  # a miss (executed)
    m.cache_hit("f:q", executed=True)  # answered from the cache; its record follows
    m.record("f:q", "query", True, 0.1, now_ms(), None)
    m.cache_hit("f:q", executed=False)  # a subscription joined a live result
    last = function_metrics(m, "f:q")["minutes"][-1]
    assert (last["invocations"], last["cacheHits"], last["cacheMisses"]) == (3, 2, 1)
    assert last["cacheHitRate"] == 2 / 3
    current = health_metrics(m)["current"]
    assert current["cacheHitRate"] == 2 / 3 and current["invocations"] == 3


def test_an_hour_old_minute_is_reused_not_kept() -> None:
    m = Metrics()
    now = now_ms()
    m.record("f:q", "query", True, 1.0, now - MINUTES * MINUTE_MS, Usage(1))  # same ring slot
    assert sum(p["invocations"] for p in function_metrics(m, "f:q", now)["minutes"]) == 0
    m.record("f:q", "query", True, 1.0, now, Usage(1))
    assert sum(p["invocations"] for p in function_metrics(m, "f:q", now)["minutes"]) == 1
    # a late record of the older minute must not wipe the newer one
    m.record("f:q", "query", True, 1.0, now - MINUTES * MINUTE_MS, Usage(1))
    assert sum(p["invocations"] for p in function_metrics(m, "f:q", now)["minutes"]) == 1
    assert len(m.functions["f:q"].minutes) == MINUTES


def test_health_series_rates_conflicts_lag_and_gauges() -> None:
    m = Metrics()
    m.live = lambda: {"syncSessions": 3, "syncSubscriptions": 7, "jobsRunning": 1,
                      "jobsQueued": 0}
    now = now_ms()
    for ok in (True, True, True, False):
        m.record("f:m", "mutation", ok, 5.0, now, Usage(1, 10, 1, 10))
    m.record("_system/frontend/healthMetrics", "query", True, 1.0, now, Usage(1))  # not charted
    m.occ_conflict("f:m", retried=True)
    m.occ_conflict("f:m", retried=False)
    m.job_started(250.0)
    m.sample_gauges()
    got = health_metrics(m)
    last = got["minutes"][-1]
    assert len(got["minutes"]) == MINUTES
    assert (last["invocations"], last["failures"], last["failureRate"]) == (4, 1, 0.25)
    assert (last["occConflicts"], last["occRetries"], last["jobsStarted"]) == (2, 1, 1)
    assert (last["syncSessions"], last["syncSubscriptions"]) == (3, 7)
    assert 220 < last["schedulerLagP50"] < 280 and 4.5 < last["latencyP99"] < 5.5
    assert got["minutes"][-2]["syncSessions"] is None  # not sampled then
    assert m.snapshot()["functions"][-1]["path"] == "_system/frontend/healthMetrics"  # counted
    current = got["current"]
    assert current["failureRate"] == 0.25 and current["occConflicts"] == 2
    assert current["syncSubscriptions"] == 7 and current["cacheHitRate"] is None


def test_insights_rank_functions_per_category() -> None:
    m = Metrics()
    now = now_ms()
    m.record("big:scan", "query", True, 40.0, now, Usage(20_000, 2_000_000))
    m.record("big:scan", "query", True, 40.0, now, Usage(10_000, 1_000_000))
    m.record("small:get", "query", True, 1.0, now, Usage(1, 100))
    m.record("w:write", "mutation", True, 2.0, now, Usage(1, 100, 500, 90_000))
    m.record("w:write", "mutation", False, 2.0, now, Usage(1, 100, 0, 0))
    m.record("slow:act", "action", True, 300_000.0, now, None)
    m.record("_system/frontend/tables", "query", True, 1.0, now, Usage(30_000, 1))
    m.occ_conflict("w:write", retried=True)
    got = insights(m, now)
    read = got["documentsRead"]
    assert [r["path"] for r in read] == ["big:scan", "small:get", "w:write"]  # ties by path
    assert read[0]["max"] == 20_000 and read[0]["average"] == 15_000 and read[0]["calls"] == 2
    assert got["bytesRead"][0]["path"] == "big:scan"
    assert [r["path"] for r in got["documentsWritten"]] == ["w:write"]
    assert got["documentsWritten"][0]["average"] == 250
    assert got["conflicts"] == [{"path": "w:write", "kind": "mutation", "calls": 2,
                                 "conflicts": 1, "retries": 1}]
    assert [r["path"] for r in got["errors"]] == ["w:write"]
    near = got["nearLimits"]
    assert near[0]["path"] == "big:scan" and near[0]["limit"] == "documentsRead"
    assert near[0]["ratio"] == 20_000 / MAX_DOCUMENTS_SCANNED
    assert near[1]["path"] == "slow:act" and near[1]["limit"] == "executionTimeMs"
    assert near[1]["ratio"] == 0.5
    everything = str(got)
    assert "_system/" not in everything  # the dashboard's own queries are left out


def test_a_gauge_sample_reports_a_change_once() -> None:
    m = Metrics()
    gauges = {"syncSessions": 1, "syncSubscriptions": 2}
    m.live = lambda: dict(gauges)
    changes: list[int] = []
    m.on_gauges_changed = lambda: changes.append(1)
    m.sample_gauges()
    m.sample_gauges()
    assert len(changes) == 1
    gauges["syncSubscriptions"] = 3
    m.sample_gauges()
    assert len(changes) == 2
    assert health_metrics(m)["minutes"][-1]["syncSubscriptions"] == 3


def test_insights_add_this_minute_to_the_remembered_earlier_minutes() -> None:
    m = Metrics()
    now = now_ms()
    m.record("f:q", "query", True, 1.0, now - 5 * MINUTE_MS, Usage(10))
    m.record("f:q", "query", True, 1.0, now - 61 * MINUTE_MS, Usage(999))  # over an hour ago
    first = insights(m, now)["documentsRead"][0]
    assert (first["calls"], first["max"], first["average"]) == (1, 10, 10)
    m.record("f:q", "query", True, 1.0, now, Usage(30))
    again = insights(m, now)["documentsRead"][0]  # the earlier minutes come from the memo
    assert (again["calls"], again["max"], again["average"]) == (2, 30, 20)
    later = insights(m, now + 60 * MINUTE_MS)  # an hour on, everything has aged out
    assert later["documentsRead"] == []
