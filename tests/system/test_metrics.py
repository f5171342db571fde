"""The metrics store: quantiles from the fixed histogram, bounded structures, persistence."""

from __future__ import annotations

import time

from syncline.system.metrics import (
    LOG_BUCKETS,
    MAX_FUNCTIONS,
    MINUTES,
    OTHER,
    UNKNOWN,
    Metrics,
    bucket_of,
    bucket_upper_ms,
)


class Usage:
    documents_scanned, bytes_read, documents_written, bytes_written = 2, 100, 1, 50


def now_ms() -> float:
    return time.time() * 1000.0


def test_quantiles_are_within_half_a_bucket_of_the_truth() -> None:
    m = Metrics()
    durations = [0.5 + i * 0.37 for i in range(2_000)]  # 0.5 ms .. ~740 ms
    for ms in durations:
        m.record("f:q", "query", True, ms, now_ms())
    got = m.snapshot()["functions"][0]["executionTimeMs"]
    ordered = sorted(durations)
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        true = ordered[int(q * len(ordered)) - 1]
        assert abs(got[name] - true) / true < 2 ** (1 / 4) - 1, (name, got[name], true)


def test_buckets_cover_their_range() -> None:
    assert bucket_of(0.0) == 0 and bucket_of(-1) == 0
    for ms in (0.011, 0.5, 1.0, 123.4, 60_000.0):
        i = bucket_of(ms)
        assert bucket_upper_ms(i - 1) * (1 - 1e-9) <= ms < bucket_upper_ms(i)
    assert bucket_of(1e12) == LOG_BUCKETS - 1


def test_structures_do_not_grow_with_calls() -> None:
    m = Metrics()
    for i in range(5_000):
        m.record("known:f", "mutation", i % 3 != 0, float(i % 700), now_ms() + i * 1_000.0,
                 Usage())
        m.record(f"misspelled:{i}", None, False, 0.1, now_ms())  # unknown paths
        m.record(f"many:{i}", "query", True, 0.1, now_ms())  # more functions than kept
        m.cache_hit(f"cached:{i}", executed=False)
        m.occ_conflict(f"conflicting:{i}", retried=True)
    assert MAX_FUNCTIONS <= len(m.functions) <= MAX_FUNCTIONS + 2  # with OTHER, UNKNOWN
    assert UNKNOWN in m.functions and OTHER in m.functions
    assert m.functions[UNKNOWN].invocations == 5_000
    assert all(len(s.time.buckets) == LOG_BUCKETS for s in m.functions.values())
    assert len(m.minute_ids) == len(m.minute_calls) == len(m.minute_failures) == MINUTES
    assert len(m.failure_rate_per_minute(now_ms() + 5_000 * 1_000.0)) <= MINUTES
    assert len(m.scheduler_lag.buckets) == LOG_BUCKETS
    known = m.functions["known:f"]
    assert (known.invocations, known.errors) == (5_000, 1_667)
    assert (known.documents_read, known.bytes_written) == (10_000, 250_000)


def test_counts_survive_a_reload_and_add_up(tmp_path) -> None:
    path = tmp_path / "metrics.json"
    first = Metrics(path)
    for i in range(10):
        first.record("f:m", "mutation", i != 0, 3.0, now_ms(), Usage())
    first.occ_conflict("f:m", retried=True)
    first.cache_hit("f:q", executed=False)
    first.job_started(25.0)
    first.save()
    second = Metrics(path)
    rows = {row["path"]: row for row in second.snapshot()["functions"]}
    assert (rows["f:m"]["invocations"], rows["f:m"]["errors"]) == (10, 1)
    assert (rows["f:m"]["occConflicts"], rows["f:m"]["occRetries"]) == (1, 1)
    assert rows["f:m"]["documentsWritten"] == 10
    assert rows["f:m"]["executionTimeMs"]["p50"] is not None
    assert rows["f:q"]["cacheHits"] == 1
    assert second.scheduler_lag.count == 1
    assert sum(r["failures"] for r in second.failure_rate_per_minute()) == 1
    second.record("f:m", "mutation", True, 3.0, now_ms())
    second.save()
    assert Metrics(path).functions["f:m"].invocations == 11


def test_an_unreadable_file_is_set_aside_not_fatal(tmp_path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text("{not json")
    m = Metrics(path)
    assert m.functions == {}
    assert (tmp_path / "metrics.json.bad").read_text() == "{not json"
    path.write_text('{"format": 1, "functions": {"f:q": {"invocations": "many"}}}')
    assert Metrics(path).functions == {}
