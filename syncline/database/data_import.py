"""Data import and snapshot export (docs/data-import-export.md).

- `parse_table_file(data, format)`: the documents of a JSONL, JSON-array or CSV file;
  a bad row is a DataImportError naming its line.
- `import_tables(db, {table: documents}, mode)`: writes them as ONE transaction without
  the per-transaction limits, through the normal committer, so the import is atomic
  and indexes, subscriptions and OCC see it like any commit.
- `read_snapshot_zip(file)` / `write_snapshot_zip(db, file)`: Convex's snapshot layout,
  `<table>/documents.jsonl` plus `<table>/generated_schema.jsonl` (types that export
  JSON loses: int64, bytes, non-finite floats) and `_tables/documents.jsonl`
  (`{"name": ..., "id": <table number>}`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from typing import IO, Any, Literal

import orjson

from syncline.database.catalog import check_table_name
from syncline.database.database import Database
from syncline.errors import InvalidValueError, SynclineError, WriteConflictError
from syncline.values import Int64, decode_id, to_export_json

Format = Literal["jsonl", "json", "csv"]
Mode = Literal["create", "append", "replace"]
FORMATS: tuple[str, ...] = ("jsonl", "json", "csv")
MODES: tuple[str, ...] = ("create", "append", "replace")
MAX_ATTEMPTS = 5

# A document plus the line it came from (1-based; 0 when there is no line).
Row = tuple[int, dict[str, Any]]


class DataImportError(InvalidValueError):
    """The import file is malformed or does not fit; nothing was written."""


# ----------------------------------------------------------------------------- values


def _plain(obj: Any) -> Any:
    """Export JSON without context: JSON numbers are float64."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | float):
        return obj
    if isinstance(obj, int):
        return float(obj)
    if isinstance(obj, list):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def _decode(obj: Any, ctx: Any) -> Any:
    """Export JSON `obj` as a Convex value, typed by the generated_schema context `ctx`."""
    if ctx is None or ctx == "Default":
        return _plain(obj)
    if ctx == "Int64":
        if isinstance(obj, str | int) and not isinstance(obj, bool):
            return Int64(int(obj))
        raise ValueError(f"expected an int64 (a decimal string), got {obj!r}")
    if ctx == "Bytes":
        if not isinstance(obj, str):
            raise ValueError(f"expected bytes (a base64 string), got {obj!r}")
        return base64.b64decode(obj, validate=True)
    if ctx == "Float64":
        special = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
        return special[obj] if isinstance(obj, str) else float(obj)
    if isinstance(ctx, dict) and "Object" in ctx and isinstance(obj, dict):
        fields = ctx["Object"]
        return {k: _decode(v, fields.get(k)) for k, v in obj.items()}
    if isinstance(ctx, dict) and "Array" in ctx and isinstance(obj, list):
        items = ctx["Array"]
        return [_decode(v, items[i] if i < len(items) else None) for i, v in enumerate(obj)]
    raise ValueError(f"unsupported generated_schema context {ctx!r}")


def _context(value: Any) -> Any:
    """The generated_schema context of `value`, or None if plain export JSON is exact."""
    if isinstance(value, Int64):
        return "Int64"
    if isinstance(value, bytes):
        return "Bytes"
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return "Float64"
    if isinstance(value, dict):
        fields = {k: c for k, v in value.items() if (c := _context(v)) is not None}
        return {"Object": fields} if fields else None
    if isinstance(value, list):
        items = [_context(v) for v in value]
        if any(c is not None for c in items):
            return {"Array": [c if c is not None else "Default" for c in items]}
    return None


# ----------------------------------------------------------------------------- files


def _object(obj: Any, line: int) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise DataImportError(f"line {line}: expected a JSON object, got {type(obj).__name__}")
    return obj


def _jsonl_lines(data: bytes) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, orjson.loads(line)
        except orjson.JSONDecodeError as e:
            raise DataImportError(f"line {number}: not valid JSON: {e}") from None


