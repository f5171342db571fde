"""Scheduler lag benchmark: how late scheduled functions start when many are due at once.

Against a real `syncline serve` subprocess (production mode, default durability)
of benchmarks/apps/scheduler_bench/convex, started with `--port 0 --site-port 0`
and found through the `DIR/.syncline/deployment.json` it writes once listening
(its `url` and `admin_key`; every call below uses the admin key):

1. scheduled: N jobs (N = 1,000 and 10,000; `--jobs`) all due at the same
   moment. `jobs:schedule` mutations (at most 1,000 jobs each, the per-execution
   limit, called one after another) each call `ctx.scheduler.run_at(due,
   internal.jobs.work, {...})`, with `due` far enough ahead that scheduling is
   over first (`--lead`, lengthened from the warm-up's scheduling time; a round
   whose scheduling ends late is reported as a problem). The job `jobs:work` is
   an internal mutation inserting a row with `due` and `started`, the wall clock
   at the start of its execution (inside a mutation `time.time()` is frozen
   there, like `Date.now()`; a retried execution starts again). The benchmark
   polls the newest rows (`jobs:rows`, a `_creationTime` window, every `--poll`
   s) until all N exist, or until no job is pending or running, then reads all
   rows and the jobs' states in `_scheduled_functions`. Reported: the lag,
   started - due, p50/p99/max over the jobs; when the last job started (due +
   max lag); jobs/s = N / that time; when polling saw the last row (coarse, to
   within the poll interval). `due` and `started` are both this machine's wall
   clock (server and benchmark run on it).
2. a same-run baseline: the same N `jobs:work` mutations over HTTP
   (`POST /api/mutation`), back to back from 10 keep-alive connections, the
   executor's concurrency. jobs/s = N / (first request sent -> start of the last
   job), the same definition as above, so the ratio of the two is the
   scheduler's cost over running the same mutations on request; the JSON also
   has the rate up to the last reply.

Both are also given as the server's CPU time per job (the scheduled figure
includes the polling queries, which read only the newest rows). Each round uses
a fresh server (warmed up with HTTP calls and one scheduled batch); the order of
scheduled and baseline alternates between rounds; the table shows the median
of the rounds' figures. Failed jobs (state `failed` in `_scheduled_functions`),
jobs left pending or running, missing or duplicate rows, failed HTTP calls and
errors in the server log are counted and reported, never dropped.

Usage: python benchmarks/scheduler_lag.py [--rounds 3] [--jobs 1000,10000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
from http_api import (  # the same server process handling and HTTP client as the HTTP benchmark
    TRANSPORT_ERRORS,
    RawConnection,
    ServerProcess,
    benchmark_workdir,
    check_envelope,
    cpu_model,
    report,
)
from sync_latency import SynclineServer, median_of, percentile

APP_DIR = Path(__file__).resolve().parent / "apps" / "scheduler_bench"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "scheduler_lag.json"
BATCH = 1_000  # jobs per scheduling mutation: the per-execution limit
CONCURRENCY = 10  # the executor's (syncline/scheduler/executor.py MAX_CONCURRENT_JOBS)
PAGE = 2_000  # rows or jobs per query page
POLL_MARGIN_MS = 100.0  # how far before the newest row seen each poll looks again
FULL_READ_S = 1.0  # a poll with no new row reads every row, at most this often
STALL_S = 2.0  # no new row for this long: check whether any job is still pending
WARMUP_CALLS = 200
clock = time.perf_counter


def wall_ms() -> float:
    return time.time() * 1000.0


# -- the server and its client ---------------------------------------------------------------


class SchedulerServer(SynclineServer):
    """`syncline serve` of a fresh copy of the scheduler app (see SynclineServer), with the
    admin key from its deployment.json."""

    def __init__(self, name: str, workdir: Path) -> None:
        base = workdir / name
        self.app = base / "app"
        shutil.copytree(APP_DIR / "convex", self.app / "convex",
                        ignore=shutil.ignore_patterns("__pycache__"))
        cmd = [sys.executable, "-m", "syncline.cli.main", "serve", str(self.app),
               "--port", "0", "--site-port", "0", "--data-dir", str(base / "data")]
        ServerProcess.__init__(self, name, cmd, "", base / "server.log")
        self.admin_key = ""

    def start(self, timeout: float = 60.0) -> None:
        super().start(timeout)
        record = self.app / ".syncline" / "deployment.json"
        self.admin_key = json.loads(record.read_text())["admin_key"]


class AdminConnection(RawConnection):
    """RawConnection (one keep-alive HTTP/1.1 connection) sending the admin key."""

    def __init__(self, url: str, admin_key: str) -> None:
        parsed = httpx.URL(url)
        super().__init__(parsed.host, parsed.port or 80,
                         extra_headers=f"authorization: Convex {admin_key}\r\n")

    async def call(self, kind: str, path: str, args: dict[str, Any]) -> Any:
        """The function's value; raises RuntimeError when the call fails."""
        body = orjson.dumps({"path": path, "args": args, "format": "json"})
        reply = await self.request("POST", f"/api/{kind}", body)
        problem = check_envelope(False)(reply)
        if problem is not None:
            raise RuntimeError(f"{path} failed: {problem}")
        return orjson.loads(reply[1])["value"]


