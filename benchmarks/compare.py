"""Side by side: syncline next to PocketBase and raw SQLite, on loopback, in one run.

One command (`python benchmarks/compare.py`; `--quick` for a short smoke run) starts
PocketBase (`pocketbase serve`, see benchmarks/pocketbase_peer.py) and two
`syncline serve` of benchmarks/apps/compare_bench (one with `--durability normal`,
one with the default `full`), each with a fresh data dir in a temp dir, and measures:

1. creates/s at concurrency 1, 16 and 64: PocketBase's REST create
   (`POST /api/collections/inserts/records`) next to syncline's `inserts:create`
   mutation over the HTTP API (`POST /api/mutation`) and over WebSocket (c sync
   sessions, each sending one `Mutation` at a time; a create counts when its
   successful `MutationResponse` arrives). PocketBase runs SQLite in WAL mode with
   synchronous=NORMAL, so the comparison is with syncline `--durability normal`; the
   syncline rows at `full` (its default: every commit fsynced before it is
   acknowledged) are shown too. Raw SQLite is the ceiling: the same one-row insert
   transactions in this process through one connection (SQLite serializes writers,
   so more connections only add lock waits), at synchronous=NORMAL and FULL, WAL.
2. read latency p50/p99, sequential requests (concurrency 1), on `items` preloaded
   with the same `--items` records on both peers (n = 1..N, never written after):
   - by id: PocketBase `GET /api/collections/items/records/{id}`, syncline `items:get`;
   - 50 newest: `GET .../records?sort=-created&perPage=50&skipTotal=1`, syncline
     `items:newest` (`order("desc").take(50)`);
   "cached" repeats one request (one id; the 50 newest of all), so syncline can answer
   from its query cache and PocketBase re-runs its SQL on warm pages. "uncached" gives
   every request an argument last used N requests ago: by id, the next id of a fixed
   random permutation of the N records; 50 newest, the 50 records with the largest n
   below a bound taken from a random permutation of 51..N+1 (PocketBase
   `filter=n<bound&sort=-n` on its index over n, syncline `items:newest({before})`
   on its `by_n` index). Both peers walk the same permutations; a cache would have
   to hold N entries to answer any of them.
3. realtime fan-out to 100 and 1,000 subscribers: PocketBase realtime (SSE streams,
   each subscribed to the `feed` collection) next to syncline WebSocket sessions
   subscribed to `feed:latest` (the newest `feed` document). A writer creates one
   numbered record over HTTP (REST create / `feed:send` mutation, one keep-alive
   connection); the figure is the time from sending it until every subscriber has
   received it (a subscriber that receives a newer record has observed the older
   too), p50/p99 over `--writes` writes. The next write goes out at the next
   `--interval` tick after every subscriber saw the previous one (or the timeout),
   so writes never queue behind an unfinished fan-out. Reads and fan-out use the
   syncline server at durability normal, PocketBase's.
4. syncline alone: fund transfers (`accounts:transfer`: read two accounts, refuse an
   overdraft, patch both) per second from 50 concurrent HTTP clients over
   `--accounts` accounts, at both durabilities, with
   - no contention: each client moves money only among its own disjoint slice of
     accounts, so no two transactions ever touch the same account;
   - Zipf contention: both accounts drawn from a Zipf distribution over all accounts
     (p(rank k) ~ 1/k^s, drawn again if equal) whose exponent s is solved so that 80%
     of transfers touch at least one of the 10 hottest accounts. "Contention" is that
     share; the measured share (over the requests actually sent) is reported.
   After each measurement the total of all balances is summed (`accounts:total`, a
   page at a time) and compared with what was put in.

Every measurement runs for `--seconds` after `--warmup` seconds of the same load;
each part is repeated `--rounds` times, alternating which peer goes first, and the
tables show the median of the rounds (fan-out: the percentiles over the writes of
all rounds together, so that p99 is not just each round's slowest write; the JSON
keeps every round). The load generator is this
one Python process (uvloop): HTTP load through `http_api.RawConnection`, a minimal
keep-alive client, and the subscribers/WebSocket creates through the minimal
asyncio.Protocol clients of pocketbase_peer.py and syncline_peer.py, because
httpx and the `websockets` library cost this small machine more CPU than the
servers under test. Its CPU time per measurement is reported next to each figure:
near one core (100%) the figure is bounded by the client, not the server. Failed
requests, protocol problems and missed writes are counted and printed, never
dropped.

The goals are reported, never asserted: creates/s >= PocketBase's at every
concurrency; fan-out p99 <= PocketBase's at 100 and 1,000 subscribers; transfers
without contention >= 1,210/s (at syncline's default durability, full); the best
single-document insert rate >= 30% of raw SQLite's at the same durability.

Usage: python benchmarks/compare.py [--rounds 3] [--seconds 3] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
import pocketbase_peer as pb
import syncline_peer as sl
import uvloop
from http_api import (
    ROOT,
    Check,
    MakeRequest,
    Measurement,
    RawConnection,
    Request,
    ServerProcess,
    benchmark_workdir,
    check_envelope,
    cpu_model,
    http_load,
    report,
    sqlite_server,  # the raw SQLite inserts, as in benchmarks/http_api.py
    summarize,
    thread_load,
)
from sync_latency import SynclineServer, median_of, percentile, raise_fd_limit

APP_DIR = Path(__file__).resolve().parent / "apps" / "compare_bench"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "compare.json"
BODY = "hello world, this is a benchmark message"
PAGE = 50
PRELOAD_BATCH = 1000  # syncline preloads this many records per mutation
HOT_ACCOUNTS = 10  # the "few hottest accounts" of the Zipf contention
TARGET_CONTENTION = 0.8
INITIAL_BALANCE = 10_000.0
SUBSCRIBE_CONCURRENCY = 64  # subscriber connections being opened at once
FANOUT_WARMUP_WRITES = 3
SETTLE_TIMEOUT_S = 15.0  # how long every subscriber may take to see a write
CLIENT_BOUND = 0.9  # client CPU share (of one core) above which a figure is client-bound
clock = time.perf_counter
T = TypeVar("T")


# -- the servers -------------------------------------------------------------------------------


@dataclass
class Servers:
    pocketbase: pb.PocketBaseServer
    syncline: dict[str, SynclineServer]  # durability -> server

    def check_alive(self) -> None:
        for server in [self.pocketbase, *self.syncline.values()]:
            if not server.alive():
                raise RuntimeError(f"{server.name} died:\n{server.log_tail()}")


def host_port(server: ServerProcess) -> tuple[str, int]:
    rest = server.url.split("://", 1)[1]
    host, port = rest.rsplit(":", 1)
    return host, int(port)


def start_servers(workdir: Path, binary: str, started: list[ServerProcess],
                        request_logs: bool) -> Servers:
    servers = Servers(pb.PocketBaseServer("pocketbase", workdir, binary), {
        durability: SynclineServer(f"syncline-{durability}", workdir, APP_DIR,
                                   ("--durability", durability))
        for durability in ("normal", "full")})
    for server in [servers.pocketbase, *servers.syncline.values()]:
        started.append(server)  # stopped on exit, however the run ends
        # From this (the main) thread: a server's parent-death signal follows the thread
        # that started it.
        server.start()
    if not request_logs:
        servers.pocketbase.disable_request_logs()
    return servers


# -- measuring ---------------------------------------------------------------------------------


@dataclass
class Cpu:
    """CPU time this process and a server spent during a measurement, per wall second."""

    client: float
    server: float


@dataclass
class Recorder:
    """Every round's figures, under one key per (part, case, system)."""

    measurements: dict[str, list[Measurement]] = field(default_factory=dict)
    cpu: dict[str, list[Cpu]] = field(default_factory=dict)

    def add(self, key: str, m: Measurement, cpu: Cpu | None) -> None:
        self.measurements.setdefault(key, []).append(m)
        if cpu is not None:
            self.cpu.setdefault(key, []).append(cpu)
        failed = sum(m.failures.values())
        bound = " CLIENT-BOUND" if cpu is not None and cpu.client >= CLIENT_BOUND else ""
        load = f"  client cpu {cpu.client:.0%} server cpu {cpu.server:.0%}" if cpu else ""
        print(f"  {key:<42}{m.rate:>10,.0f}/s  p50 {m.percentile_ms(50) or 0:>6.2f} ms  "
              f"p99 {m.percentile_ms(99) or 0:>6.2f} ms{load}{bound}"
              f"{f'  ({failed} FAILED)' if failed else ''}", file=sys.stderr)

    def summary(self, key: str) -> dict[str, Any]:
        out = summarize(self.measurements[key])
        cpus = self.cpu.get(key)
        if cpus:
            out["client_cpu"] = statistics.median(c.client for c in cpus)
            out["server_cpu"] = statistics.median(c.server for c in cpus)
        return out