def _csv_value(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        return float(text)
    return text


def parse_table_file(data: bytes, format: str) -> list[Row]:
    """The documents of one table file. JSON numbers become float64; CSV cells that look
    like numbers or `true`/`false` become those, empty cells are left out."""
    if format == "jsonl":
        return [(n, _object(obj, n)) for n, obj in _jsonl_lines(data)]
    if format == "json":
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as e:
            raise DataImportError(f"not valid JSON: {e}") from None
        if not isinstance(parsed, list):
            raise DataImportError("a JSON import must be an array of objects")
        return [(i, _object(obj, i)) for i, obj in enumerate(parsed, start=1)]
    if format == "csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise DataImportError(f"a CSV import must be UTF-8: {e}") from None
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header:
            return []
        rows: list[Row] = []
        for cells in reader:
            line = reader.line_num
            if not any(cells):
                continue
            if len(cells) != len(header):
                raise DataImportError(
                    f"line {line}: {len(cells)} cells, but the header has {len(header)}")
            rows.append((line, {k: _csv_value(v) for k, v in zip(header, cells, strict=True)
                                if v != ""}))
        return rows
    raise DataImportError(f"Unknown format {format!r}: use one of {', '.join(FORMATS)}")


def to_documents(rows: list[Row], contexts: dict[str, Any] | None = None,
                 top_level: dict[str, Any] | None = None) -> list[Row]:
    """Export-JSON rows as Convex documents, typed by generated_schema contexts
    (per document ID) or by top-level field types."""
    out: list[Row] = []
    for line, obj in rows:
        ctx = None
        if contexts and isinstance(obj.get("_id"), str):
            ctx = contexts.get(obj["_id"])
        if ctx is None and top_level:
            ctx = {"Object": top_level}
        try:
            out.append((line, _decode(obj, ctx)))
        except (ValueError, KeyError, binascii.Error) as e:
            raise DataImportError(f"line {line}: {e}") from None
    return out


# ----------------------------------------------------------------------------- writing


async def import_tables(
    db: Database, tables: dict[str, list[Row]], mode: str = "create", *,
    table_numbers: dict[str, int] | None = None,
) -> dict[str, int]:
    """Write every table's documents in ONE transaction; returns documents per table.

    `create` refuses a table that already holds documents, `replace` deletes its
    documents first, `append` adds to them. A document with `_id` and `_creationTime`
    keeps them (the ID must be of the table); otherwise new ones are chosen.
    """
    if mode not in MODES:
        raise DataImportError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}")
    for name, number in (table_numbers or {}).items():
        check_table_name(name)
        try:
            existing = db.tables.get(name)
            if existing is not None and existing.number != number:
                # Declared by the schema but never written: it can take the IDs' number.
                await db.renumber_empty_table(name, number)
            db.tables.get_or_create(name, number=number)
        except InvalidValueError as e:
            raise DataImportError(f"Cannot keep the IDs of table {name!r}: {e}") from None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        tx = db.begin(limits=False)
        try:
            for name, rows in tables.items():
                check_table_name(name)
                existing = [doc["_id"] for doc in tx.table_documents(tx.table(name))]
                if existing and mode == "create":
                    raise DataImportError(
                        f"Table {name!r} already holds {len(existing)} documents: pass "
                        "--append to add to them or --replace to replace them")
                if mode == "replace":
                    for document_id in existing:
                        await tx.delete(document_id)
                for line, doc in rows:
                    try:
                        if "_id" in doc or "_creationTime" in doc:
                            if "_id" not in doc or "_creationTime" not in doc:
                                fields = {k: v for k, v in doc.items()
                                          if k not in ("_id", "_creationTime")}
                                await tx.insert(name, fields)
                            else:
                                tx.insert_with_id(name, doc)
                        else:
                            await tx.insert(name, doc)
                    except SynclineError as e:
                        where = f"line {line}: " if line else ""
                        raise DataImportError(f"Table {name!r}, {where}{e}") from None
            await tx.commit()
            return {name: len(rows) for name, rows in tables.items()}
        except WriteConflictError:
            tx.abort()
            if attempt == MAX_ATTEMPTS:
                raise
        except BaseException:
            tx.abort()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


# ----------------------------------------------------------------------------- ZIP snapshots

_SHAPE_FIELD = re.compile(r"[{,]\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(int64|bytes)\s*(?=[,}])")