# -- reading what ran --------------------------------------------------------------------------


async def read_rows(conn: AdminConnection, run: str, since: float = 0.0) -> list[list[float]]:
    """The run's rows ([i, due, started, _creationTime]) created at or after `since`."""
    rows: list[list[float]] = []
    cursor = None
    while True:
        page = await conn.call("query", "jobs:rows", {
            "run": run, "since": since, "cursor": cursor, "numItems": PAGE})
        rows += page["rows"]
        if page["isDone"]:
            return rows
        cursor = page["continueCursor"]


async def job_states(conn: AdminConnection, run: str) -> tuple[Counter[str], list[str]]:
    """How many of the run's jobs are in each state, and a few failed jobs' errors."""
    counts: Counter[str] = Counter()
    errors: list[str] = []
    cursor = None
    while True:
        page = await conn.call("query", "jobs:job_states", {
            "run": run, "cursor": cursor, "numItems": PAGE})
        counts.update(page["counts"])
        errors += page["errors"][:5 - len(errors)]
        if page["isDone"]:
            return counts, errors
        cursor = page["continueCursor"]


def row_checks(rows: list[list[float]], count: int) -> tuple[dict[int, list[float]], Counter[str]]:
    """The rows by job number, and problems: missing jobs, jobs that ran more than once."""
    by_job: dict[int, list[float]] = {}
    problems: Counter[str] = Counter()
    for row in rows:
        i = int(row[0])
        if i in by_job:
            problems["a job's row written more than once"] += 1
        by_job[i] = row
    missing = count - len(by_job.keys() & set(range(count)))
    if missing:
        problems["jobs with no row"] += missing
    return by_job, problems


def lag_figures(lags_ms: list[float]) -> dict[str, float | None]:
    return {"p50_ms": percentile(lags_ms, 50), "p99_ms": percentile(lags_ms, 99),
            "max_ms": max(lags_ms, default=None), "min_ms": min(lags_ms, default=None)}


# -- the two measurements --------------------------------------------------------------------


async def schedule(conn: AdminConnection, run: str, count: int, due: float) -> float:
    """Schedule `count` jobs of `run` due at `due`, BATCH per mutation; returns seconds taken."""
    start = clock()
    for first in range(0, count, BATCH):
        await conn.call("mutation", "jobs:schedule", {
            "run": run, "due": due, "first": float(first),
            "count": float(min(BATCH, count - first))})
    return clock() - start


