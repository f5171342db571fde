"""Full text search (search.mdx): tokenizing, limits, matching, ranking, transactions,
conflicts, schema changes and reopening, against an in-process Database.

Several tests pause the indexer thread (`indexer_paused`) so that tantivy is
deterministically behind the database: what a search returns must not depend on
how far the index has caught up.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncline.database import Database
from syncline.database.search import text as text_module
from syncline.database.search.text import tokenize
from syncline.errors import QueryError, SchemaError, WriteConflictError
from syncline.schema import define_schema, define_table, v
from syncline.values import UNDEFINED, Int64


def messages_table():
    """A fresh table definition (the index methods add to the table they are called on)."""
    return define_table({"body": v.optional(v.any()), "channel": v.optional(v.any()),
                         "n": v.optional(v.any())})


PLAIN = define_schema({"messages": messages_table()})
SCHEMA = define_schema({
    "messages": messages_table().search_index("search_body", search_field="body",
                                              filter_fields=["channel"]),
})


# -- helpers ---------------------------------------------------------------------------------


def build(text: str, field: str = "body", **eqs: Any):
    def fn(q):
        q = q.search(field, text)
        for name, value in eqs.items():
            q = q.eq(name, value)
        return q
    return fn


def searching(tx, text: str, index: str = "search_body", table: str = "messages", **eqs: Any):
    return tx.query(table).with_search_index(index, build(text, **eqs))


async def search(db: Database, text: str, n: int | None = None, **eqs: Any) -> list[dict]:
    """The documents a fresh read-only transaction finds (collect, or take(n))."""
    async def fn(tx):
        query = searching(tx, text, **eqs)
        return await (query.collect() if n is None else query.take(n))
    return await db.read(fn)


async def bodies(db: Database, text: str, **eqs: Any) -> list[str]:
    return [d["body"] for d in await search(db, text, **eqs)]


async def insert(db: Database, table: str, *docs: dict) -> list[str]:
    async def fn(tx):
        return [await tx.insert(table, d) for d in docs]
    return await db.run_transaction(fn)


async def insert_each(db: Database, table: str, *docs: dict) -> list[str]:
    """One transaction per document (strictly increasing creation times and commits)."""
    return [(await insert(db, table, d))[0] for d in docs]


def caught_up(db: Database) -> None:
    """Wait until tantivy holds every commit so far."""
    db.search.wait_applied(db.visible_ts)


@contextlib.contextmanager
def indexer_paused(db: Database) -> Iterator[None]:
    """Keep the indexer thread from applying anything to tantivy meanwhile."""
    caught_up(db)
    with db.search._apply_lock:
        yield


def index_state(db: Database, paused: bool) -> contextlib.AbstractContextManager[None]:
    """Paused: tantivy has none of the documents written meanwhile; else: all of them."""
    if paused:
        return indexer_paused(db)
    caught_up(db)
    return contextlib.nullcontext()


@pytest.fixture
async def sdb(db: Database) -> Database:
    await db.apply_schema(SCHEMA)
    return db


def reference_tokens(text: Any) -> list[str]:
    """An independent SimpleTokenizer + LowerCaser + 32-character limit."""
    if not isinstance(text, str):
        return []
    spaced = "".join(c if c.isalnum() else " " for c in text)
    return [t for t in spaced.lower().split() if len(t) <= 32]


# -- tokenization ----------------------------------------------------------------------------


def test_tokenizer_lowercases_and_splits_on_punctuation_and_whitespace() -> None:
    assert tokenize("Hello,   WORLD!\tfoo-bar_baz\nqux.quux") == [
        "hello", "world", "foo", "bar", "baz", "qux", "quux"]
    assert tokenize("don't stop 2024-01-01 abc123") == [
        "don", "t", "stop", "2024", "01", "01", "abc123"]
    assert tokenize("  ...!!!  ") == []


def test_tokenizer_keeps_unicode_letters() -> None:
    assert tokenize("Café ÜBER naïve,日本語 Ωμέγα") == ["café", "über", "naïve", "日本語", "ωμέγα"]


def test_tokenizer_drops_terms_over_32_characters() -> None:
    assert tokenize("a" * 32) == ["a" * 32]
    assert tokenize(f"short {'b' * 33} tail") == ["short", "tail"]


async def test_search_is_case_and_punctuation_insensitive(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "Hello, WORLD! How's it going?", "channel": "a"},
                 {"body": "hell on earth", "channel": "a"})
    assert await bodies(sdb, "HELLO") == ["Hello, WORLD! How's it going?"]
    assert await bodies(sdb, "world...") == ["Hello, WORLD! How's it going?"]
    assert await bodies(sdb, "going!!!") == ["Hello, WORLD! How's it going?"]


async def test_unicode_words_are_searchable(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "Ein Café in München", "channel": "a"},
                 {"body": "a cafe without accents", "channel": "a"})
    assert await bodies(sdb, "CAFÉ") == ["Ein Café in München"]
    assert await bodies(sdb, "münch") == ["Ein Café in München"]  # prefix, non-ASCII


async def test_terms_over_32_characters_are_neither_indexed_nor_searched(sdb: Database) -> None:
    exact, long = "x" * 32, "y" * 33
    await insert(sdb, "messages", {"body": f"{exact} one", "channel": "a"},
                 {"body": f"{long} two", "channel": "a"})
    assert await bodies(sdb, exact) == [f"{exact} one"]
    assert await bodies(sdb, "xxxx") == [f"{exact} one"]  # prefix of a kept term
    assert await bodies(sdb, "yyyy") == []  # the 33-character term was dropped
    assert await bodies(sdb, long) == []  # ... and a query term that long is dropped too
    assert await bodies(sdb, f"{long} two") == [f"{long} two"]


# -- limits and misuse -----------------------------------------------------------------------


async def test_sixteen_terms_allowed_seventeen_refused(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "w15 is here", "channel": "a"})
    sixteen = " ".join(f"w{i}" for i in range(16))
    assert await bodies(sdb, sixteen) == ["w15 is here"]
    with pytest.raises(QueryError, match=r"at most 16 terms.*17"):
        await search(sdb, sixteen + " w16")
    # Punctuation does not make terms; a term over 32 characters does not count.
    assert await bodies(sdb, ", ".join(f"w{i}" for i in range(16)) + " " + "z" * 40) == [
        "w15 is here"]


async def test_eight_filters_allowed_nine_refused(db: Database) -> None:
    fields = [f"f{i}" for i in range(9)]
    table = define_table({"body": v.string(), **{f: v.float64() for f in fields}})
    await db.apply_schema(define_schema({
        "t": table.search_index("s", search_field="body", filter_fields=fields)}))
    await insert(db, "t", {"body": "hello", **{f: 1.0 for f in fields}})

    def query(tx, count):
        return tx.query("t").with_search_index(
            "s", build("hello", **{f: 1.0 for f in fields[:count]})).collect()
    assert len(await db.read(lambda tx: query(tx, 8))) == 1
    with pytest.raises(QueryError, match="at most 8 filter expressions"):
        await db.read(lambda tx: query(tx, 9))


async def test_eq_on_a_field_that_is_not_a_filter_field(sdb: Database) -> None:
    with pytest.raises(QueryError, match=r"eq\(\) must name a filter field.*channel.*'n'"):
        await sdb.read(lambda tx: searching(tx, "hello", n=1.0).collect())


async def test_search_on_a_field_that_is_not_the_search_field(sdb: Database) -> None:
    with pytest.raises(QueryError, match=r"search field 'body'.*not 'channel'"):
        await sdb.read(lambda tx: tx.query("messages").with_search_index(
            "search_body", build("hello", field="channel")).collect())


async def test_malformed_search_expressions(sdb: Database) -> None:
    async def run(fn):
        return await sdb.read(lambda tx: tx.query("messages")
                              .with_search_index("search_body", fn).collect())
    with pytest.raises(QueryError, match="exactly one search"):
        await run(lambda q: q.search("body", "a").search("body", "b"))
    with pytest.raises(QueryError, match=r"Start a search expression with q.search"):
        await run(lambda q: q.eq("channel", "a").search("body", "x"))
    with pytest.raises(QueryError, match=r"needs q.search"):
        await run(lambda q: q)
    with pytest.raises(QueryError, match="must return the builder"):
        await run(lambda q: None)
    with pytest.raises(QueryError, match="string to search for"):
        await run(lambda q: q.search("body", 42))


async def test_unknown_search_index(sdb: Database) -> None:
    with pytest.raises(QueryError, match=r"messages.nope not found"):
        await sdb.read(lambda tx: tx.query("messages").with_search_index(
            "nope", build("x")).collect())


async def test_order_is_refused_and_search_must_come_first(sdb: Database) -> None:
    with pytest.raises(QueryError, match="relevance order"):
        await sdb.read(lambda tx: searching(tx, "x").order("desc").collect())
    with pytest.raises(QueryError, match="must come first"):
        await sdb.read(lambda tx: tx.query("messages").order("desc")
                       .with_search_index("search_body", build("x")).collect())
    with pytest.raises(QueryError, match="must come first"):
        await sdb.read(lambda tx: tx.query("messages").filter(lambda q: q.eq(q.field("n"), 1))
                       .with_search_index("search_body", build("x")).collect())


async def test_take_over_1024_is_refused(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "hello", "channel": "a"})
    assert len(await search(sdb, "hello", n=1024)) == 1
    with pytest.raises(QueryError, match="at most 1024"):
        await search(sdb, "hello", n=1025)


async def test_collect_over_1024_results_is_refused(sdb: Database) -> None:
    await insert(sdb, "messages", *({"body": f"common word{i}", "channel": "a"}
                                    for i in range(1025)))
    for paused in (True, False):  # the new documents unindexed, then indexed
        with index_state(sdb, paused):
            with pytest.raises(QueryError, match=r"at most 1024.*take\(n\) or paginate"):
                await search(sdb, "common")
            assert len(await search(sdb, "common", n=1024)) == 1024
            assert len(await search(sdb, "word100")) == 11  # word100, word1000..word1009
            assert len(await search(sdb, "word100 zzz")) == 1  # exact


async def test_collect_of_exactly_1024_results_succeeds(sdb: Database) -> None:
    await insert(sdb, "messages", *({"body": "common", "channel": "a"} for _ in range(1024)))
    caught_up(sdb)
    assert len(await search(sdb, "common")) == 1024


async def test_first_unique_and_async_iteration(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "one apple", "channel": "a"},
                 {"body": "apple apple", "channel": "a"}, {"body": "pear", "channel": "a"})
    first = await sdb.read(lambda tx: searching(tx, "apple").first())
    assert first["body"] == "apple apple"
    assert await sdb.read(lambda tx: searching(tx, "kiwi").first()) is None
    assert (await sdb.read(lambda tx: searching(tx, "pear").unique()))["body"] == "pear"
    assert await sdb.read(lambda tx: searching(tx, "kiwi").unique()) is None
    with pytest.raises(QueryError, match="more than one"):
        await sdb.read(lambda tx: searching(tx, "apple").unique())

    async def iterate(tx):
        return [d["body"] async for d in searching(tx, "apple")]
    assert await sdb.read(iterate) == ["apple apple", "one apple"]

    async def twice(tx):
        query = searching(tx, "apple")
        await query.collect()
        await query.collect()
    with pytest.raises(QueryError, match="only be executed once"):
        await sdb.read(twice)


async def test_search_index_schema_limits() -> None:
    table = define_table({"a": v.string(), **{f"f{i}": v.string() for i in range(17)}})
    with pytest.raises(SchemaError, match="17 filter fields; the maximum is 16"):
        table.search_index("s", search_field="a", filter_fields=[f"f{i}" for i in range(17)])
    table.search_index("s", search_field="a", filter_fields=[f"f{i}" for i in range(16)])
    with pytest.raises(SchemaError, match="unique per table"):
        table.search_index("s", search_field="a")
    with pytest.raises(SchemaError, match="unique per table"):
        table.index("s", ["a"])
    with pytest.raises(TypeError):
        table.search_index("t", filter_fields=["a"])  # exactly one search field: required


def test_search_indexes_count_against_32_indexes_per_table() -> None:
    table = define_table({"a": v.string()})
    for i in range(32):
        table = table.index(f"i{i}", ["a"])
    with pytest.raises(SchemaError):
        table.search_index("s", search_field="a")


# -- matching --------------------------------------------------------------------------------


async def test_any_term_matches(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "hello there", "channel": "a"},
                 {"body": "hi there", "channel": "a"}, {"body": "hello hi", "channel": "a"},
                 {"body": "goodbye", "channel": "a"})
    assert sorted(await bodies(sdb, "hello hi")) == ["hello hi", "hello there", "hi there"]
    assert (await bodies(sdb, "hello hi"))[0] == "hello hi"  # both terms: ranked first


async def test_last_term_is_a_prefix(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "rabbit", "channel": "a"},
                 {"body": "send request", "channel": "a"}, {"body": "carrot", "channel": "a"})
    assert sorted(await bodies(sdb, "r")) == ["rabbit", "send request"]
    assert await bodies(sdb, "rab") == ["rabbit"]
    assert await bodies(sdb, "rabbits") == []  # a prefix, not fuzzy / stemmed
    assert await bodies(sdb, "arrot") == []  # prefixes only, not infixes


async def test_earlier_terms_are_exact(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "apple", "channel": "a"},
                 {"body": "app", "channel": "a"}, {"body": "bananas", "channel": "a"})
    assert sorted(await bodies(sdb, "app banana")) == ["app", "bananas"]
    assert sorted(await bodies(sdb, "banana app")) == ["app", "apple"]


async def test_no_fuzzy_matching(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "snake", "channel": "a"})
    assert await bodies(sdb, "stake") == []
    assert await bodies(sdb, "snake") == ["snake"]


async def test_a_prefix_matching_many_distinct_words(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "background", "channel": "a"})
    with indexer_paused(sdb):
        await insert(sdb, "messages", *({"body": f"w{i}", "channel": "ab"[i % 2]}
                                        for i in range(600)))
        assert len(await search(sdb, "w")) == 600
        assert len(await search(sdb, "w", channel="b")) == 300
    caught_up(sdb)
    assert len(await search(sdb, "w", channel="b")) == 300
    assert len(await search(sdb, "w")) == 600


@pytest.mark.parametrize("text", ["", "   ", "?!,.", "-"])
async def test_an_empty_search_returns_nothing(sdb: Database, text: str) -> None:
    await insert(sdb, "messages", {"body": "anything at all", "channel": "a"},
                 {"body": "", "channel": "a"})
    assert await search(sdb, text) == []
    assert await search(sdb, text, n=5, channel="a") == []


async def test_eq_filters(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "hello", "channel": "#general"},
                 {"body": "hello there", "channel": "#random"},
                 {"body": "hello again", "channel": "#general"})
    assert sorted(await bodies(sdb, "hello", channel="#general")) == ["hello", "hello again"]
    assert await bodies(sdb, "hello", channel="#random") == ["hello there"]
    assert await bodies(sdb, "hello", channel="#nowhere") == []
    assert await bodies(sdb, "hello", channel="#GENERAL") == []  # exact equality


async def test_filter_values_of_any_type_and_int64_versus_float64(sdb: Database) -> None:
    values = [Int64(1), 1.0, True, None, "1", [1.0], {"k": 1.0}, b"\x01"]
    await insert(sdb, "messages", *({"body": f"doc{i} hello", "channel": value}
                                    for i, value in enumerate(values)))
    await insert(sdb, "messages", {"body": "missing hello"})
    for paused in (True, False):
        with index_state(sdb, paused):
            for i, value in enumerate(values):
                assert await bodies(sdb, "hello", channel=value) == [f"doc{i} hello"], value
            assert await bodies(sdb, "hello", channel=1) == ["doc1 hello"]  # int is float64
            assert await bodies(sdb, "hello", channel=UNDEFINED) == ["missing hello"]
            assert await bodies(sdb, "hello", channel=Int64(2)) == []


async def test_filter_on_missing_field_with_undefined(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "apple one"}, {"body": "apple two", "channel": None},
                 {"body": "apple three", "channel": "x"})
    assert await bodies(sdb, "apple", channel=UNDEFINED) == ["apple one"]
    assert await bodies(sdb, "apple", channel=None) == ["apple two"]  # null is not missing


async def test_nested_search_and_filter_fields(db: Database) -> None:
    table = define_table({"properties": v.any(), "kind": v.optional(v.string())})
    await db.apply_schema(define_schema({"things": table.search_index(
        "by_name", search_field="properties.name", filter_fields=["properties.meta.color"])}))
    await insert(db, "things",
                 {"properties": {"name": "red apple", "meta": {"color": "red"}}},
                 {"properties": {"name": "green apple", "meta": {"color": "green"}}},
                 {"properties": {"name": "apple without meta"}},
                 {"properties": "apple as a plain string"},
                 {"properties": {"title": "apple in the wrong field"}})

    async def names(text: str, **eqs: Any) -> list[str]:
        def fn(q):
            q = q.search("properties.name", text)
            for value in eqs.values():
                q = q.eq("properties.meta.color", value)
            return q
        docs = await db.read(lambda tx: tx.query("things").with_search_index("by_name", fn)
                             .collect())
        return sorted(d["properties"]["name"] for d in docs)

    for paused in (True, False):
        with index_state(db, paused):
            assert await names("apple") == ["apple without meta", "green apple", "red apple"]
            assert await names("apple", color="red") == ["red apple"]
            assert await names("apple", color=UNDEFINED) == ["apple without meta"]


async def test_non_string_search_field_values_are_not_indexed(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "apple", "channel": "a"},
                 {"body": ["apple"], "channel": "a"}, {"body": {"text": "apple"}, "channel": "a"},
                 {"body": 7.0, "channel": "a"}, {"channel": "a"}, {"body": None, "channel": "a"})
    for paused in (True, False):
        with index_state(sdb, paused):
            assert await bodies(sdb, "apple") == ["apple"]
            assert await bodies(sdb, "7") == []
            assert await bodies(sdb, "text") == []


async def test_a_patch_to_a_non_string_value_removes_the_document(sdb: Database) -> None:
    (doc,) = await insert(sdb, "messages", {"body": "apple", "channel": "a"})
    caught_up(sdb)
    await sdb.run_transaction(lambda tx: tx.patch(doc, {"body": 12.0}))
    assert await bodies(sdb, "apple") == []
    caught_up(sdb)
    assert await bodies(sdb, "apple") == []
    await sdb.run_transaction(lambda tx: tx.patch(doc, {"body": "apple again"}))
    assert await bodies(sdb, "apple") == ["apple again"]


async def test_search_on_an_empty_or_missing_table(sdb: Database) -> None:
    assert await search(sdb, "anything") == []
    assert await search(sdb, "anything", n=10, channel="a") == []


# -- ranking ---------------------------------------------------------------------------------


async def _ranking_check(db: Database, docs: list[str], text: str, check) -> None:
    """Insert `docs` (one transaction) and `check(bodies found)` twice: while tantivy has not
    seen them (syncline scores them itself), and once tantivy has (tantivy's scores)."""
    await insert(db, "messages", *({"body": f"background text number {i}", "channel": "z"}
                                   for i in range(10)))
    with indexer_paused(db):
        await insert(db, "messages", *({"body": body, "channel": "a"} for body in docs))
        check(await bodies(db, text))
    caught_up(db)
    check(await bodies(db, text))


async def test_more_occurrences_rank_higher(sdb: Database) -> None:
    def check(found):
        assert found == ["apple apple apple date", "apple apple cherry date",
                         "apple banana cherry date"]
    await _ranking_check(sdb, ["apple banana cherry date", "apple apple apple date",
                               "apple apple cherry date"], "apple", check)


async def test_shorter_fields_rank_higher(sdb: Database) -> None:
    def check(found):
        assert found == ["apple", "apple with some words",
                         "apple with a much longer body than the others"]
    await _ranking_check(sdb, ["apple", "apple with a much longer body than the others",
                               "apple with some words"], "apple", check)


RARE_DOCS = [f"common filler{i}" for i in range(20)] + ["rare filler", "common other"]


def _rare_first(found: list[str]) -> None:
    assert len(found) == 22
    assert found[0] == "rare filler"


async def test_rarer_terms_rank_higher(sdb: Database) -> None:
    await insert(sdb, "messages", *({"body": body, "channel": "a"} for body in RARE_DOCS))
    caught_up(sdb)
    _rare_first(await bodies(sdb, "common rare"))
    tx = sdb.begin()  # rescored by syncline (its own writes), with tantivy's statistics
    try:
        for doc in await searching(tx, "common rare").collect():
            await tx.patch(doc["_id"], {"n": 1.0})
        _rare_first([d["body"] for d in await searching(tx, "common rare").collect()])
    finally:
        tx.abort()


async def test_rarer_terms_rank_higher_while_the_index_lags(sdb: Database) -> None:
    await _ranking_check(sdb, RARE_DOCS, "common rare", _rare_first)


async def test_more_matching_terms_rank_higher(sdb: Database) -> None:
    await insert_each(sdb, "messages", {"body": "red fox", "channel": "a"},
                      {"body": "quick red fox", "channel": "a"},
                      {"body": "quick brown fox", "channel": "a"})
    caught_up(sdb)
    assert await bodies(sdb, "quick brown fox") == [
        "quick brown fox", "quick red fox", "red fox"]


async def test_ties_are_newest_first(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "unrelated words here", "channel": "a"})
    ids = await insert_each(sdb, "messages", *({"body": "same text", "channel": "a"}
                                               for _ in range(5)))
    # Several equal documents in one transaction get increasing creation times too.
    ids += await insert(sdb, "messages", *({"body": "same text", "channel": "a"}
                                           for _ in range(3)))
    expected = list(reversed(ids))
    caught_up(sdb)
    assert [d["_id"] for d in await search(sdb, "same")] == expected
    assert [d["_id"] for d in await search(sdb, "text", channel="a")] == expected
    # Every one rescored by syncline because this transaction wrote it.
    tx = sdb.begin()
    try:
        for doc_id in ids:
            await tx.patch(doc_id, {"n": 1.0})
        assert [d["_id"] for d in await searching(tx, "same").collect()] == expected
    finally:
        tx.abort()