async def with_cpu(server: ServerProcess | None, work: Awaitable[T]) -> tuple[T, Cpu]:
    """Runs `work`, measuring this process's and the server's CPU share meanwhile."""
    wall, own = clock(), time.process_time()
    srv = server.cpu_seconds() if server is not None else 0.0
    result = await work
    wall = clock() - wall
    srv = (server.cpu_seconds() - srv) if server is not None else 0.0
    return result, Cpu((time.process_time() - own) / wall, srv / wall)


@dataclass
class HttpTarget:
    """One kind of HTTP request to one server."""

    server: ServerProcess
    make: MakeRequest
    check: Check


async def measure_http(target: HttpTarget, concurrency: int, seconds: float,
                       warmup: float) -> tuple[Measurement, Cpu]:
    host, port = host_port(target.server)
    conns: list[Any] = [RawConnection(host, port) for _ in range(concurrency)]
    try:
        warm = await http_load(conns, target.make, target.check, warmup) if warmup > 0 else None
        m, cpu = await with_cpu(target.server,
                                http_load(conns, target.make, target.check, seconds))
    finally:
        for conn in conns:
            await conn.close()
    return with_warmup_failures(m, warm), cpu


def with_warmup_failures(m: Measurement, warm: Measurement | None) -> Measurement:
    """`m`, its failures including the warm-up's (marked so): none is dropped."""
    if warm is not None:
        for problem, count in warm.failures.items():
            m.failures[f"warm-up: {problem}"] += count
    return m


def counter_from(start: int = 1) -> Callable[[], int]:
    numbers = itertools.count(start)
    return lambda: next(numbers)


def alternate(items: list[T], round_index: int) -> list[T]:
    """The order of the peers in a round: as given in even rounds, reversed in odd ones."""
    return items if round_index % 2 == 0 else items[::-1]


# -- part 1: creates ---------------------------------------------------------------------------


async def creates_round(servers: Servers, rec: Recorder, args: argparse.Namespace,
                        r: int, sqlite_dbs: dict[str, str]) -> None:
    number = counter_from()

    def pocketbase_create() -> Request:
        return pb.create("inserts", {"body": BODY, "n": number()})

    def syncline_create() -> Request:
        return sl.call("mutation", "inserts:create", {"n": float(number()), "body": BODY})

    systems: list[tuple[str, Callable[[int], Awaitable[tuple[Measurement, Cpu]]]]] = [
        ("pocketbase", lambda c: measure_http(
            HttpTarget(servers.pocketbase, pocketbase_create, pb.check_record),
            c, args.seconds, args.warmup))]
    for durability, server in servers.syncline.items():
        host, port = host_port(server)
        systems.append((f"syncline_{durability}_http", lambda c, s=server: measure_http(
            HttpTarget(s, syncline_create, check_envelope(True)), c, args.seconds,
            args.warmup)))
        systems.append((f"syncline_{durability}_ws", lambda c, s=server, h=host, p=port: with_cpu(
            s, sl.ws_create_load(h, p, c, args.seconds, args.warmup,
                                 lambda: {"n": float(number()), "body": BODY}))))
    for concurrency in args.concurrency:
        for name, measure in alternate(systems, r):
            servers.check_alive()
            m, cpu = await measure(concurrency)
            rec.add(f"creates/c{concurrency}/{name}", m, cpu)

    for durability in alternate(["normal", "full"], r):
        def insert(conn: sqlite3.Connection) -> str:
            return sqlite_server.insert_item(conn, float(number()), BODY)
        db = sqlite_dbs[durability]
        warm = (await asyncio.to_thread(thread_load, db, insert, 1, args.warmup, durability)
                if args.warmup > 0 else None)
        m = await asyncio.to_thread(thread_load, db, insert, 1, args.seconds, durability)
        rec.add(f"ceiling/sqlite_{durability}", with_warmup_failures(m, warm), None)


