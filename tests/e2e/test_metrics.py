"""GET /metrics, /api/syncline/metrics and `syncline metrics` against real servers.

Counters are compared before and after the calls a test makes, so each must move by
exactly those calls; write conflicts are counted by the conflicting mutation itself
(it reports how many times it ran).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Server, copy_app, start_server
from tests.e2e.test_sync_protocol import add, connect_message, receive, ws_url

Samples = dict[tuple[str, frozenset], float]


def scrape(server: Server, *, admin: bool = True) -> Samples:
    headers = {"Authorization": f"Convex {server.admin_key}"} if admin else {}
    response = httpx.get(f"{server.url}/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def counter(samples: Samples, name: str, function: str, kind: str) -> float:
    key = (f"syncline_function_{name}_total",
           frozenset({"function": function, "kind": kind}.items()))
    return samples.get(key, 0.0)


def snapshot(server: Server) -> dict:
    response = httpx.get(f"{server.url}/api/syncline/metrics",
                         headers={"Authorization": f"Convex {server.admin_key}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    # Production mode: HTTP query results are cached there (and counted as cache hits).
    s = start_server(copy_app("metricsapp", tmp_path_factory.mktemp("metrics")), "serve")
    try:
        yield s
    finally:
        s.stop()


def concurrent_bumps(server: Server, n: int) -> list[int]:
    """n `calls:bump` mutations sent at once; how many times each ran."""
    barrier = threading.Barrier(n)
    results: list[int] = []

    def bump(i: int) -> None:
        barrier.wait()
        body = server.run("mutation", "calls:bump", {"token": f"t{time.monotonic_ns()}-{i}"})
        assert body["status"] == "success", body
        results.append(int(body["value"]))

    threads = [threading.Thread(target=bump, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == n
    return results


def test_counters_move_by_exactly_the_calls_made(server: Server) -> None:
    before, failures_before = scrape(server), snapshot(server)["failureRatePerMinute"]
    for _ in range(5):
        assert server.run("query", "calls:get")["status"] == "success"
    for _ in range(3):
        assert server.run("query", "calls:fail")["status"] == "error"
    attempts = concurrent_bumps(server, 8)
    after = scrape(server)

    def moved(name: str, function: str, kind: str) -> float:
        return counter(after, name, function, kind) - counter(before, name, function, kind)

    assert moved("invocations", "calls:get", "query") == 5
    assert moved("errors", "calls:get", "query") == 0
    assert moved("cache_hits", "calls:get", "query") == 4  # the first call computed it
    assert moved("invocations", "calls:fail", "query") == 3
    assert moved("errors", "calls:fail", "query") == 3
    assert moved("invocations", "calls:bump", "mutation") == 8
    assert moved("errors", "calls:bump", "mutation") == 0
    conflicts = sum(a - 1 for a in attempts)
    assert conflicts > 0, "the overlapping bumps should have conflicted"
    assert moved("occ_conflicts", "calls:bump", "mutation") == conflicts
    assert moved("occ_retries", "calls:bump", "mutation") == conflicts
    assert moved("documents_written", "calls:bump", "mutation") == 8
    assert moved("documents_read", "calls:bump", "mutation") >= 7  # all but a first insert
    count = ("syncline_function_execution_time_seconds_count",
             frozenset({"function": "calls:bump", "kind": "mutation"}.items()))
    assert after[count] - before.get(count, 0.0) == 8
    p99 = ("syncline_function_execution_time_seconds",
           frozenset({"function": "calls:bump", "kind": "mutation", "quantile": "0.99"}.items()))
    assert after[p99] >= 0.04  # each bump sleeps 50 ms: the histogram saw that
    failures_after = snapshot(server)["failureRatePerMinute"]
    assert (sum(m["failures"] for m in failures_after)
            - sum(m["failures"] for m in failures_before)) == 3


def test_scheduler_lag_and_jobs_are_measured(server: Server) -> None:
    lag = ("syncline_scheduler_lag_seconds_count", frozenset())
    before = scrape(server)
    assert server.run("mutation", "calls:schedule_ticks", {"count": 3})["status"] == "success"
    deadline = time.monotonic() + 30
    while server.run("query", "calls:ticks")["value"] < 3:
        assert time.monotonic() < deadline, "the scheduled ticks did not run"
        time.sleep(0.05)
    after = scrape(server)
    assert after[lag] - before[lag] == 3
    assert counter(after, "invocations", "calls:tick", "mutation") - counter(
        before, "invocations", "calls:tick", "mutation") == 3
    for gauge in ("syncline_scheduled_jobs_running", "syncline_scheduled_jobs_queued",
                  "syncline_sync_sessions", "syncline_sync_subscriptions"):
        assert (gauge, frozenset()) in after


def gauge(samples: Samples, name: str) -> float:
    return samples[(name, frozenset())]


async def test_sync_sessions_subscriptions_and_shared_results(server: Server) -> None:
    loop = asyncio.get_running_loop()
    before = await loop.run_in_executor(None, scrape, server)
    async with websockets.connect(ws_url(server)) as one, \
            websockets.connect(ws_url(server)) as two:
        await one.send(connect_message("metrics-1"))
        await one.send(add(0, "calls:get", {"name": "sync"}))
        assert (await receive(one, "Transition"))["modifications"][0]["value"] == 0
        # The second subscriber to the same call joins the live result: a cache hit.
        await two.send(connect_message("metrics-2"))
        await two.send(add(0, "calls:get", {"name": "sync"}))
        assert (await receive(two, "Transition"))["modifications"][0]["value"] == 0
        during = await loop.run_in_executor(None, scrape, server)
        assert gauge(during, "syncline_sync_sessions") - gauge(
            before, "syncline_sync_sessions") == 2
        assert gauge(during, "syncline_sync_subscriptions") - gauge(
            before, "syncline_sync_subscriptions") == 2
        # A write both read: the shared result is computed once more for both.
        await loop.run_in_executor(None, lambda: server.run(
            "mutation", "calls:bump", {"token": "sync", "name": "sync"}))
        for ws in (one, two):
            assert (await receive(ws, "Transition"))["modifications"][0]["value"] == 1
        after = await loop.run_in_executor(None, scrape, server)
    assert counter(after, "invocations", "calls:get", "query") - counter(
        before, "invocations", "calls:get", "query") == 3
    assert counter(after, "cache_hits", "calls:get", "query") - counter(
        before, "cache_hits", "calls:get", "query") == 1
    deadline = time.monotonic() + 30
    while True:  # the sessions end once the server has seen the sockets close
        closed = await loop.run_in_executor(None, scrape, server)
        if gauge(closed, "syncline_sync_sessions") == gauge(before, "syncline_sync_sessions"):
            break
        assert time.monotonic() < deadline, "the closed sessions are still counted"
        await asyncio.sleep(0.05)
    assert gauge(closed, "syncline_sync_subscriptions") == gauge(
        before, "syncline_sync_subscriptions")


def test_misspelled_paths_do_not_grow_the_metrics(server: Server) -> None:
    rows_before = len(snapshot(server)["functions"])
    for i in range(50):
        assert server.run("query", f"nope:missing{i}")["status"] == "error"
    rows = snapshot(server)["functions"]
    assert len(rows) <= rows_before + 1  # all of them under one `_unknown` row
    assert not [r for r in rows if r["path"].startswith("nope:")]


def test_metrics_need_the_admin_key(server: Server) -> None:
    for headers in ({}, {"Authorization": "Convex not-the-key"}):
        for path in ("/metrics", "/api/syncline/metrics"):
            response = httpx.get(f"{server.url}{path}", headers=headers, timeout=30)
            assert response.status_code == 401, (path, response.text)
            assert "admin key" in response.json()["message"]


def test_metrics_public_serves_prometheus_without_the_key(tmp_path) -> None:
    s = start_server(copy_app("metricsapp", tmp_path), "serve", extra=["--metrics-public"])
    try:
        s.run("query", "calls:get")
        samples = scrape(s, admin=False)
        assert counter(samples, "invocations", "calls:get", "query") == 1
        # The JSON view stays admin only.
        assert httpx.get(f"{s.url}/api/syncline/metrics", timeout=30).status_code == 401
    finally:
        s.stop()


def test_counts_survive_a_restart(tmp_path) -> None:
    app = copy_app("metricsapp", tmp_path)
    s = start_server(app, "serve")
    try:
        for _ in range(3):
            s.run("query", "calls:get")
        for _ in range(2):
            s.run("query", "calls:fail")
        s.run("mutation", "calls:bump", {"token": "restart"})
    finally:
        assert s.stop() == 0
    assert (app / ".syncline" / "metrics.json").is_file()
    s = start_server(app, "serve")
    try:
        samples = scrape(s)
        assert counter(samples, "invocations", "calls:get", "query") == 3
        assert counter(samples, "invocations", "calls:fail", "query") == 2
        assert counter(samples, "errors", "calls:fail", "query") == 2
        assert counter(samples, "documents_written", "calls:bump", "mutation") == 1
        s.run("query", "calls:fail")
        assert counter(scrape(s), "errors", "calls:fail", "query") == 3
        assert sum(m["failures"] for m in snapshot(s)["failureRatePerMinute"]) == 3
    finally:
        s.stop()


def test_syncline_metrics_prints_a_plain_table(server: Server) -> None:
    for _ in range(2):
        server.run("query", "calls:fail")
    command = [sys.executable, "-m", "syncline.cli.main", "metrics", "--dir",
               str(server.app_dir)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout  # no terminal: no escape codes
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["FUNCTION", "KIND", "CALLS", "ERR%", "P50", "P99", "CACHE",
                                "OCC"]
    fail = next(line.split() for line in lines if line.startswith("calls:fail "))
    calls = int(fail[2])
    assert calls >= 2 and fail[3] == "100.0%"
    assert any(line.startswith("sync: ") for line in lines)
    as_json = subprocess.run([*command, "--json"], capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL)
    rows = {r["path"]: r for r in json.loads(as_json.stdout)["functions"]}
    assert rows["calls:fail"]["invocations"] == calls
    assert rows["calls:fail"]["errors"] == calls


def test_system_queries_serve_the_metrics_to_admins(server: Server) -> None:
    def row() -> dict:
        body = server.run("query", "_system/metrics:function", {"path": "calls:fail"},
                          admin=True)
        assert body["status"] == "success", body
        return body["value"]

    server.run("query", "calls:fail")
    before = row()
    for _ in range(2):
        server.run("query", "calls:fail")
    after = row()  # not a cached copy of `before` (production caches HTTP query results)
    assert after["invocations"] - before["invocations"] == 2
    assert after["errors"] - before["errors"] == 2
    whole = server.run("query", "_system/metrics:snapshot", admin=True)["value"]
    assert {r["path"] for r in whole["functions"]} >= {"calls:fail"}
    deployment = server.run("query", "_system/metrics:deployment", admin=True)["value"]
    assert "functions" not in deployment and "schedulerLagMs" in deployment
    refused = server.run("query", "_system/metrics:snapshot")
    assert refused["status"] == "error"