async def test_ties_are_newest_first_while_the_index_lags(sdb: Database) -> None:
    await insert(sdb, "messages", *({"body": f"filler words number {i}", "channel": "a"}
                                    for i in range(5)))
    ids = await insert_each(sdb, "messages", *({"body": "apple pie", "channel": "a"}
                                               for _ in range(3)))
    with indexer_paused(sdb):
        ids += await insert_each(sdb, "messages", *({"body": "apple pie", "channel": "a"}
                                                    for _ in range(3)))
        assert [d["_id"] for d in await search(sdb, "apple")] == list(reversed(ids))


# -- transactions ----------------------------------------------------------------------------


async def test_a_search_sees_its_own_writes(sdb: Database) -> None:
    kept, patched, deleted = await insert(
        sdb, "messages", {"body": "apple kept", "channel": "a"},
        {"body": "apple patched", "channel": "a"}, {"body": "apple deleted", "channel": "a"})
    caught_up(sdb)  # the three are tantivy candidates now
    tx = sdb.begin()
    try:
        new = await tx.insert("messages", {"body": "apple new", "channel": "a"})
        await tx.patch(patched, {"body": "cherry now"})
        await tx.delete(deleted)
        await tx.patch(kept, {"channel": "b"})
        found = await searching(tx, "apple").collect()
        assert sorted(d["body"] for d in found) == ["apple kept", "apple new"]
        assert {d["_id"] for d in found} == {kept, new}
        assert [d["body"] for d in await searching(tx, "cherry").collect()] == ["cherry now"]
        assert [d["body"] for d in await searching(tx, "apple", channel="a").collect()] == [
            "apple new"]
        assert [d["body"] for d in await searching(tx, "apple", channel="b").collect()] == [
            "apple kept"]
        assert await searching(tx, "deleted").collect() == []
        await tx.delete(new)
        assert [d["_id"] for d in await searching(tx, "apple").collect()] == [kept]
    finally:
        tx.abort()
    assert sorted(await bodies(sdb, "apple")) == ["apple deleted", "apple kept", "apple patched"]


