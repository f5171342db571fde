"""A snapshot import keeps Convex's IDs even for tables the schema already declared: a table
that never held a document takes the IDs' table number; one that did is refused."""

from __future__ import annotations

import pytest

from syncline.data.table_import import DataImportError, import_tables
from syncline.database import Database
from syncline.schema import define_schema, define_table, v
from syncline.values import decode_id, encode_id, new_internal_id

SCHEMA = define_schema({
    "notes": define_table({"body": v.string(), "tag": v.string()})
    .index("by_tag", ["tag"])
    .search_index("search_body", search_field="body"),
})


@pytest.fixture
async def db(tmp_path):
    database = Database(tmp_path / "db.sqlite3", durability="normal")
    await database.apply_schema(SCHEMA)
    yield database
    database.close()


def convex_docs(number: int, count: int) -> list[dict]:
    return [{"_id": encode_id(number, new_internal_id()), "_creationTime": 1.7e12 + i,
             "body": f"hello {i}", "tag": "t"} for i in range(count)]


def as_rows(docs: list[dict]) -> list[tuple[int, dict]]:
    """(line number, document), as the file readers hand them over."""
    return list(enumerate(docs, start=1))


async def test_a_declared_empty_table_takes_the_ids_table_number(db: Database, tmp_path):
    declared = db.tables.get("notes").number
    rows = convex_docs(declared + 40, 3)
    await import_tables(db, {"notes": as_rows(rows)}, "create",
                        table_numbers={"notes": declared + 40})
    assert db.tables.get("notes").number == declared + 40

    async def read(tx):
        by_index = await tx.query("notes").with_index("by_tag", lambda q: q.eq("tag", "t"))\
            .collect()
        found = await tx.query("notes").with_search_index(
            "search_body", lambda q: q.search("body", "hello")).collect()
        return by_index, found, await tx.get(rows[0]["_id"])

    by_index, found, first = await db.run_transaction(read, read_only=True)
    assert sorted(d["_id"] for d in by_index) == sorted(r["_id"] for r in rows)
    assert len(found) == 3 and first["_creationTime"] == rows[0]["_creationTime"]
    # New documents get the new number too, and the renumbering survives a restart.
    new_id = await db.run_transaction(lambda tx: tx.insert("notes", {"body": "x", "tag": "u"}))
    assert decode_id(new_id)[0] == declared + 40
    db.close()
    reopened = Database(tmp_path / "db.sqlite3", durability="normal")
    try:
        assert reopened.tables.get("notes").number == declared + 40
        doc = await reopened.run_transaction(lambda tx: tx.get(rows[1]["_id"]),
                                             read_only=True)
        assert doc["body"] == "hello 1"
    finally:
        reopened.close()


async def test_a_table_that_held_documents_keeps_its_number(db: Database):
    declared = db.tables.get("notes").number
    doc = await db.run_transaction(lambda tx: tx.insert("notes", {"body": "a", "tag": "t"}))
    await db.run_transaction(lambda tx: tx.delete(doc))  # empty now, but it has a history
    with pytest.raises(DataImportError, match="has held documents"):
        await import_tables(db, {"notes": as_rows(convex_docs(declared + 7, 1))}, "append",
                            table_numbers={"notes": declared + 7})
    assert db.tables.get("notes").number == declared
