"""Indexes, index ranges, ordering, filters and terminals."""

from __future__ import annotations

import pytest

from syncline.database import Database
from syncline.errors import QueryError
from syncline.schema import define_schema, define_table, v
from syncline.values import UNDEFINED, Int64

SCHEMA = define_schema(
    {
        "messages": define_table(
            {"channel": v.string(), "author": v.string(), "n": v.number(),
             "meta": v.optional(v.object({"lang": v.optional(v.string())}))}
        )
        .index("by_channel", ["channel"])
        .index("by_channel_n", ["channel", "n"])
        .index("by_lang", ["meta.lang"]),
    },
)


@pytest.fixture
async def messages(db: Database) -> Database:
    await db.apply_schema(SCHEMA)

    async def fn(tx):
        for i in range(12):
            doc = {"channel": "ab"[i % 2], "author": f"u{i % 3}", "n": float(i)}
            if i % 4 == 0:
                doc["meta"] = {"lang": "en" if i < 6 else "fr"}
            await tx.insert("messages", doc)
    await db.run_transaction(fn)
    return db


async def run(db: Database, build):
    return await db.read(build)


async def test_default_order_is_creation_time(messages: Database) -> None:
    docs = await run(messages, lambda tx: tx.query("messages").collect())
    assert [d["n"] for d in docs] == [float(i) for i in range(12)]
    docs = await run(messages, lambda tx: tx.query("messages").order("desc").take(3))
    assert [d["n"] for d in docs] == [11.0, 10.0, 9.0]


async def test_with_index_eq_and_bounds(messages: Database) -> None:
    docs = await run(messages, lambda tx: tx.query("messages")
                     .with_index("by_channel", lambda q: q.eq("channel", "a")).collect())
    assert [d["n"] for d in docs] == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    docs = await run(messages, lambda tx: tx.query("messages").with_index(
        "by_channel_n", lambda q: q.eq("channel", "b").gt("n", 3).lte("n", 9)).collect())
    assert [d["n"] for d in docs] == [5.0, 7.0, 9.0]
    docs = await run(messages, lambda tx: tx.query("messages").with_index(
        "by_channel_n", lambda q: q.eq("channel", "b").gte("n", 3).lt("n", 9))
        .order("desc").collect())
    assert [d["n"] for d in docs] == [7.0, 5.0, 3.0]


async def test_index_orders_by_fields_then_creation_time(messages: Database) -> None:
    docs = await run(messages, lambda tx: tx.query("messages").with_index("by_channel").collect())
    assert [(d["channel"], d["n"]) for d in docs] == sorted((d["channel"], d["n"]) for d in docs)


async def test_creation_time_bounds_after_equalities(messages: Database) -> None:
    all_a = await run(messages, lambda tx: tx.query("messages")
                      .with_index("by_channel", lambda q: q.eq("channel", "a")).collect())
    pivot = all_a[2]["_creationTime"]
    docs = await run(messages, lambda tx: tx.query("messages").with_index(
        "by_channel", lambda q: q.eq("channel", "a").gt("_creationTime", pivot)).collect())
    assert [d["n"] for d in docs] == [6.0, 8.0, 10.0]


async def test_nested_field_index_and_undefined(messages: Database) -> None:
    docs = await run(messages, lambda tx: tx.query("messages")
                     .with_index("by_lang", lambda q: q.eq("meta.lang", "fr")).collect())
    assert [d["n"] for d in docs] == [8.0]
    missing = await run(messages, lambda tx: tx.query("messages")
                        .with_index("by_lang", lambda q: q.eq("meta.lang", UNDEFINED)).collect())
    assert len(missing) == 9
    present = await run(messages, lambda tx: tx.query("messages")
                        .with_index("by_lang", lambda q: q.gte("meta.lang", None)).collect())
    assert [d["meta"]["lang"] for d in present] == ["en", "en", "fr"]


@pytest.mark.parametrize("build, message", [
    (lambda q: q.eq("n", 1.0), "in order"),
    (lambda q: q.gt("n", 1.0), "field after the equalities"),
    (lambda q: q.gt("channel", "a").eq("n", 1.0), "equalities must come first"),
    (lambda q: q.gt("channel", "a").gt("channel", "b"), "one lower bound"),
    (lambda q: q.eq("channel", "a").eq("n", 1.0).eq("_creationTime", 1.0).eq("x", 1), "Too many"),
])
async def test_index_range_rule_is_enforced(messages: Database, build, message) -> None:
    with pytest.raises(QueryError, match=message):
        await run(messages, lambda tx: tx.query("messages").with_index("by_channel_n", build).collect())