async def test_snapshot_isolation_even_after_the_index_refreshed(sdb: Database) -> None:
    patched, deleted, _ = await insert(
        sdb, "messages", {"body": "apple patched", "channel": "a"},
        {"body": "apple deleted", "channel": "a"}, {"body": "apple kept", "channel": "a"})
    caught_up(sdb)
    old = sdb.begin(read_only=True)
    try:
        await insert(sdb, "messages", {"body": "apple new", "channel": "a"})

        async def change(tx):
            await tx.patch(patched, {"body": "cherry"})
            await tx.delete(deleted)
        await sdb.run_transaction(change)
        caught_up(sdb)  # tantivy is now ahead of `old`
        assert sorted(d["body"] for d in await searching(old, "apple").collect()) == [
            "apple deleted", "apple kept", "apple patched"]
        assert await searching(old, "cherry").collect() == []
    finally:
        old.abort()
    assert sorted(await bodies(sdb, "apple")) == ["apple kept", "apple new"]
    assert await bodies(sdb, "cherry") == ["cherry"]


async def test_committed_writes_are_visible_at_once(sdb: Database) -> None:
    patched, deleted = await insert(sdb, "messages", {"body": "apple patched", "channel": "a"},
                                    {"body": "apple deleted", "channel": "a"})
    with indexer_paused(sdb):  # tantivy cannot know about anything below
        await insert(sdb, "messages", {"body": "apple new", "channel": "b"})
        await sdb.run_transaction(lambda tx: tx.patch(patched, {"body": "cherry"}))
        await sdb.run_transaction(lambda tx: tx.delete(deleted))
        assert await bodies(sdb, "apple") == ["apple new"]
        assert await bodies(sdb, "apple", channel="b") == ["apple new"]
        assert await bodies(sdb, "cherry") == ["cherry"]
        assert await bodies(sdb, "patched") == []
    caught_up(sdb)
    assert await bodies(sdb, "apple") == ["apple new"]
    assert await bodies(sdb, "cherry") == ["cherry"]