async def wait_for_jobs(server: SchedulerServer, conn: AdminConnection, run: str, count: int,
                        due: float, poll: float, timeout: float,
                        cost: Counter[str] | None = None) -> tuple[float | None, str]:
    """Poll the newest rows until all `count` exist; returns (wall ms when polling saw the
    last one, None if it never did; why polling stopped). `cost` counts the polls and the
    rows they read.

    Each poll reads the rows created since shortly before the newest one seen, so the
    polling costs little. A row whose transaction committed after a poll that saw rows
    created well after it would be missed: a poll that finds nothing new (after the due
    time) reads every row instead, at most every FULL_READ_S.
    """
    seen: set[int] = set()
    newest = 0.0  # _creationTime of the newest row seen
    last_progress = last_full = clock()
    deadline = clock() + timeout
    cost = Counter() if cost is None else cost
    while True:
        server.check_alive()
        before = len(seen)
        rows = await read_rows(conn, run, max(0.0, newest - POLL_MARGIN_MS))
        cost["polls"] += 1
        cost["rows_read"] += len(rows)
        for row in rows:
            seen.add(int(row[0]))
            newest = max(newest, row[3])
        if len(seen) == before and wall_ms() > due and clock() - last_full >= FULL_READ_S:
            last_full = clock()
            rows = await read_rows(conn, run)
            cost["full_reads"] += 1
            cost["rows_read"] += len(rows)
            seen.update(int(row[0]) for row in rows)
        if len(seen) >= count:
            return wall_ms(), "all rows"
        if len(seen) > before:
            last_progress = clock()
        elif wall_ms() > due and clock() - last_progress > STALL_S:
            states, _ = await job_states(conn, run)  # jobs that failed leave no row
            if not states["pending"] and not states["inProgress"]:
                return None, "no job pending or running, some rows missing"
            last_progress = clock()
        if clock() > deadline:
            return None, f"timed out after {timeout:g} s"
        await asyncio.sleep(poll)


async def measure_scheduled(server: SchedulerServer, conn: AdminConnection, run: str,
                            count: int, lead_s: float, args: argparse.Namespace) -> dict[str, Any]:
    problems: Counter[str] = Counter()
    due = wall_ms() + lead_s * 1000
    scheduling_s = await schedule(conn, run, count, due)
    scheduled_at = wall_ms()
    if scheduled_at > due:
        problems["scheduling ended after the due time (the lag includes it; raise --lead)"] += 1
    cpu = server.cpu_seconds()
    polling: Counter[str] = Counter()
    done_at, stopped = await wait_for_jobs(server, conn, run, count, due, args.poll,
                                           args.timeout + lead_s, polling)
    cpu = server.cpu_seconds() - cpu
    if done_at is None:
        problems[f"polling stopped: {stopped}"] += 1
    rows = await read_rows(conn, run)
    by_job, row_problems = row_checks(rows, count)
    problems.update(row_problems)
    states, errors = await job_states(conn, run)
    if sum(states.values()) != count:
        problems[f"{sum(states.values())} jobs in _scheduled_functions, not {count}"] += 1
    for kind, n in states.items():
        if kind != "success":
            problems[f"jobs in state {kind}"] += n
    for error in errors:  # without the per-request id, so equal errors group
        problems[f"failed job, e.g.: {error.split(' [Request ID:')[0][:160]}"] += 1
    lags = [row[2] - due for row in by_job.values()]
    last_start_s = max(lags) / 1000 if lags else None
    return {
        "jobs": count,
        "rows": len(rows),
        "lag": lag_figures(lags),
        "last_start_s": last_start_s,
        "jobs_per_s": len(by_job) / last_start_s if last_start_s else None,
        "all_rows_seen_s": None if done_at is None else (done_at - due) / 1000,
        "scheduling_s": scheduling_s,
        "scheduling_done_before_due_s": (due - scheduled_at) / 1000,
        "lead_s": lead_s,
        "server_cpu_ms_per_job": cpu / max(1, len(by_job)) * 1000,
        "polling": dict(polling),
        "states": dict(states),
        "failed_jobs": states["failed"],
        "problems": dict(problems),
    }


