"""Snapshot ZIPs in Convex's layout (docs/data-import-export.md).

- `read_snapshot_zip(file)` / `import_snapshot(db, snapshot, mode, files=)`: a ZIP in
  Convex's snapshot layout, `<table>/documents.jsonl` plus `<table>/generated_schema.jsonl`
  (types that export JSON loses: int64, bytes, non-finite floats), `_tables/documents.jsonl`
  (`{"name": ..., "id": <table number>}`) and, for file storage, `_storage/documents.jsonl`
  with each file's bytes at `_storage/<storage id>[.ext]`.
- `write_snapshot_zip(db, file)` / `export_snapshot_zip(db, file, files=)`: the same
  layout out of one consistent snapshot (with `files`, file storage too).

File contents live in the blob store, which belongs to the layers above: they hand in a
`SnapshotFiles` (the server adapts the deployment's file storage), so this module only
ever sees `_storage` documents and byte streams.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import math
import mimetypes
import re
import zipfile
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import orjson

from syncline.data.generated_schema import (
    document_context,
    parse_generated_schema,
    to_documents,
)
from syncline.data.jsonl import Row, json_object, jsonl_lines
from syncline.data.table_import import MODES, STORAGE_TABLE, import_documents, import_tables
from syncline.database.catalog import SYSTEM_TABLES, check_table_name
from syncline.database.database import Database
from syncline.database.transaction import Transaction
from syncline.errors import (
    DataExportError,
    DataImportError,
    InvalidValueError,
)
from syncline.values import decode_id, encode_id, to_export_json

STORAGE_NUMBER = SYSTEM_TABLES[STORAGE_TABLE]
_CHUNK = 1 << 20


class SnapshotFiles(Protocol):
    """File storage as snapshot import and export need it, handed in by the server layer.

    Documents are `_storage` rows: Convex's documented fields (`sha256` as hex, `size`,
    `contentType` when known) plus whatever the file storage keeps to find the bytes."""

    async def store(self, chunks: AsyncIterable[bytes],
                    content_type: str | None) -> dict[str, Any]:
        """Store a file's bytes; the fields of its `_storage` document (not committed)."""
        ...

    def open(self, document: dict[str, Any]) -> AsyncIterator[bytes]:
        """The bytes of the file a `_storage` document describes, in chunks."""
        ...

    def discard(self, document: dict[str, Any]) -> None:
        """Remove the bytes of a file whose document is not (or no longer) committed."""
        ...


# ----------------------------------------------------------------------------- ZIP snapshots

_STORAGE_FILE = re.compile(r"_storage/([^/.]+)(?:\.[^/]*)?\Z")


@dataclass(frozen=True)
class SnapshotFile:
    """One file of a snapshot's `_storage/`."""

    storage_id: str  # the ID it gets here (syncline's `_storage` table number)
    zip_id: str  # the ID the ZIP gives it
    member: str  # the ZIP entry holding its bytes
    line: int  # its line in _storage/documents.jsonl (0: not listed there)
    creation_time: float | None
    sha256: str | None  # hex
    size: int | None
    content_type: str | None


@dataclass
class Snapshot:
    """A snapshot ZIP, read: its tables, their table numbers, and its files."""

    source: IO[bytes] | str
    tables: dict[str, list[Row]]
    numbers: dict[str, int]
    # None: the ZIP has no `_storage/`, so file storage is left alone.
    files: list[SnapshotFile] | None = None
    # Storage IDs of another deployment's `_storage` table number, given ours.
    renamed_storage_ids: dict[str, str] = field(default_factory=dict)


def _sha256_hex(value: Any, where: str) -> str | None:
    """A `sha256` of `_storage/documents.jsonl` (Convex writes base64; hex is accepted)."""
    if value is None:
        return None
    if isinstance(value, str):
        if re.fullmatch(r"[0-9a-fA-F]{64}", value):
            return value.lower()
        with contextlib.suppress(binascii.Error, ValueError):
            raw = base64.b64decode(value, validate=True)
            if len(raw) == 32:
                return raw.hex()
    raise DataImportError(f"{where}: `sha256` must be a SHA-256 digest in base64 (or hex), "
                          f"got {value!r:.100}")


