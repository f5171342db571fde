"""The vector index engine: one vector index's vectors, searched by cosine similarity.

A `VectorIndex` holds the latest committed version of each indexed document: its
vector (normalized to unit length, float32) and the index keys of its filter field
values. Searches rank by cosine similarity, best first, ties broken by document ID.

Storage. Each indexed document gets a *row*: a slot in a float32 matrix (`_matrix`)
that doubles as the document's key in the usearch HNSW graph. Freed rows are reused.
The matrix duplicates the vectors that usearch keeps (2x memory) so that the exact
paths below can gather any subset of vectors with one numpy fancy-index, which is
10-30x faster than `usearch.Index.get` on thousands of keys.

Search paths:
- filtered, and the clauses' matching documents number at most
  `EXACT_FILTER_THRESHOLD` (counted as the sum of the clauses' posting sets, an upper
  bound of their union): exact cosine with numpy over exactly those documents;
- filtered, larger: HNSW with oversampling (k = max(limit * OVERSAMPLE, 2 * limit /
  matching fraction)), post-filtered, k doubled until `limit` matches are found; once
  k would reach the number of matching documents (they are far from the query), exact
  over all of them instead;
- unfiltered, at most `EXACT_UNFILTERED_THRESHOLD` documents: exact with numpy;
- unfiltered, larger: HNSW.
Every path scores its candidates the same way (`np.einsum` of the float32 rows with
the unit query: row-by-row, so a document's score does not depend on which other
rows were gathered with it), so ties and scores agree between paths.

HNSW parameters: connectivity 32, expansion_add 48, expansion_search 96, chosen with
benchmarks/vector_search.py on 100,000 x 768 vectors around 1,000 centroids (2 cores).
On the hard setting (noise 2.0: the 10th neighbour at cosine ~0.24) they gave recall@10
0.997 at 1,108 upserts/s, where usearch's defaults (16, 128, 64) gave 0.993 at only
428 upserts/s; connectivity 48 / expansion_add 48 / expansion_search 64 gave 0.990 at
949/s. A wide graph (32) lets a short construction search (48) stay accurate, and
the wider graph costs little memory next to the vectors (64 neighbour slots of 4 bytes
per document at level 0, against 3,072 bytes for a 768-d float32 vector).

Thread safety: one lock guards every method, so a search never sees half of an
upsert, and usearch is never entered by two threads at once (searches take ~1 ms,
so serializing them costs little; the numpy work runs under the lock too, because an
upsert may overwrite a reused row in place).
"""

from __future__ import annotations

import math
import os
import secrets
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from usearch.index import Index

from syncline.values import Int64, encode_key, pack, unpack

# A filtered search whose clauses match at most this many documents is answered
# exactly with numpy (a 20,000 x 768 gather + dot product takes ~10 ms).
EXACT_FILTER_THRESHOLD: Final = 20_000
# An unfiltered search on an index of at most this many documents is exact too.
EXACT_UNFILTERED_THRESHOLD: Final = 2_000
# Filtered HNSW searches ask for at least limit * OVERSAMPLE neighbours.
OVERSAMPLE: Final = 8
# Unfiltered HNSW searches ask for this many extra neighbours, so that documents
# tied with the last result are seen and the tie is broken by document ID.
TIE_MARGIN: Final = 16

# HNSW parameters, measured: see the module docstring and benchmarks/vector_search.py.
CONNECTIVITY: Final = 32
EXPANSION_ADD: Final = 48
EXPANSION_SEARCH: Final = 96

_METRIC: Final = "cos"
_DTYPE: Final = "f32"
_NUMERIC_TYPES: Final = frozenset({float, int, Int64})
_FORMAT: Final = 1
_META_NAME: Final = "vector_index.meta"