async def test_a_search_right_after_a_bulk_insert(sdb: Database) -> None:
    with indexer_paused(sdb):
        await insert(sdb, "messages", *({"body": f"bulk {i}", "channel": "a"}
                                        for i in range(4200)))
        assert await bodies(sdb, "zebra") == []
        assert (await search(sdb, "bulk 4199", n=5))[0]["body"] == "bulk 4199"


async def test_snapshots_older_than_the_remembered_changes(
        sdb: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """When an old snapshot's changes are forgotten, the search scans the table instead."""
    monkeypatch.setattr(text_module, "RETAINED_CHANGES", 2)
    patched, _ = await insert(sdb, "messages", {"body": "apple patched", "channel": "a"},
                              {"body": "apple kept", "channel": "a"})
    caught_up(sdb)
    old = sdb.begin(read_only=True)
    try:
        for i in range(6):
            await insert(sdb, "messages", {"body": f"apple new{i}", "channel": "a"})
        await sdb.run_transaction(lambda tx: tx.patch(patched, {"body": "cherry"}))
        caught_up(sdb)
        engine = sdb.search.engine(sdb.search_index("messages", "search_body").id)
        assert engine.horizon > old.snapshot_ts  # the slow path is really taken
        assert sorted(d["body"] for d in await searching(old, "apple").collect()) == [
            "apple kept", "apple patched"]
        assert sorted(d["body"] for d in await searching(old, "apple", channel="a").collect()) == [
            "apple kept", "apple patched"]
    finally:
        old.abort()
    assert len(await bodies(sdb, "apple")) == 7


async def test_filter_after_search(sdb: Database) -> None:
    await insert(sdb, "messages", *({"body": f"apple {i}", "channel": "a", "n": float(i)}
                                    for i in range(10)))
    docs = await sdb.read(lambda tx: searching(tx, "apple")
                          .filter(lambda q: q.gte(q.field("n"), 7)).collect())
    assert [d["n"] for d in docs] == [9.0, 8.0, 7.0]  # ties: newest first
    docs = await sdb.read(lambda tx: searching(tx, "apple", channel="a")
                          .filter(lambda q: q.eq(q.field("n"), 3)).take(5))
    assert [d["n"] for d in docs] == [3.0]
    created = (await search(sdb, "apple"))[4]["_creationTime"]
    docs = await sdb.read(lambda tx: searching(tx, "apple")
                          .filter(lambda q: q.gt(q.field("_creationTime"), created)).take(2))
    assert [d["n"] for d in docs] == [9.0, 8.0]


async def test_pagination_walks_every_result_once(sdb: Database) -> None:
    rng = random.Random(7)
    await insert(sdb, "messages", *(
        {"body": " ".join(["apple"] * rng.randint(1, 4) + ["pear"] * rng.randint(0, 6)),
         "channel": "ab"[i % 2]} for i in range(60)))
    await insert(sdb, "messages", *({"body": "pear only", "channel": "a"} for _ in range(5)))
    for paused in (True, False):
        with index_state(sdb, paused):
            for eqs in ({}, {"channel": "a"}):
                everything = [d["_id"] for d in await search(sdb, "apple", **eqs)]
                pages, cursor = [], None
                while True:
                    async def page(tx, cursor=cursor, eqs=eqs):
                        return await searching(tx, "apple", **eqs).paginate(
                            {"numItems": 7, "cursor": cursor})
                    result = await sdb.read(page)
                    pages.append([d["_id"] for d in result["page"]])
                    cursor = result["continueCursor"]
                    if result["isDone"]:
                        break
                walked = [doc_id for p in pages for doc_id in p]
                assert walked == everything
                assert len(set(walked)) == len(walked) == (60 if not eqs else 30)
                assert all(len(p) == 7 for p in pages[:-1])


async def test_pagination_stays_gapless_while_the_index_catches_up(sdb: Database) -> None:
    await insert(sdb, "messages", *({"body": f"filler words number {i}", "channel": "a"}
                                    for i in range(5)))
    await insert_each(sdb, "messages", *({"body": "apple pie", "channel": "a"}
                                         for _ in range(10)))
    with indexer_paused(sdb):
        await insert_each(sdb, "messages", *({"body": "apple pie", "channel": "a"}
                                             for _ in range(10)))
        first = await sdb.read(lambda tx: searching(tx, "apple").paginate(
            {"numItems": 10, "cursor": None}))
    caught_up(sdb)
    second = await sdb.read(lambda tx: searching(tx, "apple").paginate(
        {"numItems": 10, "cursor": first["continueCursor"]}))
    walked = [d["_id"] for d in first["page"] + second["page"]]
    assert len(set(walked)) == 20


class _ReloadGate:
    """Stands in for a TextIndex's tantivy index and holds the indexer inside `apply`,
    after the new documents were written but before the new searcher is published."""

    def __init__(self, inner: Any) -> None:
        import threading

        self._inner = inner
        self.entered, self.release = threading.Event(), threading.Event()

    def reload(self) -> None:
        self.entered.set()
        self.release.wait(30)
        self._inner.reload()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_ranking_while_the_indexer_applies_a_batch(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "hello world", "channel": "a"})
    caught_up(sdb)
    engine = sdb.search.engine(sdb.search_index("messages", "search_body").id)
    gate = _ReloadGate(engine._index)
    engine._index = gate
    try:
        await insert(sdb, "messages", {"body": "hello there", "channel": "a"})
        assert gate.entered.wait(30)
        assert await bodies(sdb, "hello world") == ["hello world", "hello there"]
    finally:
        gate.release.set()
        caught_up(sdb)
        engine._index = gate._inner
    assert await bodies(sdb, "hello world") == ["hello world", "hello there"]