def _storage_files(archive: zipfile.ZipFile, names: list[str]) -> list[SnapshotFile]:
    """The files of `_storage/`, checked against `_storage/documents.jsonl`."""
    listing = "_storage/documents.jsonl"
    metadata: dict[str, tuple[int, dict[str, Any]]] = {}
    if listing in names:
        for number, obj in jsonl_lines(archive.read(listing)):
            where = f"{listing} line {number}"
            obj = json_object(obj, number)
            zip_id = obj.get("_id")
            if not isinstance(zip_id, str):
                raise DataImportError(f"{where}: `_id` must be a storage ID, got {zip_id!r}")
            try:
                decode_id(zip_id)
            except InvalidValueError as e:
                raise DataImportError(f"{where}: `_id` {zip_id!r} is not an ID: {e}") from None
            if zip_id in metadata:
                raise DataImportError(f"{where}: {zip_id!r} is listed twice")
            creation_time = obj.get("_creationTime")
            if creation_time is not None and (
                    isinstance(creation_time, bool) or not isinstance(creation_time, int | float)
                    or not math.isfinite(creation_time) or creation_time <= 0):
                raise DataImportError(f"{where}: `_creationTime` must be a positive number, "
                                      f"got {creation_time!r}")
            size = obj.get("size")
            if size is not None and not (
                    isinstance(size, int | float) and not isinstance(size, bool)
                    and math.isfinite(size) and size >= 0 and size == int(size)):
                raise DataImportError(f"{where}: `size` must be a number of bytes, got {size!r}")
            content_type = obj.get("contentType")
            if content_type is not None and not isinstance(content_type, str):
                raise DataImportError(f"{where}: `contentType` must be a string, "
                                      f"got {content_type!r}")
            metadata[zip_id] = (number, {
                "_creationTime": None if creation_time is None else float(creation_time),
                "sha256": _sha256_hex(obj.get("sha256"), where),
                "size": None if size is None else int(size),
                "contentType": content_type or None,
            })
    files: dict[str, SnapshotFile] = {}
    for name in names:
        if name in (listing, "_storage/generated_schema.jsonl"):
            continue
        match = _STORAGE_FILE.fullmatch(name)
        zip_id = match.group(1) if match else None
        try:
            if zip_id is None:
                raise InvalidValueError("not a storage ID")
            decode_id(zip_id)
        except InvalidValueError:
            raise DataImportError(
                f"Unexpected entry {name!r} in the ZIP: each file in _storage/ is named by "
                "its storage ID (`_storage/<id>`, perhaps with an extension)") from None
        if zip_id in files:
            raise DataImportError(f"The ZIP holds two files for storage ID {zip_id!r}: "
                                  f"{files[zip_id].member!r} and {name!r}")
        line, meta = metadata.get(zip_id, (0, {}))
        files[zip_id] = SnapshotFile(
            storage_id=zip_id, zip_id=zip_id, member=name, line=line,
            creation_time=meta.get("_creationTime"), sha256=meta.get("sha256"),
            size=meta.get("size"), content_type=meta.get("contentType"))
    missing = [zip_id for zip_id in metadata if zip_id not in files]
    if missing:
        raise DataImportError(
            f"{listing} line {metadata[missing[0]][0]}: file {missing[0]!r} has no "
            f"`_storage/{missing[0]}` entry in the ZIP"
            + (f" ({len(missing) - 1} more are missing too)" if len(missing) > 1 else ""))
    # Listed files first, in their order; then files only found by name.
    return sorted(files.values(), key=lambda f: (f.line == 0, f.line, f.member))


