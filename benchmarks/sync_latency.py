"""Sync latency benchmark: commit-to-client push latency and memory per WebSocket connection.

Against a real `syncline serve` subprocess (production mode, default durability)
of benchmarks/apps/sync_bench/convex, started with `--port 0 --site-port 0` and
found through the `DIR/.syncline/deployment.json` it writes once listening:

1. push latency: N WebSocket clients (N = 1, 100, 1000; `--clients`) speak the
   sync protocol directly (Python `websockets`: Connect, then ModifyQuerySet
   adding `messages:latest`, then they read Transitions). A writer calls
   `POST /api/mutation` (`messages:send`) every `--interval` ms, `--writes`
   times per N after a few warm-up writes, each write carrying its send time.
   Every subscriber records when it sees each new value. Reported: p50/p99 of
   (seen - sent) over all (subscriber, write) pairs, and p50/p99 over writes
   of the time until the LAST subscriber had seen it. A subscriber that skips a
   value (two writes in one Transition) is counted as seeing the older write
   when it sees the newer one; skips are counted. Also the writer's own
   mutation round trip, and the CPU time the server and the load generator
   spent per write.
2. memory per idle connection: the server's RSS (/proc/<pid>/status VmRSS)
   before and after opening 1000 (`--memory-clients`) connections that each
   subscribed, divided by their number; on a fresh server per variant: all on
   the same query (one cache entry), each on a distinct argument (1000 cache
   entries), and the same query without permessage-deflate.
3. a same-run baseline: the round trip of the same query over HTTP
   (`POST /api/query`, one keep-alive connection, sequential).

The clients offer permessage-deflate as browsers do (`--no-compression` turns it
off for the latency part). All clients and the writer run in this process on one
event loop (uvloop like the server; `--loop asyncio`); the load generator and the
server share the machine's cores, so at 1000 clients the generator's own CPU
time is part of the figures (the table shows both sides' CPU per write). Each
round uses fresh servers; the table shows the median of the rounds' figures.
With 50 writes a p99 over writes is close to their maximum (the JSON keeps each
write's last-subscriber time, to tell a steady delay from a few pauses). Every protocol
problem (FatalError, QueryFailed, unexpected disconnects, failed connects or
mutations, version gaps between Transitions) is counted and reported.

Usage: python benchmarks/sync_latency.py [--rounds 3] [--writes 50] [--clients 1,100,1000]
       [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets
from http_api import (  # the same server process handling and HTTP client as the HTTP benchmark
    ROOT,
    RawConnection,
    ServerProcess,
    _die_with_parent,
    benchmark_workdir,
    check_envelope,
    cpu_model,
    report,
)
from websockets.asyncio.client import ClientConnection, connect

APP_DIR = Path(__file__).resolve().parent / "apps" / "sync_bench"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "sync_latency.json"
SYNC_PATH = "/api/1.20.0/sync"
QUERY = "messages:latest"
ROOM = "main"
BODY = "hello world, this is a benchmark message"
WARMUP_WRITES = 5
MEMORY_VARIANTS = ("shared", "distinct", "shared_no_deflate")
CONNECT_CONCURRENCY = 64  # WebSocket handshakes in flight at once
SETTLE_TIMEOUT_S = 15.0  # how long after a write every subscriber may take to see it
clock = time.perf_counter


# -- the server ------------------------------------------------------------------------------


class SynclineServer(ServerProcess):
    """`syncline serve` of a fresh copy of the app on free ports (port 0), found through the
    deployment.json it writes once it listens."""

    def __init__(self, name: str, workdir: Path, app_dir: Path = APP_DIR,
                 extra_args: tuple[str, ...] = ()) -> None:
        base = workdir / name
        self.app = base / "app"
        shutil.copytree(app_dir / "convex", self.app / "convex",
                        ignore=shutil.ignore_patterns("__pycache__"))
        cmd = [sys.executable, "-m", "syncline.cli.main", "serve", str(self.app),
               "--port", "0", "--site-port", "0", "--data-dir", str(base / "data"),
               *extra_args]
        super().__init__(name, cmd, "", base / "server.log")

    def start(self, timeout: float = 60.0) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=ROOT, start_new_session=True, preexec_fn=_die_with_parent)
        record = self.app / ".syncline" / "deployment.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} while "
                                   f"starting:\n{self.log_tail()}")
            with contextlib.suppress(OSError, ValueError):
                info = json.loads(record.read_text())
                if info.get("pid") == self.proc.pid:
                    self.url = info["url"]
                    if httpx.get(self.url + "/version", timeout=5.0).status_code == 200:
                        return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not write {record} and answer GET /version "
                           f"within {timeout:.0f} s:\n{self.log_tail()}")

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + SYNC_PATH

    def rss_kib(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc/<pid>/status")

    def log_problems(self) -> Counter[str]:
        """Errors, warnings and tracebacks the server logged (a clean run logs none)."""
        out: Counter[str] = Counter()
        with contextlib.suppress(OSError):
            for line in self.log_path.read_text(errors="replace").splitlines():
                if line.startswith("Traceback"):
                    out["server logged a traceback"] += 1
                elif any(word in line for word in ("ERROR", "WARNING", "Error", "Exception")):
                    out[f"server log: {line.strip()[:120]}"] += 1
        return out

    def check_alive(self) -> None:
        if not self.alive():
            raise RuntimeError(f"{self.name} died:\n{self.log_tail()}")


# -- the subscribers -------------------------------------------------------------------------


@dataclass
class Subscriber:
    """One WebSocket client subscribed to `messages:latest` with `args`, reading Transitions
    and noting when each value arrived."""

    args: dict[str, Any]
    compression: bool
    ws: ClientConnection | None = None
    seen: list[tuple[float, float]] = field(default_factory=list)  # (seq, time seen)
    latest: float = -1.0  # seq of the newest value seen (-1: none yet, or no message)
    messages: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    closing: bool = False
    _end_version: Any = None
    _reader: asyncio.Task[None] | None = None

    async def open(self, url: str) -> None:
        self.ws = await connect(url, compression="deflate" if self.compression else None,
                                ping_interval=None, max_size=None, open_timeout=60)
        await self.ws.send(orjson.dumps({
            "type": "Connect", "sessionId": str(uuid.uuid4()), "connectionCount": 0,
            "lastCloseReason": None, "clientTs": 0}).decode())
        await self.ws.send(orjson.dumps({
            "type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1,
            "modifications": [{"type": "Add", "queryId": 0, "udfPath": QUERY,
                               "args": [self.args]}]}).decode())
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for frame in self.ws:
                now = clock()
                self._handle(frame, now)
        except websockets.ConnectionClosed:
            pass
        except Exception as e:  # a bug here must be seen, not hang the run
            self.problems[f"client error: {type(e).__name__}: {str(e)[:100]}"] += 1
        if not self.closing:
            close = self.ws.close_code, (self.ws.close_reason or "")[:100]
            self.problems[f"disconnected by the server: code {close[0]} {close[1]!r}"] += 1

    def _handle(self, frame: str | bytes, now: float) -> None:
        msg = orjson.loads(frame)
        kind = msg.get("type")
        self.messages[kind] += 1
        if kind == "FatalError":
            self.problems[f"FatalError: {str(msg.get('error'))[:120]}"] += 1
            return
        if kind != "Transition":
            if kind != "Ping":
                self.problems[f"unexpected message {str(kind)[:40]}"] += 1
            return
        if self._end_version is not None and msg["startVersion"] != self._end_version:
            self.problems["Transition.startVersion is not the previous endVersion"] += 1
        self._end_version = msg["endVersion"]
        for modification in msg["modifications"]:
            if modification.get("queryId") != 0:
                self.problems[f"modification for unknown query {modification.get('queryId')}"] += 1
            elif modification["type"] == "QueryUpdated":
                value = modification["value"]
                if value is not None:
                    seq = float(value["seq"])
                    if seq <= self.latest:
                        self.problems["a value older than one already seen"] += 1
                    self.latest = max(self.latest, seq)
                    self.seen.append((seq, now))
                self.subscribed.set()
            elif modification["type"] == "QueryFailed":
                self.problems[f"QueryFailed: {str(modification.get('errorMessage'))[:120]}"] += 1
                self.subscribed.set()
            else:
                self.problems[f"unexpected modification {modification.get('type')}"] += 1

    def first_seen(self, seq: float, start: int) -> tuple[float | None, int]:
        """When this subscriber first saw `seq` or a newer value (None: never), and where in
        `seen` to start looking for the next, larger seq."""
        i = start
        while i < len(self.seen) and self.seen[i][0] < seq:
            i += 1
        return (self.seen[i][1] if i < len(self.seen) else None), i

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 10)
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 10)


class Fleet:
    """`count` subscribers, opened a few at a time; failures are counted, not raised."""

    def __init__(self, url: str, args_of: Callable[[int], dict[str, Any]], count: int,
                 compression: bool) -> None:
        self.url = url
        self.subscribers = [Subscriber(args_of(i), compression) for i in range(count)]
        self.problems: Counter[str] = Counter()

    async def open(self) -> None:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(sub: Subscriber) -> None:
            async with gate:
                try:
                    await sub.open(self.url)
                    await asyncio.wait_for(sub.subscribed.wait(), 60)
                except (OSError, TimeoutError, websockets.WebSocketException) as e:
                    self.problems[f"connect/subscribe failed: {type(e).__name__}: "
                                  f"{str(e)[:100]}"] += 1
        await asyncio.gather(*(one(s) for s in self.subscribers))
        self.subscribers = [s for s in self.subscribers if s.subscribed.is_set()]

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.subscribers))

    def all_problems(self) -> Counter[str]:
        out = Counter(self.problems)
        for sub in self.subscribers:
            out.update(sub.problems)
        return out

    def messages(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for sub in self.subscribers:
            out.update(sub.messages)
        return out

    async def wait_until_seen(self, seq: float, timeout: float) -> bool:
        deadline = clock() + timeout
        while any(s.latest < seq for s in self.subscribers):
            if clock() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True


# -- measurements ----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def ms(values: list[float]) -> dict[str, float | None]:
    p50, p99 = percentile(values, 50), percentile(values, 99)
    return {"p50_ms": None if p50 is None else p50 * 1000,
            "p99_ms": None if p99 is None else p99 * 1000}


class Writer:
    """Calls `messages:send` over one keep-alive HTTP connection, numbering the writes."""

    def __init__(self, url: str) -> None:
        parsed = httpx.URL(url)
        self.conn = RawConnection(parsed.host, parsed.port or 80)
        self.seq = 0
        self.sent: dict[float, float] = {}  # seq -> send time
        self.round_trips: list[float] = []
        self.failures: Counter[str] = Counter()
        self.check = check_envelope(False)

    async def write(self) -> float:
        self.seq += 1
        seq = float(self.seq)
        sent = clock()
        body = orjson.dumps({"path": "messages:send", "format": "json", "args": {
            "room": ROOM, "seq": seq, "sentAt": sent, "body": BODY}})
        try:
            problem = self.check(await self.conn.request("POST", "/api/mutation", body))
        except (OSError, EOFError, asyncio.IncompleteReadError, ValueError) as e:
            problem = f"{type(e).__name__}: {str(e)[:120]}"
        if problem is None:
            self.sent[seq] = sent
            self.round_trips.append(clock() - sent)
        else:
            self.failures[f"mutation failed: {problem}"] += 1
        return seq

    async def write_every(self, count: int, interval: float) -> list[float]:
        """`count` writes on a fixed schedule (a late write does not shift the rest, but
        writes never overlap). Returns the seqs of the writes that succeeded."""
        seqs = []
        start = clock()
        for i in range(count):
            delay = start + i * interval - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            seq = await self.write()
            if seq in self.sent:
                seqs.append(seq)
        return seqs

    async def close(self) -> None:
        await self.conn.close()


async def measure_latency(server: SynclineServer, writer: Writer, clients: int,
                          args: argparse.Namespace) -> dict[str, Any]:
    fleet = Fleet(server.ws_url, lambda _: {}, clients, not args.no_compression)
    opened = clock()
    await fleet.open()
    opened = clock() - opened
    try:
        server.check_alive()
        rss_connected = server.rss_kib()
        for _ in range(WARMUP_WRITES):
            await writer.write()
        warm = await fleet.wait_until_seen(float(writer.seq), SETTLE_TIMEOUT_S)
        writer.round_trips.clear()

        cpu_server, cpu_self = server.cpu_seconds(), time.process_time()
        seqs = await writer.write_every(args.writes, args.interval / 1000)
        settled = await fleet.wait_until_seen(seqs[-1], SETTLE_TIMEOUT_S) if seqs else True
        cpu_server = server.cpu_seconds() - cpu_server
        cpu_self = time.process_time() - cpu_self
        server.check_alive()
    finally:
        await fleet.close()

    per_pair: list[float] = []
    last: list[float] = []
    missed = skipped = 0
    cursors = [0] * len(fleet.subscribers)
    for seq in seqs:
        sent, latest = writer.sent[seq], None
        for k, sub in enumerate(fleet.subscribers):
            seen, cursors[k] = sub.first_seen(seq, cursors[k])
            if seen is None:
                missed += 1
                continue
            if sub.seen[cursors[k]][0] != seq:
                skipped += 1
            per_pair.append(seen - sent)
            latest = seen if latest is None else max(latest, seen)
        if latest is not None:
            last.append(latest - sent)
    problems = fleet.all_problems()
    if not warm:
        problems["not every subscriber saw the warm-up writes"] += 1
    if not settled:
        problems[f"not every subscriber saw the last write within {SETTLE_TIMEOUT_S:g} s"] += 1
    problems.update(writer.failures)
    writer.failures.clear()
    writes = max(1, len(seqs))
    return {
        "subscribers": len(fleet.subscribers),
        "requested": clients,
        "writes": len(seqs),
        "push": ms(per_pair),
        "last_subscriber": ms(last),
        "mutation_round_trip": ms(writer.round_trips),
        "last_subscriber_per_write_ms": [round(x * 1000, 2) for x in last],
        "observations": len(per_pair),
        "skipped_values": skipped,
        "missed": missed,
        "write_interval_ms": (writer.sent[seqs[-1]] - writer.sent[seqs[0]]) / (len(seqs) - 1)
        * 1000 if len(seqs) > 1 else None,
        # CPU over the whole measurement, up to when every subscriber had seen the last write.
        "server_cpu_ms_per_write": cpu_server / writes * 1000,
        "generator_cpu_ms_per_write": cpu_self / writes * 1000,
        "connect_seconds": opened,
        "server_rss_mib_connected": rss_connected / 1024,
        "messages": dict(fleet.messages()),
        "problems": dict(problems),
    }


async def measure_http_query(server: SynclineServer, count: int) -> dict[str, Any]:
    parsed = httpx.URL(server.url)
    conn = RawConnection(parsed.host, parsed.port or 80)
    check = check_envelope(True)
    body = orjson.dumps({"path": QUERY, "args": {}, "format": "json"})
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    try:
        for i in range(count + 20):  # the first 20 warm up
            start = clock()
            try:
                problem = check(await conn.request("POST", "/api/query", body))
            except (OSError, EOFError, asyncio.IncompleteReadError, ValueError) as e:
                problem = f"{type(e).__name__}: {str(e)[:120]}"
            if problem is not None:
                failures[f"query failed: {problem}"] += 1
            elif i >= 20:
                latencies.append(clock() - start)
    finally:
        await conn.close()
    return {**ms(latencies), "requests": len(latencies), "problems": dict(failures)}


async def measure_memory(server: SynclineServer, variant: str, count: int) -> dict[str, Any]:
    compression = variant != "shared_no_deflate"
    if variant == "distinct":
        def args_of(i: int) -> dict[str, Any]:
            return {"room": f"idle-{i}"}
    else:
        def args_of(i: int) -> dict[str, Any]:
            return {}
    # Warm the server's code paths (imports, first allocations) with a few connections first.
    warm = Fleet(server.ws_url, lambda i: {"room": f"warm-{i}"}, 10, compression)
    await warm.open()
    await warm.close()
    await asyncio.sleep(0.5)
    before = server.rss_kib()
    fleet = Fleet(server.ws_url, args_of, count, compression)
    try:
        await fleet.open()
        await asyncio.sleep(1.0)  # idle: nothing is written
        server.check_alive()
        after = server.rss_kib()
    finally:
        await fleet.close()
    problems = warm.all_problems() + fleet.all_problems()
    connected = len(fleet.subscribers)
    return {
        "connections": connected,
        "rss_before_mib": before / 1024,
        "rss_after_mib": after / 1024,
        "kib_per_connection": (after - before) / connected if connected else None,
        "problems": dict(problems),
    }


# -- the run ---------------------------------------------------------------------------------


def raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def fmt(figures: dict[str, float | None]) -> str:
    if figures["p50_ms"] is None or figures["p99_ms"] is None:
        return "-"
    return f"{figures['p50_ms']:.1f} / {figures['p99_ms']:.1f}"


def median_of(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize_latency(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"subscribers": min(r["subscribers"] for r in rounds)}
    for key in ("push", "last_subscriber", "mutation_round_trip"):
        out[key] = {p: median_of([r[key][p] for r in rounds]) for p in ("p50_ms", "p99_ms")}
    for key in ("write_interval_ms", "server_cpu_ms_per_write", "generator_cpu_ms_per_write",
                "connect_seconds", "server_rss_mib_connected"):
        out[key] = median_of([r[key] for r in rounds])
    for key in ("writes", "observations", "skipped_values", "missed"):
        out[key] = sum(r[key] for r in rounds)
    out["problems"] = dict(sum((Counter(r["problems"]) for r in rounds), Counter()))
    out["rounds"] = rounds
    return out


async def run(args: argparse.Namespace, workdir: Path,
              started: list[SynclineServer]) -> dict[str, Any]:
    async def with_server(name: str, fn: Callable[[SynclineServer], Awaitable[Any]]) -> Any:
        server = SynclineServer(name, workdir)
        started.append(server)
        await asyncio.to_thread(server.start)
        try:
            return await fn(server)
        finally:
            await asyncio.to_thread(server.stop)
            logged = server.log_problems()
            if logged:
                server_logs[name] = dict(logged)

    server_logs: dict[str, dict[str, int]] = {}
    latency: dict[int, list[dict[str, Any]]] = {}
    http_query: list[dict[str, Any]] = []
    memory: dict[str, list[dict[str, Any]]] = {}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)

        async def latency_round(server: SynclineServer) -> None:
            writer = Writer(server.url)
            try:
                await writer.write()  # so the query has a message to return
                result = await measure_http_query(server, args.http_queries)
                http_query.append(result)
                print(f"  HTTP query round trip: {fmt(result)} ms (p50 / p99)", file=sys.stderr)
                for n in args.clients:
                    m = await measure_latency(server, writer, n, args)
                    latency.setdefault(n, []).append(m)
                    problems = sum(m["problems"].values())
                    print(f"  N={n:<5} push {fmt(m['push'])} ms, last subscriber "
                          f"{fmt(m['last_subscriber'])} ms (p50 / p99)"
                          f"{f'  ({problems} PROBLEMS)' if problems else ''}", file=sys.stderr)
            finally:
                await writer.close()
        await with_server(f"latency-{r}", latency_round)

        for variant in args.memory_variants:
            async def memory_round(server: SynclineServer, variant: str = variant) -> None:
                m = await measure_memory(server, variant, args.memory_clients)
                memory.setdefault(variant, []).append(m)
                problems = sum(m["problems"].values())
                print(f"  memory {variant:<18}{m['kib_per_connection'] or 0:.1f} KiB per connection"
                      f"{f'  ({problems} PROBLEMS)' if problems else ''}", file=sys.stderr)
            await with_server(f"memory-{variant}-{r}", memory_round)

    return {
        "latency": {f"n{n}": summarize_latency(rounds) for n, rounds in latency.items()},
        "http_query_baseline": {
            "p50_ms": median_of([m["p50_ms"] for m in http_query]),
            "p99_ms": median_of([m["p99_ms"] for m in http_query]),
            "problems": dict(sum((Counter(m["problems"]) for m in http_query), Counter())),
            "rounds": http_query,
        },
        "server_log_problems": server_logs,
        "memory": {variant: {
            "kib_per_connection": median_of([m["kib_per_connection"] for m in ms_]),
            "rss_before_mib": median_of([m["rss_before_mib"] for m in ms_]),
            "rss_after_mib": median_of([m["rss_after_mib"] for m in ms_]),
            "connections": min(m["connections"] for m in ms_),
            "problems": dict(sum((Counter(m["problems"]) for m in ms_), Counter())),
            "rounds": ms_,
        } for variant, ms_ in memory.items()},
        "machine": {
            "cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "websockets": websockets.__version__,
            "shared_cores": "the load generator (all clients and the writer, one process) "
                            "and the server run on the same cores",
        },
        "settings": {
            "rounds": args.rounds, "clients": args.clients, "writes": args.writes,
            "warmup_writes": WARMUP_WRITES, "interval_ms": args.interval,
            "http_queries": args.http_queries, "memory_clients": args.memory_clients,
            "memory_variants": args.memory_variants,
            "compression": "none" if args.no_compression else "permessage-deflate",
            "generator_loop": args.loop, "durability": "full",
        },
    }


def all_problems(results: dict[str, Any]) -> list[tuple[str, dict[str, int]]]:
    found = [(f"N={row['subscribers']}", row["problems"])
             for row in results["latency"].values()]
    found.append(("HTTP query", results["http_query_baseline"]["problems"]))
    found += [(f"memory {variant}", row["problems"])
              for variant, row in results["memory"].items()]
    found += [(f"server log {name}", counts)
              for name, counts in results["server_log_problems"].items()]
    return [(where, problems) for where, problems in found if problems]


def print_table(results: dict[str, Any]) -> None:
    machine, settings = results["machine"], results["settings"]
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
          f"websockets {machine['websockets']}")
    print(f"  the load generator (every client and the writer, one process, "
          f"{settings['generator_loop']}) and the server share these {machine['cores']} cores")
    print(f"median of {settings['rounds']} rounds; {settings['writes']} writes per N, one every "
          f"{settings['interval_ms']:g} ms (HTTP POST /api/mutation); "
          f"{settings['compression']}")
    print(f"{'subscribers':>11}{'push p50/p99 ms':>18}{'last sub p50/p99':>19}"
          f"{'mutation RTT':>15}{'interval':>10}{'cpu ms/write srv|gen':>22}{'srv busy':>10}"
          f"{'skipped':>9}{'missed':>8}")
    saturated = []
    for row in results["latency"].values():
        cpu = f"{row['server_cpu_ms_per_write']:.1f} | {row['generator_cpu_ms_per_write']:.1f}"
        interval = row["write_interval_ms"] or settings["interval_ms"]
        busy = row["server_cpu_ms_per_write"] / interval
        if busy >= 0.8:
            saturated.append(row["subscribers"])
        print(f"{row['subscribers']:>11}{fmt(row['push']):>18}{fmt(row['last_subscriber']):>19}"
              f"{fmt(row['mutation_round_trip']):>15}{interval:>10.1f}{cpu:>22}"
              f"{busy:>10.0%}{row['skipped_values']:>9}{row['missed']:>8}")
    print("  push: sent -> seen, over every (subscriber, write); last sub: sent -> seen by the "
          "last subscriber, over writes;")
    print("  mutation RTT: the writer's POST /api/mutation round trip; interval: achieved ms "
          "between writes;")
    print("  srv busy: the server's CPU time per write over the interval, as a share of one "
          "core (its event loop is one thread)")
    if saturated:
        print(f"  N={', '.join(map(str, saturated))}: the server was busy >= 80% of one core, so "
              "writes queue behind the previous write's fan-out and these figures include that "
              "queueing (a longer --interval shows the latency without it)")
    base = results["http_query_baseline"]
    print(f"HTTP POST /api/query {QUERY} round trip (sequential, no subscribers): "
          f"{fmt(base)} ms (p50 / p99)")
    for variant, row in results["memory"].items():
        label = {"shared": "all on one query", "distinct": "each on its own query argument",
                 "shared_no_deflate": "all on one query, no permessage-deflate"}[variant]
        print(f"memory per idle subscribed connection, {label}: "
              f"{row['kib_per_connection'] or 0:.1f} KiB ({row['connections']} connections; server "
              f"RSS {row['rss_before_mib']:.0f} -> {row['rss_after_mib']:.0f} MiB)")
    problems = all_problems(results)
    if not problems:
        print("problems: none (no FatalError, QueryFailed, disconnect, failed connect or "
              "request, version gap)")
    for where, counts in problems:
        print(f"PROBLEMS {where}:")
        for message, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            print(f"    {count:>6} x {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 100, 1000], help="subscriber counts, comma-separated")
    parser.add_argument("--writes", type=int, default=50, help="measured writes per N")
    parser.add_argument("--interval", type=float, default=50.0, help="ms between writes")
    parser.add_argument("--http-queries", type=int, default=300,
                        help="sequential HTTP queries for the baseline")
    parser.add_argument("--memory-clients", type=int, default=1000)
    parser.add_argument("--memory-variants", type=lambda s: s.split(","),
                        default=list(MEMORY_VARIANTS),
                        help=f"comma-separated, of {','.join(MEMORY_VARIANTS)} (empty: none)")
    parser.add_argument("--no-compression", action="store_true",
                        help="latency clients do not offer permessage-deflate")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop",
                        help="the load generator's event loop")
    parser.add_argument("--tmp-dir", type=Path, default=None,
                        help="where the databases go (default: the system temp dir)")
    parser.add_argument("--json", type=Path, default=None,
                        help=f"also write the results here (always: {DEFAULT_OUTPUT})")
    args = parser.parse_args()
    args.memory_variants = [v for v in args.memory_variants if v]
    unknown = set(args.memory_variants) - set(MEMORY_VARIANTS)
    if unknown:
        parser.error(f"unknown memory variants: {', '.join(sorted(unknown))}")
    needed = 2 * max([*args.clients, args.memory_clients]) + 256
    if raise_fd_limit(needed) < needed:  # the server inherits the limit
        parser.error(f"the open-files limit is below the {needed} this run needs")

    # SIGTERM unwinds like Ctrl+C, so the servers are stopped and the temp dir removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started: list[SynclineServer] = []
    with benchmark_workdir("syncline-sync-bench-", args.tmp_dir, started) as workdir:
        if args.loop == "uvloop":
            import uvloop
            results = uvloop.run(run(args, workdir, started))
        else:
            results = asyncio.run(run(args, workdir, started))
    report(results, print_table, DEFAULT_OUTPUT, args.json)


if __name__ == "__main__":
    main()
