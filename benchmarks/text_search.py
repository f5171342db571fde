"""Full text search benchmark: indexing cost, index lag and query latency, in one run.

Corpus: `--count` documents (default 100,000) of synthetic English-like text, each
20-60 words drawn from a Zipf-distributed (s = 1) vocabulary of `--vocabulary`
(default 20,000) pseudo-words, with a `channel` filter field of 50 values; the
seed is fixed, so every run indexes the same text.

Measures:
1. bulk insert throughput (documents/s, transactions of 100 documents, sequential)
   into a fresh table WITH the search index, next to the same inserts into a
   fresh table WITHOUT it (two databases, same run, same durability), and while
   loading, how many committed documents tantivy had not yet taken in (what a
   search at that moment must read and check itself), sampled every 50 commits,
   with one search issued at each sample (its time is not counted as loading;
   failures are counted);
2. the time from the last commit until the index had caught up;
3. search latency (p50/p99, one read-only transaction each, `take(10)`) over
   `--queries` (500) queries of 1-3 words whose last word is cut to a prefix of at
   least 2 letters, words drawn with the corpus's Zipf weights; without and with an
   `eq("channel", ...)` filter;
4. the baseline: the same queries answered by a brute-force scan, on the first
   10,000 documents (`--subset`) for scale: a read-only transaction reads the whole
   table, then tokenizes, filters, scores (BM25, k1 = 1.2, b = 0.75, the same
   formula) and sorts in Python, which is what an app without a search index would
   do. Search latency on a 10,000-document database with the index is measured in
   the same way next to it, and the two top-10 lists are compared (overlap), as a
   check that both answer the same question.

Usage: python benchmarks/text_search.py [--count 100000] [--queries 500]
       [--subset 10000] [--durability full] [--json benchmarks/results/text_search.json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from syncline.database import Database  # noqa: E402
from syncline.schema import define_schema, define_table, v  # noqa: E402

SEED = 20240601
BATCH = 100
CHANNELS = [f"channel-{i:02d}" for i in range(50)]
SYLLABLES = ["a", "an", "ar", "be", "ca", "co", "de", "di", "el", "en", "er", "es", "fa", "ge",
             "ha", "in", "is", "ka", "la", "le", "li", "lo", "ma", "me", "mi", "mo", "na", "ne",
             "no", "on", "or", "pa", "pe", "ra", "re", "ri", "ro", "sa", "se", "si", "so", "st",
             "ta", "te", "th", "ti", "to", "tr", "un", "ur", "va", "ve", "wa", "we", "ya", "zo"]


def table() -> Any:
    return define_table({"body": v.string(), "channel": v.string()})


INDEXED = define_schema({"docs": table().search_index(
    "search_body", search_field="body", filter_fields=["channel"])})
PLAIN = define_schema({"docs": table()})


# -- the corpus ------------------------------------------------------------------------------


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """`size` distinct pseudo-words, 1-5 syllables; shorter words are more frequent (rank)."""
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.choice((1, 2, 2, 3, 3, 4, 5)))))
    return sorted(words, key=lambda w: (len(w), w))


def corpus(count: int, size: int) -> tuple[list[dict[str, str]], list[str], list[float]]:
    rng = random.Random(SEED)
    words = vocabulary(rng, size)
    rng.shuffle(words)  # Zipf rank independent of spelling
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(size)))
    docs = []
    for _ in range(count):
        n = rng.randint(20, 60)
        body = " ".join(rng.choices(words, cum_weights=cumulative, k=n))
        docs.append({"body": body.capitalize() + ".", "channel": rng.choice(CHANNELS)})
    return docs, words, cumulative


def make_queries(words: list[str], cumulative: list[float], count: int) -> list[str]:
    rng = random.Random(SEED + 1)
    out = []
    for _ in range(count):
        chosen = rng.choices(words, cum_weights=cumulative, k=rng.randint(1, 3))
        last = chosen[-1]
        chosen[-1] = last[:rng.randint(min(2, len(last)), len(last))]
        out.append(" ".join(chosen))
    return out


# -- loading ---------------------------------------------------------------------------------


async def load(db: Database, docs: list[dict[str, str]], indexed: bool) -> dict[str, Any]:
    """Insert in transactions of BATCH documents; documents/s, and the index lag seen."""
    lags: list[int] = []
    probes: list[float] = []
    failures: list[str] = []
    engine = None
    if indexed:
        engine = db.search.engine(db.search_index("docs", "search_body").id)
    probing = 0.0  # time spent in probe searches, not counted as loading
    start = time.perf_counter()
    for i in range(0, len(docs), BATCH):
        chunk = docs[i:i + BATCH]

        async def fn(tx: Any, chunk: list[dict[str, str]] = chunk) -> None:
            for doc in chunk:
                await tx.insert("docs", doc)
        await db.run_transaction(fn)
        if engine is not None and (i // BATCH) % 50 == 49:
            _searcher, _ts, changed = engine.snapshot(db.visible_ts)
            lags.append(len(changed) if changed is not None else len(docs))
            # A search issued right now, as a user typing during the load would.
            probe = time.perf_counter()
            try:
                await search(db, chunk[0]["body"].split()[1][:3], None)
                probes.append(time.perf_counter() - probe)
            except Exception as error:  # reported in the results, not hidden
                failures.append(f"{type(error).__name__}: {str(error)[:90]}")
            probing += time.perf_counter() - probe
    elapsed = time.perf_counter() - start - probing
    result: dict[str, Any] = {"docs_per_s": len(docs) / elapsed, "seconds": elapsed}
    if indexed:
        caught = time.perf_counter()
        db.search.wait_applied(db.visible_ts)
        result["catch_up_s"] = time.perf_counter() - caught
        result["unindexed_docs_max"] = max(lags, default=0)
        result["unindexed_docs_median"] = statistics.median(lags) if lags else 0
        result["searches_during_load"] = {
            "attempted": len(probes) + len(failures), "failed": len(failures),
            "errors": sorted(set(failures)),
            "p50_ms_of_successful": percentile(probes, 50) * 1000 if probes else None}
    return result


# -- searching -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": percentile(samples, 50) * 1000, "p99_ms": percentile(samples, 99) * 1000,
            "mean_ms": statistics.fmean(samples) * 1000}


async def search(db: Database, text: str, channel: str | None) -> list[dict[str, Any]]:
    def build(q: Any) -> Any:
        q = q.search("body", text)
        return q if channel is None else q.eq("channel", channel)
    return await db.read(lambda tx: tx.query("docs").with_search_index("search_body", build)
                         .take(10))


def tokenize(text: str) -> list[str]:
    """SimpleTokenizer + lowercase + the 32-character limit, written out for the baseline."""
    spaced = "".join(c if c.isalnum() else " " for c in text)
    return [t for t in spaced.lower().split() if len(t) <= 32]


async def brute_force(db: Database, text: str, channel: str | None) -> list[dict[str, Any]]:
    """What an app would do without a search index: read everything, rank in Python."""
    docs = await db.read(lambda tx: tx.query("docs").collect())
    terms = tokenize(text)
    if not terms:
        return []
    exact, prefix = set(terms[:-1]), terms[-1]
    tokenized = [tokenize(d["body"]) for d in docs]
    average = sum(map(len, tokenized)) / max(1, len(docs))
    df: dict[str, int] = {}
    candidates = []
    for doc, tokens in zip(docs, tokenized, strict=True):
        counts: dict[str, int] = {}
        for t in tokens:
            if t in exact or t.startswith(prefix):
                counts[t] = counts.get(t, 0) + 1
        for t in counts:
            df[t] = df.get(t, 0) + 1
        if counts and (channel is None or doc["channel"] == channel):
            candidates.append((doc, tokens, counts))
    n = len(docs)
    scored = []
    for doc, tokens, counts in candidates:
        norm = 1.2 * (1 - 0.75 + 0.75 * len(tokens) / average)
        score = sum(math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) * tf * 2.2 / (tf + norm)
                    for t, tf in counts.items())
        scored.append((-score, -doc["_creationTime"], doc["_id"], doc))
    scored.sort(key=lambda r: r[:3])
    return [r[3] for r in scored[:10]]


async def latencies(fn: Any, queries: list[tuple[str, str | None]]) -> tuple[list[float], list]:
    samples, results = [], []
    for text, channel in queries:
        start = time.perf_counter()
        result = await fn(text, channel)
        samples.append(time.perf_counter() - start)
        results.append(result)
    return samples, results


async def query_figures(db: Database, texts: list[str], rng: random.Random,
                        warmup: int = 50) -> tuple[dict[str, Any], dict[str, list]]:
    figures: dict[str, Any] = {}
    answers: dict[str, list] = {}
    for _ in range(warmup):
        await search(db, rng.choice(texts), rng.choice([None, rng.choice(CHANNELS)]))
    for label, with_channel in (("no_filter", False), ("eq_filter", True)):
        queries = [(t, rng.choice(CHANNELS) if with_channel else None) for t in texts]
        samples, results = await latencies(lambda t, c: search(db, t, c), queries)
        figures[label] = summary(samples)
        figures[label]["results_mean"] = statistics.fmean(len(r) for r in results)
        answers[label] = [(q, r) for q, r in zip(queries, results, strict=True)]
    return figures, answers


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    workdir = tempfile.mkdtemp(prefix="syncline-text-bench-")
    print(f"generating {args.count} documents", file=sys.stderr)
    docs, words, cumulative = corpus(args.count, args.vocabulary)
    texts = make_queries(words, cumulative, args.queries)
    results: dict[str, Any] = {}

    # 1-2. Bulk inserts without, then with the search index (fresh databases).
    loads = {}
    for name, schema in (("without_index", PLAIN), ("with_index", INDEXED)):
        print(f"loading {args.count} documents {name.replace('_', ' ')}", file=sys.stderr)
        db = Database(os.path.join(workdir, name, "db.sqlite3"),
                      durability=args.durability)  # type: ignore[arg-type]
        await db.apply_schema(schema)
        loads[name] = await load(db, docs, indexed=schema is INDEXED)
        if schema is INDEXED:
            print(f"{args.queries} x 2 searches at {args.count} documents", file=sys.stderr)
            figures, _ = await query_figures(db, texts, random.Random(SEED + 2))
            results["search_latency_full"] = figures
            index_dir = Path(workdir, name, "search")
            results["index_bytes"] = sum(f.stat().st_size for f in index_dir.rglob("*")
                                         if f.is_file())
        db.close()
    results["insert"] = loads
    results["insert"]["ratio_with_vs_without"] = (loads["with_index"]["docs_per_s"]
                                                  / loads["without_index"]["docs_per_s"])

    # 3-4. The subset: indexed search next to the brute-force scan, same queries.
    print(f"searches and brute-force scans at {args.subset} documents", file=sys.stderr)
    db = Database(os.path.join(workdir, "subset", "db.sqlite3"),
                  durability=args.durability)  # type: ignore[arg-type]
    await db.apply_schema(INDEXED)
    await load(db, docs[:args.subset], indexed=True)
    figures, answers = await query_figures(db, texts, random.Random(SEED + 3))
    subset: dict[str, Any] = {"search": figures, "brute_force": {}, "top10_overlap": {}}
    for _ in range(3):
        await brute_force(db, texts[0], None)
    for label, pairs in answers.items():
        queries = [q for q, _ in pairs]
        samples, brute = await latencies(lambda t, c: brute_force(db, t, c), queries)
        subset["brute_force"][label] = summary(samples)
        overlaps = []
        for (_, found), expected in zip(pairs, brute, strict=True):
            if expected or found:
                same = {d["_id"] for d in found} & {d["_id"] for d in expected}
                overlaps.append(len(same) / max(len(found), len(expected)))
        subset["top10_overlap"][label] = statistics.fmean(overlaps) if overlaps else 1.0
        subset["speedup_p50"] = subset.get("speedup_p50", {})
        subset["speedup_p50"][label] = (subset["brute_force"][label]["p50_ms"]
                                        / figures[label]["p50_ms"])
    db.close()
    results["subset"] = subset
    shutil.rmtree(workdir, ignore_errors=True)
    results["machine"] = {
        "platform": platform.platform(), "cpus": os.cpu_count(),
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "tantivy": _tantivy_version(), "durability": args.durability, "count": args.count,
        "vocabulary": args.vocabulary, "queries": args.queries, "subset": args.subset,
        "batch": BATCH,
    }
    return results


def _tantivy_version() -> str:
    from importlib.metadata import version

    try:
        return version("tantivy")
    except Exception:  # pragma: no cover
        return "unknown"


def print_table(results: dict[str, Any]) -> None:
    insert = results["insert"]
    count = results["machine"]["count"]
    subset = results["machine"]["subset"]
    print(f"{'bulk insert (tx of 100 docs)':<48}{'docs/s':>12}")
    print(f"{'  without search index':<48}{insert['without_index']['docs_per_s']:>12.0f}")
    print(f"{'  with search index':<48}{insert['with_index']['docs_per_s']:>12.0f}"
          f"   ratio {insert['ratio_with_vs_without']:.2f}")
    print(f"index caught up {insert['with_index']['catch_up_s'] * 1000:.0f} ms after the last "
          f"commit; unindexed documents while loading: median "
          f"{insert['with_index']['unindexed_docs_median']:.0f}, max "
          f"{insert['with_index']['unindexed_docs_max']}; index size "
          f"{results['index_bytes'] / 1e6:.1f} MB")
    during = insert["with_index"]["searches_during_load"]
    print(f"searches during the load: {during['failed']} of {during['attempted']} failed"
          + "".join(f"\n  {e}" for e in during["errors"]))
    print()
    print(f"{'search latency, take(10)':<40}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    rows = [
        (f"indexed, {count:,} docs", results["search_latency_full"]),
        (f"indexed, {subset:,} docs", results["subset"]["search"]),
        (f"brute-force scan, {subset:,} docs", results["subset"]["brute_force"]),
    ]
    for label, figures in rows:
        for kind in ("no_filter", "eq_filter"):
            f = figures[kind]
            name = f"{label}, {'eq filter' if kind == 'eq_filter' else 'no filter'}"
            print(f"{name:<40}{f['p50_ms']:>10.2f}{f['p99_ms']:>10.2f}{f['mean_ms']:>10.2f}")
    speed = results["subset"]["speedup_p50"]
    overlap = results["subset"]["top10_overlap"]
    print(f"p50 speedup over brute force at {subset:,}: {speed['no_filter']:.0f}x (no filter), "
          f"{speed['eq_filter']:.0f}x (eq filter); top-10 overlap with brute force "
          f"{overlap['no_filter']:.1%} / {overlap['eq_filter']:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--vocabulary", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--subset", type=int, default=10_000)
    parser.add_argument("--durability", choices=["full", "normal"], default="full")
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "text_search.json",
                        help="write the results here")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