def _storage_ids_here(files: list[SnapshotFile]) -> tuple[list[SnapshotFile], dict[str, str]]:
    """Give IDs carrying another `_storage` table number (a Convex deployment's) the same
    internal ID under syncline's fixed `_storage` number."""
    renamed: dict[str, str] = {}
    out = []
    seen: dict[str, str] = {}
    for f in files:
        number, internal = decode_id(f.zip_id)
        here = f.zip_id if number == STORAGE_NUMBER else encode_id(STORAGE_NUMBER, internal)
        if here in seen:
            raise DataImportError(f"Storage IDs {seen[here]!r} and {f.zip_id!r} name the "
                                  "same file")
        seen[here] = f.zip_id
        if here != f.zip_id:
            renamed[f.zip_id] = here
            f = SnapshotFile(here, f.zip_id, f.member, f.line, f.creation_time, f.sha256,
                             f.size, f.content_type)
        out.append(f)
    return out, renamed


def _rename_ids(value: Any, renamed: dict[str, str]) -> Any:
    if isinstance(value, str):
        return renamed.get(value, value)
    if isinstance(value, list):
        return [_rename_ids(v, renamed) for v in value]
    if isinstance(value, dict):
        return {k: _rename_ids(v, renamed) for k, v in value.items()}
    return value


def read_snapshot_zip(file: IO[bytes] | str) -> Snapshot:
    """The tables of a snapshot ZIP, the table numbers its IDs carry, and its files
    (their metadata; `import_snapshot` reads their bytes)."""
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile as e:
        raise DataImportError(f"Not a ZIP file: {e}") from None
    with archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        listed: dict[str, int] | None = None
        if "_tables/documents.jsonl" in names:
            listed = {}
            for number, obj in jsonl_lines(archive.read("_tables/documents.jsonl")):
                if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
                    raise DataImportError(f"_tables/documents.jsonl line {number}: expected "
                                          '{"name": ..., "id": ...}')
                if isinstance(obj.get("id"), int):
                    listed[obj["name"]] = obj["id"]
        tables: dict[str, list[Row]] = {}
        numbers: dict[str, int] = {}
        storage_names: list[str] = []
        for name in names:
            parts = name.split("/")
            if name == "README.md" or parts[0] == "_tables":
                continue
            if parts[0] == STORAGE_TABLE:
                storage_names.append(name)
                continue
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
            schema = None
            if schema_name in names:
                try:
                    schema = parse_generated_schema(archive.read(schema_name))
                except DataImportError as e:
                    raise DataImportError(f"{schema_name}: {e}") from None
            raw = [(n, json_object(obj, n)) for n, obj in jsonl_lines(archive.read(name))]
            try:
                tables[table] = to_documents(raw, schema)
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
        snapshot = Snapshot(file, tables, numbers)
        if storage_names:
            files, renamed = _storage_ids_here(_storage_files(archive, storage_names))
            snapshot.files = files
            snapshot.renamed_storage_ids = renamed
            if renamed:
                # References to the files (`v.id("_storage")` fields) follow them.
                for rows in tables.values():
                    rows[:] = [(line, {k: v if k == "_id" else _rename_ids(v, renamed)
                                       for k, v in doc.items()}) for line, doc in rows]
    return snapshot


async def _zip_chunks(archive: zipfile.ZipFile, member: str) -> AsyncIterator[bytes]:
    """The bytes of one ZIP entry, read (and inflated) in a worker thread."""
    entry = await asyncio.to_thread(archive.open, member)
    try:
        while chunk := await asyncio.to_thread(entry.read, _CHUNK):
            yield chunk
    finally:
        entry.close()


