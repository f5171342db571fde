"""HTTP API benchmark: syncline's mutations/s and queries/s over HTTP next to SQLite, in one run.

Three systems do the same work (insert one small document in its own durable
transaction; read one document by id), at concurrency 1 and 32:

- syncline: `syncline serve` (production mode, default durability = SQLite
  synchronous=FULL) of benchmarks/apps/http_bench/convex in a subprocess, called
  through `POST /api/mutation` (`items:insert`) and `POST /api/query` (`items:get`);
- sqlite-http: benchmarks/apps/http_bench/sqlite_server.py in a subprocess, a
  hand-written Starlette endpoint on the same server stack (uvicorn + httptools + uvloop,
  one process, like `syncline serve`; `--baseline-loop asyncio` for asyncio's own loop)
  doing the same SQLite work in a thread pool: what syncline adds
  over "hand-written endpoint on SQLite";
- sqlite-inproc: the same SQLite calls (WAL, synchronous=FULL, one transaction per
  insert, point read by primary key) in this process, 1 or 32 threads, each thread
  with its own connection: the floor cost of the storage work itself.

The HTTP load generator runs N workers, one keep-alive HTTP/1.1 connection each,
for a fixed duration after a warm-up. By default it is a minimal client on asyncio
streams (`--client raw`): on a small machine `httpx.AsyncClient` costs several
times more CPU per request than the servers under test, so it would cap every
HTTP figure (`--client httpx` uses one AsyncClient per worker; `--client
httpx-shared` one AsyncClient whose pool is sized to the concurrency, which is
much slower still at 32 connections, see encode/httpx#3215). Each round also
measures the generator's own ceiling (GET /version on the baseline server), so a
row whose figures sit near it is bounded by the client, not the server. Rounds
alternate between the systems (the order rotates each round); the table shows the
median of the rounds. Failed requests (transport errors, non-200 answers,
`status: "error"`, a query answering null) are counted and reported, never folded
into the rates.

Usage: python benchmarks/http_api.py [--rounds 3] [--seconds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = Path(__file__).resolve().parent / "apps" / "http_bench"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "http_api.json"
sys.path.insert(0, str(APP_DIR))

import sqlite_server  # noqa: E402  (the baseline's SQLite code, shared with sqlite-inproc)

BODY = "hello world, this is a benchmark message"
SYSTEMS = ("syncline", "sqlite_http", "sqlite_inproc")
CONCURRENCIES = (1, 32)
OPERATIONS = ("mutations", "queries")
JSON_HEADERS = {"content-type": "application/json"}


# -- subprocesses ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the benchmark dies without cleaning up (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ServerProcess:
    """A server subprocess in its own session, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, name: str, cmd: list[str], url: str, log_path: Path,
                 ready_path: str = "/version") -> None:
        self.name, self.cmd, self.url, self.log_path = name, cmd, url, log_path
        self.ready_path = ready_path  # GET answering 200 once the server is up
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=ROOT, start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} while "
                                   f"starting:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + self.ready_path, timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer GET {self.ready_path} within "
                           f"{timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process (all its threads) so far."""
        assert self.proc is not None
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


# -- measurements ----------------------------------------------------------------------------