async def test_invalid_pagination_cursor(sdb: Database) -> None:
    with pytest.raises(QueryError, match="Invalid search pagination cursor"):
        await sdb.read(lambda tx: searching(tx, "x").paginate({"numItems": 5,
                                                               "cursor": "nonsense"}))


@pytest.mark.parametrize("cursor", ["search:\u00b2", "search:\u0661\u0662", "search:" + "9" * 5000],
                         ids=["superscript", "arabic-indic", "5000-digits"])
async def test_pagination_cursor_positions_are_ascii_digits(sdb: Database, cursor: str) -> None:
    # `isdigit()` passes these; `int()` then raised ValueError (or read Arabic-Indic digits).
    with pytest.raises(QueryError, match="Invalid search pagination cursor"):
        await sdb.read(lambda tx: searching(tx, "x").paginate({"numItems": 5,
                                                               "cursor": cursor}))


# -- optimistic concurrency ------------------------------------------------------------------


async def _searching_mutation(db: Database, text: str, **eqs: Any):
    """Transaction A: searched, and wrote something unrelated (so it must validate)."""
    tx = db.begin()
    found = await searching(tx, text, **eqs).take(10)
    await tx.insert("log", {"found": float(len(found))})
    return tx, found


async def test_a_concurrent_insert_with_the_term_conflicts(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "apple", "channel": "a"})
    caught_up(sdb)
    for text, new in (("apple", "apple pie"), ("app", "application form"),
                      ("pie apple", "the apple"), ("pie apple", "cherry pie")):
        tx, found = await _searching_mutation(sdb, text)
        await insert(sdb, "messages", {"body": new, "channel": "a"})
        with pytest.raises(WriteConflictError):
            await tx.commit()