def make_sqlite_dbs(workdir: Path) -> dict[str, str]:
    dbs = {}
    for durability in ("normal", "full"):
        path = str(workdir / f"sqlite-{durability}.db")
        conn = sqlite_server.connect(path, durability)
        sqlite_server.create_table(conn)
        conn.close()
        dbs[durability] = path
    return dbs


# -- part 2: reads -----------------------------------------------------------------------------


async def preload_items(servers: Servers, count: int) -> tuple[list[str], list[str]]:
    """`count` items (n = 1..count) on PocketBase and on syncline (normal); their ids by n."""
    host, port = host_port(servers.pocketbase)
    pb_ids: list[str] = [""] * count
    numbers = iter(range(1, count + 1))

    async def pocketbase_worker() -> None:
        conn = RawConnection(host, port)
        try:
            for n in numbers:
                reply = await conn.request(*pb.create("items", {"body": BODY, "n": n}))
                problem = pb.check_record(reply)
                if problem is not None:
                    raise RuntimeError(f"preloading PocketBase failed: {problem}")
                pb_ids[n - 1] = orjson.loads(reply[1])["id"]
        finally:
            await conn.close()

    await asyncio.gather(*(pocketbase_worker() for _ in range(32)))
    server = servers.syncline["normal"]
    conn = RawConnection(*host_port(server))
    sl_ids: list[str] = []
    try:
        for start in range(1, count + 1, PRELOAD_BATCH):
            batch = min(PRELOAD_BATCH, count + 1 - start)
            sl_ids += await setup_call(conn, "preloading syncline", "items:preload", {
                "start": float(start), "count": float(batch), "body": BODY})
    finally:
        await conn.close()
    return pb_ids, sl_ids


async def setup_call(conn: RawConnection, what: str, path: str, args: dict[str, Any]) -> Any:
    """The value of a setup mutation; its failure stops the run, saying `what` failed."""
    reply = await conn.request(*sl.call("mutation", path, args))
    problem = check_envelope(True)(reply)
    if problem is not None:
        raise RuntimeError(f"{what} failed: {problem}")
    return orjson.loads(reply[1])["value"]


def cycle_permutation(values: list[T], seed: int) -> Callable[[], T]:
    """The next value of a fixed random permutation of `values`, round and round."""
    order = list(values)
    random.Random(seed).shuffle(order)
    it = itertools.cycle(order)
    return lambda: next(it)


def page_of_50(value: Any) -> str | None:
    return None if len(value) == PAGE else f"a page of {len(value)} records, not {PAGE}"


def read_targets(servers: Servers, pb_ids: list[str],
                 sl_ids: list[str]) -> dict[str, dict[str, HttpTarget]]:
    """operation -> peer -> target; the uncached ones walk the same permutations."""
    count = len(pb_ids)
    pb_index, sl_index = (cycle_permutation(list(range(count)), 1) for _ in range(2))
    pb_bound, sl_bound = (cycle_permutation(list(range(PAGE + 1, count + 2)), 2)
                          for _ in range(2))
    fixed = count // 2
    syncline = servers.syncline["normal"]
    record = check_envelope(True)
    page = check_envelope(True, page_of_50)
    return {
        "by_id_uncached": {
            "pocketbase": HttpTarget(servers.pocketbase, lambda: pb.get(pb_ids[pb_index()]),
                                     pb.check_record),
            "syncline": HttpTarget(syncline, lambda: sl.call(
                "query", "items:get", {"id": sl_ids[sl_index()]}), record)},
        "by_id_cached": {
            "pocketbase": HttpTarget(servers.pocketbase, lambda: pb.get(pb_ids[fixed]),
                                     pb.check_record),
            "syncline": HttpTarget(syncline, lambda: sl.call(
                "query", "items:get", {"id": sl_ids[fixed]}), record)},
        "newest50_uncached": {
            "pocketbase": HttpTarget(servers.pocketbase, lambda: pb.newest(pb_bound()),
                                     pb.check_page),
            "syncline": HttpTarget(syncline, lambda: sl.call(
                "query", "items:newest", {"before": float(sl_bound())}), page)},
        "newest50_cached": {
            "pocketbase": HttpTarget(servers.pocketbase, lambda: pb.newest(None),
                                     pb.check_page),
            "syncline": HttpTarget(syncline, lambda: sl.call("query", "items:newest", {}),
                                   page)},
    }


async def reads_round(servers: Servers, rec: Recorder, args: argparse.Namespace, r: int,
                      targets: dict[str, dict[str, HttpTarget]]) -> None:
    for operation, peers in targets.items():
        for name in alternate(["pocketbase", "syncline"], r):
            servers.check_alive()
            m, cpu = await measure_http(peers[name], 1, args.seconds, args.warmup)
            rec.add(f"reads/{operation}/{name}", m, cpu)


# -- part 3: fan-out ---------------------------------------------------------------------------


