"""Per-minute metrics over the last hour: what the dashboard's charts and insights read.

The totals in metrics.py answer "how much since the start"; charts need "how much in each
minute of the last hour". Each function and the deployment keep a ring of MINUTES slots, one
per minute, reused when its minute comes round again, so memory is bounded whatever the
traffic: a slot is allocated the first time its position in the ring sees a call and is reset
in place after that. A slot holds a few counters, the maxima per call (for the insights) and a
latency histogram as a 112-entry uint32 array (448 bytes, the same buckets as metrics.py), so a
function's hour costs at most ~45 KB (60 slots of ~0.75 KB, measured); with metrics.py's
MAX_FUNCTIONS (1,000) functions plus `_other` and `_unknown`, all called every minute for an
hour, that is ~45 MB at worst, and a few KB for a typical app (only minutes with calls get a
slot). The series live in memory only: after a restart they start empty (the totals in
metrics.json survive).

Calls of `_system/...` functions (the dashboard's and the CLI's own queries) are left out of
the series: a dashboard watching the health charts would otherwise chart itself. The totals
(metrics.py, Prometheus) still count them.

Recording is O(1) and runs under the Metrics lock: the caller holds it.
"""

from __future__ import annotations

import time
from array import array
from typing import Any

from syncline.database.limits import (
    MAX_BYTES_READ,
    MAX_BYTES_WRITTEN,
    MAX_DOCUMENTS_SCANNED,
    MAX_DOCUMENTS_WRITTEN,
)
from syncline.functions.limits import ACTION_TIME_S, QUERY_MUTATION_USER_TIME_S

MINUTES = 60
HISTOGRAM_BUCKETS = 112  # metrics.LOG_BUCKETS (not imported: metrics.py imports this module)
_EMPTY_HISTOGRAM = array("I", bytes(4 * HISTOGRAM_BUCKETS))
_USAGE = ("documents_read", "bytes_read", "documents_written", "bytes_written")
_FUNCTION_COUNTS = ("invocations", "errors", "cache_hits", "occ_conflicts", "occ_retries",
                    "metered", *_USAGE)
_DEPLOYMENT_COUNTS = ("invocations", "failures", "query_calls", "cache_hits", "occ_conflicts",
                      "occ_retries", "jobs_started", "gauge_samples")
_GAUGES = ("sync_sessions", "sync_subscriptions", "jobs_running", "jobs_queued")