async def test_a_concurrent_change_of_a_result_conflicts(sdb: Database) -> None:
    one, two, three, other = await insert(
        sdb, "messages", {"body": "apple one", "channel": "a"},
        {"body": "apple two", "channel": "a"}, {"body": "apple three", "channel": "a"},
        {"body": "cherry", "channel": "a"})
    caught_up(sdb)
    for change in (lambda tx: tx.delete(one), lambda tx: tx.patch(other, {"body": "apple too"}),
                   lambda tx: tx.patch(two, {"body": "no longer"}),
                   lambda tx: tx.patch(three, {"channel": "b"}),  # a filter field
                   lambda tx: tx.patch(three, {"n": 1.0})):  # read as a result
        tx, found = await _searching_mutation(sdb, "apple")
        assert found
        await sdb.run_transaction(change)
        with pytest.raises(WriteConflictError):
            await tx.commit()
        caught_up(sdb)


async def test_unrelated_concurrent_writes_do_not_conflict(sdb: Database) -> None:
    _, banana = await insert(sdb, "messages", {"body": "apple", "channel": "a"},
                             {"body": "banana", "channel": "a"})
    caught_up(sdb)
    writes = [
        lambda tx: tx.insert("messages", {"body": "banana split", "channel": "a"}),
        lambda tx: tx.insert("messages", {"body": "pineapple", "channel": "a"}),  # no infix
        lambda tx: tx.insert("messages", {"body": "ap", "channel": "a"}),  # shorter than prefix
        lambda tx: tx.patch(banana, {"n": 5.0}),  # not a search or filter field
        lambda tx: tx.patch(banana, {"body": "banana bread"}),
        lambda tx: tx.insert("other", {"body": "apple"}),  # another table
    ]
    for write in writes:
        tx, found = await _searching_mutation(sdb, "apple")
        assert [d["body"] for d in found] == ["apple"]
        await sdb.run_transaction(write)
        await tx.commit()
        caught_up(sdb)