async def run_mutations(url: str, admin_key: str, run: str, count: int,
                        concurrency: int) -> tuple[float, float, float, Counter[str]]:
    """`count` jobs:work calls over HTTP from `concurrency` connections; returns (wall ms of
    the first send, seconds until the last reply, calls that succeeded, failures)."""
    failures: Counter[str] = Counter()
    check = check_envelope(False)
    todo = iter(range(count))
    ok = 0

    async def worker(conn: AdminConnection) -> None:
        nonlocal ok
        for i in todo:
            body = orjson.dumps({"path": "jobs:work", "format": "json", "args": {
                "run": run, "due": wall_ms(), "i": float(i)}})
            try:
                problem = check(await conn.request("POST", "/api/mutation", body))
            except TRANSPORT_ERRORS as e:
                problem = f"{type(e).__name__}: {str(e)[:120]}"
            if problem is None:
                ok += 1
            else:
                failures[f"HTTP call failed: {problem}"] += 1

    conns = [AdminConnection(url, admin_key) for _ in range(concurrency)]
    try:
        for conn in conns:  # connect first, so the timing starts with the first request
            await conn.request("GET", "/version", b"")
        first_sent, start = wall_ms(), clock()
        async with asyncio.timeout(600):
            await asyncio.gather(*(worker(c) for c in conns))
        elapsed = clock() - start
    finally:
        for conn in conns:
            await conn.close()
    return first_sent, elapsed, ok, failures


async def measure_baseline(server: SchedulerServer, conn: AdminConnection, run: str,
                           count: int) -> dict[str, Any]:
    cpu = server.cpu_seconds()
    first_sent, elapsed, ok, failures = await run_mutations(
        server.url, server.admin_key, run, count, CONCURRENCY)
    cpu = server.cpu_seconds() - cpu
    server.check_alive()
    rows = await read_rows(conn, run)
    by_job, problems = row_checks(rows, count)
    problems.update(failures)
    last_start_s = (max(row[2] for row in rows) - first_sent) / 1000 if rows else None
    return {
        "jobs": count,
        "rows": len(rows),
        "last_start_s": last_start_s,
        "jobs_per_s": len(by_job) / last_start_s if last_start_s else None,
        "jobs_per_s_to_last_reply": ok / elapsed,
        "seconds": elapsed,
        "server_cpu_ms_per_job": cpu / max(1, ok) * 1000,
        "problems": dict(problems),
    }


async def warm_up(server: SchedulerServer, conn: AdminConnection, size: int) -> float:
    """Warm the HTTP path and the scheduler; returns the seconds one scheduling mutation of
    `size` jobs took."""
    _, _, _, failures = await run_mutations(server.url, server.admin_key, "warmup-http",
                                            WARMUP_CALLS, CONCURRENCY)
    if failures:
        raise RuntimeError(f"warm-up calls failed: {dict(failures)}")
    due = wall_ms() + 500
    seconds = await schedule(conn, "warmup-scheduled", size, due)
    done_at, stopped = await wait_for_jobs(server, conn, "warmup-scheduled", size, due, 0.1, 120)
    if done_at is None:
        raise RuntimeError(f"the warm-up's scheduled jobs did not all run: {stopped}")
    return seconds


# -- the run ---------------------------------------------------------------------------------


def summarize(rounds: list[dict[str, Any]], baselines: list[dict[str, Any]]) -> dict[str, Any]:
    def med(rows: list[dict[str, Any]], key: str) -> float | None:
        return median_of([r[key] for r in rows])

    scheduled = {
        "lag": {p: median_of([r["lag"][p] for r in rounds])
                for p in ("p50_ms", "p99_ms", "max_ms", "min_ms")},
        **{key: med(rounds, key) for key in (
            "last_start_s", "jobs_per_s", "all_rows_seen_s", "scheduling_s",
            "scheduling_done_before_due_s", "lead_s", "server_cpu_ms_per_job")},
        "failed_jobs": sum(r["failed_jobs"] for r in rounds),
        "problems": dict(sum((Counter(r["problems"]) for r in rounds), Counter())),
        "rounds": rounds,
    }
    baseline = {
        **{key: med(baselines, key) for key in (
            "last_start_s", "jobs_per_s", "jobs_per_s_to_last_reply", "server_cpu_ms_per_job")},
        "problems": dict(sum((Counter(r["problems"]) for r in baselines), Counter())),
        "rounds": baselines,
    }
    ratio = ([s["jobs_per_s"] / b["jobs_per_s"] for s, b in zip(rounds, baselines, strict=True)
              if s["jobs_per_s"] and b["jobs_per_s"]])
    return {"jobs": rounds[0]["jobs"], "scheduled": scheduled, "http_baseline": baseline,
            "scheduled_vs_http_jobs_per_s": statistics.median(ratio) if ratio else None}