def current_minute(now_ms: float | None = None) -> int:
    return int((time.time() * 1000.0 if now_ms is None else now_ms) // 60_000)


class FunctionMinute:
    """One function's calls in one minute. `metered`: calls that ran a transaction (cache
    hits read nothing), the divisor of the per-call averages."""

    __slots__ = ("minute", *_FUNCTION_COUNTS, *(f"max_{n}" for n in _USAGE), "max_time_ms",
                 "time")

    def __init__(self, minute: int) -> None:
        self.reset(minute)

    def reset(self, minute: int) -> None:
        self.minute = minute
        for name in self.__slots__[1:-1]:
            setattr(self, name, 0)
        self.max_time_ms = 0.0
        self.time = array("I", _EMPTY_HISTOGRAM)


class DeploymentMinute:
    """The whole deployment in one minute: counts, call latency and scheduler lag
    histograms, and the gauges as last sampled (with their maxima)."""

    __slots__ = ("minute", *_DEPLOYMENT_COUNTS, *_GAUGES, *(f"max_{n}" for n in _GAUGES),
                 "latency", "lag")

    def __init__(self, minute: int) -> None:
        self.reset(minute)

    def reset(self, minute: int) -> None:
        self.minute = minute
        for name in self.__slots__[1:-2]:
            setattr(self, name, 0)
        self.latency = array("I", _EMPTY_HISTOGRAM)
        self.lag = array("I", _EMPTY_HISTOGRAM)


def slot_of(ring: list[Any], minute: int, make: type) -> Any:
    """The ring's slot for `minute`, created or reset (a minute an hour older) as needed.
    None for a minute older than the slot's (a late record must not wipe newer counts)."""
    i = minute % MINUTES
    slot = ring[i]
    if slot is None:
        slot = ring[i] = make(minute)
    elif slot.minute != minute:
        if slot.minute > minute:
            return None
        slot.reset(minute)
    return slot


def new_ring() -> list[Any]:
    return [None] * MINUTES


def record_function(ring: list[Any], minute: int, ok: bool, bucket: int, duration_ms: float,
                    usage: Any) -> None:
    slot = slot_of(ring, minute, FunctionMinute)
    if slot is None:
        return
    slot.invocations += 1
    slot.time[bucket] += 1
    if duration_ms > slot.max_time_ms:
        slot.max_time_ms = duration_ms
    if not ok:
        slot.errors += 1
    if usage is not None:  # written out: this runs on every call
        slot.metered += 1
        n = usage.documents_scanned
        slot.documents_read += n
        if n > slot.max_documents_read:
            slot.max_documents_read = n
        n = usage.bytes_read
        slot.bytes_read += n
        if n > slot.max_bytes_read:
            slot.max_bytes_read = n
        n = usage.documents_written
        slot.documents_written += n
        if n > slot.max_documents_written:
            slot.max_documents_written = n
        n = usage.bytes_written
        slot.bytes_written += n
        if n > slot.max_bytes_written:
            slot.max_bytes_written = n


def record_deployment(ring: list[Any], minute: int, kind: str | None, ok: bool,
                      bucket: int) -> None:
    slot = slot_of(ring, minute, DeploymentMinute)
    if slot is None:
        return
    slot.invocations += 1
    slot.latency[bucket] += 1
    if kind == "query":
        slot.query_calls += 1
    if not ok:
        slot.failures += 1


def count(ring: list[Any], minute: int, make: type, **increments: int) -> None:
    """Add to a few counters of the minute's slot (cache hits, conflicts, jobs started)."""
    slot = slot_of(ring, minute, make)
    if slot is not None:
        for name, n in increments.items():
            setattr(slot, name, getattr(slot, name) + n)


def sample_gauges(ring: list[Any], minute: int, gauges: dict[str, int]) -> None:
    slot = slot_of(ring, minute, DeploymentMinute)
    if slot is None:
        return
    slot.gauge_samples += 1
    for name, key in zip(_GAUGES, ("syncSessions", "syncSubscriptions", "jobsRunning",
                                   "jobsQueued"), strict=True):
        value = int(gauges.get(key, 0))
        setattr(slot, name, value)
        if value > getattr(slot, "max_" + name):
            setattr(slot, "max_" + name, value)


def hour(ring: list[Any], now_minute: int) -> list[Any]:
    """The slots of the last MINUTES minutes, in minute order, None for a minute without
    calls (its slot holds nothing or an older minute)."""
    by_minute = {s.minute: s for s in ring if s is not None}
    return [by_minute.get(m) for m in range(now_minute - MINUTES + 1, now_minute + 1)]


def copy_slots(slots: list[Any]) -> list[Any]:
    """Copies taken under the lock, so that reading them needs no lock."""
    copies = []
    for s in slots:
        if s is None:
            copies.append(None)
            continue
        c = type(s).__new__(type(s))
        for name in type(s).__slots__:
            value = getattr(s, name)
            setattr(c, name, array("I", value) if isinstance(value, array) else value)
        copies.append(c)
    return copies


def time_limit_ms(kind: str) -> float:
    deterministic = kind in ("query", "mutation")
    return (QUERY_MUTATION_USER_TIME_S if deterministic else ACTION_TIME_S) * 1000.0


LIMITS = {  # (what the insight calls it, its per-call limit)
    "documents_read": ("documentsRead", MAX_DOCUMENTS_SCANNED),
    "bytes_read": ("bytesRead", MAX_BYTES_READ),
    "documents_written": ("documentsWritten", MAX_DOCUMENTS_WRITTEN),
    "bytes_written": ("bytesWritten", MAX_BYTES_WRITTEN),
}
