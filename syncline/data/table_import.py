"""Importing table files (docs/data-import-export.md).

- `parse_table_file(data, format)`: the documents of a JSONL, JSON-array or CSV file;
  a bad row is a DataImportError naming its line.
- `import_tables(db, {table: documents}, mode)`: writes them as ONE transaction without
  the per-transaction limits, through the normal committer, so the import is atomic
  and indexes, subscriptions and OCC see it like any commit.

Snapshot ZIPs are in snapshot_zip.py, the types export JSON loses in generated_schema.py.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Literal

import orjson

from syncline.data.jsonl import Row, json_object, jsonl_lines
from syncline.database.catalog import check_table_name
from syncline.database.database import Database
from syncline.database.transaction import Transaction
from syncline.errors import DataImportError, InvalidValueError, SynclineError, WriteConflictError

Format = Literal["jsonl", "json", "csv"]
Mode = Literal["create", "append", "replace"]
FORMATS: tuple[str, ...] = ("jsonl", "json", "csv")
MODES: tuple[str, ...] = ("create", "append", "replace")
MAX_ATTEMPTS = 5
STORAGE_TABLE = "_storage"


# ----------------------------------------------------------------------------- files


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
        return [(n, json_object(obj, n)) for n, obj in jsonl_lines(data)]
    if format == "json":
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as e:
            raise DataImportError(f"not valid JSON: {e}") from None
        if not isinstance(parsed, list):
            raise DataImportError("a JSON import must be an array of objects")
        return [(i, json_object(obj, i)) for i, obj in enumerate(parsed, start=1)]
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
    counts, _removed = await import_documents(db, tables, mode, table_numbers, None)
    return counts


async def import_documents(
    db: Database, tables: dict[str, list[Row]], mode: str,
    table_numbers: dict[str, int] | None, storage: list[Row] | None,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """`import_tables`, plus `_storage` documents when `storage` is not None; returns the
    counts and the `_storage` documents a `replace` removed."""
    if mode not in MODES:
        raise DataImportError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}")
    for name in tables:
        try:
            check_table_name(name)
        except InvalidValueError as e:
            raise DataImportError(str(e)) from None
    for name, number in (table_numbers or {}).items():
        try:
            check_table_name(name)
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
            removed: list[dict[str, Any]] = []
            counts: dict[str, int] = {}
            if storage is not None:
                # First, so that the user documents' `v.id("_storage")` fields resolve.
                removed = await _write_table(tx, STORAGE_TABLE, storage, mode, system=True)
                counts[STORAGE_TABLE] = len(storage)
            for name, rows in tables.items():
                await _write_table(tx, name, rows, mode)
                counts[name] = len(rows)
            await tx.commit()
            return counts, removed
        except WriteConflictError:
            tx.abort()
            if attempt == MAX_ATTEMPTS:
                raise
        except BaseException:
            tx.abort()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _write_table(tx: Transaction, name: str, rows: list[Row], mode: str, *,
                       system: bool = False) -> list[dict[str, Any]]:
    """One table's part of an import; returns the documents `replace` deleted."""
    existing = list(tx.table_documents(tx.table(name, system=system)))
    if existing and mode == "create":
        if system:
            raise DataImportError(
                f"File storage already holds {len(existing)} files: pass --append to add "
                "to them or --replace to replace them")
        raise DataImportError(
            f"Table {name!r} already holds {len(existing)} documents: pass "
            "--append to add to them or --replace to replace them")
    removed = []
    if mode == "replace":
        for doc in existing:
            await tx.delete(doc["_id"], system=system)
        removed = existing
    for line, doc in rows:
        try:
            if "_id" in doc or "_creationTime" in doc:
                if "_id" not in doc or "_creationTime" not in doc:
                    fields = {k: v for k, v in doc.items()
                              if k not in ("_id", "_creationTime")}
                    await tx.insert(name, fields, system=system)
                else:
                    tx.insert_with_id(name, doc, system=system)
            else:
                await tx.insert(name, doc, system=system)
        except SynclineError as e:
            where = f"line {line}: " if line else ""
            if system:
                raise DataImportError(f"_storage/documents.jsonl, {where}{e}") from None
            raise DataImportError(f"Table {name!r}, {where}{e}") from None
    return removed