async def run(args: argparse.Namespace, workdir: Path,
              started: list[SchedulerServer]) -> dict[str, Any]:
    scheduled: dict[int, list[dict[str, Any]]] = {}
    baselines: dict[int, list[dict[str, Any]]] = {}
    server_logs: dict[str, dict[str, int]] = {}
    warmup_batch_s: list[float] = []
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        server = SchedulerServer(f"round-{r}", workdir)
        started.append(server)
        await asyncio.to_thread(server.start)
        conn = AdminConnection(server.url, server.admin_key)
        try:
            batch_s = await warm_up(server, conn, min(BATCH, max(args.jobs)))
            warmup_batch_s.append(batch_s)
            for count in args.jobs:
                # Scheduling (and the executor reading the new jobs) must be over before the
                # jobs are due: allow three times the warm-up's pace, and at least --lead.
                lead = max(args.lead, 1.0 + 3 * batch_s * -(-count // BATCH))
                order = ("scheduled", "baseline") if r % 2 == 0 else ("baseline", "scheduled")
                for kind in order:
                    if kind == "scheduled":
                        m = await measure_scheduled(server, conn, f"scheduled-{count}", count,
                                                    lead, args)
                        scheduled.setdefault(count, []).append(m)
                        lag = m["lag"]
                        line = (f"lag p50 {lag['p50_ms'] or 0:.0f} / p99 {lag['p99_ms'] or 0:.0f}"
                                f" / max {lag['max_ms'] or 0:.0f} ms, "
                                f"{m['jobs_per_s'] or 0:,.0f} jobs/s")
                    else:
                        m = await measure_baseline(server, conn, f"baseline-{count}", count)
                        baselines.setdefault(count, []).append(m)
                        line = f"{m['jobs_per_s'] or 0:,.0f} jobs/s"
                    problems = sum(m["problems"].values())
                    print(f"  N={count:<6} {kind:<10} {line}"
                          f"{f'  ({problems} PROBLEMS)' if problems else ''}", file=sys.stderr)
        finally:
            await conn.close()
            await asyncio.to_thread(server.stop)
            logged = server.log_problems()
            if logged:
                server_logs[server.name] = dict(logged)

    return {
        "results": {f"n{count}": summarize(scheduled[count], baselines[count])
                    for count in args.jobs},
        "server_log_problems": server_logs,
        "warmup_batch_seconds": warmup_batch_s,
        "machine": {
            "cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "sqlite": sqlite3.sqlite_version,
            "shared_cores": "the benchmark (polling, baseline HTTP client) and the server run "
                            "on the same cores",
        },
        "settings": {
            "rounds": args.rounds, "jobs": args.jobs, "batch": BATCH,
            "concurrency": CONCURRENCY, "min_lead_s": args.lead, "poll_s": args.poll,
            "poll_margin_ms": POLL_MARGIN_MS, "durability": "full",
        },
    }


def all_problems(results: dict[str, Any]) -> list[tuple[str, dict[str, int]]]:
    found = []
    for row in results["results"].values():
        found.append((f"N={row['jobs']} scheduled", row["scheduled"]["problems"]))
        found.append((f"N={row['jobs']} HTTP baseline", row["http_baseline"]["problems"]))
    found += [(f"server log {name}", counts)
              for name, counts in results["server_log_problems"].items()]
    return [(where, problems) for where, problems in found if problems]


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(results: dict[str, Any]) -> None:
    machine, settings = results["machine"], results["settings"]
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
          f"SQLite {machine['sqlite']}")
    print(f"  the benchmark and the server share these {machine['cores']} cores")
    print(f"median of {settings['rounds']} rounds, a fresh `syncline serve` each; jobs "
          f"scheduled {settings['batch']:,} per mutation, all due at once; executor "
          f"concurrency {settings['concurrency']}")
    print(f"{'jobs':>7}{'lag p50 ms':>12}{'p99 ms':>9}{'max ms':>9}{'first ms':>10}"
          f"{'rows seen s':>13}{'sched jobs/s':>14}{'HTTP jobs/s':>13}{'sched/HTTP':>12}"
          f"{'srv cpu ms/job sched|HTTP':>27}{'failed':>8}")
    for row in results["results"].values():
        s, b = row["scheduled"], row["http_baseline"]
        lag = s["lag"]
        cpu = (f"{fmt(s['server_cpu_ms_per_job'], '.2f')} | "
               f"{fmt(b['server_cpu_ms_per_job'], '.2f')}")
        print(f"{row['jobs']:>7,}{fmt(lag['p50_ms'], ',.0f'):>12}{fmt(lag['p99_ms'], ',.0f'):>9}"
              f"{fmt(lag['max_ms'], ',.0f'):>9}{fmt(lag['min_ms'], ',.0f'):>10}"
              f"{fmt(s['all_rows_seen_s'], '.2f'):>13}{fmt(s['jobs_per_s'], ',.0f'):>14}"
              f"{fmt(b['jobs_per_s'], ',.0f'):>13}"
              f"{fmt(row['scheduled_vs_http_jobs_per_s'], '.2f'):>12}{cpu:>27}"
              f"{s['failed_jobs']:>8}")
    print("  lag: a job's execution start - its due time; first: the earliest start; "
          "rows seen: due -> polling saw every row")
    print(f"    (to within the {settings['poll_s']:g} s poll); sched jobs/s: jobs / (due -> "
          "start of the last job)")
    print(f"  HTTP jobs/s: the same mutations over HTTP POST /api/mutation from "
          f"{settings['concurrency']} connections, jobs / (first request -> start of the "
          "last job)")
    for row in results["results"].values():
        s = row["scheduled"]
        print(f"  N={row['jobs']:,}: scheduling took {fmt(s['scheduling_s'], '.2f')} s and ended "
              f"{fmt(s['scheduling_done_before_due_s'], '.2f')} s before the due time "
              f"(lead {fmt(s['lead_s'], '.1f')} s); HTTP baseline up to its last reply: "
              f"{fmt(row['http_baseline']['jobs_per_s_to_last_reply'], ',.0f')} jobs/s")
    failed = sum(row["scheduled"]["failed_jobs"] for row in results["results"].values())
    print(f"failed jobs (state failed in _scheduled_functions): {failed}")
    problems = all_problems(results)
    if not problems:
        print("problems: none (every job ran once and succeeded; no failed HTTP call, no "
              "error in the server log)")
    for where, counts in problems:
        print(f"PROBLEMS {where}:")
        for message, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            print(f"    {count:>6} x {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=lambda s: sorted(int(x) for x in s.split(",")),
                        default=[1000, 10000], help="job counts, comma-separated")
    parser.add_argument("--lead", type=float, default=2.0,
                        help="least seconds between scheduling and the due time")
    parser.add_argument("--poll", type=float, default=0.1,
                        help="seconds between polls for the jobs' rows")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds after the due time to wait for the jobs")
    parser.add_argument("--tmp-dir", type=Path, default=None,
                        help="where the databases go (default: the system temp dir)")
    parser.add_argument("--json", type=Path, default=None,
                        help=f"also write the results here (always: {DEFAULT_OUTPUT})")
    args = parser.parse_args()
    if not args.jobs or min(args.jobs) < 1:
        parser.error("--jobs needs positive counts")

    # SIGTERM unwinds like Ctrl+C, so the servers are stopped and the temp dir removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started: list[SchedulerServer] = []
    with benchmark_workdir("syncline-scheduler-bench-", args.tmp_dir, started) as workdir:
        import uvloop  # the server's loop too
        results = uvloop.run(run(args, workdir, started))
    report(results, print_table, DEFAULT_OUTPUT, args.json)


if __name__ == "__main__":
    main()
