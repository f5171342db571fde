"""Applying schemas: validation of writes and of existing data, index backfill and removal."""

from __future__ import annotations

import asyncio

import pytest

from syncline.database import Database
from syncline.errors import QueryError, SchemaError, ValidationError, WriteConflictError
from syncline.schema import define_schema, define_table, v
from syncline.values import Int64


def users():
    """A fresh table definition (index() adds to the definition it is called on, as in Convex)."""
    return define_table({"name": v.string(), "age": v.optional(v.int64())})


async def insert(db: Database, table: str, doc: dict) -> str:
    async def fn(tx):
        return await tx.insert(table, doc)
    return await db.run_transaction(fn)


async def test_writes_are_validated(db: Database) -> None:
    await db.apply_schema(define_schema({"users": users()}))
    doc_id = await insert(db, "users", {"name": "ann", "age": 41})
    got = await db.read(lambda tx: tx.get(doc_id))
    assert type(got["age"]) is Int64  # v.int64 turns a plain int into an int64
    with pytest.raises(ValidationError) as info:
        await insert(db, "users", {"name": 5.0})
    assert info.value.path == ".name"
    with pytest.raises(ValidationError, match="extra field"):
        await insert(db, "users", {"name": "x", "nickname": "y"})

    async def bad_patch(tx):
        await tx.patch(doc_id, {"name": None})
    with pytest.raises(ValidationError):
        await db.run_transaction(bad_patch)

    async def bad_replace(tx):
        await tx.replace(doc_id, {"age": 3})
    with pytest.raises(ValidationError, match="name"):
        await db.run_transaction(bad_replace)
    # tables outside the schema are not validated
    await insert(db, "scratch", {"anything": [1.0, "two"]})


async def test_schema_change_refused_by_an_existing_bad_document(db: Database) -> None:
    good = await insert(db, "users", {"name": "ok"})
    bad = await insert(db, "users", {"name": 123.0})
    schema = define_schema({"users": users().index("by_name", ["name"])})
    with pytest.raises(SchemaError) as info:
        await db.apply_schema(schema)
    assert bad in str(info.value) and "users" in str(info.value)
    assert db.schema is None
    # nothing changed: the index was not created, writes are still unvalidated
    with pytest.raises(QueryError, match="not found"):
        await db.read(lambda tx: tx.query("users").with_index("by_name").collect())
    await insert(db, "users", {"name": 1.0})

    async def fix(tx):
        for doc in await tx.query("users").collect():
            if not isinstance(doc["name"], str):
                await tx.delete(doc["_id"])
    await db.run_transaction(fix)
    await db.apply_schema(schema)
    docs = await db.read(lambda tx: tx.query("users").with_index("by_name").collect())
    assert [d["_id"] for d in docs] == [good]


async def test_schema_validation_can_be_disabled(db: Database) -> None:
    await insert(db, "users", {"name": 123.0})
    await db.apply_schema(define_schema({"users": users()}, schema_validation=False))
    await insert(db, "users", {"nope": True})


async def test_new_index_is_backfilled_and_removed_index_dropped(db: Database) -> None:
    for name in ("cy", "ann", "bo"):
        await insert(db, "users", {"name": name})
    await db.apply_schema(define_schema({"users": users().index("by_name", ["name"])}))
    docs = await db.read(lambda tx: tx.query("users").with_index("by_name").collect())
    assert [d["name"] for d in docs] == ["ann", "bo", "cy"]
    await insert(db, "users", {"name": "al"})
    docs = await db.read(lambda tx: tx.query("users").with_index(
        "by_name", lambda q: q.lt("name", "b")).collect())
    assert [d["name"] for d in docs] == ["al", "ann"]

    def user_index_entries() -> int:
        (rows,) = db.persistence._writer.execute(
            "SELECT count(*) FROM index_entries "
            "WHERE index_id NOT IN (SELECT creation_index_id FROM tables)").fetchone()
        return rows

    running = db.begin(read_only=True)  # began while by_name still existed
    await db.apply_schema(define_schema({"users": users()}))
    with pytest.raises(QueryError, match="not found"):
        await db.read(lambda tx: tx.query("users").with_index("by_name").collect())
    # the running transaction still reads the index it started with
    docs = await running.query("users").with_index("by_name").collect()
    assert [d["name"] for d in docs] == ["al", "ann", "bo", "cy"]
    assert user_index_entries() == 4
    # the next schema change reclaims the dropped index's entries
    await db.apply_schema(define_schema({"users": users(), "other": define_table({})}))
    assert user_index_entries() == 0