async def test_exact_terms_with_a_filter_ignore_other_filter_values(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "apple pie", "channel": "a"})
    caught_up(sdb)
    tx, found = await _searching_mutation(sdb, "apple pie", channel="a")
    assert len(found) == 1
    await insert(sdb, "messages", {"body": "apple crumble", "channel": "b"})
    await tx.commit()
    tx, _ = await _searching_mutation(sdb, "apple pie", channel="a")
    await insert(sdb, "messages", {"body": "apple crumble", "channel": "a"})
    with pytest.raises(WriteConflictError):
        await tx.commit()


async def test_unrelated_writes_do_not_conflict_while_the_index_lags(sdb: Database) -> None:
    await insert(sdb, "messages", {"body": "apple", "channel": "a"})
    with indexer_paused(sdb):
        (banana,) = await insert(sdb, "messages", {"body": "banana", "channel": "a"})
        tx, found = await _searching_mutation(sdb, "apple")
        assert [d["body"] for d in found] == ["apple"]
        await sdb.run_transaction(lambda t: t.patch(banana, {"n": 1.0}))
        await tx.commit()


# -- schema changes and reopening ------------------------------------------------------------


async def test_adding_a_search_index_backfills(db: Database) -> None:
    await db.apply_schema(PLAIN)
    await insert(db, "messages", {"body": "apple one", "channel": "a"},
                 {"body": "apple two", "channel": "b"}, {"body": "pear", "channel": "a"})
    with pytest.raises(QueryError, match="not found"):
        await search(db, "apple")
    await db.apply_schema(SCHEMA)
    assert sorted(await bodies(db, "apple")) == ["apple one", "apple two"]
    assert await bodies(db, "apple", channel="b") == ["apple two"]


async def test_removing_a_search_index_drops_it(db: Database, tmp_path: Path) -> None:
    await db.apply_schema(SCHEMA)
    await insert(db, "messages", {"body": "apple", "channel": "a"})
    caught_up(db)
    assert len(list((tmp_path / "search").iterdir())) == 1
    await db.apply_schema(PLAIN)
    with pytest.raises(QueryError, match="not found"):
        await search(db, "apple")
    assert list((tmp_path / "search").iterdir()) == []
    await insert(db, "messages", {"body": "apple two", "channel": "a"})  # no index to feed
    await db.apply_schema(SCHEMA)  # back again: rebuilt from the documents
    assert sorted(await bodies(db, "apple")) == ["apple", "apple two"]


async def test_changing_a_search_index_rebuilds_it(db: Database) -> None:
    def table():
        return define_table({"body": v.string(), "title": v.string(), "channel": v.string(),
                             "lang": v.string()})
    await db.apply_schema(define_schema({"messages": table().search_index(
        "s", search_field="body", filter_fields=["channel"])}))
    await insert(db, "messages", {"body": "apple", "title": "pear", "channel": "a", "lang": "en"},
                 {"body": "pear", "title": "apple", "channel": "b", "lang": "fr"})

    async def found(text: str, **eqs: Any) -> list[str]:
        docs = await db.read(lambda tx: tx.query("messages").with_search_index(
            "s", build(text, field=field, **eqs)).collect())
        return [d["channel"] for d in docs]
    field = "body"
    assert await found("apple") == ["a"]
    await db.apply_schema(define_schema({"messages": table().search_index(
        "s", search_field="title", filter_fields=["lang"])}))
    field = "title"
    assert await found("apple") == ["b"]
    assert await found("apple", lang="fr") == ["b"]
    assert await found("apple", lang="en") == []
    with pytest.raises(QueryError, match="search field 'title'"):
        await db.read(lambda tx: tx.query("messages").with_search_index(
            "s", build("apple", field="body")).collect())
    with pytest.raises(QueryError, match="filter field"):
        await found("apple", channel="a")


def _segments(folder: Path) -> set[str]:
    return {s["segment_id"] for s in json.loads((folder / "meta.json").read_text())["segments"]}


def _index_folder(data: Path) -> Path:
    (folder,) = list((data / "search").iterdir())
    return folder


async def test_reopening_reuses_the_index(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = Database(path, durability="normal")
    try:
        await db.apply_schema(SCHEMA)
        await insert(db, "messages", *({"body": f"apple {i}", "channel": "a"} for i in range(50)))
        caught_up(db)
    finally:
        db.close()
    folder = _index_folder(tmp_path)
    segments = _segments(folder)
    assert segments
    db = Database(path, durability="normal")
    try:
        assert _index_folder(tmp_path) == folder
        # The same tantivy segments: reopened, not rebuilt from the documents.
        assert segments <= _segments(folder)
        assert len(await bodies(db, "apple")) == 50
        assert await bodies(db, "7") == ["apple 7"]
        await insert(db, "messages", {"body": "apple late", "channel": "b"})
    finally:
        db.close()
    db = Database(path, durability="normal")  # written, closed at once, reopened
    try:
        assert await bodies(db, "apple", channel="b") == ["apple late"]
        caught_up(db)
        assert len(await bodies(db, "apple")) == 51
    finally:
        db.close()


async def test_reopening_with_a_stale_index_catches_up(tmp_path: Path) -> None:
    """An index folder saved behind the database (a crash before its refresh) is brought
    up to date from the documents written since, not trusted as it is."""
    path = tmp_path / "db.sqlite3"
    db = Database(path, durability="normal")
    try:
        await db.apply_schema(SCHEMA)
        patched, deleted, _ = await insert(
            db, "messages", {"body": "apple patched", "channel": "a"},
            {"body": "apple deleted", "channel": "a"}, {"body": "apple kept", "channel": "a"})
        caught_up(db)
    finally:
        db.close()
    folder = _index_folder(tmp_path)
    backup = tmp_path / "backup"
    shutil.copytree(folder, backup)
    db = Database(path, durability="normal")
    try:
        await insert(db, "messages", {"body": "apple new", "channel": "b"})

        async def change(tx):
            await tx.patch(patched, {"body": "cherry"})
            await tx.delete(deleted)
        await db.run_transaction(change)
    finally:
        db.close()
    shutil.rmtree(folder)
    shutil.copytree(backup, folder)  # the index as it was two commits ago
    db = Database(path, durability="normal")
    try:
        for _ in range(2):
            assert sorted(await bodies(db, "apple")) == ["apple kept", "apple new"]
            assert await bodies(db, "cherry") == ["cherry"]
            assert await bodies(db, "deleted") == []
            caught_up(db)
    finally:
        db.close()


async def test_reopening_without_the_index_folder_rebuilds_it(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = Database(path, durability="normal")
    try:
        await db.apply_schema(SCHEMA)
        await insert(db, "messages", {"body": "apple", "channel": "a"},
                     {"body": "pear", "channel": "a"})
    finally:
        db.close()
    shutil.rmtree(tmp_path / "search")
    db = Database(path, durability="normal")
    try:
        assert await bodies(db, "apple") == ["apple"]
        caught_up(db)
        assert await bodies(db, "pear") == ["pear"]
    finally:
        db.close()


async def test_in_memory_database_search() -> None:
    db = Database(None)
    try:
        await db.apply_schema(SCHEMA)
        await insert(db, "messages", {"body": "apple", "channel": "a"})
        assert await bodies(db, "app") == ["apple"]
        caught_up(db)
        assert await bodies(db, "app", channel="a") == ["apple"]
    finally:
        db.close()


# -- many documents against a brute-force reference ------------------------------------------


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "so", "vi", "pe", "du", "ga", "hy", "zo"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))))
    return sorted(words)


