"""The metrics in Prometheus's text format (`GET /metrics`), built at scrape time.

prometheus_client writes the exposition format; the values come from `Metrics` (its own
counters are not used, so a call costs nothing extra here). Durations are summaries with
p50/p90/p99 quantiles computed from the fixed histograms, in seconds as Prometheus
expects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from syncline.system.metrics import Histogram, Metrics, quantile_ms

if TYPE_CHECKING:
    from prometheus_client.core import Metric

# The text format's content type (prometheus_client.CONTENT_TYPE_PLAIN_0_0_4), written out so
# that prometheus_client is imported at the first scrape, not at every server start: its
# import also installs a garbage-collector callback, which a server never scraped is spared.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_QUANTILES = (0.5, 0.9, 0.99)
_COUNTERS = (
    ("invocations", "Function calls answered (executions and cache hits)."),
    ("errors", "Function calls that failed."),
    ("cache_hits", "Query calls answered from a cached result."),
    ("occ_conflicts", "Mutation commits refused by a write conflict."),
    ("occ_retries", "Mutations run again after a write conflict."),
    ("documents_read", "Documents read (scanned) by committed functions."),
    ("bytes_read", "Bytes of documents read."),
    ("documents_written", "Documents written."),
    ("bytes_written", "Bytes of documents written."),
)


def _summary(name: str, doc: str) -> Metric:
    from prometheus_client.core import Metric

    return Metric(name, doc, "summary")


def _add_summary(metric: Any, labels: dict[str, str], hist: Histogram) -> None:
    for q in _QUANTILES:
        value = quantile_ms(hist.buckets, q)
        metric.add_sample(metric.name, {**labels, "quantile": str(q)},
                          float("nan") if value is None else value / 1000.0)
    metric.add_sample(metric.name + "_count", labels, float(hist.count))
    metric.add_sample(metric.name + "_sum", labels, hist.sum_ms / 1000.0)


class _Collector:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        m = self.metrics
        with m._lock:  # a consistent copy; the scrape's own work happens outside
            rows = [(path, s.kind, [getattr(s, attr) for attr, _ in _COUNTERS],
                     _copy(s.time)) for path, s in m.functions.items()]
            lag = _copy(m.scheduler_lag)
        labels = ["function", "kind"]
        counters = [CounterMetricFamily(f"syncline_function_{name}", doc, labels=labels)
                    for name, doc in _COUNTERS]
        times = _summary("syncline_function_execution_time_seconds",
                         "Function execution time (p50/p90/p99 from a log histogram).")
        for path, kind, values, hist in rows:
            for family, value in zip(counters, values, strict=True):
                family.add_metric([path, kind], value)
            _add_summary(times, {"function": path, "kind": kind}, hist)
        yield from counters
        yield times
        minutes = m.failure_rate_per_minute()
        last = minutes[-1] if minutes else {"invocations": 0, "failures": 0, "failureRate": 0.0}
        yield GaugeMetricFamily("syncline_failure_rate_last_minute",
                                "Share of function calls that failed in the latest minute "
                                "with calls.", value=last["failureRate"])
        yield GaugeMetricFamily("syncline_failures_last_minute",
                                "Function calls that failed in the latest minute with calls.",
                                value=last["failures"])
        lag_metric = _summary("syncline_scheduler_lag_seconds",
                              "How late scheduled functions started after they were due.")
        _add_summary(lag_metric, {}, lag)
        yield lag_metric
        live = m.live()
        for key, name, doc in (
            ("syncSessions", "syncline_sync_sessions", "Connected sync sessions."),
            ("syncSubscriptions", "syncline_sync_subscriptions", "Live query subscriptions."),
            ("jobsRunning", "syncline_scheduled_jobs_running", "Scheduled functions running."),
            ("jobsQueued", "syncline_scheduled_jobs_queued",
             "Scheduled functions due and waiting for a slot."),
        ):
            yield GaugeMetricFamily(name, doc, value=live.get(key, 0))


def _copy(hist: Histogram) -> Histogram:
    copy = Histogram()
    copy.buckets = list(hist.buckets)
    copy.count, copy.sum_ms = hist.count, hist.sum_ms
    return copy


def exposition(metrics: Metrics) -> bytes:
    """The metrics in the Prometheus text exposition format."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(metrics))  # type: ignore[arg-type]
    return generate_latest(registry)