async def import_snapshot(
    db: Database, snapshot: Snapshot, mode: str = "create", *,
    files: SnapshotFiles | None = None,
) -> dict[str, int]:
    """Import a snapshot read by `read_snapshot_zip`: its tables and (if it has a
    `_storage/`) its files, in ONE transaction; returns documents per table (files
    under `_storage`).

    Each file's bytes are stored first and checked against the ZIP's `sha256` and
    `size`; the `_storage` documents that make them visible are written in the same
    transaction as the tables. If anything fails nothing is committed and the stored
    bytes are removed (if the import is cancelled mid-commit they are left to the blob
    sweeper, which removes bytes no `_storage` document refers to)."""
    if snapshot.files is None:
        return await import_tables(db, snapshot.tables, mode, table_numbers=snapshot.numbers)
    if mode not in MODES:
        raise DataImportError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}")
    if snapshot.files and files is None:
        raise DataImportError("This ZIP holds file storage (`_storage/`), but this "
                              "deployment has no file storage to import it into")
    stored: list[dict[str, Any]] = []
    try:
        rows: list[Row] = []
        if snapshot.files:
            assert files is not None
            with zipfile.ZipFile(snapshot.source) as archive:
                for f in snapshot.files:
                    rows.append((f.line, await _store_file(db, archive, f, files, stored)))
        counts, removed = await import_documents(db, snapshot.tables, mode, snapshot.numbers, rows)
    except Exception:
        # Nothing was committed: the stored bytes are unreachable, remove them now.
        if files is not None:
            for document in stored:
                files.discard(document)
        raise
    if files is not None:
        for document in removed:  # the files `replace` replaced
            files.discard(document)
    return counts


async def _store_file(db: Database, archive: zipfile.ZipFile, f: SnapshotFile,
                      files: SnapshotFiles, stored: list[dict[str, Any]]) -> dict[str, Any]:
    """Store one file's bytes; its `_storage` document, keeping the ZIP's ID."""
    try:
        document = await files.store(_zip_chunks(archive, f.member), f.content_type)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        raise DataImportError(f"Cannot read {f.member!r} from the ZIP: {e}") from None
    except ValueError as e:  # too large for the blob store, say
        raise DataImportError(f"Cannot store {f.member!r}: {e}") from None
    stored.append(document)
    if f.sha256 is not None and document.get("sha256") != f.sha256:
        raise DataImportError(
            f"{f.member!r} does not match its `sha256` in _storage/documents.jsonl "
            f"(line {f.line}): the ZIP says {f.sha256}, its bytes hash to "
            f"{document.get('sha256')}. Nothing was imported")
    if f.size is not None and document.get("size") != f.size:
        raise DataImportError(
            f"{f.member!r} does not match its `size` in _storage/documents.jsonl "
            f"(line {f.line}): the ZIP says {f.size} bytes, it holds "
            f"{document.get('size')}. Nothing was imported")
    creation_time = f.creation_time if f.creation_time is not None \
        else db.next_creation_time()
    return {"_id": f.storage_id, "_creationTime": creation_time, **document}


def _storage_member(document: dict[str, Any]) -> str:
    """Where a file goes in the ZIP: `_storage/<id>`, plus an extension guessed from its
    content type (only to help a person browsing the ZIP; import ignores it)."""
    extension = ""
    content_type = document.get("contentType")
    if isinstance(content_type, str):
        guess = mimetypes.guess_extension(content_type.split(";")[0].strip().lower(),
                                          strict=False)
        if guess and re.fullmatch(r"\.[A-Za-z0-9]+", guess):
            extension = guess
    return f"{STORAGE_TABLE}/{document['_id']}{extension}"


def _storage_line(document: dict[str, Any]) -> bytes:
    """A `_storage/documents.jsonl` line: Convex's fields, `sha256` in base64 as Convex
    writes it there (the `_storage` document itself holds it in hex)."""
    sha256 = document.get("sha256")
    with contextlib.suppress(ValueError, TypeError):
        sha256 = base64.b64encode(bytes.fromhex(sha256)).decode()
    line: dict[str, Any] = {"_id": document["_id"], "_creationTime": document["_creationTime"],
                            "sha256": sha256, "size": document.get("size")}
    if document.get("contentType"):
        line["contentType"] = document["contentType"]
    return orjson.dumps(line) + b"\n"