def unit_vector(vector: Any, dimensions: int) -> np.ndarray | None:
    """`vector` normalized to unit length as float32, or None if it is not a list of
    `dimensions` finite numbers with a non-zero norm (such documents are not indexed)."""
    if type(vector) is not list or len(vector) != dimensions:
        return None
    if not set(map(type, vector)) <= _NUMERIC_TYPES:
        return None
    try:
        array = np.array(vector, dtype=np.float64)
    except (OverflowError, ValueError, TypeError):
        return None
    if not np.isfinite(array).all():
        return None
    scale = float(np.abs(array).max())
    if scale == 0.0:
        return None
    array /= scale  # avoid overflow/underflow in the norm
    array /= math.sqrt(float(array @ array))
    return array.astype(np.float32)


def _new_hnsw(dimensions: int) -> Index:
    return Index(ndim=dimensions, metric=_METRIC, dtype=_DTYPE, connectivity=CONNECTIVITY,
                 expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class VectorIndex:
    """The vectors of one vector index: the latest committed version of each document."""

    def __init__(self, dimensions: int, filter_fields: tuple[str, ...]) -> None:
        if dimensions < 1:
            raise ValueError(f"dimensions must be positive, got {dimensions}")
        self.dimensions = dimensions
        self.filter_fields = tuple(filter_fields)
        self._lock = threading.Lock()
        self._hnsw = _new_hnsw(dimensions)
        self._matrix = np.zeros((0, dimensions), dtype=np.float32)
        self._row_of: dict[str, int] = {}  # doc id -> row
        self._doc_at: list[str | None] = []  # row -> doc id (None: free row)
        self._keys_at: list[tuple[bytes, ...] | None] = []  # row -> encoded filter values
        self._free: list[int] = []
        # position in filter_fields -> encoded value -> rows whose field has that value
        self._postings: list[dict[bytes, set[int]]] = [{} for _ in self.filter_fields]

    # -- writes ---------------------------------------------------------------------

    def upsert(self, doc_id: str, vector: Any, filter_values: tuple[Any, ...]) -> None:
        """Index (or re-index) `doc_id`; a value that is not a valid vector un-indexes it."""
        unit = unit_vector(vector, self.dimensions)
        keys = self._encode_filter_values(filter_values) if unit is not None else None
        with self._lock:
            row = self._row_of.get(doc_id)
            if unit is None or keys is None:
                if row is not None:
                    self._remove_row(doc_id, row)
                return
            if row is None:
                self._insert(doc_id, unit, keys)
            else:
                self._replace(row, unit, keys)

    def upsert_many(self, items: Iterable[tuple[str, Any, tuple[Any, ...]]]) -> None:
        """`upsert` for many documents at once (a rebuild): documents not yet in the index
        go into the HNSW graph in one batch that uses every core. Later items for the
        same doc_id win. The lock is held for the whole batch, so while searches run,
        pass batches of a few thousand documents."""
        latest: dict[str, tuple[np.ndarray | None, tuple[bytes, ...] | None]] = {}
        for doc_id, vector, filter_values in items:
            unit = unit_vector(vector, self.dimensions)
            keys = self._encode_filter_values(filter_values) if unit is not None else None
            latest[doc_id] = (unit, keys)
        with self._lock:
            new_rows: list[int] = []
            for doc_id, (unit, keys) in latest.items():
                row = self._row_of.get(doc_id)
                if row is not None and (unit is None or keys is None):
                    self._remove_row(doc_id, row)
                elif row is not None:
                    assert unit is not None and keys is not None
                    self._replace(row, unit, keys)
                elif unit is not None and keys is not None:
                    row = self._allocate()
                    self._matrix[row] = unit
                    self._doc_at[row] = doc_id
                    self._keys_at[row] = keys
                    self._row_of[doc_id] = row
                    self._post(row, keys)
                    new_rows.append(row)
            if new_rows:
                rows = np.array(new_rows, dtype=np.int64)
                self._hnsw.add(rows.astype(np.uint64), self._matrix[rows],
                               threads=os.cpu_count() or 1)

    def remove(self, doc_id: str) -> None:
        """Un-index `doc_id` (no error if it is not indexed)."""
        with self._lock:
            row = self._row_of.get(doc_id)
            if row is not None:
                self._remove_row(doc_id, row)

    def _encode_filter_values(self, filter_values: tuple[Any, ...]) -> tuple[bytes, ...]:
        if len(filter_values) != len(self.filter_fields):
            raise ValueError(f"expected {len(self.filter_fields)} filter values "
                             f"({', '.join(self.filter_fields)}), got {len(filter_values)}")
        return tuple(encode_key(value) for value in filter_values)

    def _allocate(self) -> int:
        if self._free:
            return self._free.pop()
        row = len(self._doc_at)
        if row == len(self._matrix):
            grown = np.zeros((max(64, row + row // 2), self.dimensions), dtype=np.float32)
            grown[:row] = self._matrix[:row]
            self._matrix = grown
        self._doc_at.append(None)
        self._keys_at.append(None)
        return row

    def _insert(self, doc_id: str, unit: np.ndarray, keys: tuple[bytes, ...]) -> None:
        row = self._allocate()
        try:
            self._hnsw.add(row, unit)
        except BaseException:
            self._free.append(row)
            raise
        self._matrix[row] = unit
        self._doc_at[row] = doc_id
        self._keys_at[row] = keys
        self._row_of[doc_id] = row
        self._post(row, keys)

    def _replace(self, row: int, unit: np.ndarray, keys: tuple[bytes, ...]) -> None:
        """A new version of the document in `row`: touch only what changed (a document
        whose vector did not change stays where it is in the graph)."""
        if not np.array_equal(self._matrix[row], unit):
            self._hnsw.remove(row)
            self._matrix[row] = unit
            self._hnsw.add(row, unit)
        old_keys = self._keys_at[row]
        if old_keys != keys:
            assert old_keys is not None
            self._unpost(row, old_keys)
            self._post(row, keys)
            self._keys_at[row] = keys

    def _remove_row(self, doc_id: str, row: int) -> None:
        self._hnsw.remove(row)
        keys = self._keys_at[row]
        assert keys is not None
        self._unpost(row, keys)
        del self._row_of[doc_id]
        self._doc_at[row] = None
        self._keys_at[row] = None
        self._free.append(row)

    def _post(self, row: int, keys: tuple[bytes, ...]) -> None:
        for postings, key in zip(self._postings, keys, strict=True):
            rows = postings.get(key)
            if rows is None:
                postings[key] = {row}
            else:
                rows.add(row)

    def _unpost(self, row: int, keys: tuple[bytes, ...]) -> None:
        for postings, key in zip(self._postings, keys, strict=True):
            rows = postings[key]
            rows.discard(row)
            if not rows:
                del postings[key]

    # -- reads ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._row_of)

    def search(self, vector: Sequence[float], limit: int,
               filter: list[tuple[int, Any]] | None = None) -> list[tuple[str, float]]:
        """Up to `limit` (doc_id, cosine similarity) pairs, best first, ties by doc_id.

        `filter` is None or an OR of (position in filter_fields, value) equality clauses;
        an empty list matches nothing."""
        query = np.asarray(vector, dtype=np.float64)
        if query.shape != (self.dimensions,):
            raise ValueError(f"the query vector must have {self.dimensions} numbers, "
                             f"got shape {query.shape}")
        if not np.isfinite(query).all():
            raise ValueError("the query vector must contain finite numbers")
        scale = float(np.abs(query).max())
        if scale > 0.0:
            query /= scale
            query /= math.sqrt(float(query @ query))
        q = query.astype(np.float32)  # all zeros for a zero query: every score is 0
        clauses = None if filter is None else self._encode_clauses(filter)
        if limit <= 0 or clauses == {}:
            return []
        with self._lock:
            if not self._row_of:
                return []
            if clauses is None:
                if len(self._row_of) <= EXACT_UNFILTERED_THRESHOLD or scale == 0.0:
                    rows = np.fromiter(self._row_of.values(), dtype=np.int64,
                                       count=len(self._row_of))
                    return self._exact(rows, q, limit)
                return self._hnsw_search(q, limit)
            sets = [self._postings[pos].get(key, ()) for pos, keys in clauses.items()
                    for key in keys]
            total = sum(map(len, sets))
            if total == 0:
                return []
            if total <= EXACT_FILTER_THRESHOLD or scale == 0.0:
                return self._exact_union(sets, q, limit)
            return self._hnsw_filtered(q, limit, clauses, sets, total)

    def _encode_clauses(self, filter: list[tuple[int, Any]]) -> dict[int, set[bytes]]:
        """position -> the encoded values any of which matches (duplicates merged)."""
        clauses: dict[int, set[bytes]] = {}
        for pos, value in filter:
            if not 0 <= pos < len(self.filter_fields):
                raise ValueError(f"filter position {pos} is not one of the "
                                 f"{len(self.filter_fields)} filter fields")
            clauses.setdefault(pos, set()).add(encode_key(value))
        return clauses

    def _scores(self, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
        # einsum works row by row: a row's score is bitwise the same whatever subset of
        # rows it is gathered with (a BLAS matrix-vector product is not).
        return np.einsum("ij,j->i", self._matrix[rows], q)

    def _ranked(self, rows: np.ndarray, scores: np.ndarray,
                limit: int) -> list[tuple[str, float]]:
        """The best `limit` of (rows, scores), ties broken by doc id."""
        if len(rows) > limit:
            # Keep every row scoring at least the limit-th best, ties at the cut included.
            cut = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            keep = scores >= cut
            rows, scores = rows[keep], scores[keep]
        doc_at = self._doc_at
        pairs = sorted(((-score, doc_at[row]) for row, score
                        in zip(rows.tolist(), scores.tolist(), strict=True)))
        return [(doc_id, min(1.0, max(-1.0, -neg))) for neg, doc_id in pairs[:limit]]

    def _exact(self, rows: np.ndarray, q: np.ndarray, limit: int) -> list[tuple[str, float]]:
        return self._ranked(rows, self._scores(rows, q), limit)

    def _neighbours(self, q: np.ndarray, count: int) -> np.ndarray:
        matches = self._hnsw.search(q, count)
        return np.asarray(matches.keys[:len(matches)], dtype=np.int64)

    def _hnsw_search(self, q: np.ndarray, limit: int) -> list[tuple[str, float]]:
        rows = self._neighbours(q, min(len(self._row_of), limit + TIE_MARGIN))
        return self._exact(rows, q, limit)

    def _exact_union(self, sets: list[Any], q: np.ndarray,
                     limit: int) -> list[tuple[str, float]]:
        union: set[int] = set().union(*sets)
        return self._exact(np.fromiter(union, dtype=np.int64, count=len(union)), q, limit)

    def _hnsw_filtered(self, q: np.ndarray, limit: int, clauses: dict[int, set[bytes]],
                       sets: list[Any], matching: int) -> list[tuple[str, float]]:
        """HNSW neighbours, post-filtered; `matching` is (an upper bound of) the number of
        matching documents, so about k * matching / size of k neighbours match."""
        size = len(self._row_of)
        k = min(size, max(limit * OVERSAMPLE, math.ceil(2 * limit * size / matching)))
        keys_at = self._keys_at
        tests = list(clauses.items())
        while True:
            hits = []
            for row in self._neighbours(q, k).tolist():
                keys = keys_at[row]
                if keys is not None and any(keys[pos] in values for pos, values in tests):
                    hits.append(row)
            if len(hits) >= limit:
                return self._exact(np.array(hits, dtype=np.int64), q, limit)
            k *= 2
            if k >= min(size, matching):
                # The matches are far from the query: asking HNSW for this many
                # neighbours costs more than scoring every match exactly.
                return self._exact_union(sets, q, limit)

    # -- persistence -----------------------------------------------------------------

    def save(self, directory: Path, indexed_ts: int) -> None:
        """Write the index to `directory` atomically, as of commit timestamp `indexed_ts`.

        The HNSW graph and the vector matrix go to new, uniquely named files; then the
        metadata file (doc ids, encoded filter values, dimensions, filter fields,
        indexed_ts and the two file names) replaces `vector_index.meta` by rename: that
        rename is the commit point. Files of earlier saves are deleted afterwards."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        token = f"{indexed_ts}-{secrets.token_hex(4)}"
        graph_name, matrix_name = f"graph-{token}.usearch", f"vectors-{token}.npy"
        with self._lock:  # a consistent snapshot; the slow writes that can wait, outside
            self._hnsw.save(os.fspath(directory / graph_name))
            matrix = self._matrix[:len(self._doc_at)].copy()
            meta = pack({
                "format": _FORMAT,
                "dimensions": self.dimensions,
                "filter_fields": list(self.filter_fields),
                "indexed_ts": int(indexed_ts),
                "graph": graph_name,
                "vectors": matrix_name,
                "doc_ids": list(self._doc_at),
                "filter_keys": [None if k is None else list(k) for k in self._keys_at],
            })
        with open(directory / matrix_name, "wb") as f:
            np.save(f, matrix, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        del matrix
        _fsync_file(directory / graph_name)
        temp = directory / f"{_META_NAME}.{token}.tmp"
        with open(temp, "wb") as f:
            f.write(meta)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, directory / _META_NAME)
        _fsync_dir(directory)
        for path in directory.iterdir():
            name = path.name
            stale = ((name.startswith("graph-") and name.endswith(".usearch")
                      and name != graph_name)
                     or (name.startswith("vectors-") and name.endswith(".npy")
                         and name != matrix_name)
                     or (name.startswith(f"{_META_NAME}.") and name.endswith(".tmp")))
            if stale:
                path.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path, dimensions: int,
             filter_fields: tuple[str, ...]) -> tuple[VectorIndex, int] | None:
        """(index, indexed_ts) as last saved in `directory`, or None if there is no save,
        it is unreadable, or it was saved with other dimensions or filter fields."""
        directory = Path(directory)
        try:
            meta = unpack((directory / _META_NAME).read_bytes())
            if (not isinstance(meta, dict) or meta.get("format") != _FORMAT
                    or meta.get("dimensions") != dimensions
                    or meta.get("filter_fields") != list(filter_fields)):
                return None
            doc_ids, filter_keys = meta["doc_ids"], meta["filter_keys"]
            indexed_ts = meta["indexed_ts"]
            matrix = np.load(directory / meta["vectors"], allow_pickle=False)
            hnsw = Index.restore(os.fspath(directory / meta["graph"]))
            nrows = len(doc_ids)
            if (hnsw is None or hnsw.ndim != dimensions or not isinstance(indexed_ts, int)
                    or matrix.dtype != np.float32 or matrix.shape != (nrows, dimensions)
                    or len(filter_keys) != nrows):
                return None
            index = cls(dimensions, filter_fields)
            index._hnsw = hnsw
            hnsw.expansion_add = EXPANSION_ADD
            hnsw.expansion_search = EXPANSION_SEARCH
            index._matrix = matrix
            for row, (doc_id, keys) in enumerate(zip(doc_ids, filter_keys, strict=True)):
                if doc_id is None:
                    index._doc_at.append(None)
                    index._keys_at.append(None)
                    index._free.append(row)
                    continue
                if (not isinstance(doc_id, str) or not isinstance(keys, list)
                        or len(keys) != len(filter_fields)
                        or not all(isinstance(k, bytes) for k in keys)
                        or doc_id in index._row_of):
                    return None
                key_tuple = tuple(keys)
                index._doc_at.append(doc_id)
                index._keys_at.append(key_tuple)
                index._row_of[doc_id] = row
                index._post(row, key_tuple)
            live = np.fromiter(index._row_of.values(), dtype=np.uint64, count=len(index._row_of))
            if len(hnsw) != len(live) or (len(live) and not np.all(hnsw.contains(live))):
                return None
            index._free.reverse()  # reuse low rows first, like a fresh index would
            return index, indexed_ts
        except Exception:  # a missing, partial or corrupt save: the caller rebuilds
            return None