async def test_changed_index_fields_rebuild_the_index(db: Database) -> None:
    await insert(db, "users", {"name": "b", "age": Int64(2)})
    await insert(db, "users", {"name": "a", "age": Int64(9)})
    await db.apply_schema(define_schema({"users": users().index("by_x", ["name"])}))
    await db.apply_schema(define_schema({"users": users().index("by_x", ["age"])}))
    docs = await db.read(lambda tx: tx.query("users").with_index("by_x").collect())
    assert [d["age"] for d in docs] == [2, 9]


async def test_schema_and_indexes_survive_reopen(db_path) -> None:
    schema = define_schema({"users": users().index("by_name", ["name"])})
    first = Database(db_path)
    await first.apply_schema(schema)
    await insert(first, "users", {"name": "z"})
    first.close()
    second = Database(db_path)
    try:
        assert second.schema == schema
        with pytest.raises(ValidationError):
            await insert(second, "users", {"name": 1.0})
        docs = await second.read(lambda tx: tx.query("users").with_index("by_name").collect())
        assert [d["name"] for d in docs] == ["z"]
    finally:
        second.close()


async def test_transactions_spanning_a_schema_change_retry(db: Database) -> None:
    tx = db.begin()
    await tx.insert("users", {"name": 1.0})  # valid before the schema exists
    await db.apply_schema(define_schema({"users": users()}))
    with pytest.raises(WriteConflictError, match="schema changed"):
        await tx.commit()


async def test_schema_changes_under_concurrent_writes_keep_indexes_complete(db: Database) -> None:
    """Inserts racing a schema push must all land in the new index (none lost between
    the backfill and the switch), and transactions that straddle it retry."""
    async def writer(i: int) -> None:
        for j in range(15):
            async def fn(tx, j=j):
                await tx.insert("users", {"name": f"w{i}-{j}"})
            await db.run_transaction(fn, max_attempts=50)
            await asyncio.sleep(0)

    async def pusher() -> None:
        for k in range(4):
            table = users().index("by_name", ["name"])
            if k % 2:
                table = table.index("by_age", ["age"])
            await db.apply_schema(define_schema({"users": table}))
            await asyncio.sleep(0.002)

    await asyncio.gather(pusher(), *(writer(i) for i in range(6)))
    everything = await db.read(lambda tx: tx.query("users").collect())
    indexed = await db.read(lambda tx: tx.query("users").with_index("by_name").collect())
    assert len(everything) == 90
    assert sorted(d["_id"] for d in indexed) == sorted(d["_id"] for d in everything)
    assert [d["name"] for d in indexed] == sorted(d["name"] for d in everything)


async def test_id_fields_must_name_their_table(db: Database) -> None:
    await db.apply_schema(define_schema({
        "users": users(),
        "posts": define_table({"author": v.id("users"), "title": v.string()}),
    }))
    user = await insert(db, "users", {"name": "ann"})
    await insert(db, "posts", {"author": user, "title": "hello"})
    post = await insert(db, "posts", {"author": user, "title": "again"})
    with pytest.raises(ValidationError, match="users"):
        await insert(db, "posts", {"author": post, "title": "wrong table"})
    with pytest.raises(ValidationError):
        await insert(db, "posts", {"author": "not-an-id", "title": "garbage"})


async def test_schema_push_streams_large_tables(db: Database) -> None:
    """More documents than one storage page: all are validated and all are indexed."""
    async def fill(tx):
        for i in range(4500):
            await tx.insert("users", {"name": f"u{i:05d}"})
        await tx.insert("users", {"name": 0.0})  # the bad one sits on the last page
    await db.run_transaction(fill)
    schema = define_schema({"users": users().index("by_name", ["name"])})
    with pytest.raises(SchemaError, match="does not match"):
        await db.apply_schema(schema)

    async def fix(tx):
        bad = await tx.query("users").order("desc").first()
        await tx.delete(bad["_id"])
    await db.run_transaction(fix)
    await db.apply_schema(schema)
    docs = await db.read(lambda tx: tx.query("users").with_index(
        "by_name", lambda q: q.gte("name", "u04490")).collect())
    assert [d["name"] for d in docs] == [f"u{i:05d}" for i in range(4490, 4500)]
    total = 0
    cursor = None
    while True:
        result = await db.read(lambda tx, c=cursor: tx.query("users").with_index(
            "by_name").paginate({"numItems": 1000, "cursor": c}))
        total += len(result["page"])
        if result["isDone"]:
            break
        cursor = result["continueCursor"]
    assert total == 4500