class FanoutTracker:
    """Folds what the subscribers receive, as it arrives, into: for each write (seq), how
    many subscribers have observed it and when the last of them did."""

    def __init__(self, first_seq: int) -> None:
        self.first = first_seq  # writes before this one are not this measurement's
        self.expected = 0  # subscribers connected
        self.count: dict[int, int] = {}
        self.last: dict[int, float] = {}
        self.skipped = 0  # values a subscriber never got because a newer one came first
        self.problems: Counter[str] = Counter()
        self.waiters: dict[int, asyncio.Future[None]] = {}

    def on_seq(self, sub: Any, seq: int, now: float) -> None:
        previous = sub.latest
        if seq <= previous:
            if seq < previous:
                self.problems["a subscriber got a value older than one it had"] += 1
            return
        sub.latest = seq
        low = max(previous + 1, self.first)
        self.skipped += max(0, seq - low)
        for w in range(low, seq + 1):
            seen = self.count.get(w, 0) + 1
            self.count[w] = seen
            self.last[w] = now
            if seen >= self.expected and w in self.waiters:
                waiter = self.waiters.pop(w)
                if not waiter.done():
                    waiter.set_result(None)

    async def all_seen(self, seq: int, timeout: float) -> bool:
        if self.count.get(seq, 0) >= self.expected:
            return True
        waiter = self.waiters[seq] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(waiter, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self.waiters.pop(seq, None)


@dataclass
class FanoutPeer:
    """How to subscribe to one peer's feed and write to it."""

    server: ServerProcess
    subscribe: Callable[[FanoutTracker, RawConnection], Awaitable[Any]]
    write: Callable[[int], Request]
    check: Check
    seq: int = 0  # the last write's number; the feed keeps growing across measurements


def fanout_peers(servers: Servers) -> dict[str, FanoutPeer]:
    pb_host, pb_port = host_port(servers.pocketbase)
    syncline = servers.syncline["normal"]
    sl_host, sl_port = host_port(syncline)

    async def pocketbase_subscriber(tracker: FanoutTracker, conn: RawConnection) -> Any:
        sub = pb.SseSubscriber("feed", tracker.on_seq)
        try:
            client_id = await sub.connect(pb_host, pb_port)
            status, content = await conn.request(*pb.subscribe_request(client_id, "feed"))
            if status != 204:
                raise ConnectionError(f"subscribing answered HTTP {status}: {content[:100]!r}")
        except BaseException:
            await sub.close()
            raise
        return sub

    async def syncline_subscriber(tracker: FanoutTracker, conn: RawConnection) -> Any:
        sub = sl.SyncSubscriber("feed:latest", tracker.on_seq)
        try:
            await sub.subscribe(sl_host, sl_port)
        except BaseException:
            await sub.close()
            raise
        return sub

    return {
        "pocketbase": FanoutPeer(
            servers.pocketbase, pocketbase_subscriber,
            lambda seq: pb.create("feed", {"body": BODY, "seq": seq}), pb.check_record),
        "syncline": FanoutPeer(
            syncline, syncline_subscriber,
            lambda seq: sl.call("mutation", "feed:send", {"seq": float(seq), "body": BODY}),
            check_envelope(True)),
    }


async def open_subscribers(peer: FanoutPeer, tracker: FanoutTracker,
                           count: int) -> tuple[list[Any], Counter[str]]:
    """`count` subscribers, SUBSCRIBE_CONCURRENCY at a time; failures counted."""
    host, port = host_port(peer.server)
    pool: asyncio.Queue[RawConnection] = asyncio.Queue()
    for _ in range(SUBSCRIBE_CONCURRENCY):
        pool.put_nowait(RawConnection(host, port))
    problems: Counter[str] = Counter()

    async def one() -> Any:
        conn = await pool.get()
        try:
            return await peer.subscribe(tracker, conn)
        except (OSError, TimeoutError, ValueError, EOFError) as e:
            problems[f"subscribe failed: {type(e).__name__}: {str(e)[:100]}"] += 1
            return None
        finally:
            pool.put_nowait(conn)

    subs = await asyncio.gather(*(one() for _ in range(count)))
    while not pool.empty():
        await pool.get_nowait().close()
    return [s for s in subs if s is not None], problems


async def measure_fanout(peer: FanoutPeer, subscribers: int,
                         args: argparse.Namespace) -> dict[str, Any]:
    tracker = FanoutTracker(peer.seq + 1)
    opened = clock()
    subs, problems = await open_subscribers(peer, tracker, subscribers)
    opened = clock() - opened
    tracker.expected = len(subs)
    writer = RawConnection(*host_port(peer.server))
    all_seen: list[float] = []
    missed = 0

    async def write() -> tuple[int, float | None]:
        peer.seq += 1
        seq = peer.seq
        sent = clock()
        try:
            problem = peer.check(await writer.request(*peer.write(seq)))
        except (OSError, EOFError, ValueError) as e:
            problem = f"{type(e).__name__}: {str(e)[:120]}"
        if problem is not None:
            problems[f"write failed: {problem}"] += 1
            return seq, None
        return seq, sent

    try:
        if not subs:
            raise RuntimeError(f"no {subscribers} subscribers could connect to "
                               f"{peer.server.name}: {dict(problems)}")
        for _ in range(FANOUT_WARMUP_WRITES):
            seq, _sent = await write()
            if not await tracker.all_seen(seq, SETTLE_TIMEOUT_S):
                problems["a warm-up write was not seen by every subscriber"] += 1
        wall, own, srv = clock(), time.process_time(), peer.server.cpu_seconds()
        start = clock()
        for i in range(args.writes):
            delay = start + i * args.interval / 1000 - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            seq, sent = await write()
            if sent is None:
                continue
            if await tracker.all_seen(seq, SETTLE_TIMEOUT_S):
                all_seen.append(tracker.last[seq] - sent)
            else:
                missed += 1
        wall = clock() - wall
        own, srv = time.process_time() - own, peer.server.cpu_seconds() - srv
    finally:
        await writer.close()
        for sub in subs:
            await sub.close()
    for sub in subs:
        problems.update(sub.problems)
    problems.update(tracker.problems)
    if missed:
        problems[f"writes not seen by every subscriber within {SETTLE_TIMEOUT_S:g} s"] += missed
    p50, p99 = percentile(all_seen, 50), percentile(all_seen, 99)
    writes = max(1, args.writes)
    return {
        "subscribers": len(subs), "requested": subscribers, "writes": len(all_seen),
        "missed": missed, "skipped_values": tracker.skipped,
        "p50_ms": None if p50 is None else p50 * 1000,
        "p99_ms": None if p99 is None else p99 * 1000,
        "all_seen_ms": [round(x * 1000, 2) for x in all_seen],
        "client_cpu_ms_per_write": own / writes * 1000,
        "server_cpu_ms_per_write": srv / writes * 1000,
        "client_cpu": own / wall, "server_cpu": srv / wall,
        "connect_seconds": opened,
        "problems": dict(problems),
    }


async def fanout_round(servers: Servers, peers: dict[str, FanoutPeer],
                       results: dict[str, list[dict[str, Any]]], args: argparse.Namespace,
                       r: int) -> None:
    for count in args.subscribers:
        for name in alternate(["pocketbase", "syncline"], r):
            servers.check_alive()
            m = await measure_fanout(peers[name], count, args)
            results.setdefault(f"fanout/{count}/{name}", []).append(m)
            problems = sum(m["problems"].values())
            bound = " CLIENT-BOUND" if m["client_cpu"] >= CLIENT_BOUND else ""
            print(f"  {f'fanout/{count}/{name}':<42}all seen p50 {m['p50_ms'] or 0:>6.1f} ms "
                  f"p99 {m['p99_ms'] or 0:>6.1f} ms  cpu ms/write client "
                  f"{m['client_cpu_ms_per_write']:.1f} server {m['server_cpu_ms_per_write']:.1f}"
                  f"{bound}{f'  ({problems} PROBLEMS)' if problems else ''}", file=sys.stderr)


# -- part 4: fund transfers --------------------------------------------------------------------


def zipf_exponent(accounts: int, hot: int, target: float) -> float:
    """The s for which a transfer (two distinct accounts, each drawn with p ~ 1/rank^s)
    touches one of the `hot` first ranks with probability `target`."""
    ranks = np.arange(1, accounts + 1, dtype=float)

    def touch(s: float) -> float:
        p = ranks ** -s
        p /= p.sum()
        cold = p[hot:]
        same = float((p * p).sum())  # drawing the same account twice: drawn again
        neither = (float(cold.sum()) ** 2 - float((cold * cold).sum())) / (1 - same)
        return 1 - neither

    low, high = 0.0, 4.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if touch(mid) < target else (low, mid)
    return (low + high) / 2


async def seed_accounts(server: SynclineServer, count: int) -> list[str]:
    conn = RawConnection(*host_port(server))
    ids: list[str] = []
    try:
        while len(ids) < count:
            batch = min(PRELOAD_BATCH, count - len(ids))
            ids += await setup_call(conn, "opening accounts", "accounts:seed", {
                "count": float(batch), "balance": INITIAL_BALANCE})
    finally:
        await conn.close()
    return ids


async def total_balance(server: SynclineServer) -> tuple[float, int]:
    """(sum of balances, number of accounts), read a page at a time."""
    conn = RawConnection(*host_port(server))
    check = check_envelope(True)
    total, count, cursor = 0.0, 0, None
    try:
        while True:
            reply = await conn.request(*sl.call("query", "accounts:total", {"cursor": cursor}))
            problem = check(reply)
            if problem is not None:
                raise RuntimeError(f"summing the balances failed: {problem}")
            page = orjson.loads(reply[1])["value"]
            total += page["sum"]
            count += page["count"]
            cursor = page["cursor"]
            if page["isDone"]:
                return total, count
    finally:
        await conn.close()


class TransferLoad:
    """The requests of one transfer measurement, and what they were."""

    def __init__(self, ids: list[str], clients: int, zipf_s: float | None,
                 rng: random.Random) -> None:
        self.ids, self.rng = ids, rng
        self.sent = self.hot = self.refused = 0
        if zipf_s is None:
            size = len(ids) // clients
            self.slices = [list(range(k * size, (k + 1) * size)) for k in range(clients)]
            self.cum: list[float] | None = None
        else:
            weights = np.arange(1, len(ids) + 1, dtype=float) ** -zipf_s
            self.cum = list(np.cumsum(weights))
        self.population = range(len(ids))
        self.check = check_envelope(True, self._count_refusal)

    def maker(self, client: int) -> MakeRequest:
        def make() -> Request:
            if self.cum is None:
                src, dst = self.rng.sample(self.slices[client], 2)
            else:
                src = dst = 0
                while src == dst:
                    src, dst = self.rng.choices(self.population, cum_weights=self.cum, k=2)
            self.sent += 1
            # Without contention the hottest ranks are one client's own: no contention.
            self.hot += self.cum is not None and (src < HOT_ACCOUNTS or dst < HOT_ACCOUNTS)
            return sl.call("mutation", "accounts:transfer", {
                "source": self.ids[src], "target": self.ids[dst],
                "amount": float(self.rng.randint(1, 10))})
        return make

    def _count_refusal(self, value: Any) -> None:
        if value is False:  # an overdraft, refused: a committed transaction all the same
            self.refused += 1


async def measure_transfers(server: SynclineServer, ids: list[str], zipf_s: float | None,
                            args: argparse.Namespace,
                            rng: random.Random) -> tuple[Measurement, Cpu, dict[str, Any]]:
    host, port = host_port(server)
    clients = args.transfer_clients
    conns = [RawConnection(host, port) for _ in range(clients)]
    load = TransferLoad(ids, clients, zipf_s, rng)
    makers = [load.maker(k) for k in range(clients)]

    async def run(seconds: float) -> Measurement:
        parts = await asyncio.gather(*(
            http_load([conn], make, load.check, seconds) for conn, make in zip(conns, makers, strict=True)))
        return Measurement(sum(p.ok for p in parts), max(p.seconds for p in parts),
                           [x for p in parts for x in p.latencies],
                           sum((p.failures for p in parts), Counter()))
    try:
        warm = await run(args.warmup) if args.warmup > 0 else None
        load.sent = load.hot = load.refused = 0
        m, cpu = await with_cpu(server, run(args.seconds))
    finally:
        for conn in conns:
            await conn.close()
    m = with_warmup_failures(m, warm)
    total, count = await total_balance(server)
    expected = INITIAL_BALANCE * len(ids)
    extra = {"contention_measured": load.hot / load.sent if load.sent else None,
             "refused": load.refused, "total_balance": total, "accounts": count,
             "expected_balance": expected, "balance_ok": total == expected and count == len(ids)}
    if not extra["balance_ok"]:
        m.failures[f"total balance {total:,.0f} over {count} accounts, expected "
                   f"{expected:,.0f} over {len(ids)}"] += 1
    return m, cpu, extra


async def transfers_round(servers: Servers, rec: Recorder, extras: dict[str, list[dict]],
                          accounts: dict[str, list[str]], zipf_s: float,
                          args: argparse.Namespace, r: int) -> None:
    rng = random.Random(1000 + r)
    for durability in alternate(["full", "normal"], r):
        for contention, s in (("none", None), ("zipf", zipf_s)):
            servers.check_alive()
            m, cpu, extra = await measure_transfers(servers.syncline[durability],
                                                    accounts[durability], s, args, rng)
            key = f"transfers/{contention}/syncline_{durability}"
            rec.add(key, m, cpu)
            extras.setdefault(key, []).append(extra)
            print(f"    contention {extra['contention_measured'] or 0:.0%}, refused "
                  f"{extra['refused']}, total balance "
                  f"{'ok' if extra['balance_ok'] else 'WRONG'}", file=sys.stderr)


# -- the run -----------------------------------------------------------------------------------


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        rev = ""
    return rev or "unknown"


async def run(args: argparse.Namespace, workdir: Path, binary: str,
              started: list[ServerProcess]) -> dict[str, Any]:
    began, revision = clock(), git_revision()  # the code the servers start with
    # SIGTERM cancels the run, like Ctrl+C, so the servers are stopped and the temp dir
    # removed (a handler raising inside an event-loop callback would not unwind cleanly).
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    print("starting PocketBase and syncline (durability normal and full)", file=sys.stderr)
    servers = start_servers(workdir, binary, started, args.pocketbase_request_logs)
    print(f"preloading {args.items} items on both, {args.accounts} accounts per syncline",
          file=sys.stderr)
    pb_ids, sl_ids = await preload_items(servers, args.items)
    accounts = {d: await seed_accounts(s, args.accounts) for d, s in servers.syncline.items()}
    zipf_s = zipf_exponent(args.accounts, HOT_ACCOUNTS, TARGET_CONTENTION)
    sqlite_dbs = make_sqlite_dbs(workdir)
    targets = read_targets(servers, pb_ids, sl_ids)
    peers = fanout_peers(servers)

    rec = Recorder()
    fanout: dict[str, list[dict[str, Any]]] = {}
    transfer_extras: dict[str, list[dict[str, Any]]] = {}
    for r in range(args.rounds):
        first = "syncline" if r % 2 else "PocketBase"
        print(f"round {r + 1}/{args.rounds} ({first} first)", file=sys.stderr)
        await creates_round(servers, rec, args, r, sqlite_dbs)
        await reads_round(servers, rec, args, r, targets)
        await fanout_round(servers, peers, fanout, args, r)
        await transfers_round(servers, rec, transfer_extras, accounts, zipf_s, args, r)

    logs = {s.name: dict(problems) for s in servers.syncline.values()
            if (problems := s.log_problems())}
    results = build_results(args, rec, fanout, transfer_extras, zipf_s, binary, logs,
                            clock() - began)
    results["machine"]["syncline_revision"] = revision
    return results


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def build_results(args: argparse.Namespace, rec: Recorder, fanout: dict[str, list[dict]],
                  transfer_extras: dict[str, list[dict]], zipf_s: float, binary: str,
                  server_logs: dict[str, dict[str, int]], elapsed: float) -> dict[str, Any]:
    creates: dict[str, Any] = {}
    for c in args.concurrency:
        row = {key.rsplit("/", 1)[1]: rec.summary(key) for key in rec.measurements
               if key.startswith(f"creates/c{c}/")}
        creates[f"c{c}"] = row
    sqlite_ceiling = {d: rec.summary(f"ceiling/sqlite_{d}") for d in ("normal", "full")}
    creates_ratios = {
        c: {f"{name}_vs_pocketbase": ratio(row[name]["ops_per_s"], row["pocketbase"]["ops_per_s"])
            for name in row if name != "pocketbase"}
        for c, row in creates.items()}
    best = {d: max(row[f"syncline_{d}_{t}"]["ops_per_s"] for row in creates.values()
                   for t in ("http", "ws")) for d in ("normal", "full")}

    reads = {op: {peer: rec.summary(f"reads/{op}/{peer}") for peer in ("pocketbase", "syncline")}
             for op in ("by_id_uncached", "by_id_cached", "newest50_uncached", "newest50_cached")}

    fan: dict[str, Any] = {}
    for count in args.subscribers:
        fan[f"n{count}"] = {}
        for peer in ("pocketbase", "syncline"):
            rounds = fanout[f"fanout/{count}/{peer}"]
            pooled = [x for m in rounds for x in m["all_seen_ms"]]
            fan[f"n{count}"][peer] = {
                "p50_ms": percentile(pooled, 50),
                "p99_ms": percentile(pooled, 99),
                "rounds_p99_ms": [m["p99_ms"] for m in rounds],
                "subscribers": min(m["subscribers"] for m in rounds),
                "requested": count,
                "writes": sum(m["writes"] for m in rounds),
                "missed": sum(m["missed"] for m in rounds),
                "skipped_values": sum(m["skipped_values"] for m in rounds),
                "client_cpu_ms_per_write": median_of(
                    [m["client_cpu_ms_per_write"] for m in rounds]),
                "server_cpu_ms_per_write": median_of(
                    [m["server_cpu_ms_per_write"] for m in rounds]),
                "client_cpu": median_of([m["client_cpu"] for m in rounds]),
                "problems": dict(sum((Counter(m["problems"]) for m in rounds), Counter())),
                "rounds": rounds,
            }

    transfers: dict[str, Any] = {}
    for key, extras in transfer_extras.items():
        _, contention, system = key.split("/")
        transfers.setdefault(system, {})[contention] = {
            **rec.summary(key),
            "contention_measured": median_of([e["contention_measured"] for e in extras]),
            "refused": sum(e["refused"] for e in extras),
            "balance_checks": extras,
            "balance_ok": all(e["balance_ok"] for e in extras),
        }

    goals = evaluate_goals(args, creates, fan, transfers, sqlite_ceiling, best)
    return {
        "creates": creates, "creates_ratios": creates_ratios,
        "sqlite_ceiling": sqlite_ceiling,
        "syncline_best_creates": best,
        "reads": reads, "fanout": fan, "transfers": transfers, "goals": goals,
        "server_log_problems": server_logs,
        "machine": {
            "cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "sqlite": sqlite3.sqlite_version,
            "pocketbase": pb.pocketbase_version(binary),
            "shared_cores": "the load generator (one process) and every server share these "
                            "cores",
        },
        "settings": {
            "rounds": args.rounds, "seconds": args.seconds, "warmup": args.warmup,
            "concurrency": args.concurrency, "items": args.items, "accounts": args.accounts,
            "subscribers": args.subscribers, "writes": args.writes,
            "interval_ms": args.interval, "transfer_clients": args.transfer_clients,
            "zipf_exponent": zipf_s, "hot_accounts": HOT_ACCOUNTS,
            "target_contention": TARGET_CONTENTION,
            "pocketbase_request_logs": args.pocketbase_request_logs,
            "elapsed_seconds": elapsed, "quick": args.quick,
        },
    }


def evaluate_goals(args: argparse.Namespace, creates: dict[str, Any], fan: dict[str, Any],
                   transfers: dict[str, Any], ceiling: dict[str, Any],
                   best: dict[str, float]) -> list[dict[str, Any]]:
    goals = []
    for transport in ("http", "ws"):
        detail = {c: ratio(row[f"syncline_normal_{transport}"]["ops_per_s"],
                           row["pocketbase"]["ops_per_s"]) for c, row in creates.items()}
        goals.append({
            "goal": f"creates/s >= PocketBase's at every concurrency "
                    f"(syncline {transport.upper()}, durability normal)",
            "met": all(x is not None and x >= 1 for x in detail.values()),
            "detail": {c: f"{x:.2f}x" if x is not None else "-" for c, x in detail.items()}})
    detail = {n: (row["syncline"]["p99_ms"], row["pocketbase"]["p99_ms"])
              for n, row in fan.items()}
    goals.append({
        "goal": "fan-out p99 <= PocketBase's at " + " and ".join(
            f"{n:,}" for n in args.subscribers) + " subscribers",
        "met": all(a is not None and b is not None and a <= b for a, b in detail.values()),
        "detail": {n: f"{a or 0:.1f} vs {b or 0:.1f} ms" for n, (a, b) in detail.items()}})
    none_full = transfers.get("syncline_full", {}).get("none", {}).get("ops_per_s")
    goals.append({
        "goal": "transfers without contention >= 1,210/s (durability full, the default)",
        "met": none_full is not None and none_full >= 1210,
        "detail": {"transfers_per_s": round(none_full or 0)}})
    for durability in ("normal", "full"):
        share = ratio(best[durability], ceiling[durability]["ops_per_s"])
        goals.append({
            "goal": f"best single-document insert rate >= 30% of raw SQLite's "
                    f"(durability {durability})",
            "met": share is not None and share >= 0.3,
            "detail": {"syncline_best": round(best[durability]),
                       "raw_sqlite": round(ceiling[durability]["ops_per_s"]),
                       "share": f"{share or 0:.0%}"}})
    return goals


# -- the table ---------------------------------------------------------------------------------


def cpu_mark(figures: dict[str, Any]) -> str:
    return "*" if (figures.get("client_cpu") or 0) >= CLIENT_BOUND else " "


def ms_pair(figures: dict[str, Any], digits: int = 2) -> str:
    if figures.get("p50_ms") is None or figures.get("p99_ms") is None:
        return "-"
    return f"{figures['p50_ms']:.{digits}f} / {figures['p99_ms']:.{digits}f}"


def times(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def print_table(results: dict[str, Any]) -> None:
    machine, settings = results["machine"], results["settings"]
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
          f"SQLite {machine['sqlite']}, PocketBase {machine['pocketbase']}, syncline "
          f"{machine['syncline_revision']}")
    print(f"median of {settings['rounds']} rounds of {settings['seconds']:g} s after a "
          f"{settings['warmup']:g} s warm-up, peers alternating first; the load generator "
          f"shares the cores (* = it used >= {CLIENT_BOUND:.0%} of a core: client-bound)")

    creates = results["creates"]
    columns = list(creates)
    label_width = 36
    print(f"\n{'creates/s':<{label_width}}" + "".join(
        f"{c.replace('c', 'c='):>12} " for c in columns) + "  p50 / p99 ms at c=1")
    rows = [("PocketBase REST", "pocketbase"),
            ("syncline HTTP, durability normal", "syncline_normal_http"),
            ("syncline WS, durability normal", "syncline_normal_ws"),
            ("syncline HTTP, durability full", "syncline_full_http"),
            ("syncline WS, durability full", "syncline_full_ws")]
    for label, name in rows:
        print(f"  {label:<{label_width - 2}}" + "".join(
            f"{creates[c][name]['ops_per_s']:>12,.0f}{cpu_mark(creates[c][name])}"
            for c in columns) + f"  {ms_pair(creates[columns[0]][name])}")
        if name in ("syncline_normal_http", "syncline_normal_ws"):
            print(f"    {'/ PocketBase':<{label_width - 4}}" + "".join(
                f"{times(results['creates_ratios'][c][f'{name}_vs_pocketbase']):>12} "
                for c in columns))
    ceiling, best = results["sqlite_ceiling"], results["syncline_best_creates"]
    for d in ("normal", "full"):
        print(f"  raw SQLite in-process (1 connection, WAL, synchronous={d.upper()}): "
              f"{ceiling[d]['ops_per_s']:,.0f}/s; syncline's best at {d}: "
              f"{best[d]:,.0f}/s = {ratio(best[d], ceiling[d]['ops_per_s']) or 0:.0%} of it")

    print(f"\n{'read latency, one at a time':<{label_width}}{'PocketBase':>16}{'syncline':>18}"
          f"{'syncline / PocketBase':>24}{'requests/s':>20}")
    print(f"{'':<{label_width}}{'p50 / p99 ms':>16}{'p50 / p99 ms':>18}{'p50':>12}{'p99':>12}"
          f"{'PB | syncline':>20}")
    labels = {"by_id_uncached": "by id, uncached", "by_id_cached": "by id, cached",
              "newest50_uncached": "50 newest, uncached", "newest50_cached": "50 newest, cached"}
    for op, row in results["reads"].items():
        a, b = row["pocketbase"], row["syncline"]
        print(f"  {labels[op]:<{label_width - 2}}{ms_pair(a):>15}{cpu_mark(a)}"
              f"{ms_pair(b):>17}{cpu_mark(b)}{times(ratio(b['p50_ms'], a['p50_ms'])):>12}"
              f"{times(ratio(b['p99_ms'], a['p99_ms'])):>12}"
              f"{a['ops_per_s']:>12,.0f} | {b['ops_per_s']:,.0f}")

    print(f"\n{'fan-out: write -> all subscribers':<{label_width}}{'PocketBase':>16}"
          f"{'syncline':>18}{'syncline / PB':>15}{'server cpu ms/write':>22}"
          f"{'client cpu ms/write':>22}")
    print(f"{'':<{label_width}}{'p50 / p99 ms':>16}{'p50 / p99 ms':>18}{'p99':>15}"
          f"{'PB | syncline':>22}{'PB | syncline':>22}")
    for key, row in results["fanout"].items():
        a, b = row["pocketbase"], row["syncline"]
        label = f"{int(key[1:]):,} subscribers"
        if a["subscribers"] != a["requested"] or b["subscribers"] != b["requested"]:
            label += f" ({a['subscribers']} | {b['subscribers']} connected)"
        print(f"  {label:<{label_width - 2}}{ms_pair(a, 1):>15}{cpu_mark(a)}"
              f"{ms_pair(b, 1):>17}{cpu_mark(b)}{times(ratio(b['p99_ms'], a['p99_ms'])):>15}"
              f"{a['server_cpu_ms_per_write']:>13.1f} | {b['server_cpu_ms_per_write']:<6.1f}"
              f"{a['client_cpu_ms_per_write']:>13.1f} | {b['client_cpu_ms_per_write']:.1f}")
    writes = results["fanout"][next(iter(results["fanout"]))]["pocketbase"]["writes"]
    print(f"  over {writes} writes ({settings['writes']} a round), each sent at the next "
          f"{settings['interval_ms']:g} ms tick after every subscriber had the previous one; "
          "PocketBase realtime SSE vs syncline WebSocket query subscriptions")

    print(f"\n{'fund transfers, syncline alone':<{label_width}}{'tx/s':>10}{'p50 / p99 ms':>18}"
          f"{'contention':>12}{'refused':>9}{'balance':>9}")
    for system, by_contention in results["transfers"].items():
        for contention, f in by_contention.items():
            label = (f"durability {system.removeprefix('syncline_')}, "
                     f"{'no contention' if contention == 'none' else 'Zipf'}")
            print(f"  {label:<{label_width - 2}}{f['ops_per_s']:>9,.0f}{cpu_mark(f)}"
                  f"{ms_pair(f, 1):>18}{f['contention_measured'] or 0:>12.0%}"
                  f"{f['refused']:>9}{'ok' if f['balance_ok'] else 'WRONG':>9}")
    print(f"  {settings['transfer_clients']} HTTP clients, {settings['accounts']:,} accounts; "
          f"contention = share of transfers touching one of the {settings['hot_accounts']} "
          f"hottest accounts (Zipf exponent {settings['zipf_exponent']:.3f}, target "
          f"{settings['target_contention']:.0%}); refused = overdrafts; balance = the total "
          "after each measurement")

    print("\ngoals (reported, not asserted):")
    for goal in results["goals"]:
        detail = ", ".join(f"{k}: {v}" for k, v in goal["detail"].items())
        print(f"  [{'MET' if goal['met'] else 'NOT MET'}] {goal['goal']} ({detail})")

    failures = []
    for section in ("creates", "reads"):
        for case, row in results[section].items():
            for name, f in row.items():
                if f["failed"]:
                    failures.append((f"{section} {case} {name}", f["failed"], f["failures"]))
    for name, f in results["sqlite_ceiling"].items():
        if f["failed"]:
            failures.append((f"raw SQLite {name}", f["failed"], f["failures"]))
    for system, by_contention in results["transfers"].items():
        for contention, f in by_contention.items():
            if f["failed"]:
                failures.append((f"transfers {contention} {system}", f["failed"],
                                 f["failures"]))
    for key, row in results["fanout"].items():
        for name, f in row.items():
            if f["problems"]:
                failures.append((f"fan-out {key} {name}", sum(f["problems"].values()),
                                 f["problems"]))
    for name, counts in results["server_log_problems"].items():
        failures.append((f"server log {name}", sum(counts.values()), counts))
    if not failures:
        print("failures: none (every request succeeded, every write reached every "
              "subscriber, the balances add up)")
    for where, count, messages in failures:
        print(f"FAILED {where}: {count}")
        for message, n in sorted(messages.items(), key=lambda kv: -kv[1])[:8]:
            print(f"    {n:>6} x {message}")
    print(f"(run took {settings['elapsed_seconds'] / 60:.1f} min)")


# -- main --------------------------------------------------------------------------------------


def int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--warmup", type=float, default=0.5,
                        help="seconds of the same load before each measurement")
    parser.add_argument("--quick", action="store_true",
                        help="a short smoke run: 1 round, 1 s measurements, fewer records "
                             "and writes")
    parser.add_argument("--concurrency", type=int_list, default=[1, 16, 64],
                        help="create concurrencies, comma-separated")
    parser.add_argument("--items", type=int, default=10_000, help="records preloaded for reads")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--transfer-clients", type=int, default=50)
    parser.add_argument("--subscribers", type=int_list, default=[100, 1000],
                        help="fan-out subscriber counts, comma-separated")
    parser.add_argument("--writes", type=int, default=100, help="fan-out writes per round")
    parser.add_argument("--interval", type=float, default=100.0,
                        help="fan-out: ms between writes (at least)")
    parser.add_argument("--pocketbase-request-logs", choices=["on", "off"], default="on",
                        help="PocketBase writes a log row per request by default (on); off "
                             "sets its logs max days to 0")
    parser.add_argument("--tmp-dir", type=Path, default=None,
                        help="where the data dirs go (default: the system temp dir)")
    parser.add_argument("--json", type=Path, default=DEFAULT_OUTPUT,
                        help=f"where the results go (default: {DEFAULT_OUTPUT})")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warmup = 1, 1.0, 0.2
        args.items, args.accounts, args.writes = 2_000, 2_000, 10
    args.pocketbase_request_logs = args.pocketbase_request_logs == "on"
    if args.accounts < 2 * args.transfer_clients or args.items < PAGE + 1:
        parser.error("--accounts must give each transfer client two accounts, and --items "
                     f"be over {PAGE}")
    binary = pb.pocketbase_binary()  # exits with the install hint if missing
    needed = 2 * max(args.subscribers) + 512
    if raise_fd_limit(needed) < needed:  # the servers inherit the limit
        parser.error(f"the open-files limit is below the {needed} this run needs")

    # Before and after the event loop, SIGTERM unwinds like Ctrl+C; during it, it cancels
    # the run (see run()). Either way the servers are stopped and the temp dir removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started: list[ServerProcess] = []
    with benchmark_workdir("syncline-compare-", args.tmp_dir, started) as workdir:
        try:
            results = uvloop.run(run(args, workdir, binary, started))
        except asyncio.CancelledError:
            print("terminated; servers stopped", file=sys.stderr)
            sys.exit(143)
    report(results, print_table, args.json)


if __name__ == "__main__":
    main()