class BruteForce:
    """Matching and BM25 (k1 = 1.2, b = 0.75) computed from scratch over every document."""

    def __init__(self, docs: list[dict]) -> None:
        self.docs = docs
        self.tokens = {d["_id"]: reference_tokens(d.get("body")) for d in docs}
        indexed = [d for d in docs if isinstance(d.get("body"), str)]
        self.n = len(indexed)
        self.average = sum(len(self.tokens[d["_id"]]) for d in indexed) / self.n
        self.df: dict[str, int] = {}
        for d in indexed:
            for t in set(self.tokens[d["_id"]]):
                self.df[t] = self.df.get(t, 0) + 1

    def matches(self, text: str, channel: Any) -> dict[str, float]:
        terms = reference_tokens(text)
        exact, prefix = set(terms[:-1]), terms[-1]
        out = {}
        for d in self.docs:
            if channel is not None and d["channel"] != channel:
                continue
            tokens = self.tokens[d["_id"]]
            counts: dict[str, int] = {}
            for t in tokens:
                if t in exact or t.startswith(prefix):
                    counts[t] = counts.get(t, 0) + 1
            if counts:
                norm = 1.2 * (1 - 0.75 + 0.75 * len(tokens) / self.average)
                out[d["_id"]] = sum(
                    math.log(1 + (self.n - self.df[t] + 0.5) / (self.df[t] + 0.5))
                    * tf * 2.2 / (tf + norm) for t, tf in counts.items())
        return out


def _queries(rng: random.Random, vocabulary: list[str], weights: list[float],
             count: int) -> list[tuple[str, Any]]:
    out = []
    for _ in range(count):
        words = rng.choices(vocabulary, weights, k=rng.randint(1, 3))
        last = words[-1]
        words[-1] = last[:rng.randint(min(2, len(last)), len(last))]
        out.append((" ".join(words), rng.choice([None, None, "c0", "c3"])))
    return out


async def test_many_documents_match_a_brute_force_reference(sdb: Database) -> None:
    rng = random.Random(2024)
    vocabulary = _vocabulary(rng, 400)
    weights = [1 / (i + 1) for i in range(len(vocabulary))]  # Zipf
    docs = [{"body": " ".join(rng.choices(vocabulary, weights, k=rng.randint(3, 20))),
             "channel": f"c{rng.randrange(8)}"} for _ in range(3000)]
    for start in range(0, 2500, 250):
        await insert(sdb, "messages", *docs[start:start + 250])
    caught_up(sdb)
    queries = _queries(rng, vocabulary, weights, 60)

    async def check(reference: BruteForce, ranking: bool) -> int:
        checked_ranking = 0
        for text, channel in queries:
            expected = reference.matches(text, channel)
            eqs = {} if channel is None else {"channel": channel}
            if len(expected) <= 1024:
                found = await search(sdb, text, **eqs)
                assert {d["_id"] for d in found} == set(expected), (text, channel)
            else:
                with pytest.raises(QueryError, match="at most 1024"):
                    await search(sdb, text, **eqs)
                found = await search(sdb, text, n=50, **eqs)
                assert len(found) == 50 and {d["_id"] for d in found} <= set(expected)
            if not ranking:
                continue
            scores = [expected[d["_id"]] for d in found]
            for before, after in zip(scores, scores[1:], strict=False):
                assert before >= after - 1e-4, (text, channel)
            if found and len(found) < len(expected):  # the best ones, not just some
                rest = max(s for i, s in expected.items() if i not in {d["_id"] for d in found})
                assert scores[-1] >= rest - 1e-4, (text, channel)
            checked_ranking += 1
        return checked_ranking

    all_docs = await sdb.read(lambda tx: tx.query("messages").collect())
    assert await check(BruteForce(all_docs), ranking=True) == len(queries)
    with indexer_paused(sdb):  # 500 more that only the database knows about
        await insert(sdb, "messages", *docs[2500:])
        all_docs = await sdb.read(lambda tx: tx.query("messages").paginate(
            {"numItems": 4000, "cursor": None}))
        assert len(all_docs["page"]) == 3000
        await check(BruteForce(all_docs["page"]), ranking=False)
    caught_up(sdb)
    await check(BruteForce(all_docs["page"]), ranking=True)
