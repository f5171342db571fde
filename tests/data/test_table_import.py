"""Data import at the database level: formats, modes, atomicity, kept IDs, bad rows."""

from __future__ import annotations

import base64
import io
import struct
import zipfile

import orjson
import pytest

from syncline.data.generated_schema import parse_generated_schema, parse_shape, to_documents
from syncline.data.snapshot_zip import import_snapshot, read_snapshot_zip, write_snapshot_zip
from syncline.data.table_import import document_validator, import_tables, parse_table_file
from syncline.database import Database
from syncline.errors import DataImportError, InvalidValueError
from syncline.schema import define_schema, define_table, v
from syncline.values import Int64, encode_id, new_internal_id


async def docs(db: Database, table: str) -> list[dict]:
    async def fn(tx):
        info = db.tables.get(table)
        return [] if info is None else list(tx.table_documents(info))
    return await db.read(fn)


async def import_file(db: Database, table: str, data: bytes, fmt: str, mode: str = "create"):
    rows = parse_table_file(data, fmt, document_validator(db, table))
    return await import_tables(db, {table: rows}, mode)


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
    # Convex's CSV rule: a number or a string; an empty cell is an empty string.
    assert c[0]["name"] == "ann" and c[0]["age"] == 41.0 and c[0]["member"] == "true"
    assert c[1]["age"] == "" and c[1]["member"] == "false"


async def test_csv_cells_are_numbers_or_strings_unless_the_schema_says_otherwise(
        db: Database) -> None:
    data = b"name,zip,age,member,note,score,count\nann,02139,41,true,,1.5,7\nbob,00501,,false,,2,8\n"
    await import_file(db, "plain", data, "csv")
    plain = await docs(db, "plain")
    assert {k: x for k, x in plain[1].items() if not k.startswith("_")} == {
        "name": "bob", "zip": 501.0, "age": "", "member": "false", "note": "", "score": 2.0,
        "count": 8.0}
    await db.apply_schema(define_schema({"typed": define_table({
        "name": v.string(), "zip": v.string(), "age": v.optional(v.float64()),
        "member": v.boolean(), "note": v.union(v.string(), v.null()),
        "score": v.union(v.float64(), v.null()), "count": v.int64()})}))
    await import_file(db, "typed", data, "csv")
    typed = [{k: x for k, x in d.items() if not k.startswith("_")} for d in await docs(db, "typed")]
    assert typed == [
        {"name": "ann", "zip": "02139", "age": 41.0, "member": True, "note": "", "score": 1.5,
         "count": Int64(7)},
        {"name": "bob", "zip": "00501", "member": False, "note": "", "score": 2.0,
         "count": Int64(8)}]
    with pytest.raises(DataImportError, match="line 2"):  # not a boolean: refused, by line
        await import_file(db, "typed", b"name,zip,member,note,score,count\na,1,yes,,1,1\n",
                          "csv", "append")


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
        snapshot = read_snapshot_zip(str(path))
        assert snapshot.files is None  # no `_storage/` without file storage
        await import_snapshot(fresh, snapshot, "create")
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


# ----------------------------------------------------------------------------- generated_schema


def decode(shape: str, docs: list[dict], overrides: str = "") -> list[dict]:
    schema = parse_generated_schema(orjson.dumps(shape) + b"\n" + overrides.encode())
    return [d for _, d in to_documents(list(enumerate(docs, start=1)), schema)]


def test_nested_shapes_type_values_where_the_shape_says_so() -> None:
    shape = ('{"_creationTime": normalfloat64, "_id": id<10001>, "n": int64, '
             '"nested": {"a": int64, "b": string, "deep": {"raw": bytes}}, '
             '"arr": array<bytes>, "ints": array<int64 | null>, "rec": record<string, int64>, '
             '"objs": array<{"k": int64} | {"s": string}>, "opt"?: int64, '
             '"lit": "hello" | int64, "f": float64, "inf": inf | -inf}')
    [doc] = decode(shape, [{
        "_id": "x", "_creationTime": 1.0, "n": "12", "nested": {"a": "-3", "b": "4",
                                                               "deep": {"raw": "AP8="}},
        "arr": ["AQ==", "Ag=="], "ints": ["5", None], "rec": {"p": "1", "q": "2"},
        "objs": [{"k": "7"}, {"s": "8"}], "opt": "9", "lit": "10", "f": 2, "inf": "-Infinity",
        "extra": "11"}])
    assert doc["n"] == Int64(12) and type(doc["n"]) is Int64
    assert doc["nested"] == {"a": Int64(-3), "b": "4", "deep": {"raw": b"\x00\xff"}}
    assert type(doc["nested"]["b"]) is str
    assert doc["arr"] == [b"\x01", b"\x02"]
    assert doc["ints"] == [Int64(5), None] and type(doc["ints"][0]) is Int64
    assert doc["rec"] == {"p": Int64(1), "q": Int64(2)}
    # Union of objects: each field's shape comes from the options that have it.
    assert doc["objs"] == [{"k": Int64(7)}, {"s": "8"}] and type(doc["objs"][1]["s"]) is str
    assert doc["opt"] == Int64(9)
    assert doc["lit"] == "10"  # "hello" | int64: a string could be either, so it stays one
    assert doc["f"] == 2.0 and type(doc["f"]) is float
    assert doc["inf"] == float("-inf")
    assert doc["extra"] == "11"  # not in the shape: left as a string
    assert doc["_id"] == "x" and type(doc["_creationTime"]) is float


