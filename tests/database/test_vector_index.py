"""The vector index engine (syncline.database.search.vector.VectorIndex) on its own."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from syncline.database.search import vector as vector_module
from syncline.database.search.vector import VectorIndex
from syncline.values import UNDEFINED, Int64


def cosine(a: list[float], b: list[float]) -> float:
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a64 @ b64 / (np.linalg.norm(a64) * np.linalg.norm(b64)))


def clustered(count: int, dims: int, seed: int, centroids: int = 100,
              noise: float = 1.0, centre_seed: int = 0) -> np.ndarray:
    """Unit vectors around `centroids` random centres (the same centres for the same
    centre_seed); the noise is relative to the centres' unit norm."""
    centres = np.random.default_rng(centre_seed).standard_normal((centroids, dims))
    centres = (centres / np.linalg.norm(centres, axis=1, keepdims=True)).astype(np.float32)
    rng = np.random.default_rng(seed)
    points = centres[rng.integers(0, centroids, count)]
    points = points + (noise / np.sqrt(dims)) * rng.standard_normal((count, dims)).astype(
        np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def exact_top(vectors: np.ndarray, ids: list[str], query: np.ndarray, limit: int,
              mask: np.ndarray | None = None) -> list[str]:
    scores = vectors @ (query / np.linalg.norm(query))
    order = sorted((i for i in range(len(ids)) if mask is None or mask[i]),
                   key=lambda i: (-scores[i], ids[i]))
    return [ids[i] for i in order[:limit]]


HAND = {
    "a": [1.0, 0.0, 0.0],
    "b": [0.9, 0.1, 0.0],
    "c": [0.0, 1.0, 0.0],
    "d": [-1.0, 0.0, 0.0],
    "e": [0.5, 0.5, 0.7071],
    "f": [3.0, 1.0, -2.0],
}


def hand_index() -> VectorIndex:
    index = VectorIndex(3, ())
    for doc_id, vec in HAND.items():
        index.upsert(doc_id, vec, ())
    return index


# -- ranking --------------------------------------------------------------------------


def test_exact_ranking_and_scores_match_numpy_cosine() -> None:
    index = hand_index()
    query = [0.8, 0.3, 0.1]
    results = index.search(query, 10)
    expected = sorted(HAND, key=lambda d: -cosine(HAND[d], query))
    assert [doc_id for doc_id, _ in results] == expected
    for doc_id, score in results:
        assert score == pytest.approx(cosine(HAND[doc_id], query), abs=1e-5)
    assert results[0] == ("b", pytest.approx(cosine(HAND["b"], query), abs=1e-5))
    assert results[-1][0] == "d" and results[-1][1] < 0
    assert all(-1.0 <= score <= 1.0 for _, score in results)


def test_scores_are_extremes_for_same_and_opposite_direction() -> None:
    index = hand_index()
    results = dict(index.search([2.0, 0.0, 0.0], 10))
    assert results["a"] == pytest.approx(1.0, abs=1e-6)
    assert results["d"] == pytest.approx(-1.0, abs=1e-6)
    assert results["c"] == pytest.approx(0.0, abs=1e-6)


def test_ties_are_broken_by_doc_id() -> None:
    index = VectorIndex(2, ())
    # Same direction, different lengths: identical cosine to any query.
    for doc_id, scale in [("m", 1.0), ("b", 2.0), ("x", 0.5), ("a", 7.0)]:
        index.upsert(doc_id, [scale * 1.0, scale * 2.0], ())
    index.upsert("z", [1.0, 0.0], ())
    results = index.search([1.0, 2.0], 10)
    assert [doc_id for doc_id, _ in results] == ["a", "b", "m", "x", "z"]
    assert len({score for _, score in results[:4]}) == 1
    # The tie at the cut is broken by doc id too.
    assert [doc_id for doc_id, _ in index.search([1.0, 2.0], 2)] == ["a", "b"]


def test_limit() -> None:
    index = hand_index()
    full = index.search([0.8, 0.3, 0.1], 10)
    assert len(full) == len(HAND)
    assert index.search([0.8, 0.3, 0.1], 3) == full[:3]
    assert index.search([0.8, 0.3, 0.1], 1) == full[:1]
    assert index.search([0.8, 0.3, 0.1], 0) == []


def test_zero_query_scores_everything_zero_in_doc_id_order() -> None:
    index = hand_index()
    assert index.search([0.0, 0.0, 0.0], 3) == [("a", 0.0), ("b", 0.0), ("c", 0.0)]


def test_query_of_wrong_length_raises() -> None:
    index = hand_index()
    with pytest.raises(ValueError):
        index.search([1.0, 0.0], 5)
    with pytest.raises(ValueError):
        index.search([float("nan"), 0.0, 0.0], 5)


def test_empty_index() -> None:
    index = VectorIndex(3, ("kind",))
    assert len(index) == 0
    assert index.search([1.0, 0.0, 0.0], 5) == []
    assert index.search([1.0, 0.0, 0.0], 5, [(0, "x")]) == []


# -- which documents are indexed ---------------------------------------------------------


@pytest.mark.parametrize("bad", [
    [1.0, 0.0],                      # too short
    [1.0, 0.0, 0.0, 0.0],            # too long
    (1.0, 0.0, 0.0),                 # not a list
    "abc",
    None,
    UNDEFINED,
    {"x": 1.0},
    b"\x00\x01\x02",
    1.0,
    ["1", "0", "0"],                 # strings are not numbers
    [True, False, False],            # neither are booleans
    [1.0, None, 0.0],
    [[1.0], 0.0, 0.0],
    [0.0, 0.0, 0.0],                 # zero norm
    [float("nan"), 1.0, 0.0],
    [float("inf"), 1.0, 0.0],
])
def test_invalid_vectors_are_not_indexed(bad: object) -> None:
    index = VectorIndex(3, ())
    index.upsert("good", [1.0, 0.0, 0.0], ())
    index.upsert("bad", bad, ())
    assert len(index) == 1
    assert [doc_id for doc_id, _ in index.search([1.0, 0.0, 0.0], 10)] == ["good"]


def test_int_and_int64_components_are_numbers() -> None:
    index = VectorIndex(3, ())
    index.upsert("ints", [1, 0, 0], ())
    index.upsert("int64", [Int64(0), Int64(2), Int64(0)], ())
    index.upsert("huge", [1e300, 1e300, 0.0], ())  # normalizing must not overflow
    index.upsert("tiny", [0.0, 0.0, 5e-324], ())  # nor underflow
    assert len(index) == 4
    results = dict(index.search([1.0, 1.0, 0.0], 10))
    assert results["huge"] == pytest.approx(1.0, abs=1e-6)
    assert results["ints"] == pytest.approx(cosine([1, 0, 0], [1, 1, 0]), abs=1e-6)
    assert results["tiny"] == pytest.approx(0.0, abs=1e-6)


def test_update_to_invalid_vector_removes_the_old_entry() -> None:
    index = hand_index()
    index.upsert("a", [1.0, 0.0], ())  # wrong length now
    assert len(index) == len(HAND) - 1
    assert "a" not in dict(index.search([1.0, 0.0, 0.0], 10))
    index.upsert("b", "not a vector", ())
    assert "b" not in dict(index.search([1.0, 0.0, 0.0], 10))
    index.upsert("a", [1.0, 0.0, 0.0], ())  # valid again
    assert index.search([1.0, 0.0, 0.0], 1) == [("a", pytest.approx(1.0, abs=1e-6))]


def test_upsert_replaces() -> None:
    index = hand_index()
    assert index.search([0.0, 1.0, 0.0], 1)[0][0] == "c"
    index.upsert("a", [0.0, 5.0, 0.0], ())
    assert len(index) == len(HAND)
    results = index.search([0.0, 1.0, 0.0], 10)
    assert [doc_id for doc_id, _ in results[:2]] == ["a", "c"]  # tie, by doc id
    assert dict(results)["a"] == pytest.approx(1.0, abs=1e-6)
    assert sum(1 for doc_id, _ in results if doc_id == "a") == 1
    # Re-upserting the same vector with new filter values moves it between filters.
    tagged = VectorIndex(3, ("tag",))
    tagged.upsert("a", [1.0, 0.0, 0.0], ("x",))
    tagged.upsert("a", [1.0, 0.0, 0.0], ("y",))
    assert tagged.search([1.0, 0.0, 0.0], 5, [(0, "x")]) == []
    assert [d for d, _ in tagged.search([1.0, 0.0, 0.0], 5, [(0, "y")])] == ["a"]


def test_remove() -> None:
    index = hand_index()
    index.remove("b")
    index.remove("b")  # absent: no error
    index.remove("never-there")
    assert len(index) == len(HAND) - 1
    assert "b" not in dict(index.search([0.9, 0.1, 0.0], 10))
    index.upsert("g", [0.9, 0.1, 0.0], ())  # reuses the freed slot
    assert index.search([0.9, 0.1, 0.0], 1)[0][0] == "g"
    assert len(index) == len(HAND)


def test_wrong_number_of_filter_values_raises() -> None:
    index = VectorIndex(3, ("a", "b"))
    with pytest.raises(ValueError):
        index.upsert("x", [1.0, 0.0, 0.0], ("only one",))
    assert len(index) == 0


# -- filters --------------------------------------------------------------------------


def filtered_index() -> VectorIndex:
    index = VectorIndex(2, ("cuisine", "main"))
    rows = [
        ("d1", [1.0, 0.0], ("French", "butter")),
        ("d2", [0.9, 0.2], ("Indonesian", "rice")),
        ("d3", [0.8, 0.4], ("French", "cream")),
        ("d4", [0.5, 0.5], ("Italian", "butter")),
        ("d5", [0.1, 1.0], ("Italian", "tomato")),
        ("d6", [0.7, 0.1], (UNDEFINED, "rice")),
        ("d7", [0.6, 0.2], (1.0, UNDEFINED)),
        ("d8", [0.6, 0.3], (Int64(1), "rice")),
        ("d9", [0.6, 0.1], (None, "rice")),
    ]
    for doc_id, vec, values in rows:
        index.upsert(doc_id, vec, values)
    return index


def ids(results: list[tuple[str, float]]) -> list[str]:
    return [doc_id for doc_id, _ in results]


def test_filter_single_eq() -> None:
    index = filtered_index()
    assert ids(index.search([1.0, 0.0], 10, [(0, "French")])) == ["d1", "d3"]
    assert ids(index.search([0.0, 1.0], 10, [(0, "French")])) == ["d3", "d1"]
    assert ids(index.search([1.0, 0.0], 1, [(1, "butter")])) == ["d1"]
    assert index.search([1.0, 0.0], 10, [(0, "Spanish")]) == []


def test_filter_or_of_values() -> None:
    index = filtered_index()
    results = index.search([1.0, 0.0], 10, [(0, "French"), (0, "Indonesian")])
    assert ids(results) == ["d1", "d2", "d3"]
    assert dict(results)["d2"] == pytest.approx(cosine([0.9, 0.2], [1.0, 0.0]), abs=1e-5)
    # A repeated clause does not duplicate results.
    assert ids(index.search([1.0, 0.0], 10, [(0, "French"), (0, "French")])) == ["d1", "d3"]


def test_filter_or_across_two_fields() -> None:
    index = filtered_index()
    results = index.search([0.0, 1.0], 10, [(0, "French"), (1, "butter")])
    assert sorted(ids(results)) == ["d1", "d3", "d4"]
    assert ids(results) == ["d4", "d3", "d1"]
    # A document matching both clauses appears once.
    both = index.search([1.0, 0.0], 10, [(0, "French"), (1, "cream")])
    assert ids(both) == ["d1", "d3"]


def test_filter_undefined_matches_missing_fields() -> None:
    index = filtered_index()
    assert ids(index.search([1.0, 0.0], 10, [(0, UNDEFINED)])) == ["d6"]
    assert ids(index.search([1.0, 0.0], 10, [(1, UNDEFINED)])) == ["d7"]
    assert ids(index.search([1.0, 0.0], 10, [(0, None)])) == ["d9"]  # null is not missing


def test_filter_float_and_int64_are_different_values() -> None:
    index = filtered_index()
    assert ids(index.search([1.0, 0.0], 10, [(0, 1.0)])) == ["d7"]
    assert ids(index.search([1.0, 0.0], 10, [(0, Int64(1))])) == ["d8"]
    assert sorted(ids(index.search([1.0, 0.0], 10, [(0, 1.0), (0, Int64(1))]))) == ["d7", "d8"]


def test_filter_follows_updates_and_removals() -> None:
    index = filtered_index()
    index.upsert("d1", [1.0, 0.0], ("Italian", "butter"))
    assert ids(index.search([1.0, 0.0], 10, [(0, "French")])) == ["d3"]
    index.remove("d3")
    assert index.search([1.0, 0.0], 10, [(0, "French")]) == []
    index.upsert("d4", "gone", ("French", "butter"))  # invalid vector: un-indexed
    assert ids(index.search([1.0, 0.0], 10, [(0, "Italian")])) == ["d1", "d5"]


def test_empty_filter_matches_nothing_and_bad_position_raises() -> None:
    index = filtered_index()
    assert index.search([1.0, 0.0], 10, []) == []
    with pytest.raises(ValueError):
        index.search([1.0, 0.0], 10, [(2, "x")])


def test_large_filter_set_path_gives_the_exact_results(
        monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = clustered(3000, 16, seed=3, centroids=30)
    rng = np.random.default_rng(4)
    colours = rng.integers(0, 4, len(vectors))
    sizes = rng.integers(0, 3, len(vectors))
    doc_ids = [f"doc{i:05d}" for i in range(len(vectors))]
    index = VectorIndex(16, ("colour", "size"))
    for i, doc_id in enumerate(doc_ids):
        index.upsert(doc_id, vectors[i].tolist(), (f"c{colours[i]}", Int64(int(sizes[i]))))
    queries = clustered(20, 16, seed=5, centroids=30)
    filters = [[(0, "c1")], [(0, "c0"), (0, "c3")], [(0, "c2"), (1, Int64(0))]]
    exact = [[index.search(q.tolist(), 10, f) for f in filters] for q in queries]
    # The exact path was taken above: check it against a brute-force reference.
    masks = [colours == 1, (colours == 0) | (colours == 3), (colours == 2) | (sizes == 0)]
    for q, per_filter in zip(queries, exact, strict=True):
        for mask, results in zip(masks, per_filter, strict=True):
            assert ids(results) == exact_top(vectors, doc_ids, q, 10, mask)
    monkeypatch.setattr(vector_module, "EXACT_FILTER_THRESHOLD", 0)
    approximate = [[index.search(q.tolist(), 10, f) for f in filters] for q in queries]
    same = sum(a == e for a_row, e_row in zip(approximate, exact, strict=True)
               for a, e in zip(a_row, e_row, strict=True))
    assert same == len(queries) * len(filters)


def test_large_filter_path_with_few_far_matches_falls_back_to_exact(
        monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = clustered(2000, 16, seed=12, centroids=20)
    index = VectorIndex(16, ("tag",))
    for i in range(len(vectors)):
        index.upsert(f"doc{i:05d}", vectors[i].tolist(), ("common",))
    far = [f"far{j}" for j in range(3)]
    query = vectors[0]
    for j, doc_id in enumerate(far):  # pointing away from the query
        index.upsert(doc_id, (-query + 0.01 * j).tolist(), ("rare",))
    monkeypatch.setattr(vector_module, "EXACT_FILTER_THRESHOLD", 0)
    results = index.search(query.tolist(), 10, [(0, "rare")])
    assert sorted(ids(results)) == far
    for doc_id, score in results:
        j = far.index(doc_id)
        assert score == pytest.approx(cosine((-query + 0.01 * j).tolist(), query.tolist()),
                                      abs=1e-5)
    assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)


def test_unfiltered_hnsw_path_agrees_with_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = clustered(3000, 16, seed=6, centroids=30)
    doc_ids = [f"doc{i:05d}" for i in range(len(vectors))]
    index = VectorIndex(16, ())
    for doc_id, vec in zip(doc_ids, vectors, strict=True):
        index.upsert(doc_id, vec.tolist(), ())
    monkeypatch.setattr(vector_module, "EXACT_UNFILTERED_THRESHOLD", 0)
    queries = clustered(30, 16, seed=7, centroids=30)
    for q in queries:
        results = index.search(q.tolist(), 10)
        assert ids(results) == exact_top(vectors, doc_ids, q, 10)
        for doc_id, score in results:
            i = doc_ids.index(doc_id)
            assert score == pytest.approx(cosine(vectors[i].tolist(), q.tolist()), abs=1e-5)


def test_upsert_many_equals_single_upserts() -> None:
    vectors = clustered(500, 8, seed=8, centroids=10)
    one, many = VectorIndex(8, ("k",)), VectorIndex(8, ("k",))
    items = [(f"d{i:03d}", vectors[i].tolist(), (f"k{i % 3}",)) for i in range(500)]
    items.append(("d000", [0.0] * 8, ("k0",)))  # a later item un-indexes d000
    items.append(("d001", vectors[2].tolist(), ("k2",)))  # and replaces d001
    for item in items:
        one.upsert(*item)
    many.upsert_many(items)
    many.upsert_many([("d002", vectors[3].tolist(), ("k1",)), ("d003", None, ("k0",))])
    one.upsert("d002", vectors[3].tolist(), ("k1",))
    one.remove("d003")
    assert len(one) == len(many) == 498
    q = vectors[7].tolist()
    assert one.search(q, 20) == many.search(q, 20)
    assert one.search(q, 20, [(0, "k1")]) == many.search(q, 20, [(0, "k1")])


# -- persistence ----------------------------------------------------------------------


def test_save_load_round_trip(tmp_path) -> None:
    index = filtered_index()
    index.remove("d2")  # leaves a free slot
    index.save(tmp_path / "idx", 1234)
    loaded = VectorIndex.load(tmp_path / "idx", 2, ("cuisine", "main"))
    assert loaded is not None
    copy, ts = loaded
    assert ts == 1234
    assert len(copy) == len(index) == 8
    for query in ([1.0, 0.0], [0.3, 0.7], [-1.0, 0.2]):
        assert copy.search(query, 10) == index.search(query, 10)
        for f in ([(0, "French")], [(0, UNDEFINED)], [(0, Int64(1))], [(0, 1.0), (1, "rice")]):
            assert copy.search(query, 10, f) == index.search(query, 10, f)
    # The loaded index keeps working: updates, removals and new documents.
    copy.upsert("d1", [0.0, 1.0], ("Italian", "butter"))
    copy.remove("d5")
    copy.upsert("new", [1.0, 0.0], ("French", "egg"))
    assert ids(copy.search([1.0, 0.0], 10, [(0, "French")])) == ["new", "d3"]
    assert copy.search([0.0, 1.0], 1) == [("d1", pytest.approx(1.0, abs=1e-6))]
    assert len(copy) == 8


def test_save_again_replaces_and_cleans_up(tmp_path) -> None:
    index = hand_index()
    index.save(tmp_path, 1)
    index.upsert("z", [0.0, 0.0, 1.0], ())
    index.save(tmp_path, 2)
    loaded = VectorIndex.load(tmp_path, 3, ())
    assert loaded is not None and loaded[1] == 2 and len(loaded[0]) == len(HAND) + 1
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 3  # one meta file, one graph, one vector file
    assert not any(name.endswith(".tmp") for name in names)


def test_load_returns_none_when_it_cannot_use_the_save(tmp_path) -> None:
    assert VectorIndex.load(tmp_path / "missing", 3, ()) is None
    index = VectorIndex(3, ("kind",))
    index.upsert("a", [1.0, 0.0, 0.0], ("x",))
    index.save(tmp_path, 7)
    assert VectorIndex.load(tmp_path, 3, ("kind",)) is not None
    assert VectorIndex.load(tmp_path, 4, ("kind",)) is None  # other dimensions
    assert VectorIndex.load(tmp_path, 3, ("other",)) is None  # other filter fields
    assert VectorIndex.load(tmp_path, 3, ()) is None
    meta = tmp_path / "vector_index.meta"
    original = meta.read_bytes()
    meta.write_bytes(original[: len(original) // 2])  # truncated
    assert VectorIndex.load(tmp_path, 3, ("kind",)) is None
    meta.write_bytes(b"\xc1garbage")
    assert VectorIndex.load(tmp_path, 3, ("kind",)) is None
    meta.write_bytes(original)
    graph = next(tmp_path.glob("graph-*.usearch"))
    graph.write_bytes(b"not a usearch file")
    assert VectorIndex.load(tmp_path, 3, ("kind",)) is None
    graph.unlink()
    assert VectorIndex.load(tmp_path, 3, ("kind",)) is None


# -- concurrency and quality -------------------------------------------------------------


def test_concurrent_searches_during_upserts() -> None:
    dims = 32
    vectors = clustered(3000, dims, seed=9, centroids=20)
    index = VectorIndex(dims, ("parity",))
    for i in range(500):
        index.upsert(f"seed{i}", vectors[i].tolist(), (Int64(i % 2),))
    errors: list[BaseException] = []
    done = threading.Event()
    searches = [0]

    def writer() -> None:
        try:
            for i in range(500, 3000):
                index.upsert(f"doc{i}", vectors[i].tolist(), (Int64(i % 2),))
                if i % 7 == 0:
                    index.remove(f"doc{i - 3}")
                if i % 11 == 0:
                    index.upsert(f"doc{i - 1}", [0.0] * dims, (Int64(0),))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    def reader(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            while not done.is_set():
                q = vectors[int(rng.integers(0, 3000))].tolist()
                f = None if rng.integers(0, 2) else [(0, Int64(int(rng.integers(0, 2))))]
                results = index.search(q, 10, f)
                assert 1 <= len(results) <= 10
                assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)
                assert len({d for d, _ in results}) == len(results)
                searches[0] += 1
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert searches[0] > 0
    assert not any(t.is_alive() for t in threads)


def test_recall_at_10_on_clustered_vectors() -> None:
    count, dims = 20_000, 128
    vectors = clustered(count, dims, seed=10, centroids=200, noise=1.5)
    index = VectorIndex(dims, ())
    for i in range(count):
        index.upsert(f"doc{i:05d}", vectors[i].tolist(), ())
    assert len(index) == count
    queries = clustered(200, dims, seed=11, centroids=200, noise=1.5)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = 0
    for q, true_rows in zip(queries, truth, strict=True):
        got = {int(doc_id[3:]) for doc_id, _ in index.search(q.tolist(), 10)}
        found += len(got & set(true_rows.tolist()))
    recall = found / (10 * len(queries))
    assert recall >= 0.95, recall
