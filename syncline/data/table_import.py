"""Importing table files (docs/data-import-export.md).

- `TableFile(path, format, validator)`: the documents of a JSONL, JSON-array or CSV
  file, read as they are iterated (again for each retry); a bad row is a
  DataImportError naming its line. `parse_table_file(data, format)` reads bytes.
- `import_tables(db, {table: documents}, mode)`: writes them as ONE transaction without
  the per-transaction limits, through the normal committer, so the import is atomic
  and indexes, subscriptions and OCC see it like any commit. The rows are validated and
  buffered, and the commit prepared, in a worker thread: the event loop keeps serving
  queries and mutations meanwhile (an ImportProgress reports and cancels).

Snapshot ZIPs are in snapshot_zip.py, the types export JSON loses in generated_schema.py.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import IO, Any, Literal

import orjson

from syncline.data.csv_cells import row_converter
from syncline.data.import_progress import ImportProgress
from syncline.data.jsonl import Row, json_object
from syncline.database.catalog import check_table_name
from syncline.database.database import Database
from syncline.database.transaction import Transaction
from syncline.errors import DataImportError, InvalidValueError, SynclineError, WriteConflictError
from syncline.schema.validators import Validator

Format = Literal["jsonl", "json", "csv"]
Mode = Literal["create", "append", "replace"]
FORMATS: tuple[str, ...] = ("jsonl", "json", "csv")
MODES: tuple[str, ...] = ("create", "append", "replace")
MAX_ATTEMPTS = 5
STORAGE_TABLE = "_storage"
# Documents buffered between two progress counts (and looks at the cancel flag).
_CHUNK_ROWS = 1_000
# An import of at least this many documents is dropped from the committer's conflict
# history once committed (see _release_memory); smaller ones stay like any commit.
LARGE_IMPORT = 10_000
# The progress of the import the current task runs, for imports started without one
# (a snapshot import: the HTTP API sets it around `import_snapshot`).
CURRENT_PROGRESS: ContextVar[ImportProgress | None] = ContextVar("import_progress",
                                                                 default=None)
# Called inside every import's transaction, just before it commits, with the documents
# written and (replace) deleted per table and the mode: a deployment records the import
# in its history (system/history.py) in the same commit, whichever route started it.
ImportHook = Callable[[Transaction, dict[str, int], str, dict[str, int]], Awaitable[None]]
_import_hooks: weakref.WeakKeyDictionary[Database, ImportHook] = weakref.WeakKeyDictionary()


def set_import_hook(db: Database, hook: ImportHook | None) -> None:
    """Run `hook` in each import into `db` (None: no longer)."""
    if hook is None:
        _import_hooks.pop(db, None)
    else:
        _import_hooks[db] = hook


# ----------------------------------------------------------------------------- files


def _jsonl_rows(file: IO[bytes], progress: ImportProgress | None) -> Iterator[Row]:
    read = 0
    for number, line in enumerate(file, start=1):
        read += len(line)
        if progress is not None:
            progress.bytes_read = read
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            raise DataImportError(f"line {number}: not valid JSON: {e}") from None
        yield number, json_object(obj, number)


def _json_rows(file: IO[bytes], progress: ImportProgress | None) -> Iterator[Row]:
    data = file.read()
    if progress is not None:
        progress.bytes_read = len(data)
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise DataImportError(f"not valid JSON: {e}") from None
    del data
    if not isinstance(parsed, list):
        raise DataImportError("a JSON import must be an array of objects")
    for i in range(len(parsed)):
        obj, parsed[i] = parsed[i], None  # each document is buffered once, not twice
        yield i + 1, json_object(obj, i + 1)


def _csv_rows(file: IO[bytes], validator: Validator | None,
              progress: ImportProgress | None) -> Iterator[Row]:
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(text)
        header = next(reader, None)
        if not header:
            return
        convert = row_converter(header, validator)
        for cells in reader:
            if progress is not None:
                progress.bytes_read = file.tell()
            line = reader.line_num
            if not any(cells):
                continue
            if len(cells) != len(header):
                raise DataImportError(
                    f"line {line}: {len(cells)} cells, but the header has {len(header)}")
            yield line, convert(cells)
    except UnicodeDecodeError as e:
        raise DataImportError(f"a CSV import must be UTF-8: {e}") from None
    except csv.Error as e:
        raise DataImportError(f"not valid CSV: {e}") from None
    finally:
        text.detach()


def read_rows(file: IO[bytes], format: str, validator: Validator | None = None,
              progress: ImportProgress | None = None) -> Iterator[Row]:
    """The documents of one table file, read as they are iterated. JSON numbers become
    float64; CSV cells are typed by `validator` (the table's document validator) where
    it declares the column, else by Convex's rule: a number or a string (csv_cells.py)."""
    if format == "jsonl":
        return _jsonl_rows(file, progress)
    if format == "json":
        return _json_rows(file, progress)
    if format == "csv":
        return _csv_rows(file, validator, progress)
    raise DataImportError(f"Unknown format {format!r}: use one of {', '.join(FORMATS)}")


def parse_table_file(data: bytes, format: str,
                     validator: Validator | None = None) -> list[Row]:
    """The documents of one table file held in memory."""
    return list(read_rows(io.BytesIO(data), format, validator))


class TableFile:
    """A table file on disk, read afresh each time it is iterated (an import that
    retries after a write conflict reads it again instead of holding every row)."""

    def __init__(self, path: str | os.PathLike[str], format: str,
                 validator: Validator | None = None,
                 progress: ImportProgress | None = None) -> None:
        if format not in FORMATS:
            raise DataImportError(f"Unknown format {format!r}: use one of {', '.join(FORMATS)}")
        self.path = path
        self.format = format
        self.validator = validator
        self.progress = progress

    def __iter__(self) -> Iterator[Row]:
        with open(self.path, "rb") as file:
            yield from read_rows(file, self.format, self.validator, self.progress)


def document_validator(db: Database, table: str) -> Validator | None:
    """The schema's validator for `table`'s documents, if the schema declares it."""
    schema = db.schema
    definition = schema.tables.get(table) if schema is not None else None
    return None if definition is None else definition.document_validator


# ----------------------------------------------------------------------------- writing


async def import_tables(
    db: Database, tables: dict[str, Iterable[Row]], mode: str = "create", *,
    table_numbers: dict[str, int] | None = None, progress: ImportProgress | None = None,
) -> dict[str, int]:
    """Write every table's documents in ONE transaction; returns documents per table.

    `create` refuses a table that already holds documents, `replace` deletes its
    documents first, `append` adds to them. A document with `_id` and `_creationTime`
    keeps them (the ID must be of the table); otherwise new ones are chosen.
    """
    counts, _removed = await import_documents(db, tables, mode, table_numbers, None,
                                              progress=progress)
    return counts


async def import_documents(
    db: Database, tables: dict[str, Iterable[Row]], mode: str,
    table_numbers: dict[str, int] | None, storage: list[Row] | None, *,
    progress: ImportProgress | None = None,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """`import_tables`, plus `_storage` documents when `storage` is not None; returns the
    counts and the `_storage` documents a `replace` removed.

    The rows are read, validated and buffered, and the commit prepared, on a worker
    thread (with its own event loop), so that this one keeps serving requests. If the
    caller is cancelled before the commit starts, nothing is written."""
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
    if progress is None:
        progress = CURRENT_PROGRESS.get() or ImportProgress()
    try:
        counts, removed, ts = await asyncio.to_thread(
            asyncio.run, _write_all(db, tables, mode, storage, progress))
    except asyncio.CancelledError:
        progress.cancel()  # stops the worker before its commit, if it has not begun it
        raise
    if sum(counts.values()) >= LARGE_IMPORT:
        await _release_memory(db, ts)
    return counts, removed


async def _release_memory(db: Database, ts: int) -> None:
    """What the database holds for a large commit, given back once it is durable: its
    keys in the committer's conflict history (transactions that read before it retry,
    as after a conflict), and the pages it left in SQLite's cache."""
    db.committer.forget_through(ts)
    release = getattr(db.persistence, "release_memory", None)
    if release is not None:
        await asyncio.wrap_future(db.committer.run_maintenance(release))


async def _write_all(
    db: Database, tables: dict[str, Iterable[Row]], mode: str, storage: list[Row] | None,
    progress: ImportProgress,
) -> tuple[dict[str, int], list[dict[str, Any]], int]:
    """On the worker thread: the transaction, retried on write conflicts."""
    try:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            progress.restart()
            tx = db.begin(limits=False)
            try:
                removed: list[dict[str, Any]] = []
                counts: dict[str, int] = {}
                deleted: dict[str, int] = {}
                if storage is not None:
                    # First, so that the user documents' `v.id("_storage")` fields resolve.
                    removed, counts[STORAGE_TABLE] = await _write_table(
                        tx, STORAGE_TABLE, storage, mode, progress, system=True)
                    deleted[STORAGE_TABLE] = len(removed)
                for name, rows in tables.items():
                    gone, counts[name] = await _write_table(tx, name, rows, mode, progress)
                    deleted[name] = len(gone)
                    del gone  # a replaced table's old documents go before the next one
                hook = _import_hooks.get(db)
                if hook is not None:
                    await hook(tx, counts, mode,
                               deleted if mode == "replace" else {})
                progress.start_commit()
                ts = await tx.commit()
                progress.finish("committed")
                return counts, removed, ts
            except WriteConflictError:
                tx.abort()
                if attempt == MAX_ATTEMPTS:
                    raise
                progress.phase = "importing"
            except BaseException:
                tx.abort()
                raise
            finally:
                del tx  # the buffered documents go now, not when the thread is reused
        raise AssertionError("unreachable")  # pragma: no cover
    except BaseException:
        progress.finish("cancelled" if progress.cancelled else "failed")
        raise


async def _write_table(tx: Transaction, name: str, rows: Iterable[Row], mode: str,
                       progress: ImportProgress, *,
                       system: bool = False) -> tuple[list[dict[str, Any]], int]:
    """One table's part of an import; returns the documents `replace` deleted and the
    number of documents written."""
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
    count = 0
    for line, doc in rows:
        count += 1
        if count % _CHUNK_ROWS == 0:
            progress.advance(_CHUNK_ROWS)
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
    progress.advance(count % _CHUNK_ROWS)
    return removed, count