def _generated_schema(data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """(top-level field contexts from the shape line, per-document-ID contexts)."""
    top: dict[str, Any] = {}
    per_id: dict[str, Any] = {}
    for number, obj in _jsonl_lines(data):
        if isinstance(obj, str):
            # The inferred shape, e.g. "{_creationTime: normalfloat64, n: int64}": only
            # top-level fields of a single type are understood.
            for name, kind in _SHAPE_FIELD.findall(obj):
                top[name] = "Int64" if kind == "int64" else "Bytes"
        elif isinstance(obj, dict):
            per_id.update(obj)
        else:
            raise DataImportError(f"generated_schema.jsonl line {number}: unexpected {obj!r}")
    return top, per_id


def read_snapshot_zip(file: IO[bytes] | str) -> tuple[dict[str, list[Row]], dict[str, int]]:
    """The tables of a snapshot ZIP, and the table numbers its IDs carry."""
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile as e:
        raise DataImportError(f"Not a ZIP file: {e}") from None
    with archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        listed: dict[str, int] | None = None
        if "_tables/documents.jsonl" in names:
            listed = {}
            for number, obj in _jsonl_lines(archive.read("_tables/documents.jsonl")):
                if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
                    raise DataImportError(f"_tables/documents.jsonl line {number}: expected "
                                          '{"name": ..., "id": ...}')
                if isinstance(obj.get("id"), int):
                    listed[obj["name"]] = obj["id"]
        tables: dict[str, list[Row]] = {}
        numbers: dict[str, int] = {}
        for name in names:
            parts = name.split("/")
            if name == "README.md" or parts[0] == "_tables":
                continue
            if parts[0] == "_storage":
                if name == "_storage/documents.jsonl" and not archive.read(name).strip():
                    continue
                raise DataImportError(
                    "This ZIP holds file storage (`_storage/`), which syncline cannot "
                    "import yet; remove the `_storage` folder to import the tables")
            if len(parts) != 2 or parts[1] not in ("documents.jsonl", "generated_schema.jsonl"):
                raise DataImportError(f"Unexpected entry {name!r} in the ZIP: a snapshot holds "
                                      "<table>/documents.jsonl files")
            table = parts[0]
            try:
                check_table_name(table)
            except InvalidValueError as e:
                raise DataImportError(f"Unknown table {table!r} in the ZIP: {e}") from None
            if listed is not None and table not in listed:
                raise DataImportError(f"Unknown table {table!r} in the ZIP: it is not listed "
                                      "in _tables/documents.jsonl")
            if parts[1] != "documents.jsonl":
                continue
            schema_name = f"{table}/generated_schema.jsonl"
            top, per_id = ({}, {})
            if schema_name in names:
                top, per_id = _generated_schema(archive.read(schema_name))
            raw = [(n, _object(obj, n)) for n, obj in _jsonl_lines(archive.read(name))]
            try:
                tables[table] = to_documents(raw, per_id, top)
            except DataImportError as e:
                raise DataImportError(f"{name}: {e}") from None
            if listed is not None and table in listed:
                numbers[table] = listed[table]
            else:
                for _line, doc in tables[table]:
                    if isinstance(doc.get("_id"), str):
                        with contextlib.suppress(InvalidValueError):
                            numbers[table] = decode_id(doc["_id"])[0]
                        break
    return tables, numbers


def write_snapshot_zip(db: Database, file: IO[bytes] | str) -> int:
    """Write every user table, as of one snapshot, in Convex's ZIP layout; returns the
    snapshot timestamp. Blocking: run it in a thread."""
    tx = db.begin(read_only=True, limits=False)
    try:
        tables = [t for name in db.table_names() if (t := db.tables.get(name)) is not None]
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.md", "syncline snapshot export. Each table is at "
                             "<table>/documents.jsonl, one document per line.\n")
            archive.writestr("_tables/documents.jsonl", b"".join(
                orjson.dumps({"name": t.name, "id": t.number}) + b"\n" for t in tables))
            for table in tables:
                contexts: list[bytes] = []
                with archive.open(f"{table.name}/documents.jsonl", "w") as out:
                    for doc in tx.table_documents(table):
                        out.write(orjson.dumps(to_export_json(doc)) + b"\n")
                        ctx = _context(doc)
                        if ctx is not None:
                            contexts.append(orjson.dumps({doc["_id"]: ctx}) + b"\n")
                archive.writestr(f"{table.name}/generated_schema.jsonl",
                                 orjson.dumps("any") + b"\n" + b"".join(contexts))
        return tx.snapshot_ts
    finally:
        tx.abort()
