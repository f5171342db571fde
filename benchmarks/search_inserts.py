"""Insert cost of search indexes: the same documents into a table with a text search index
and a vector index, next to the same table without them, in the same run.

Each document has a `body` of 20-60 words (Zipf over a 20,000-word vocabulary), a
`channel` (50 values, a filter field of both indexes) and a 768-dimension `embedding`
around one of 1,000 centroids. Inserts run in transactions of `--batch` documents on
a fresh database each (durability "full", as `syncline serve` uses); the two tables
alternate over `--rounds` rounds and the table shows medians.

Reported: documents/s committed; for the indexed table also the time from the last
commit until both indexes hold every document (searches are exact before that: text
search rechecks what tantivy has not seen, vector search waits), and documents/s
including that catch-up.

Usage: python benchmarks/search_inserts.py [--count 20000] [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from syncline.database import Database  # noqa: E402
from syncline.schema import define_schema, define_table, v  # noqa: E402

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "search_inserts.json"
DIMENSIONS = 768


def make_documents(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(20_000)]
    weights = [1 / (i + 1) for i in range(len(vocabulary))]
    generator = np.random.default_rng(seed)
    centroids = generator.normal(size=(1_000, DIMENSIONS)).astype(np.float32)
    docs = []
    for _ in range(count):
        words = rng.choices(vocabulary, weights, k=rng.randint(20, 60))
        vector = centroids[rng.randrange(1_000)] + generator.normal(size=DIMENSIONS) * 0.5
        docs.append({"body": " ".join(words), "channel": f"c{rng.randrange(50)}",
                     "embedding": [float(x) for x in vector]})
    return docs


def schema(indexed: bool) -> Any:
    table = define_table({"body": v.string(), "channel": v.string(),
                          "embedding": v.array(v.float64())})
    if indexed:
        table = table.search_index("search_body", search_field="body",
                                   filter_fields=["channel"]) \
            .vector_index("by_embedding", vector_field="embedding", dimensions=DIMENSIONS,
                          filter_fields=["channel"])
    return define_schema({"docs": table})


async def load(docs: list[dict[str, Any]], indexed: bool, batch: int,
               workdir: Path) -> dict[str, float]:
    db = Database(workdir / f"{'indexed' if indexed else 'plain'}-{time.monotonic_ns()}.db",
                  durability="full")
    try:
        await db.apply_schema(schema(indexed))
        start = time.perf_counter()
        for i in range(0, len(docs), batch):
            chunk = docs[i:i + batch]

            async def insert(tx: Any, chunk: list[dict[str, Any]] = chunk) -> None:
                for doc in chunk:
                    await tx.insert("docs", doc)
            await db.run_transaction(insert)
        committed = time.perf_counter() - start
        await asyncio.to_thread(db.search.wait_applied, db.visible_ts, 3600)
        caught_up = time.perf_counter() - start
    finally:
        db.close()
    return {"committed_per_s": len(docs) / committed, "catch_up_s": caught_up - committed,
            "with_catch_up_per_s": len(docs) / caught_up}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    docs = make_documents(args.count)
    rounds: dict[str, list[dict[str, float]]] = {"plain": [], "indexed": []}
    with tempfile.TemporaryDirectory(prefix="syncline-search-inserts-") as tmp:
        for round_no in range(args.rounds):
            order = ["plain", "indexed"] if round_no % 2 == 0 else ["indexed", "plain"]
            for name in order:
                rounds[name].append(await load(docs, name == "indexed", args.batch, Path(tmp)))
    summary = {name: {key: statistics.median(r[key] for r in results)
                      for key in results[0]} for name, results in rounds.items()}
    summary["ratio_committed"] = (summary["indexed"]["committed_per_s"]
                                  / summary["plain"]["committed_per_s"])
    summary["ratio_with_catch_up"] = (summary["indexed"]["with_catch_up_per_s"]
                                      / summary["plain"]["committed_per_s"])
    return {"machine": f"{platform.processor() or platform.machine()}, "
                       f"Python {platform.python_version()}",
            "count": args.count, "batch": args.batch, "rounds": args.rounds, **summary}


def print_table(results: dict[str, Any]) -> None:
    print(f"\nSearch index insert cost: {results['count']:,} documents (768-d embedding, "
          f"20-60 words), transactions of {results['batch']}, median of "
          f"{results['rounds']} rounds\n")
    plain, indexed = results["plain"], results["indexed"]
    print(f"{'table':34} {'committed docs/s':>17} {'catch-up s':>11} {'docs/s incl.':>13}")
    print(f"{'no search indexes (baseline)':34} {plain['committed_per_s']:>17,.0f} "
          f"{'-':>11} {plain['committed_per_s']:>13,.0f}")
    print(f"{'text + vector index':34} {indexed['committed_per_s']:>17,.0f} "
          f"{indexed['catch_up_s']:>11.1f} {indexed['with_catch_up_per_s']:>13,.0f}")
    print(f"\nratio indexed / baseline: {results['ratio_committed']:.2f} committed, "
          f"{results['ratio_with_catch_up']:.2f} including catch-up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print_table(results)
    for path in filter(None, (DEFAULT_OUTPUT, args.json)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