@dataclass
class Measurement:
    ok: int
    seconds: float
    latencies: list[float]
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def percentile_ms(self, p: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


# A request: (method, url path, body bytes); a reply: (HTTP status, body bytes); a check:
# reply -> None if the request succeeded, else a short description of the failure.
Request = tuple[str, str, bytes]
Reply = tuple[int, bytes]
MakeRequest = Callable[[], Request]
Check = Callable[[Reply], str | None]
# What a failed request can raise, whichever client sends it.
TRANSPORT_ERRORS = (OSError, EOFError, asyncio.LimitOverrunError, ValueError, httpx.HTTPError)


def check_envelope(expect_value: bool,
                   expect: Callable[[Any], str | None] | None = None) -> Check:
    """A check of syncline's `{status, value}` reply; `expect(value)`, if given, checks the
    value itself (None: as expected, else what is wrong)."""
    def check(reply: Reply) -> str | None:
        status, content = reply
        if status != 200:
            return f"HTTP {status}: {content[:120].decode(errors='replace')}"
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            return f"bad JSON: {content[:120].decode(errors='replace')}"
        if body.get("status") != "success":
            # First line only, without the per-request id, so equal failures group.
            message = str(body.get("errorMessage")).split(" [Request ID:")[0].splitlines()[0]
            return f"error: {message[:160]}"
        if expect_value and body.get("value") is None:
            return "query returned null"
        return expect(body.get("value")) if expect is not None else None
    return check


def check_ok(reply: Reply) -> str | None:
    return None if reply[0] == 200 else f"HTTP {reply[0]}"


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client on one asyncio stream.

    Enough for these servers (uvicorn, PocketBase: responses with content-length or
    chunked) and several times cheaper per request than httpx, whose client cost would
    otherwise cap every HTTP figure on a small machine. Reconnects after any error.
    """

    def __init__(self, host: str, port: int, extra_headers: str = "") -> None:
        self.host, self.port = host, port
        self.extra_headers = extra_headers  # whole header lines, each ending in \r\n
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes) -> Reply:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (f"{method} {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n"
                f"{self.extra_headers}"
                f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n")
        try:
            self.writer.write(head.encode() + body)
            response_head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(response_head[9:12])
            length, close, chunked = None, False, False
            for line in response_head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection":
                    close = value.strip().lower() == b"close"
                elif name == b"transfer-encoding":
                    chunked = value.strip().lower() == b"chunked"
                    if not chunked:
                        raise ValueError(f"unsupported transfer-encoding {value.strip()!r}")
            if status in (204, 304):
                content = b""  # no body, whatever the headers say
            elif chunked:
                content = await self._read_chunked()
            elif length is None:
                raise ValueError("response without content-length")
            else:
                content = await self.reader.readexactly(length)
        except BaseException:
            await self.close()
            raise
        if close:
            await self.close()
        return status, content

    async def _read_chunked(self) -> bytes:
        """A chunked body (Go's net/http sends larger responses so), without trailers."""
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await self.reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailer fields, if any
                return b"".join(parts)
            parts.append((await self.reader.readexactly(size + 2))[:-2])

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class HttpxConnection:
    """One worker's view of an `httpx.AsyncClient` (its own, or one shared by all)."""

    def __init__(self, client: httpx.AsyncClient, owned: bool) -> None:
        self.client, self.owned = client, owned

    async def request(self, method: str, path: str, body: bytes) -> Reply:
        response = await self.client.request(
            method, path, content=body or None, headers=JSON_HEADERS if body else None)
        return response.status_code, response.content

    async def close(self) -> None:
        if self.owned:
            await self.client.aclose()


Connection = RawConnection | HttpxConnection


def httpx_client(url: str, size: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    return httpx.AsyncClient(base_url=url, limits=limits, timeout=60.0)


@contextlib.asynccontextmanager
async def connections(kind: str, url: str, count: int) -> AsyncIterator[list[Connection]]:
    """`count` client connections to `url`, one per load worker."""
    out: list[Connection] = []
    shared: httpx.AsyncClient | None = None
    if kind == "raw":
        parsed = httpx.URL(url)
        out = [RawConnection(parsed.host, parsed.port or 80) for _ in range(count)]
    elif kind == "httpx":  # one client per worker: httpx's pool slows down with many
        out = [HttpxConnection(httpx_client(url, 1), True) for _ in range(count)]
    else:  # "httpx-shared": one client, pool sized to the concurrency
        shared = httpx_client(url, count)
        out = [HttpxConnection(shared, False) for _ in range(count)]
    try:
        yield out
    finally:
        for conn in out:
            await conn.close()
        if shared is not None:
            await shared.aclose()


async def http_load(conns: list[Connection], make: MakeRequest, check: Check,
                    seconds: float) -> Measurement:
    """One worker per connection sends requests back to back for `seconds`; each finishes
    its request in flight at the deadline, and the rate divides by the time until all
    have. Failures are counted, never timed."""
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    clock = time.perf_counter

    async def worker(conn: Connection) -> None:
        while clock() < deadline:
            method, path, body = make()
            start = clock()
            try:
                problem = check(await conn.request(method, path, body))
            except TRANSPORT_ERRORS as e:
                problem = f"{type(e).__name__}: {str(e)[:120]}"
            if problem is None:
                latencies.append(clock() - start)
            else:
                failures[problem] += 1

    start = clock()
    deadline = start + seconds
    try:  # a watchdog, not a per-request timeout (that would cost every request)
        async with asyncio.timeout(seconds + 120):
            await asyncio.gather(*(worker(c) for c in conns))
    except TimeoutError:
        raise RuntimeError("a request got no answer within 120 s: the server is stuck") from None
    return Measurement(len(latencies), clock() - start, latencies, failures)


def thread_load(db_path: str, op: Callable[[sqlite3.Connection], Any], concurrency: int,
                seconds: float, durability: str = "full") -> Measurement:
    """`concurrency` threads, each with its own connection (SQLite synchronous=
    `durability`), run `op` back to back."""
    conns = [sqlite_server.connect(db_path, durability) for _ in range(concurrency)]
    per_thread: list[list[float]] = [[] for _ in range(concurrency)]
    failures: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)
    clock = time.perf_counter
    deadline = 0.0

    def worker(index: int) -> None:
        conn, out = conns[index], per_thread[index]
        barrier.wait()
        while clock() < deadline:
            start = clock()
            try:
                problem = None if op(conn) is not None else "read returned no row"
            except sqlite3.Error as e:
                problem = f"{type(e).__name__}: {e}"
            if problem is None:
                out.append(clock() - start)
            else:
                with lock:
                    failures[problem] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    start = clock()
    deadline = start + seconds
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = clock() - start
    for conn in conns:
        conn.close()
    latencies = [x for out in per_thread for x in out]
    return Measurement(len(latencies), elapsed, latencies, failures)


# -- the three systems -----------------------------------------------------------------------


class HttpSystem:
    """One server under test, as the load generator sees it."""

    def __init__(self, name: str, url: str, client: str, insert: Callable[[int], Request],
                 get: Callable[[str], Request]) -> None:
        self.name, self.url, self.client = name, url, client
        self._insert, self._get = insert, get
        self.ids: list[str] = []
        self._counter = 0

    def insert_request(self) -> Request:
        self._counter += 1
        return self._insert(self._counter)

    def get_request(self) -> Request:
        return self._get(random.choice(self.ids))

    async def seed(self, count: int) -> None:
        """Insert `count` documents (32 at a time) and keep their ids for the reads."""
        check = check_envelope(True)

        async def worker(conn: Connection) -> None:
            while len(self.ids) < count:
                status, content = await conn.request(*self.insert_request())
                problem = check((status, content))
                if problem is not None:
                    raise RuntimeError(f"seeding {self.name} failed: {problem}")
                self.ids.append(orjson.loads(content)["value"])

        async with connections(self.client, self.url, 32) as conns:
            await asyncio.gather(*(worker(c) for c in conns))

    async def measure(self, operation: str, concurrency: int, seconds: float,
                      warmup: float) -> Measurement:
        if operation == "mutations":
            make, check = self.insert_request, check_envelope(False)
        else:
            make, check = self.get_request, check_envelope(True)
        async with connections(self.client, self.url, concurrency) as conns:
            if warmup > 0:
                await http_load(conns, make, check, warmup)
            return await http_load(conns, make, check, seconds)


def syncline_system(url: str, client: str) -> HttpSystem:
    def insert(i: int) -> Request:
        return "POST", "/api/mutation", orjson.dumps(
            {"path": "items:insert", "args": {"n": float(i), "body": BODY}, "format": "json"})

    def get(doc_id: str) -> Request:
        return "POST", "/api/query", orjson.dumps(
            {"path": "items:get", "args": {"id": doc_id}, "format": "json"})
    return HttpSystem("syncline", url, client, insert, get)


def sqlite_http_system(url: str, client: str) -> HttpSystem:
    def insert(i: int) -> Request:
        return "POST", "/insert", orjson.dumps({"n": float(i), "body": BODY})

    def get(doc_id: str) -> Request:
        return "POST", "/get", orjson.dumps({"id": doc_id})
    return HttpSystem("sqlite_http", url, client, insert, get)


class InprocSystem:
    """The SQLite work in this process: the baseline without any server."""

    name = "sqlite_inproc"

    def __init__(self, path: str) -> None:
        self.path = path
        setup = sqlite_server.connect(path)
        sqlite_server.create_table(setup)
        setup.close()
        self.ids: list[int] = []
        self._counter = 0
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def insert(self, conn: sqlite3.Connection) -> str:
        return sqlite_server.insert_item(conn, float(self._next()), BODY)

    def get(self, conn: sqlite3.Connection) -> Any:
        return sqlite_server.get_item(conn, random.choice(self.ids))

    async def seed(self, count: int) -> None:
        conn = sqlite_server.connect(self.path)
        self.ids = [int(self.insert(conn)) for _ in range(count)]
        conn.close()

    async def measure(self, operation: str, concurrency: int, seconds: float,
                      warmup: float) -> Measurement:
        op = self.insert if operation == "mutations" else self.get
        if warmup > 0:
            await asyncio.to_thread(thread_load, self.path, op, concurrency, warmup)
        return await asyncio.to_thread(thread_load, self.path, op, concurrency, seconds)


# -- the run ---------------------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def summarize(measurements: list[Measurement]) -> dict[str, Any]:
    failures: Counter[str] = Counter()
    for m in measurements:
        failures.update(m.failures)

    def median_of(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return statistics.median(present) if present else None
    return {
        "ops_per_s": statistics.median(m.rate for m in measurements),
        "rounds_ops_per_s": [m.rate for m in measurements],
        "p50_ms": median_of([m.percentile_ms(50) for m in measurements]),
        "p99_ms": median_of([m.percentile_ms(99) for m in measurements]),
        "ok": sum(m.ok for m in measurements),
        "failed": sum(failures.values()),
        "failures": dict(failures.most_common(10)),
    }


@contextlib.contextmanager
def servers(args: argparse.Namespace, workdir: Path) -> Iterator[tuple[ServerProcess, ...]]:
    app = workdir / "app"
    shutil.copytree(APP_DIR / "convex", app / "convex",
                    ignore=shutil.ignore_patterns("__pycache__"))
    port, site_port, baseline_port = free_port(), free_port(), free_port()
    syncline = ServerProcess(
        "syncline",
        [sys.executable, "-m", "syncline.cli.main", "serve", str(app), "--port", str(port),
         "--site-port", str(site_port), "--data-dir", str(workdir / "syncline-data")],
        f"http://127.0.0.1:{port}", workdir / "syncline.log")
    baseline = ServerProcess(
        "sqlite_http",
        [sys.executable, str(APP_DIR / "sqlite_server.py"), "--db",
         str(workdir / "sqlite-http.db"), "--port", str(baseline_port),
         "--threads", str(args.baseline_threads), "--loop", args.baseline_loop],
        f"http://127.0.0.1:{baseline_port}", workdir / "sqlite-http.log")
    started: list[ServerProcess] = []
    try:
        for server in (syncline, baseline):
            started.append(server)
            server.start()
        yield syncline, baseline
    finally:
        for server in reversed(started):
            server.stop()


async def run(args: argparse.Namespace, syncline: ServerProcess, baseline: ServerProcess,
              workdir: Path) -> dict[str, Any]:
    random.seed(1)
    systems: dict[str, Any] = {
        "syncline": syncline_system(syncline.url, args.client),
        "sqlite_http": sqlite_http_system(baseline.url, args.client),
        "sqlite_inproc": InprocSystem(str(workdir / "sqlite-inproc.db")),
    }
    for system in systems.values():
        print(f"seeding {system.name} with {args.seed} documents", file=sys.stderr)
        await system.seed(args.seed)

    collected: dict[tuple[str, str, int], list[Measurement]] = {}
    ceiling: dict[int, list[Measurement]] = {}
    for r in range(args.rounds):
        order = SYSTEMS[r % 3:] + SYSTEMS[:r % 3]
        print(f"round {r + 1}/{args.rounds}: {', '.join(order)}", file=sys.stderr)
        for name in order:
            for operation in OPERATIONS:
                for concurrency in CONCURRENCIES:
                    for server in (syncline, baseline):
                        if not server.alive():
                            raise RuntimeError(f"{server.name} died:\n{server.log_tail()}")
                    m = await systems[name].measure(operation, concurrency, args.seconds,
                                                    args.warmup)
                    collected.setdefault((operation, name, concurrency), []).append(m)
                    failed = sum(m.failures.values())
                    print(f"  {name:<14}{operation:<10} c={concurrency:<3}{m.rate:>10.0f} ops/s"
                          f"{f'  ({failed} FAILED)' if failed else ''}", file=sys.stderr)
        for concurrency in CONCURRENCIES:  # the load generator's own ceiling
            async with connections(args.client, baseline.url, concurrency) as conns:
                m = await http_load(conns, lambda: ("GET", "/version", b""), check_ok,
                                    args.seconds)
            ceiling.setdefault(concurrency, []).append(m)

    results: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    for operation in OPERATIONS:
        for concurrency in CONCURRENCIES:
            key = f"{operation}_c{concurrency}"
            row = {name: summarize(collected[(operation, name, concurrency)])
                   for name in SYSTEMS}
            results[key] = row
            ours = row["syncline"]["ops_per_s"]
            ratios[key] = {
                "syncline_vs_sqlite_http": ours / row["sqlite_http"]["ops_per_s"],
                "syncline_vs_sqlite_inproc": ours / row["sqlite_inproc"]["ops_per_s"],
            }
    return {
        "results": results,
        "ratios": ratios,
        "client_ceiling_get_version": {f"c{c}": summarize(ms) for c, ms in ceiling.items()},
        "failed_requests": {f"{key}.{name}": figures["failed"]
                            for key, row in results.items() for name, figures in row.items()},
        "machine": {
            "cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "sqlite": sqlite3.sqlite_version,
            "httpx": httpx.__version__,
        },
        "settings": {
            "rounds": args.rounds, "seconds": args.seconds, "warmup": args.warmup,
            "seed_documents": args.seed, "client": args.client,
            "baseline_loop": args.baseline_loop,
            "baseline_threads": args.baseline_threads, "durability": "full",
        },
    }


def print_table(results: dict[str, Any]) -> None:
    machine = results["machine"]
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
          f"SQLite {machine['sqlite']}")
    settings = results["settings"]
    print(f"median of {settings['rounds']} rounds of {settings['seconds']:g} s; "
          f"client: {settings['client']}; baseline server loop: {settings['baseline_loop']}")
    print(f"{'':<16}{'syncline':>11}{'sqlite-HTTP':>13}{'raw SQLite':>12}"
          f"{'sl/HTTP':>9}{'sl/raw':>8}   {'syncline p50 / p99 ms':>22}{'failed':>8}")
    for operation in OPERATIONS:
        for concurrency in CONCURRENCIES:
            key = f"{operation}_c{concurrency}"
            row, ratio = results["results"][key], results["ratios"][key]
            ours = row["syncline"]
            latency = (f"{ours['p50_ms']:.2f} / {ours['p99_ms']:.2f}"
                       if ours["p50_ms"] is not None else "-")
            failed = sum(row[name]["failed"] for name in SYSTEMS)
            print(f"{operation + ' c=' + str(concurrency):<16}{ours['ops_per_s']:>11,.0f}"
                  f"{row['sqlite_http']['ops_per_s']:>13,.0f}"
                  f"{row['sqlite_inproc']['ops_per_s']:>12,.0f}"
                  f"{ratio['syncline_vs_sqlite_http']:>9.2f}"
                  f"{ratio['syncline_vs_sqlite_inproc']:>8.2f}   {latency:>22}{failed:>8}")
    print("latency p50 / p99 ms (sqlite-HTTP | raw SQLite):")
    for operation in OPERATIONS:
        for concurrency in CONCURRENCIES:
            row = results["results"][f"{operation}_c{concurrency}"]
            cells = [f"{row[n]['p50_ms']:.2f} / {row[n]['p99_ms']:.2f}"
                     if row[n]["p50_ms"] is not None else "-" for n in SYSTEMS[1:]]
            print(f"  {operation + ' c=' + str(concurrency):<16}{cells[0]:>16} | {cells[1]}")
    ceiling = results["client_ceiling_get_version"]
    print("load generator ceiling (GET /version on the baseline server): "
          + ", ".join(f"{key.replace('c', 'c=')} {figures['ops_per_s']:,.0f} req/s"
                      for key, figures in ceiling.items()))
    failures = [(key, name, row[name]) for key, row in results["results"].items()
                for name in SYSTEMS if row[name]["failed"]]
    if not failures:
        print("failed requests: none")
    for key, name, figures in failures:
        print(f"FAILED {key} {name}: {figures['failed']} of "
              f"{figures['failed'] + figures['ok']}")
        for message, count in figures["failures"].items():
            print(f"    {count:>6} x {message}")


@contextlib.contextmanager
def benchmark_workdir(prefix: str, tmp_dir: str | None,
                      started: list[Any] | None = None) -> Iterator[Path]:
    """A temp folder for one benchmark run; on exit (Ctrl+C included, exit status 130) the
    servers in `started` are stopped and the folder removed."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=tmp_dir))
    try:
        yield workdir
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        sys.exit(130)
    finally:
        for server in reversed(started or []):
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def report(results: dict[str, Any], print_table: Callable[[dict[str, Any]], None],
           *outputs: Path | None) -> None:
    """Print the table and write the results to every given JSON path."""
    print_table(results)
    for path in filter(None, outputs):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--warmup", type=float, default=0.5,
                        help="seconds of load before each measurement")
    parser.add_argument("--seed", type=int, default=2000, help="documents inserted for reads")
    parser.add_argument("--baseline-loop", choices=["asyncio", "uvloop"], default="uvloop",
                        help="event loop of the sqlite-HTTP server (syncline serve: uvloop)")
    parser.add_argument("--baseline-threads", type=int, default=32,
                        help="SQLite thread pool of the sqlite-HTTP server")
    parser.add_argument("--client", choices=["raw", "httpx", "httpx-shared"], default="raw",
                        help="load generator: a minimal keep-alive HTTP/1.1 client, one "
                        "httpx.AsyncClient per worker, or one shared by all workers")
    parser.add_argument("--tmp-dir", type=Path, default=None,
                        help="where the databases go (default: the system temp dir)")
    parser.add_argument("--json", type=Path, default=None,
                        help=f"also write the results here (always: {DEFAULT_OUTPUT})")
    args = parser.parse_args()

    # SIGTERM unwinds like Ctrl+C, so the servers are stopped and the temp dir removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with benchmark_workdir("syncline-http-bench-", args.tmp_dir) as workdir, \
            servers(args, workdir) as (syncline, baseline):
        results = asyncio.run(run(args, syncline, baseline, workdir))
    report(results, print_table, DEFAULT_OUTPUT, args.json)


if __name__ == "__main__":
    main()
