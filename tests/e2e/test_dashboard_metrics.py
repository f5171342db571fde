"""The dashboard's metric queries (`_system/frontend/functionMetrics`, `healthMetrics`,
`insights`) against a real `syncline serve`: the series move by exactly the calls made."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from websockets.sync.client import connect

from tests.e2e.conftest import Server, copy_app, start_server
from tests.e2e.test_metrics import concurrent_bumps
from tests.e2e.test_sync_protocol import add, connect_message, ws_url


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    # Production mode: HTTP query results are cached there (and counted as cache hits).
    s = start_server(copy_app("metricsapp", tmp_path_factory.mktemp("dashmetrics")), "serve")
    try:
        yield s
    finally:
        s.stop()


def system(server: Server, name: str, args: dict | None = None) -> dict:
    body = server.run("query", f"_system/frontend/{name}", args or {}, admin=True)
    assert body["status"] == "success", body
    return body["value"]


def hour_sum(series: dict, key: str) -> int:
    return sum(point[key] for point in series["minutes"])


def test_function_series_count_exactly_the_calls(server: Server) -> None:
    before = system(server, "functionMetrics", {"path": "calls:get"})
    assert len(before["minutes"]) == 60
    for _ in range(5):
        assert server.run("query", "calls:get", {"name": "series"})["status"] == "success"
    for _ in range(3):
        assert server.run("query", "calls:fail")["status"] == "error"
    after = system(server, "functionMetrics", {"path": "calls:get"})
    assert hour_sum(after, "invocations") - hour_sum(before, "invocations") == 5
    # the first call executed, the four after it came from the query cache
    assert hour_sum(after, "cacheHits") - hour_sum(before, "cacheHits") == 4
    assert hour_sum(after, "cacheMisses") - hour_sum(before, "cacheMisses") == 1
    assert after["kind"] == "query" and after["totals"]["invocations"] >= 5
    assert any(p["p50"] is not None for p in after["minutes"])
    failing = system(server, "functionMetrics", {"path": "calls:fail"})
    assert hour_sum(failing, "errors") == hour_sum(failing, "invocations") == 3


def test_health_counts_calls_failures_conflicts_and_jobs(server: Server) -> None:
    before = system(server, "healthMetrics")
    assert server.run("query", "calls:fail")["status"] == "error"
    attempts = concurrent_bumps(server, 4)
    assert server.run("mutation", "calls:schedule_ticks", {"count": 3})["status"] == "success"
    deadline = time.monotonic() + 30
    while server.run("query", "calls:ticks")["value"] < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    after = system(server, "healthMetrics")
    assert len(after["minutes"]) == 60
    assert hour_sum(after, "failures") - hour_sum(before, "failures") == 1
    conflicts = sum(a - 1 for a in attempts)
    assert hour_sum(after, "occConflicts") - hour_sum(before, "occConflicts") == conflicts
    assert hour_sum(after, "occRetries") - hour_sum(before, "occRetries") == conflicts
    assert hour_sum(after, "jobsStarted") - hour_sum(before, "jobsStarted") == 3
    assert after["current"]["failureRate"] > 0
    assert after["current"]["schedulerLagP50"] is not None
    assert after["current"]["occConflicts"] >= conflicts


def test_insights_name_the_function_that_reads_most(server: Server) -> None:
    assert server.run("mutation", "calls:schedule_ticks", {"count": 40})["status"] == "success"
    deadline = time.monotonic() + 30
    while server.run("query", "calls:ticks")["value"] < 40 and time.monotonic() < deadline:
        time.sleep(0.1)
    count = server.run("query", "calls:ticks")["value"]
    assert count >= 40
    got = system(server, "insights")
    top = got["documentsRead"][0]
    assert top["path"] == "calls:ticks" and top["max"] == count
    assert got["bytesRead"][0]["path"] == "calls:ticks"
    near = {row["path"]: row for row in got["nearLimits"]}
    # its nearest limit: documents read, or execution time if it took over 32000/count ms
    assert near["calls:ticks"]["ratio"] >= count / 32_000
    ratios = [row["ratio"] for row in got["nearLimits"]]
    assert ratios == sorted(ratios, reverse=True)
    assert all(not row["path"].startswith("_system/") for rows in got.values()
               if isinstance(rows, list) for row in rows)


def test_metric_queries_are_admin_only(server: Server) -> None:
    for name, args in (("functionMetrics", {"path": "calls:get"}), ("healthMetrics", {}),
                       ("insights", {})):
        body = server.run("query", f"_system/frontend/{name}", args)
        assert body["status"] == "error", body


def receive_sync(ws, kind: str, timeout: float = 20.0) -> dict:
    """The next message of type `kind` (skipping Pings), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.0, deadline - time.monotonic())))
        if message["type"] == kind:
            return message


def test_a_subscribed_series_moves_when_a_call_is_made(server: Server) -> None:
    """The series queries watch the metrics feed: an HTTP call re-runs the subscription.
    (A blocking socket, so that the test also runs beside Playwright's event loop.)"""
    with connect(ws_url(server)) as ws:
        ws.send(connect_message("dash-metrics"))
        ws.send(json.dumps({"type": "Authenticate", "tokenType": "Admin",
                            "value": server.admin_key, "baseVersion": 0}))
        receive_sync(ws, "Transition")
        ws.send(add(0, "_system/frontend/functionMetrics", {"path": "calls:get"}))
        first = receive_sync(ws, "Transition")["modifications"][0]
        assert first["type"] == "QueryUpdated", first
        before = hour_sum(first["value"], "invocations")
        server.run("query", "calls:get", {"name": "live"})
        while True:  # other tests' calls may land first; this one is counted eventually
            update = receive_sync(ws, "Transition")["modifications"]
            if update and hour_sum(update[0]["value"], "invocations") >= before + 1:
                break
