"""Core engine benchmark: syncline's transaction API next to raw SQLite, in one run.

Measures, in alternating rounds (median of the rounds):
- single-document insert transactions per second (sequential, and 16 concurrent),
- point reads by id per second,
- 100-row index range reads per second,
and the latency of a 100-row range read at 10k vs 1M documents.

The raw-SQLite baseline does the equivalent row operations in-process with the
same durability settings (WAL, synchronous=FULL unless --durability normal): a
table keyed by a 16-byte id with an index on creation time, one row per insert
transaction, documents stored as msgpack and decoded on read.

Usage: python benchmarks/core_engine.py [--rounds 5] [--large 1000000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgpack

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from syncline.database import Database  # noqa: E402

DOC = {"author": "ada", "body": "hello world, this is a benchmark message", "n": 1.0}


# -- raw SQLite baseline -----------------------------------------------------------------


class RawSQLite:
    """A hand-written document table on raw SQLite: what an app would write itself."""

    def __init__(self, path: str, durability: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={durability.upper()}")
        self.conn.execute("PRAGMA cache_size=-65536")
        self.conn.execute("PRAGMA mmap_size=268435456")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS docs (id BLOB PRIMARY KEY, created REAL NOT NULL, "
            "body BLOB NOT NULL) WITHOUT ROWID"
        )
        self.conn.execute("CREATE INDEX IF NOT EXISTS docs_created ON docs (created, id)")
        self.ids: list[bytes] = []
        self.times: list[float] = []

    def insert(self) -> None:
        doc_id, created = os.urandom(16), time.time() * 1000
        self.conn.execute("BEGIN")
        self.conn.execute("INSERT INTO docs VALUES (?, ?, ?)",
                          (doc_id, created, msgpack.packb(DOC)))
        self.conn.execute("COMMIT")
        self.ids.append(doc_id)
        self.times.append(created)

    def bulk_insert(self, count: int) -> None:
        self.conn.execute("BEGIN")
        body = msgpack.packb(DOC)
        for _ in range(count):
            doc_id, created = os.urandom(16), time.time() * 1000
            self.conn.execute("INSERT INTO docs VALUES (?, ?, ?)", (doc_id, created, body))
            self.ids.append(doc_id)
            self.times.append(created)
        self.conn.execute("COMMIT")

    def get(self, doc_id: bytes) -> Any:
        row = self.conn.execute("SELECT body FROM docs WHERE id = ?", (doc_id,)).fetchone()
        return msgpack.unpackb(row[0])

    def range(self, created: float) -> list[Any]:
        rows = self.conn.execute(
            "SELECT body FROM docs WHERE created >= ? ORDER BY created, id LIMIT 100", (created,)
        ).fetchall()
        return [msgpack.unpackb(r[0]) for r in rows]


# -- syncline side ---------------------------------------------------------------------------


class Syncline:
    def __init__(self, path: str, durability: str) -> None:
        self.db = Database(path, durability=durability)  # type: ignore[arg-type]
        self.ids: list[str] = []
        self.times: list[float] = []

    async def insert(self) -> None:
        async def fn(tx: Any) -> str:
            return await tx.insert("docs", DOC)
        self.ids.append(await self.db.run_transaction(fn))

    async def bulk_insert(self, count: int) -> None:
        async def fn(tx: Any) -> list[str]:
            return [await tx.insert("docs", DOC) for _ in range(count)]
        self.ids += await self.db.run_transaction(fn)

    async def load_times(self) -> None:
        docs = await self.db.read(lambda tx: tx.query("docs").collect()) if len(self.ids) < 30_000 \
            else await self._times_paged()
        self.times = [d["_creationTime"] for d in docs]

    async def _times_paged(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = None
        while True:
            async def page(tx: Any, cursor: Any = cursor) -> dict[str, Any]:
                return await tx.query("docs").paginate({"numItems": 10_000, "cursor": cursor})
            result = await self.db.read(page)
            out += result["page"]
            if result["isDone"]:
                return out
            cursor = result["continueCursor"]

    async def get(self, doc_id: str) -> Any:
        return await self.db.read(lambda tx: tx.get(doc_id))

    async def range(self, created: float) -> list[Any]:
        return await self.db.read(lambda tx: tx.query("docs").with_index(
            "by_creation_time", lambda q: q.gte("_creationTime", created)).take(100))

    def close(self) -> None:
        self.db.close()


# -- measurement -----------------------------------------------------------------------------


async def rate(fn: Callable[[], Awaitable[Any]] | Callable[[], Any], count: int) -> float:
    """Operations per second for `count` sequential calls."""
    start = time.perf_counter()
    for _ in range(count):
        result = fn()
        if asyncio.iscoroutine(result):
            await result
    return count / (time.perf_counter() - start)


async def concurrent_rate(fn: Callable[[], Awaitable[Any]], count: int, workers: int) -> float:
    async def worker() -> None:
        for _ in range(count // workers):
            await fn()
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return (count // workers) * workers / (time.perf_counter() - start)


async def latencies(fn: Callable[[], Awaitable[Any]] | Callable[[], Any], count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        result = fn()
        if asyncio.iscoroutine(result):
            await result
        out.append(time.perf_counter() - start)
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    workdir = tempfile.mkdtemp(prefix="syncline-bench-")
    rng = random.Random(1)
    ours = Syncline(os.path.join(workdir, "syncline.db"), args.durability)
    raw = RawSQLite(os.path.join(workdir, "raw.db"), args.durability)
    rounds: dict[str, list[float]] = {}

    def record(name: str, value: float) -> None:
        rounds.setdefault(name, []).append(value)

    # Seed both with the same number of documents so reads hit comparable trees.
    for _ in range(10):
        await ours.bulk_insert(1_000)
        raw.bulk_insert(1_000)
    await ours.load_times()
    ids, raw_ids = list(ours.ids), list(raw.ids)
    times, raw_times = ours.times[:9_000], raw.times[:9_000]

    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        record("insert_tx_per_s.syncline", await rate(ours.insert, args.inserts))
        record("insert_tx_per_s.raw_sqlite", await rate(raw.insert, args.inserts))
        record("insert_tx_per_s_c16.syncline",
               await concurrent_rate(ours.insert, args.inserts * 2, 16))
        record("point_reads_per_s.syncline",
               await rate(lambda: ours.get(rng.choice(ids)), args.reads))
        record("point_reads_per_s.raw_sqlite",
               await rate(lambda: raw.get(rng.choice(raw_ids)), args.reads))
        record("range100_reads_per_s.syncline",
               await rate(lambda: ours.range(rng.choice(times)), args.ranges))
        record("range100_reads_per_s.raw_sqlite",
               await rate(lambda: raw.range(rng.choice(raw_times)), args.ranges))

    results: dict[str, Any] = {name: statistics.median(v) for name, v in rounds.items()}
    ours.close()

    # Range-read latency at 10k vs `--large` documents, same database code, same query.
    latency: dict[str, dict[str, float]] = {}
    for size in (10_000, args.large):
        bench = Syncline(os.path.join(workdir, f"size-{size}.db"), args.durability)
        print(f"loading {size} documents", file=sys.stderr)
        while len(bench.ids) < size:
            await bench.bulk_insert(min(10_000, size - len(bench.ids)))
        await bench.load_times()
        starts = bench.times[: max(1, len(bench.times) - 200)]

        def one_range(bench: Syncline = bench, starts: list[float] = starts) -> Awaitable[Any]:
            return bench.range(rng.choice(starts))
        for _ in range(200):  # warm the page cache like a running server's
            await one_range()
        samples = await latencies(one_range, args.latency_samples)
        latency[str(size)] = {"p50_ms": percentile(samples, 50) * 1000,
                              "p99_ms": percentile(samples, 99) * 1000}
        bench.close()
    shutil.rmtree(workdir, ignore_errors=True)
    results["range100_latency"] = latency
    results["ratios"] = {
        "insert_tx": results["insert_tx_per_s.syncline"] / results["insert_tx_per_s.raw_sqlite"],
        "insert_tx_c16_vs_raw_sequential": results["insert_tx_per_s_c16.syncline"]
        / results["insert_tx_per_s.raw_sqlite"],
        "point_reads": results["point_reads_per_s.syncline"]
        / results["point_reads_per_s.raw_sqlite"],
        "range100_reads": results["range100_reads_per_s.syncline"]
        / results["range100_reads_per_s.raw_sqlite"],
        "range100_p50_large_vs_10k": latency[str(args.large)]["p50_ms"] / latency["10000"]["p50_ms"],
    }
    results["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                          "durability": args.durability, "rounds": args.rounds,
                          "large": args.large}
    return results


def print_table(results: dict[str, Any]) -> None:
    rows = [
        ("insert transactions/s (sequential)", "insert_tx_per_s", "insert_tx"),
        ("point reads/s", "point_reads_per_s", "point_reads"),
        ("100-row range reads/s", "range100_reads_per_s", "range100_reads"),
    ]
    print(f"{'operation':<38}{'syncline':>12}{'raw SQLite':>12}{'ratio':>8}")
    for label, key, ratio in rows:
        print(f"{label:<38}{results[key + '.syncline']:>12.0f}{results[key + '.raw_sqlite']:>12.0f}"
              f"{results['ratios'][ratio]:>8.2f}")
    print(f"{'insert transactions/s (16 concurrent)':<38}"
          f"{results['insert_tx_per_s_c16.syncline']:>12.0f}{'':>12}"
          f"{results['ratios']['insert_tx_c16_vs_raw_sequential']:>8.2f}  (vs raw sequential)")
    latency = results["range100_latency"]
    for size, figures in latency.items():
        print(f"100-row range read latency at {int(size):>9,} docs: "
              f"p50 {figures['p50_ms']:.3f} ms, p99 {figures['p99_ms']:.3f} ms")
    print(f"range latency ratio large/10k (p50): {results['ratios']['range100_p50_large_vs_10k']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--inserts", type=int, default=1000, help="insert transactions per round")
    parser.add_argument("--reads", type=int, default=5000, help="point reads per round")
    parser.add_argument("--ranges", type=int, default=1000, help="range reads per round")
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--latency-samples", type=int, default=2000)
    parser.add_argument("--durability", choices=["full", "normal"], default="full")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
