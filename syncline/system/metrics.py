"""Deployment metrics: per-function counts and latencies, per-deployment rates and gauges.

Every finished execution costs one dict lookup, a few integer additions, one `log2` and
the update of two per-minute slots (metric_series.py) under an uncontended lock
(executions finish on the loop thread and on action threads, and `+=` is not atomic
across threads): O(1), no allocation beyond the float it computes (and a slot's reset
once a minute), no I/O. Memory is bounded whatever the traffic:

- per function a fixed array of LOG_BUCKETS counts (a log-scale histogram with four buckets
  per doubling, 10 µs to ~45 min) instead of a sample reservoir: a reservoir of a few
  hundred samples cannot see a p99 over a long run and needs a random draw per call,
  while fixed buckets keep every call, merge across restarts by addition, and put any
  quantile within 9% (half a bucket, geometrically) of the true value;
- at most MAX_FUNCTIONS functions (more, such as calls to misspelled paths, add up under
  OTHER; calls to functions that do not exist under UNKNOWN);
- a ring of MINUTES one-minute buckets for the failure rate;
- per function and for the deployment, per-minute series over the last hour (the
  dashboard's charts and insights; metric_series.py says what they hold and cost).

The counts (calls, errors, cache hits, conflicts, reads, writes, histogram buckets, the
minute ring) are counts over time: `save()` writes them to `metrics.json` in the data dir
(every SAVE_INTERVAL_S and at a clean stop, never per call) and a restart loads them, so
they survive. The gauges (sync sessions, subscriptions, running and queued jobs) are read
live when asked for and start from what is there after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from syncline.functions.runner import SYSTEM_PREFIX
from syncline.system import metric_series as series
from syncline.system.metric_series import DeploymentMinute, FunctionMinute

LOG_BUCKETS = 112  # bucket i > 0 holds durations in [BASE * 2**((i-1)/4), BASE * 2**(i/4))
_BASE_MS = 0.01
_PER_DOUBLING = 4
MAX_FUNCTIONS = 1_000
MINUTES = 60
SAVE_INTERVAL_S = 10.0
GAUGE_SAMPLE_S = 5.0  # how often the per-minute series sample sessions and subscriptions
OTHER = "_other"
UNKNOWN = "_unknown"
FILE_NAME = "metrics.json"
_FORMAT = 1
_COUNTS = ("invocations", "errors", "cache_hits", "occ_conflicts", "occ_retries",
           "documents_read", "bytes_read", "documents_written", "bytes_written")
_log = logging.getLogger(__name__)


_log2 = math.log2
_LOG2_BASE = math.log2(_BASE_MS)


def bucket_of(ms: float) -> int:
    """The histogram bucket of a duration in milliseconds."""
    if ms <= _BASE_MS:
        return 0
    i = int((_log2(ms) - _LOG2_BASE) * _PER_DOUBLING) + 1
    return i if i < LOG_BUCKETS else LOG_BUCKETS - 1


def bucket_upper_ms(i: int) -> float:
    return _BASE_MS * 2.0 ** (i / _PER_DOUBLING)


def quantile_ms(buckets: list[int], q: float) -> float | None:
    """The q-quantile of a histogram: the geometric middle of the bucket holding it."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(buckets):
        seen += n
        if seen >= rank and n:
            return _BASE_MS if i == 0 else bucket_upper_ms(i - 0.5)
    return bucket_upper_ms(LOG_BUCKETS - 1)  # pragma: no cover - rank <= total


class Histogram:
    """Durations in LOG_BUCKETS fixed log-scale buckets, with their count and sum."""

    __slots__ = ("buckets", "count", "sum_ms")

    def __init__(self) -> None:
        self.buckets = [0] * LOG_BUCKETS
        self.count = 0
        self.sum_ms = 0.0

    def add(self, ms: float) -> None:
        self.buckets[bucket_of(ms)] += 1
        self.count += 1
        self.sum_ms += ms

    def quantiles(self) -> dict[str, float | None]:
        return {f"p{round(q * 100)}": quantile_ms(self.buckets, q) for q in (0.5, 0.9, 0.99)}

    def dump(self) -> dict[str, Any]:
        return {"buckets": {str(i): n for i, n in enumerate(self.buckets) if n},
                "count": self.count, "sum_ms": self.sum_ms}

    def load(self, raw: dict[str, Any]) -> None:
        for i, n in raw.get("buckets", {}).items():
            if 0 <= int(i) < LOG_BUCKETS:
                self.buckets[int(i)] += int(n)
        self.count += int(raw.get("count", 0))
        self.sum_ms += float(raw.get("sum_ms", 0.0))