_README = (
    "syncline snapshot export. Each table is at <table>/documents.jsonl, one document per "
    "line, with <table>/generated_schema.jsonl restoring the types JSON loses; "
    "_tables/documents.jsonl lists the tables.{storage}\n")
_README_STORAGE = (
    " File storage is in _storage/: _storage/documents.jsonl has one line per file "
    "(_id, _creationTime, sha256 in base64, size, contentType) and each file's bytes are "
    "at _storage/<id>, with an extension guessed from its content type.")


def _write_tables(db: Database, tx: Transaction, archive: zipfile.ZipFile,
                  include_storage: bool) -> list[dict[str, Any]]:
    """Every user table into the ZIP (and `_storage/documents.jsonl`); returns the
    `_storage` documents whose bytes still need writing."""
    tables = [t for name in db.table_names() if (t := db.tables.get(name)) is not None]
    archive.writestr("README.md", _README.format(
        storage=_README_STORAGE if include_storage else ""))
    archive.writestr("_tables/documents.jsonl", b"".join(
        orjson.dumps({"name": t.name, "id": t.number}) + b"\n" for t in tables))
    for table in tables:
        contexts: list[bytes] = []
        with archive.open(f"{table.name}/documents.jsonl", "w") as out:
            for doc in tx.table_documents(table):
                out.write(orjson.dumps(to_export_json(doc)) + b"\n")
                ctx = document_context(doc)
                if ctx is not None:
                    contexts.append(orjson.dumps({doc["_id"]: ctx}) + b"\n")
        # Shape `unknown`: every value that export JSON loses gets a context line.
        archive.writestr(f"{table.name}/generated_schema.jsonl",
                         orjson.dumps("unknown") + b"\n" + b"".join(contexts))
    if not include_storage:
        return []
    storage = db.tables.get(STORAGE_TABLE)
    documents = [] if storage is None else list(tx.table_documents(storage))
    archive.writestr(f"{STORAGE_TABLE}/documents.jsonl",
                     b"".join(_storage_line(d) for d in documents))
    return documents


def write_snapshot_zip(db: Database, file: IO[bytes] | str) -> int:
    """Write every user table, as of one snapshot, in Convex's ZIP layout (no file
    storage); returns the snapshot timestamp. Blocking: run it in a thread."""
    tx = db.begin(read_only=True, limits=False)
    try:
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            _write_tables(db, tx, archive, False)
        return tx.snapshot_ts
    finally:
        tx.abort()


async def export_snapshot_zip(db: Database, file: IO[bytes] | str, *,
                              files: SnapshotFiles | None = None) -> int:
    """`write_snapshot_zip` off the event loop; with `files`, file storage too
    (`_storage/documents.jsonl`, then each file's bytes streamed from the blob store),
    all as of the same snapshot. Returns the snapshot timestamp."""
    archive = await asyncio.to_thread(
        zipfile.ZipFile, file, "w", compression=zipfile.ZIP_DEFLATED)
    try:
        tx = db.begin(read_only=True, limits=False)
        try:
            documents = await asyncio.to_thread(_write_tables, db, tx, archive,
                                                files is not None)
        finally:
            tx.abort()  # the files' bytes are read by their documents, not in the snapshot
        for document in documents:
            assert files is not None
            await _write_file(archive, document, files)
    finally:
        await asyncio.to_thread(archive.close)
    return tx.snapshot_ts


async def _write_file(archive: zipfile.ZipFile, document: dict[str, Any],
                      files: SnapshotFiles) -> None:
    size = document.get("size")
    big = isinstance(size, int) and size >= (1 << 31)
    entry = await asyncio.to_thread(archive.open, _storage_member(document), "w",
                                    force_zip64=big)
    try:
        async for chunk in files.open(document):
            await asyncio.to_thread(entry.write, chunk)
    except LookupError:
        raise DataExportError(
            f"File {document['_id']!r} was deleted while the export read it: export "
            "again") from None
    finally:
        await asyncio.to_thread(entry.close)

