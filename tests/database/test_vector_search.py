"""Vector search through the database: `Database.vector_search` (what `ctx.vector_search` calls),
kept current with commits, built when an index is added, and kept across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncline.database import Database
from syncline.errors import QueryError
from syncline.schema import define_schema, define_table, v
from syncline.values import UNDEFINED


def foods_schema(*, with_index: bool = True, dimensions: int = 3):
    table = define_table({"name": v.string(), "cuisine": v.optional(v.string()),
                          "embedding": v.any()})
    if with_index:
        table = table.vector_index("by_embedding", vector_field="embedding",
                                   dimensions=dimensions, filter_fields=["cuisine"])
    return define_schema({"foods": table})


async def add(db: Database, name: str, embedding, cuisine=UNDEFINED) -> str:
    async def insert(tx):
        doc = {"name": name, "embedding": embedding}
        if cuisine is not UNDEFINED:
            doc["cuisine"] = cuisine
        return await tx.insert("foods", doc)
    return await db.run_transaction(insert)


async def names(db: Database, hits: list[dict]) -> list[str]:
    async def read(tx):
        return [(await tx.get(h["_id"]))["name"] for h in hits]
    return await db.run_transaction(read)


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(tmp_path / "db.sqlite3", durability="normal")
    await database.apply_schema(foods_schema())
    yield database
    database.close()


async def test_every_commit_is_visible_at_once_and_ranked_by_cosine(db: Database) -> None:
    await add(db, "a", [1.0, 0.0, 0.0])
    await add(db, "b", [0.7, 0.7, 0.0])
    await add(db, "c", [0.0, 0.0, 1.0])
    hits = await db.vector_search("foods", "by_embedding", {"vector": [1.0, 0.1, 0.0]})
    assert await names(db, hits) == ["a", "b", "c"]
    assert hits[0]["_score"] == pytest.approx(0.995037, abs=1e-5)
    assert set(hits[0]) == {"_id", "_score"}
    top = await db.vector_search("foods", "by_embedding", {"vector": [1.0, 0.1, 0.0],
                                                           "limit": 1})
    assert len(top) == 1


async def test_updates_and_deletes_are_reflected(db: Database) -> None:
    doc = await add(db, "moving", [1.0, 0.0, 0.0])
    await add(db, "still", [0.0, 1.0, 0.0])
    await db.run_transaction(lambda tx: tx.patch(doc, {"embedding": [0.0, 0.0, 1.0]}))
    hits = await db.vector_search("foods", "by_embedding", {"vector": [0.0, 0.0, 1.0],
                                                           "limit": 1})
    assert await names(db, hits) == ["moving"]
    await db.run_transaction(lambda tx: tx.delete(doc))
    hits = await db.vector_search("foods", "by_embedding", {"vector": [0.0, 0.0, 1.0]})
    assert await names(db, hits) == ["still"]


async def test_wrong_length_vectors_are_skipped(db: Database) -> None:
    await add(db, "short", [1.0, 0.0])
    await add(db, "text", "not a vector")
    await add(db, "ok", [1.0, 0.0, 0.0])
    hits = await db.vector_search("foods", "by_embedding", {"vector": [1.0, 0.0, 0.0]})
    assert await names(db, hits) == ["ok"]


async def test_filters(db: Database) -> None:
    await add(db, "croissant", [1.0, 0.0, 0.0], "french")
    await add(db, "rendang", [0.9, 0.1, 0.0], "indonesian")
    await add(db, "sushi", [0.8, 0.2, 0.0], "japanese")
    await add(db, "bread", [0.7, 0.3, 0.0])  # no cuisine
    query = [1.0, 0.0, 0.0]

    async def search(fn) -> list[str]:
        return await names(db, await db.vector_search(
            "foods", "by_embedding", {"vector": query, "filter": fn}))

    assert await search(lambda q: q.eq("cuisine", "japanese")) == ["sushi"]
    assert await search(lambda q: q.or_(q.eq("cuisine", "japanese"),
                                        q.eq("cuisine", "french"))) == ["croissant", "sushi"]
    assert await search(lambda q: q.eq("cuisine", UNDEFINED)) == ["bread"]


@pytest.mark.parametrize("options, message", [
    ({"vector": [1.0, 0.0]}, "a list of 3 numbers"),
    ({"vector": [1.0, 0.0, "x"]}, "a list of 3 numbers"),
    ({"vector": [1.0, 0.0, 0.0], "limit": 0}, "from 1 to 256"),
    ({"vector": [1.0, 0.0, 0.0], "limit": 257}, "from 1 to 256"),
    ({"vector": [1.0, 0.0, 0.0], "limit": 2.5}, "from 1 to 256"),
    ({"vector": [1.0, 0.0, 0.0], "limt": 2}, "unknown option"),
    ({"vector": [1.0, 0.0, 0.0], "filter": lambda q: q.eq("name", "x")}, "filter field"),
    ({"vector": [1.0, 0.0, 0.0],
      "filter": lambda q: q.or_(*[q.eq("cuisine", str(i)) for i in range(65)])}, "at most 64"),
])
async def test_bad_searches_are_refused_clearly(db: Database, options, message) -> None:
    with pytest.raises(QueryError, match=message):
        await db.vector_search("foods", "by_embedding", options)


async def test_unknown_index(db: Database) -> None:
    with pytest.raises(QueryError, match="Vector index foods.nope not found"):
        await db.vector_search("foods", "nope", {"vector": [1.0, 0.0, 0.0]})


async def test_an_added_index_is_built_from_existing_documents(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3", durability="normal")
    try:
        await db.apply_schema(foods_schema(with_index=False))
        await add(db, "early", [0.0, 1.0, 0.0])
        await db.apply_schema(foods_schema())
        hits = await db.vector_search("foods", "by_embedding", {"vector": [0.0, 1.0, 0.0]})
        assert await names(db, hits) == ["early"]
        await db.apply_schema(foods_schema(with_index=False))
        with pytest.raises(QueryError, match="not found"):
            await db.vector_search("foods", "by_embedding", {"vector": [0.0, 1.0, 0.0]})
    finally:
        db.close()


async def test_the_index_survives_a_restart_and_catches_up(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = Database(path, durability="normal")
    await db.apply_schema(foods_schema())
    await add(db, "before", [1.0, 0.0, 0.0])
    db.close()  # a clean shutdown saves the index
    saved = list((tmp_path / "search").glob("foods.by_embedding.*/vector_index.meta"))
    assert saved, "the vector index was saved on close"
    db = Database(path, durability="normal")
    try:
        await add(db, "after", [0.9, 0.1, 0.0])
        hits = await db.vector_search("foods", "by_embedding", {"vector": [1.0, 0.0, 0.0]})
        assert await names(db, hits) == ["before", "after"]
    finally:
        db.close()
