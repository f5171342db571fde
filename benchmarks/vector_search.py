"""Vector search benchmark: syncline's VectorIndex (usearch HNSW) next to exact numpy search.

Data: `--count` unit vectors of `--dims` dimensions (default 100,000 x 768), clustered
like real embeddings: `--centroids` random unit centres plus gaussian noise of norm
about `--noise` (relative to the centre; 1.0 puts the 10th nearest neighbour of a query at
cosine ~0.53, 2.0 at ~0.24, which is much harder), or `--uniform` random directions (the
worst case for HNSW). Queries are 500 fresh vectors from the same distribution. Every
document has two filter fields: `category` (100 values) and `half` (2 values), drawn at
random independently of the vector.

Measures, in one run:
- insert throughput: one `VectorIndex.upsert` per document (what the indexer thread does
  for each commit), documents given as Python lists of floats; and `upsert_many`
  (one batched, multi-threaded insert: a rebuild) into a second index;
- search latency p50/p99, limit 10, for: unfiltered (HNSW); one eq on `category`
  (1% of the documents: the exact numpy path); one eq on `half` (50%: HNSW with
  oversampling and post-filtering);
- recall@10 of each against the exact answer;
- the baseline: exact search with numpy (a float32 matrix product over all vectors,
  then argpartition), its p50/p99 in the same run;
- save and load time of the whole index, and its memory (usearch + the float32 matrix).

Usage: python benchmarks/vector_search.py [--count 100000] [--dims 768] [--queries 500]
       [--noise 1.0] [--uniform] [--no-bulk] [--json benchmarks/results/vector_search.json]
       [--connectivity M --expansion-add A --expansion-search S]  (override, to tune)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from syncline.database.search import vector as vector_module  # noqa: E402
from syncline.database.search.vector import VectorIndex  # noqa: E402
from syncline.values import Int64  # noqa: E402

LIMIT = 10
CATEGORIES = 100
CHUNK = 2_000


def make_data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """(documents, queries): unit float32 vectors, clustered unless --uniform."""
    rng = np.random.default_rng(args.seed)
    total = args.count + args.queries
    if args.uniform:
        points = rng.standard_normal((total, args.dims), dtype=np.float32)
    else:
        centres = rng.standard_normal((args.centroids, args.dims), dtype=np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        points = np.empty((total, args.dims), dtype=np.float32)
        scale = np.float32(args.noise / np.sqrt(args.dims))
        for start in range(0, total, 10_000):
            stop = min(total, start + 10_000)
            points[start:stop] = centres[rng.integers(0, args.centroids, stop - start)]
            points[start:stop] += scale * rng.standard_normal((stop - start, args.dims),
                                                              dtype=np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points[:args.count], points[args.count:]


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    return {"p50_ms": at(50), "p99_ms": at(99), "mean_ms": sum(ordered) / len(ordered) * 1000}


def exact_top(vectors: np.ndarray, query: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The exact baseline: rows of the LIMIT best cosine similarities (unit vectors)."""
    scores = vectors @ query
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    top = np.argpartition(-scores, LIMIT)[:LIMIT]
    return top[np.argsort(-scores[top])]


