"""Data import at the database level: formats, modes, atomicity, kept IDs, bad rows."""

from __future__ import annotations

import io
import zipfile

import orjson
import pytest

from syncline.database import Database
from syncline.database.data_import import (
    DataImportError,
    import_tables,
    parse_table_file,
    read_snapshot_zip,
    write_snapshot_zip,
)
from syncline.errors import InvalidValueError
from syncline.schema import define_schema, define_table, v
from syncline.values import Int64, encode_id, new_internal_id


async def docs(db: Database, table: str) -> list[dict]:
    async def fn(tx):
        info = db.tables.get(table)
        return [] if info is None else list(tx.table_documents(info))
    return await db.read(fn)


async def import_file(db: Database, table: str, data: bytes, fmt: str, mode: str = "create"):
    return await import_tables(db, {table: parse_table_file(data, fmt)}, mode)


async def test_jsonl_json_and_csv(db: Database) -> None:
    await import_file(db, "a", b'{"n": 1, "s": "x"}\n\n{"n": 2.5, "nested": {"k": [1]}}\n',
                      "jsonl")
    await import_file(db, "b", b'[{"n": 1}, {"ok": true}]', "json")
    await import_file(db, "c", b"name,age,member\nann,41,true\nbob,,false\n", "csv")
    a = await docs(db, "a")
    assert [d["n"] for d in a] == [1.0, 2.5] and a[1]["nested"] == {"k": [1.0]}
    assert [{k: x for k, x in d.items() if not k.startswith("_")} for d in await docs(db, "b")] \
        == [{"n": 1.0}, {"ok": True}]
    c = await docs(db, "c")
    assert c[0]["name"] == "ann" and c[0]["age"] == 41.0 and c[0]["member"] is True
    assert "age" not in c[1] and c[1]["member"] is False


async def test_create_refuses_a_non_empty_table_append_and_replace(db: Database) -> None:
    await import_file(db, "t", b'{"n": 1}\n{"n": 2}\n', "jsonl")
    with pytest.raises(DataImportError, match="already holds 2 documents.*--append"):
        await import_file(db, "t", b'{"n": 3}\n', "jsonl")
    await import_file(db, "t", b'{"n": 3}\n', "jsonl", "append")
    assert sorted(d["n"] for d in await docs(db, "t")) == [1.0, 2.0, 3.0]
    await import_file(db, "t", b'{"n": 9}\n', "jsonl", "replace")
    assert [d["n"] for d in await docs(db, "t")] == [9.0]
    await import_file(db, "t", b"", "jsonl", "replace")  # the documented way to clear a table
    assert await docs(db, "t") == []


async def test_replace_is_atomic(db: Database) -> None:
    await import_file(db, "t", b'{"n": 1}\n{"n": 2}\n', "jsonl")
    await db.apply_schema(define_schema({"t": define_table({"n": v.float64()})}))
    with pytest.raises(DataImportError, match="line 3"):
        await import_file(db, "t", b'{"n": 5}\n{"n": 6}\n{"n": "seven"}\n', "jsonl", "replace")
    assert sorted(d["n"] for d in await docs(db, "t")) == [1.0, 2.0]  # nothing changed


async def test_bad_rows_name_their_line(db: Database) -> None:
    with pytest.raises(DataImportError, match="line 2: not valid JSON"):
        parse_table_file(b'{"n": 1}\n{"n": \n', "jsonl")
    with pytest.raises(DataImportError, match="line 1: expected a JSON object"):
        parse_table_file(b"[1, 2]\n", "jsonl")
    with pytest.raises(DataImportError, match="line 3: 1 cells"):
        parse_table_file(b"a,b\n1,2\n3\n", "csv")
    with pytest.raises(DataImportError, match="array of objects"):
        parse_table_file(b'{"a": 1}', "json")
    await db.apply_schema(define_schema({"t": define_table({"n": v.float64()})}))
    with pytest.raises(DataImportError, match="line 2"):
        await import_file(db, "t", b'{"n": 1}\n{"n": "two"}\n', "jsonl")
    assert await docs(db, "t") == []


async def test_more_than_the_transaction_limits_in_one_import(db: Database) -> None:
    data = b"".join(b'{"i": %d}\n' % i for i in range(17_000))
    counts = await import_file(db, "big", data, "jsonl")
    assert counts == {"big": 17_000}
    assert len(await docs(db, "big")) == 17_000


async def test_ids_and_creation_times_are_kept(db: Database) -> None:
    await import_file(db, "first", b'{"x": 1}\n', "jsonl")  # takes the first table number
    number = db.tables.get("first").number + 5
    document_id = encode_id(number, new_internal_id())
    line = orjson.dumps({"_id": document_id, "_creationTime": 1700000000000.5, "x": 2})
    await import_tables(db, {"kept": parse_table_file(line, "jsonl")}, "create",
                        table_numbers={"kept": number})
    [doc] = await docs(db, "kept")
    assert doc == {"_id": document_id, "_creationTime": 1700000000000.5, "x": 2.0}
    # The same ID again, or an ID of another table, is refused.
    with pytest.raises(DataImportError, match="already exists"):
        await import_tables(db, {"kept": parse_table_file(line, "jsonl")}, "append")
    with pytest.raises(DataImportError, match="not of table 'first'"):
        await import_tables(db, {"first": parse_table_file(line, "jsonl")}, "append")
    # A table number another table has is refused.
    with pytest.raises(InvalidValueError, match="already has it"):
        db.tables.get_or_create("other", number=number)


async def test_snapshot_round_trip_is_lossless(db: Database, tmp_path) -> None:
    values = {"i": Int64(-(2**63)), "b": b"\x00\xff", "nan": float("nan"), "inf": float("-inf"),
              "neg0": -0.0, "big": 2.0**60, "nested": {"deep": [Int64(3), "s", b"x"]}}

    async def fill(tx):
        await tx.insert("things", values)
        await tx.insert("things", {"plain": 1})
        await tx.insert("others", {"ref": "x"})
    await db.run_transaction(fill)
    path = tmp_path / "snap.zip"
    write_snapshot_zip(db, str(path))
    fresh = Database(tmp_path / "fresh.db")
    try:
        tables, numbers = read_snapshot_zip(str(path))
        await import_tables(fresh, tables, "create", table_numbers=numbers)
        for table in ("things", "others"):
            before, after = await docs(db, table), await docs(fresh, table)
            assert len(before) == len(after)
            for x, y in zip(before, after, strict=True):
                assert orjson.dumps(repr(x)) == orjson.dumps(repr(y))
                assert {k: type(w) for k, w in x.items()} == {k: type(w) for k, w in y.items()}
    finally:
        fresh.close()


def test_unknown_table_in_a_zip_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("_tables/documents.jsonl", '{"name": "a", "id": 10001}\n')
        archive.writestr("a/documents.jsonl", "")
        archive.writestr("b/documents.jsonl", '{"x": 1}\n')
    buffer.seek(0)
    with pytest.raises(DataImportError, match="Unknown table 'b'"):
        read_snapshot_zip(buffer)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("_secret/documents.jsonl", '{"x": 1}\n')
    buffer.seek(0)
    with pytest.raises(DataImportError, match="Unknown table '_secret'"):
        read_snapshot_zip(buffer)