def test_ambiguous_unions_use_the_per_document_contexts() -> None:
    shape = '{"_id": string, "u": int64 | string, "b": bytes | string, "f": float64, ' \
            '"a": array<int64 | string>, "o": {"x": int64 | string}}'
    nan = base64.b64encode(struct.pack("<d", float("nan"))).decode()
    overrides = (orjson.dumps({"d1": {"u": "int64", "b": "bytes", "f": "float64inf",
                                      "a": ["int64", "infer"], "o": {"x": "int64"}}}) + b"\n"
                 + orjson.dumps({"d2": {"f": {"$float64NaN": nan}}}) + b"\n").decode()
    d1, d2, d3 = decode(shape, [
        {"_id": "d1", "u": "1", "b": "AQ==", "f": "Infinity", "a": ["2", "3"], "o": {"x": "4"}},
        {"_id": "d2", "u": "1", "b": "AQ==", "f": "NaN", "a": ["2"], "o": {"x": "4"}},
        {"_id": "d3", "u": "1", "b": "AQ==", "f": 1.5}], overrides)
    assert d1["u"] == Int64(1) and d1["b"] == b"\x01" and d1["f"] == float("inf")
    assert d1["a"] == [Int64(2), "3"] and type(d1["a"][1]) is str
    assert d1["o"] == {"x": Int64(4)}
    # Without a context the string stays a string.
    assert d2["u"] == "1" and type(d2["u"]) is str and d2["b"] == "AQ==" and d2["a"] == ["2"]
    assert d2["f"] != d2["f"]  # NaN
    assert d3["f"] == 1.5


def test_convex_uniform_generated_schema() -> None:
    [doc] = decode("uniform", [{
        "_id": "x", "_creationTime": 1700000000000.0, "i": 5, "f": 5.0, "big": -(2**63),
        "b": {"$bytes": "AP8="}, "inf": {"$float": base64.b64encode(
            struct.pack("<d", float("inf"))).decode()},
        "nested": {"xs": [1, 2.5, "s"]}}])
    assert doc["i"] == Int64(5) and type(doc["i"]) is Int64
    assert doc["f"] == 5.0 and type(doc["f"]) is float
    assert doc["big"] == Int64(-(2**63))
    assert doc["b"] == b"\x00\xff" and doc["inf"] == float("inf")
    assert doc["nested"] == {"xs": [Int64(1), 2.5, "s"]}
    assert type(doc["_creationTime"]) is float


def test_syncline_exports_from_before_file_storage_still_import() -> None:
    overrides = orjson.dumps({"x": {"Object": {
        "n": "Int64", "raw": "Bytes", "nan": "Float64",
        "arr": {"Array": ["Default", "Int64"]}}}}).decode()
    [doc] = decode("any", [{"_id": "x", "n": "7", "raw": "AP8=", "nan": "NaN",
                            "arr": ["a", "8"], "s": "9"}], overrides)
    assert doc["n"] == Int64(7) and doc["raw"] == b"\x00\xff" and doc["nan"] != doc["nan"]
    assert doc["arr"] == ["a", Int64(8)] and doc["s"] == "9"


def test_shapes_parse_or_are_refused_clearly() -> None:
    assert parse_shape('{"a"?: array<int64>, b: id<messages>}') == (
        "object", {"a": ("array", ("int64",)), "b": ("id",)})
    assert parse_shape("int64 | null")[0] == "union"
    for bad in ("{a: int64", "wat", "array<int64", '{"a": int64} trailing'):
        with pytest.raises(ValueError):
            parse_shape(bad)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("t/documents.jsonl", '{"n": "1"}\n')
        archive.writestr("t/generated_schema.jsonl", '"{n: int65}"\n')
    buffer.seek(0)
    with pytest.raises(DataImportError, match="t/generated_schema.jsonl: line 1: cannot read "
                                              "the shape"):
        read_snapshot_zip(buffer)
    with pytest.raises(DataImportError, match="line 2: expected an int64"):
        to_documents([(1, {"n": "1"}), (2, {"n": "x"})],
                     parse_generated_schema(b'"{n: int64}"\n'))


async def test_export_writes_convex_contexts_for_a_table_of_unknown_shape(
        db: Database, tmp_path) -> None:
    nan = float("nan")

    async def fill(tx):
        await tx.insert("t", {"i": Int64(1), "b": b"\x01", "f": nan, "inf": float("inf"),
                              "xs": [1.0, Int64(2)], "o": {"i": Int64(3), "s": "s"}})
        await tx.insert("t", {"plain": "x"})
    await db.run_transaction(fill)
    path = tmp_path / "snap.zip"
    write_snapshot_zip(db, str(path))
    with zipfile.ZipFile(path) as archive:
        lines = archive.read("t/generated_schema.jsonl").splitlines()
    assert orjson.loads(lines[0]) == "unknown"
    [context] = [list(orjson.loads(line).values())[0] for line in lines[1:]]
    assert context == {"i": "int64", "b": "bytes", "inf": "float64inf",
                       "f": {"$float64NaN": base64.b64encode(struct.pack("<d", nan)).decode()},
                       "xs": ["infer", "int64"], "o": {"i": "int64"}}