async def test_unknown_index_is_a_clear_error(messages: Database) -> None:
    with pytest.raises(QueryError, match="messages.by_nothing not found"):
        await run(messages, lambda tx: tx.query("messages").with_index("by_nothing").collect())


async def test_builder_misuse(messages: Database) -> None:
    with pytest.raises(QueryError, match="once"):
        await run(messages, lambda tx: tx.query("messages").order("asc").order("desc").collect())
    with pytest.raises(QueryError, match="asc"):
        await run(messages, lambda tx: tx.query("messages").order("up").collect())
    with pytest.raises(QueryError, match="filter expression"):
        await run(messages, lambda tx: tx.query("messages").filter(lambda q: True).collect())
    with pytest.raises(QueryError, match="Python bool"):
        await run(messages, lambda tx: tx.query("messages").filter(
            lambda q: q.eq(q.field("n"), 1) and q.eq(q.field("n"), 2)).collect())


async def test_filters(messages: Database) -> None:
    async def ns(pred):
        docs = await run(messages, lambda tx: tx.query("messages").filter(pred).collect())
        return [int(d["n"]) for d in docs]
    assert await ns(lambda q: q.eq(q.field("author"), "u1")) == [1, 4, 7, 10]
    assert await ns(lambda q: q.neq(q.field("channel"), "a")) == [1, 3, 5, 7, 9, 11]
    assert await ns(lambda q: q.and_(q.gte(q.field("n"), 3), q.lt(q.field("n"), 5))) == [3, 4]
    assert await ns(lambda q: q.or_(q.lte(q.field("n"), 0), q.gt(q.field("n"), 10))) == [0, 11]
    assert await ns(lambda q: q.not_(q.lt(q.field("n"), 10))) == [10, 11]
    assert await ns(lambda q: q.eq(q.mod(q.field("n"), 5), 0)) == [0, 5, 10]
    assert await ns(lambda q: q.gt(q.mul(q.add(q.field("n"), 1), 2), 20)) == [10, 11]
    assert await ns(lambda q: q.eq(q.sub(q.div(q.field("n"), 2), 1), 0)) == [2]
    assert await ns(lambda q: q.lt(q.neg(q.field("n")), -10)) == [11]
    assert await ns(lambda q: q.eq(q.field("meta.lang"), "fr")) == [8]
    assert await ns(lambda q: q.eq(q.field("meta"), UNDEFINED)) == [1, 2, 3, 5, 6, 7, 9, 10, 11]
    # the documented cross-type order: every string sorts after every number
    assert await ns(lambda q: q.gt(q.field("author"), 1e9)) == list(range(12))


async def test_filter_int64_arithmetic(db: Database) -> None:
    async def fn(tx):
        await tx.insert("c", {"big": Int64(2**62)})
    await db.run_transaction(fn)
    docs = await db.read(lambda tx: tx.query("c").filter(
        lambda q: q.eq(q.add(q.field("big"), Int64(1)), Int64(2**62 + 1))).collect())
    assert len(docs) == 1
    with pytest.raises(QueryError, match="same type"):
        await db.read(lambda tx: tx.query("c").filter(
            lambda q: q.eq(q.add(q.field("big"), 1.0), 1.0)).collect())


async def test_terminals(messages: Database) -> None:
    first = await run(messages, lambda tx: tx.query("messages").first())
    assert first["n"] == 0.0
    assert await run(messages, lambda tx: tx.query("messages").filter(
        lambda q: q.eq(q.field("n"), 99)).first()) is None
    one = await run(messages, lambda tx: tx.query("messages").filter(
        lambda q: q.eq(q.field("n"), 5)).unique())
    assert one["n"] == 5.0
    with pytest.raises(QueryError, match="more than one"):
        await run(messages, lambda tx: tx.query("messages").unique())
    assert await run(messages, lambda tx: tx.query("messages").take(0)) == []
    with pytest.raises(QueryError, match="non-negative"):
        await run(messages, lambda tx: tx.query("messages").take(-1))

    async def iterate(tx):
        seen = []
        async for doc in tx.query("messages").order("desc"):
            seen.append(doc["n"])
            if len(seen) == 3:
                break
        return seen
    assert await run(messages, iterate) == [11.0, 10.0, 9.0]


async def test_query_on_missing_table_is_empty(db: Database) -> None:
    assert await db.read(lambda tx: tx.query("nothing_here").collect()) == []


async def test_by_id_index(messages: Database) -> None:
    docs = await run(messages, lambda tx: tx.query("messages").with_index("by_id").collect())
    assert [d["_id"] for d in docs] == sorted(d["_id"] for d in docs)
    target = docs[3]["_id"]
    got = await run(messages, lambda tx: tx.query("messages")
                    .with_index("by_id", lambda q: q.eq("_id", target)).unique())
    assert got["_id"] == target