class FunctionStats:
    """The counts of one function."""

    __slots__ = ("kind", "time", "minutes", *_COUNTS)

    def __init__(self, kind: str | None) -> None:
        self.kind = kind or ""
        self.time = Histogram()
        self.minutes: list[FunctionMinute | None] = series.new_ring()
        for name in _COUNTS:
            setattr(self, name, 0)


class Metrics:
    """The deployment's metrics store. `live` (set by the deployment) reads the gauges."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.public = False  # GET /metrics without the admin key (`--metrics-public`)
        self.live: Callable[[], dict[str, int]] = dict
        # Called (on the loop thread) when a sample finds the gauges changed, so that views
        # of them can be refreshed (the deployment signals its `metrics` feed).
        self.on_gauges_changed: Callable[[], None] | None = None
        self._last_gauges: dict[str, int] = {}
        self.functions: dict[str, FunctionStats] = {}
        self.scheduler_lag = Histogram()
        self.minute_ids = [0] * MINUTES
        self.minute_calls = [0] * MINUTES
        self.minute_failures = [0] * MINUTES
        self.deployment_minutes: list[DeploymentMinute | None] = series.new_ring()
        self._lock = threading.Lock()
        self._saver: asyncio.Task[None] | None = None
        self._sampler: asyncio.Task[None] | None = None
        if path is not None:
            self.load()

    # -- the hot path (O(1); called per execution) -------------------------------------------

    def _stats(self, path: str, kind: str | None) -> FunctionStats:
        stats = self.functions.get(path)
        if stats is None:
            if kind is None:
                path = UNKNOWN
            elif len(self.functions) >= MAX_FUNCTIONS:
                path = OTHER
            stats = self.functions.get(path)
            if stats is None:
                stats = self.functions[path] = FunctionStats(kind)
        return stats

    def record(self, path: str, kind: str | None, ok: bool, duration_ms: float,
               end_ms: float, usage: Any = None) -> None:
        """One finished execution (functions/runner.py `_record`)."""
        minute = int(end_ms // 60_000)
        slot = minute % MINUTES
        bucket = bucket_of(duration_ms)
        with self._lock:
            stats = self.functions.get(path) or self._stats(path, kind)
            stats.invocations += 1
            time_ = stats.time
            time_.buckets[bucket] += 1
            time_.count += 1
            time_.sum_ms += duration_ms
            if self.minute_ids[slot] != minute:
                self.minute_ids[slot] = minute
                self.minute_calls[slot] = self.minute_failures[slot] = 0
            self.minute_calls[slot] += 1
            if not ok:
                stats.errors += 1
                self.minute_failures[slot] += 1
            if usage is not None:
                stats.documents_read += usage.documents_scanned
                stats.bytes_read += usage.bytes_read
                stats.documents_written += usage.documents_written
                stats.bytes_written += usage.bytes_written
            if not path.startswith(SYSTEM_PREFIX):
                series.record_function(stats.minutes, minute, ok, bucket, duration_ms, usage)
                series.record_deployment(self.deployment_minutes, minute, kind, ok, bucket)

    def cache_hit(self, path: str, *, executed: bool) -> None:
        """A query answered from a cached result. `executed=False`: no execution record
        follows (a subscription joining a live result), so it counts as a call here."""
        minute = series.current_minute()
        calls = 0 if executed else 1
        with self._lock:
            stats = self._stats(path, "query")
            stats.cache_hits += 1
            if not executed:
                stats.invocations += 1
            series.count(stats.minutes, minute, FunctionMinute, cache_hits=1, invocations=calls)
            series.count(self.deployment_minutes, minute, DeploymentMinute, cache_hits=1,
                         invocations=calls, query_calls=calls)

    def occ_conflict(self, path: str, *, retried: bool) -> None:
        """A mutation's commit hit a write conflict (and is run again if `retried`)."""
        minute = series.current_minute()
        with self._lock:
            stats = self._stats(path, "mutation")
            stats.occ_conflicts += 1
            if retried:
                stats.occ_retries += 1
            for ring, make in ((stats.minutes, FunctionMinute),
                               (self.deployment_minutes, DeploymentMinute)):
                series.count(ring, minute, make, occ_conflicts=1, occ_retries=int(retried))

    def job_started(self, lag_ms: float) -> None:
        """A scheduled job started `lag_ms` after it was due."""
        lag_ms = max(0.0, lag_ms)
        minute = series.current_minute()
        with self._lock:
            self.scheduler_lag.add(lag_ms)
            slot = series.slot_of(self.deployment_minutes, minute, DeploymentMinute)
            if slot is not None:
                slot.jobs_started += 1
                slot.lag[bucket_of(lag_ms)] += 1

    def sample_gauges(self, now_ms: float | None = None) -> dict[str, int]:
        """Read the gauges into this minute's slot of the deployment series; returns them.
        Calls `on_gauges_changed` if they differ from the previous sample."""
        gauges = self.live()
        minute = series.current_minute(now_ms)
        with self._lock:
            series.sample_gauges(self.deployment_minutes, minute, gauges)
        if gauges != self._last_gauges:
            self._last_gauges = dict(gauges)
            if self.on_gauges_changed is not None:
                self.on_gauges_changed()
        return gauges

    # -- reading -----------------------------------------------------------------------------

    def failure_rate_per_minute(self, now_ms: float | None = None) -> list[dict[str, Any]]:
        """The last MINUTES minutes that had calls, oldest first."""
        now_minute = int((time.time() * 1000.0 if now_ms is None else now_ms) // 60_000)
        with self._lock:
            rows = [(m, c, f) for m, c, f in zip(self.minute_ids, self.minute_calls,
                                                 self.minute_failures, strict=True)
                    if c and now_minute - MINUTES < m <= now_minute]
        return [{"minute": m * 60, "invocations": c, "failures": f, "failureRate": f / c}
                for m, c, f in sorted(rows)]

    def function_hour(self, path: str, now_ms: float | None = None,
                      ) -> tuple[str, list[FunctionMinute | None]] | None:
        """A function's kind and its last MINUTES minutes (copies), or None if unseen."""
        minute = series.current_minute(now_ms)
        with self._lock:
            stats = self.functions.get(path)
            if stats is None:
                return None
            return stats.kind, series.copy_slots(series.hour(stats.minutes, minute))

    def function_totals(self, path: str) -> dict[str, Any] | None:
        """One function's row of `snapshot()` (its counts since the metrics began)."""
        with self._lock:
            stats = self.functions.get(path)
            return _function_row(path, stats) if stats is not None else None

    def function_rings(self) -> list[tuple[str, str, list[FunctionMinute | None]]]:
        """Every function's (path, kind, minute ring), for the insights. The rings are
        shallow copies (C speed under the lock) of live slots, read after the lock is
        released so that a thousand functions do not hold up the calls: a call finishing
        meanwhile may or may not be in the figures (per-call maxima and averages)."""
        with self._lock:
            return [(path, s.kind, list(s.minutes)) for path, s in self.functions.items()]

    def deployment_hour(self, now_ms: float | None = None) -> list[DeploymentMinute | None]:
        """The deployment's last MINUTES minutes (copies)."""
        minute = series.current_minute(now_ms)
        with self._lock:
            return series.copy_slots(series.hour(self.deployment_minutes, minute))

    def snapshot(self) -> dict[str, Any]:
        """Everything, as JSON-able values (the system queries and `syncline metrics`)."""
        with self._lock:
            functions = [_function_row(path, s) for path, s in self.functions.items()]
            lag = {**self.scheduler_lag.quantiles(), "count": self.scheduler_lag.count}
        functions.sort(key=lambda row: (-row["invocations"], row["path"]))
        return {"functions": functions, "failureRatePerMinute": self.failure_rate_per_minute(),
                "schedulerLagMs": lag, **self.live()}

    # -- persistence -------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        with self._lock:
            return {
                "format": _FORMAT,
                "functions": {
                    path: {"kind": s.kind, "time": s.time.dump(),
                           **{name: getattr(s, name) for name in _COUNTS}}
                    for path, s in self.functions.items()},
                "scheduler_lag": self.scheduler_lag.dump(),
                "minutes": [[m, c, f] for m, c, f in zip(
                    self.minute_ids, self.minute_calls, self.minute_failures, strict=True) if c],
            }

    def load(self) -> None:
        """Add the counts saved by an earlier run. A missing file is a fresh start; an
        unreadable one is set aside (metrics.json.bad) with a warning, never fatal."""
        assert self.path is not None
        try:
            raw = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, orjson.JSONDecodeError) as e:
            self._set_aside(e)
            return
        try:
            self._load(raw)
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            self.functions, self.scheduler_lag = {}, Histogram()  # nothing half-loaded
            self.minute_ids, self.minute_calls = [0] * MINUTES, [0] * MINUTES
            self.minute_failures = [0] * MINUTES
            self.deployment_minutes = series.new_ring()
            self._set_aside(e)

    def _load(self, raw: dict[str, Any]) -> None:
        if raw.get("format") != _FORMAT:
            raise ValueError(f"unknown format {raw.get('format')!r}")
        for path, saved in list(raw["functions"].items())[:MAX_FUNCTIONS]:
            stats = self.functions.setdefault(path, FunctionStats(saved.get("kind")))
            for name in _COUNTS:
                setattr(stats, name, getattr(stats, name) + int(saved.get(name, 0)))
            stats.time.load(saved.get("time", {}))
        self.scheduler_lag.load(raw.get("scheduler_lag", {}))
        for m, c, f in raw.get("minutes", []):
            slot = int(m) % MINUTES
            if self.minute_ids[slot] <= int(m):
                self.minute_ids[slot], self.minute_calls[slot] = int(m), int(c)
                self.minute_failures[slot] = int(f)

    def _set_aside(self, error: Exception) -> None:
        assert self.path is not None
        _log.warning("Could not read the saved metrics in %s (%s): starting from zero; the "
                     "file is kept as %s.bad", self.path, error, self.path.name)
        with contextlib.suppress(OSError):
            os.replace(self.path, self.path.with_name(self.path.name + ".bad"))

    def save(self) -> None:
        """Write the counts (atomically: a crash mid-write leaves the previous file)."""
        if self.path is None:
            return
        data = orjson.dumps(self.dump())
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, self.path)
        except OSError as e:  # a full disk: the counts stay in memory, saved next time
            _log.warning("Could not save the metrics to %s: %s", self.path, e)

    def start(self) -> None:
        """Save every SAVE_INTERVAL_S, off the loop thread; sample the gauges into the
        per-minute series every GAUGE_SAMPLE_S."""
        async def save_forever() -> None:
            loop = asyncio.get_running_loop()
            while True:
                await asyncio.sleep(SAVE_INTERVAL_S)
                await loop.run_in_executor(None, self.save)

        async def sample_forever() -> None:
            while True:
                with contextlib.suppress(Exception):  # a gauge read must not end the sampling
                    self.sample_gauges()
                await asyncio.sleep(GAUGE_SAMPLE_S)

        if self._saver is None and self.path is not None:
            self._saver = asyncio.get_running_loop().create_task(save_forever())
        if self._sampler is None:
            self._sampler = asyncio.get_running_loop().create_task(sample_forever())

    async def stop(self) -> None:
        """Stop the periodic saving and save once more (a clean shutdown)."""
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sampler
            self._sampler = None
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._saver
            self._saver = None
        self.save()