def insert_one_by_one(index: VectorIndex, vectors: np.ndarray, ids: list[str],
                      categories: np.ndarray, halves: np.ndarray) -> float:
    """Seconds spent in upsert (list conversion of each chunk not counted)."""
    spent = 0.0
    for start in range(0, len(vectors), CHUNK):
        rows = vectors[start:start + CHUNK].tolist()
        started = time.perf_counter()
        for offset, row in enumerate(rows):
            i = start + offset
            index.upsert(ids[i], row, (f"category{categories[i]}", Int64(int(halves[i]))))
        spent += time.perf_counter() - started
        print(f"  inserted {start + len(rows):,}/{len(vectors):,} "
              f"({(start + len(rows)) / spent:,.0f}/s)", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    return spent


def insert_bulk(index: VectorIndex, vectors: np.ndarray, ids: list[str],
                categories: np.ndarray, halves: np.ndarray) -> float:
    spent = 0.0
    for start in range(0, len(vectors), 20_000):
        rows = vectors[start:start + 20_000].tolist()
        items = [(ids[start + k], row, (f"category{categories[start + k]}",
                                        Int64(int(halves[start + k]))))
                 for k, row in enumerate(rows)]
        started = time.perf_counter()
        index.upsert_many(items)
        spent += time.perf_counter() - started
    return spent


def main(args: argparse.Namespace) -> dict[str, Any]:
    print(f"generating {args.count:,} x {args.dims} vectors", file=sys.stderr)
    vectors, queries = make_data(args)
    rng = np.random.default_rng(args.seed + 1)
    categories = rng.integers(0, CATEGORIES, args.count)
    halves = rng.integers(0, 2, args.count)
    ids = [f"doc{i:07d}" for i in range(args.count)]
    results: dict[str, Any] = {
        "config": {"count": args.count, "dims": args.dims, "queries": args.queries,
                   "data": "uniform" if args.uniform else "clustered",
                   "centroids": None if args.uniform else args.centroids,
                   "noise": None if args.uniform else args.noise, "limit": LIMIT,
                   "connectivity": vector_module.CONNECTIVITY,
                   "expansion_add": vector_module.EXPANSION_ADD,
                   "expansion_search": vector_module.EXPANSION_SEARCH,
                   "exact_filter_threshold": vector_module.EXACT_FILTER_THRESHOLD},
    }

    print("inserting one upsert at a time", file=sys.stderr)
    index = VectorIndex(args.dims, ("category", "half"))
    spent = insert_one_by_one(index, vectors, ids, categories, halves)
    results["insert_per_s.upsert"] = args.count / spent
    if not args.no_bulk:
        print("inserting with upsert_many", file=sys.stderr)
        bulk = VectorIndex(args.dims, ("category", "half"))
        results["insert_per_s.upsert_many"] = args.count / insert_bulk(
            bulk, vectors, ids, categories, halves)
        del bulk
    results["memory_mb"] = {
        "usearch": index._hnsw.memory_usage / 2**20,
        "float32_matrix": index._matrix.nbytes / 2**20,
    }

    # Per query: a random category for the 1% filter, a random half for the 50% filter.
    q_categories = rng.integers(0, CATEGORIES, len(queries))
    q_halves = rng.integers(0, 2, len(queries))
    kinds = ("unfiltered", "category_eq_1pct", "half_eq_50pct")
    latency: dict[str, list[float]] = {kind: [] for kind in kinds}
    latency["exact_numpy"] = []
    found = dict.fromkeys(kinds, 0)
    print(f"searching ({len(queries)} queries x {len(kinds)} kinds)", file=sys.stderr)
    for i, q in enumerate(queries):
        qlist = q.tolist()
        started = time.perf_counter()
        truth = exact_top(vectors, q, None)
        latency["exact_numpy"].append(time.perf_counter() - started)
        cases = {
            "unfiltered": (None, truth),
            "category_eq_1pct": ([(0, f"category{q_categories[i]}")],
                                 exact_top(vectors, q, categories == q_categories[i])),
            "half_eq_50pct": ([(1, Int64(int(q_halves[i])))],
                              exact_top(vectors, q, halves == q_halves[i])),
        }
        for kind, (filter_, expected) in cases.items():
            started = time.perf_counter()
            hits = index.search(qlist, LIMIT, filter_)
            latency[kind].append(time.perf_counter() - started)
            found[kind] += len({int(doc_id[3:]) for doc_id, _ in hits}
                               & set(expected.tolist()))
    results["search_latency"] = {kind: percentiles(v) for kind, v in latency.items()}
    results["recall_at_10"] = {kind: found[kind] / (LIMIT * len(queries)) for kind in kinds}

    workdir = Path(tempfile.mkdtemp(prefix="syncline-vector-bench-"))
    try:
        started = time.perf_counter()
        index.save(workdir / "index", 1)
        results["save_s"] = time.perf_counter() - started
        started = time.perf_counter()
        loaded = VectorIndex.load(workdir / "index", args.dims, ("category", "half"))
        results["load_s"] = time.perf_counter() - started
        assert loaded is not None and len(loaded[0]) == len(index)
        results["saved_mb"] = sum(p.stat().st_size for p in (workdir / "index").iterdir()) / 2**20
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "python": platform.python_version()}
    return results


def print_table(results: dict[str, Any]) -> None:
    c = results["config"]
    print(f"\n{c['count']:,} x {c['dims']} {c['data']} vectors"
          + ("" if c["data"] == "uniform" else f" ({c['centroids']} centroids, noise {c['noise']})")
          + f"; HNSW connectivity {c['connectivity']}, expansion_add {c['expansion_add']}, "
            f"expansion_search {c['expansion_search']}")
    print(f"{'insert, one upsert per document':<44}{results['insert_per_s.upsert']:>10,.0f} /s")
    if "insert_per_s.upsert_many" in results:
        print(f"{'insert, upsert_many (batched, all cores)':<44}"
              f"{results['insert_per_s.upsert_many']:>10,.0f} /s")
    print(f"\n{'search (limit 10)':<44}{'p50 ms':>10}{'p99 ms':>10}{'recall@10':>11}")
    labels = {"unfiltered": "VectorIndex, no filter (HNSW)",
              "category_eq_1pct": "VectorIndex, eq on 1 of 100 values (exact)",
              "half_eq_50pct": "VectorIndex, eq on 1 of 2 values (HNSW+post)",
              "exact_numpy": "baseline: exact numpy, no filter"}
    for kind, label in labels.items():
        lat = results["search_latency"][kind]
        recall = results["recall_at_10"].get(kind, 1.0)
        print(f"{label:<44}{lat['p50_ms']:>10.3f}{lat['p99_ms']:>10.3f}{recall:>11.4f}")
    mem = results["memory_mb"]
    print(f"\nmemory: usearch {mem['usearch']:,.0f} MB + float32 matrix "
          f"{mem['float32_matrix']:,.0f} MB; save {results['save_s']:.2f} s, "
          f"load {results['load_s']:.2f} s, {results['saved_mb']:,.0f} MB on disk")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=768)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--centroids", type=int, default=1_000)
    parser.add_argument("--noise", type=float, default=1.0,
                        help="gaussian noise norm relative to the unit centres")
    parser.add_argument("--uniform", action="store_true",
                        help="uniform random directions instead of clusters")
    parser.add_argument("--no-bulk", action="store_true", help="skip the upsert_many run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--connectivity", type=int, default=None,
                        help="override the HNSW parameter (for tuning)")
    parser.add_argument("--expansion-add", type=int, default=None)
    parser.add_argument("--expansion-search", type=int, default=None)
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "vector_search.json",
                        help="write results here")
    args = parser.parse_args()
    for name in ("connectivity", "expansion_add", "expansion_search"):
        if getattr(args, name) is not None:
            setattr(vector_module, name.upper(), getattr(args, name))
    results = main(args)
    print_table(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