def _function_row(path: str, s: FunctionStats) -> dict[str, Any]:
    queries = s.invocations if s.kind == "query" else 0
    return {
        "path": path, "kind": s.kind, "invocations": s.invocations, "errors": s.errors,
        "errorRate": s.errors / s.invocations if s.invocations else 0.0,
        "cacheHits": s.cache_hits, "cacheHitRate": s.cache_hits / queries if queries else None,
        "occConflicts": s.occ_conflicts, "occRetries": s.occ_retries,
        "documentsRead": s.documents_read, "bytesRead": s.bytes_read,
        "documentsWritten": s.documents_written, "bytesWritten": s.bytes_written,
        "executionTimeMs": s.time.quantiles(),
    }


def live_gauges(sync: Any, scheduler: Any) -> Callable[[], dict[str, int]]:
    """The gauges, read when asked for: sync sessions and subscriptions (sync/engine.py),
    running and queued (due, waiting for a slot) scheduled jobs (scheduler/executor.py)."""
    def read() -> dict[str, int]:
        sessions = list(sync.sessions)
        running, queued = scheduler.job_counts()
        return {"syncSessions": len(sessions),
                "syncSubscriptions": sum(len(s.subscriptions) for s in sessions),
                "jobsRunning": running, "jobsQueued": queued}
    return read
