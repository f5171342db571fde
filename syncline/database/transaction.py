"""Transactions: snapshot reads, buffered writes, and the read set that makes them serializable.

A transaction reads the database as of its snapshot timestamp plus its own
buffered writes, and records every index interval it observes. At commit the
committer checks that no later commit wrote into those intervals.

Writes (`insert`, `patch`, `replace`, `delete`) take effect in the buffer
immediately and return an awaitable. Committing with a write that was never
awaited is an error, so a forgotten `await` fails loudly instead of silently
dropping (or silently keeping) a write.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from itertools import repeat
from time import perf_counter
from typing import TYPE_CHECKING, Any

from syncline.database.catalog import (
    IndexCatalog,
    IndexInfo,
    SearchIndexInfo,
    TableInfo,
    is_system_table,
)
from syncline.database.committer import CommitRequest
from syncline.database.index_range import index_key
from syncline.database.limits import TransactionUsage
from syncline.database.query import Query, QueryJournal
from syncline.database.read_set import ReadSet
from syncline.database.search.indexes import SearchChange, search_change
from syncline.database.write_log import WrittenDocument
from syncline.errors import (
    DocumentNotFoundError,
    InvalidIdError,
    InvalidValueError,
    ReadOnlyTransactionError,
    SynclineError,
    TransactionClosedError,
)
from syncline.storage.interface import (
    AppliedRequest,
    CommitRecord,
    DocumentRevision,
    IndexEntry,
)
from syncline.values import (
    UNDEFINED,
    check_document,
    decode_id,
    encode_id,
    new_internal_id,
    normalize,
    pack,
    unpack,
)

if TYPE_CHECKING:
    from syncline.database.database import Database
    from syncline.schema import DatabaseSchema

SYSTEM_FIELDS = ("_id", "_creationTime")
# A pseudo-index no real index has (their ids start at 1): a commit that creates a table
# touches the table's number in it, and reading the table names reads all of it.
TABLE_NAMES_INDEX = 0


def _table_key(number: int) -> bytes:
    return number.to_bytes(8, "big")

# A scanned row: (index key, document, packed size).
ScannedRow = tuple[bytes, dict[str, Any], int]


class UnlimitedUsage(TransactionUsage):
    """Usage counters without the per-transaction limits, for a system import that
    must commit a whole table as one transaction (docs/data-import-export.md)."""

    __slots__ = ()

    def scanned(self, size: int) -> None:
        self.documents_scanned += 1
        self.bytes_read += size

    def range_read(self) -> None:
        self.index_ranges += 1

    def wrote(self, new_document: bool, size: int) -> None:
        if new_document:
            self.documents_written += 1
        self.bytes_written += size


class UnawaitedWriteError(SynclineError):
    """A `db.insert/patch/replace/delete` call was never awaited."""


_ABSENT = object()  # an undo-log marker: the entry did not exist before


@dataclass(slots=True)
class Savepoint:
    """A point a transaction can roll back to, for a nested `ctx.run_mutation`
    whose failure must undo only its own writes."""

    undo_position: int
    usage: tuple[int, ...]
    unawaited: list[WriteResult]
    active: bool = True


@dataclass(slots=True)
class _DocumentWrite:
    """The buffered state of one document this transaction wrote."""

    table: TableInfo
    internal_id: bytes
    document_id: str
    original: dict[str, Any] | None  # as of the snapshot; None if inserted here
    current: dict[str, Any] | None  # None once deleted
    packed: bytes | None
    size: int


class WriteResult:
    """The awaitable a write returns. The write already happened in the buffer."""

    __slots__ = ("_tx", "_value", "_description", "awaited")

    def __init__(self, tx: Transaction, value: Any, description: str) -> None:
        self._tx = tx
        self._value = value
        self._description = description
        self.awaited = False
        tx._unawaited.append(self)

    def __await__(self) -> Generator[None, None, Any]:
        if not self.awaited:
            self.awaited = True
            self._tx._unawaited.remove(self)
        return self._value
        yield  # pragma: no cover - makes this a generator

    def __repr__(self) -> str:
        return f"<pending {self._description}: await it>"


class Transaction:
    """One transaction against a Database. Not thread-safe: one task drives it."""

    def __init__(
        self, db: Database, snapshot_ts: int, indexes: IndexCatalog,
        schema: DatabaseSchema | None, schema_version: int, read_only: bool,
        limits: bool = True,
    ) -> None:
        self._db = db
        self._persistence = db.persistence
        self._tables = db.tables
        self.snapshot_ts = snapshot_ts
        self._indexes = indexes
        self._schema = schema
        self._schema_version = schema_version
        self.read_only = read_only
        self.reads = ReadSet()
        self.usage = TransactionUsage() if limits else UnlimitedUsage()
        self.io_seconds = 0.0  # time spent in storage calls, which the user-code limit excludes
        self.journal: QueryJournal | None = None  # set for reactive queries (pagination)
        self._writes: dict[bytes, _DocumentWrite] = {}
        self._pending: dict[int, PendingEntries] = {}
        self._unawaited: list[WriteResult] = []
        # Undo entries, kept only while a savepoint is active.
        self._undo: list[tuple[Any, ...]] | None = None
        self._savepoints: list[Savepoint] = []
        self._state = "open"
        self.commit_ts: int | None = None
        self._applied_request: AppliedRequest | None = None
        # Set by whoever changed the table list without creating a table (hide_table).
        self.table_names_changed = False

    # -- helpers -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._state != "open":
            raise TransactionClosedError(f"This transaction is already {self._state}")

    def _check_writable(self, operation: str) -> None:
        self._check_open()
        if self.read_only:
            raise ReadOnlyTransactionError(
                f"db.{operation} is not allowed in a read-only transaction (a query); use a mutation"
            )

    def _resolve(self, document_id: Any, operation: str) -> tuple[TableInfo | None, bytes]:
        if not isinstance(document_id, str):
            raise InvalidIdError(
                f"db.{operation} expects a document ID string, got {document_id!r}"
            )
        try:
            number, internal = decode_id(document_id)
        except InvalidIdError as e:
            raise InvalidIdError(f"Invalid argument `id` for `db.{operation}`: {e}") from None
        return self._tables.by_number(number), internal

    def indexes_of(self, table: TableInfo) -> tuple[IndexInfo, ...]:
        return (table.by_id, table.by_creation_time, *self._indexes.user_indexes(table.name))

    def find_index(self, table: TableInfo, name: str) -> IndexInfo | None:
        if name == table.by_id.name:
            return table.by_id
        if name == table.by_creation_time.name:
            return table.by_creation_time
        return self._indexes.by_table.get(table.name, {}).get(name)

    def table(self, name: str, *, system: bool = False) -> TableInfo:
        """The table's info, registering the name (not storage) if it is new, so that
        a read of an empty table still conflicts with the insert that creates it."""
        return self._tables.get_or_create(name, system=system)

    # -- reads ---------------------------------------------------------------------------

    async def get(self, document_id: str) -> dict[str, Any] | None:
        """The document with this ID as this transaction sees it, or None."""
        self._check_open()
        table, internal = self._resolve(document_id, "get")
        return self._read_document(table, internal)

    def _read_document(self, table: TableInfo | None, internal: bytes, *,
                       charged: bool = True) -> dict[str, Any] | None:
        """The document as this transaction sees it, entered in the read set as a point.

        `charged=False` is the read a patch, replace or delete makes of the document it
        writes: it stays in the read set (a concurrent write to the document is still a
        conflict) but it is not a `db.get` call, so it counts toward neither the read
        limits (index ranges, documents scanned, bytes read) nor anything but the write
        limits; Convex's limit on reads is on calls to `db.get` and `db.query`."""
        write = self._writes.get(internal)
        if write is not None:
            return None if write.packed is None else unpack(write.packed)
        if table is None:
            return None
        if charged:
            self.usage.range_read()
        self.reads.add_point(table.by_id.id, internal)
        started = perf_counter()
        data = self._persistence.get_document(table.number, internal, self.snapshot_ts)
        self.io_seconds += perf_counter() - started
        if data is None:
            return None
        if charged:
            self.usage.scanned(len(data))
        return unpack(data)

    # -- for search (database/search/) --------------------------------------------------

    @property
    def database(self) -> Database:
        return self._db

    def search_index(self, table: TableInfo, name: str) -> SearchIndexInfo | None:
        return self._indexes.search_by_table.get(table.name, {}).get(name)

    def written_documents(self, table: TableInfo) -> dict[str, dict[str, Any] | None]:
        """This transaction's writes to `table`: id -> current version (None: deleted)."""
        return {w.document_id: w.current for w in self._writes.values()
                if w.table.number == table.number}

    def read_document(self, table: TableInfo, document_id: str) -> dict[str, Any] | None:
        _number, internal = decode_id(document_id)
        return self._read_document(table, internal)

    def peek_document(self, table: TableInfo, document_id: str) -> dict[str, Any] | None:
        """The document at the snapshot, without entering the read set or the read limits:
        a search rechecking candidates it may not return (see `note_read`)."""
        started = perf_counter()
        data = self._persistence.get_document(table.number, decode_id(document_id)[1],
                                              self.snapshot_ts)
        self.io_seconds += perf_counter() - started
        return None if data is None else unpack(data)

    def note_read(self, table: TableInfo, document_id: str, document: dict[str, Any]) -> None:
        """Count a peeked document as read, now that it is returned."""
        self.usage.range_read()
        self.reads.add_point(table.by_id.id, decode_id(document_id)[1])
        self.usage.scanned(len(pack(document)))

    def table_documents(self, table: TableInfo) -> Iterator[dict[str, Any]]:
        for _key, doc, _size in self.scan(table.by_creation_time, b"", None, False, 256):
            yield doc

    def document_count(self, table: str, *, system: bool = False) -> int:
        """How many documents `table` holds as this transaction sees it, from the counts
        the committer maintains (database/counts.py), without reading any document.

        The read set takes the table's whole ID range, so a subscribed query re-runs (and
        a mutation conflicts) when any document of the table is written, as if it had
        scanned the table. Not charged as documents read: none is.
        """
        self._check_open()
        info = self.table(table, system=system)
        self.usage.range_read()
        self.reads.add(info.by_id.id, b"", None)
        count = self._db.committer.document_count(info.number, self.snapshot_ts)
        if count is None:  # older than the counts remember: storage counts at the snapshot
            started = perf_counter()
            count = self._persistence.count_documents(info.number, self.snapshot_ts)
            self.io_seconds += perf_counter() - started
        for write in self._writes.values():
            if write.table.number == info.number:
                count += (write.current is not None) - (write.original is not None)
        return count

    def table_names(self) -> list[str]:
        """The user tables in storage (Database.table_names), recorded as read: a query
        listing them re-runs when a commit creates a table."""
        self._check_open()
        self.reads.add(TABLE_NAMES_INDEX, b"", None)
        for number in self._db.hidden_table_numbers:  # listed again once written
            info = self._tables.by_number(number)
            if info is not None:
                self.reads.add(info.by_id.id, b"", None)
        names = set(self._db.table_names())
        for write in self._writes.values():
            if write.current is not None and not is_system_table(write.table.number):
                names.add(write.table.name)
        return sorted(names)

    def query(self, table: str, *, system: bool = False) -> Query:
        """A query of a user table, or (with `system=True`) of a system table."""
        self._check_open()
        return Query(self, table, system=system)

    def normalize_id(self, table: str, document_id: Any) -> str | None:
        """`document_id` if it is an ID of `table`, else None."""
        if not isinstance(document_id, str):
            return None
        try:
            number, _ = decode_id(document_id)
        except InvalidIdError:
            return None
        info = self._tables.get(table)
        return document_id if info is not None and info.number == number else None

    def scan(
        self, index: IndexInfo, start: bytes, end: bytes | None, reverse: bool, batch: int,
    ) -> Iterator[ScannedRow]:
        """Rows of `index` in `[start, end)` merged with this transaction's own writes.

        The read set grows as rows are consumed: stopping early leaves the rest of
        the range unread, so later inserts past that point do not conflict.
        """
        self._check_open()
        usage = self.usage
        usage.range_read()
        handle = self.reads.add_scan(index.id, start, end, reverse)
        pending_map = self._pending.get(index.id)
        pending = pending_map.range(start, end, reverse) if pending_map else None
        if pending:
            rows: Iterator[tuple[bytes, bytes | None]] = _merge(
                self._storage_rows(index, start, end, reverse, batch), pending, reverse)
            for key, data in rows:
                handle.last = key
                if data is None:
                    continue  # a key this transaction removed
                size = len(data)
                usage.scanned(size)
                yield key, unpack(data), size
        else:
            # The common case, kept to one generator: storage batches, nothing to merge.
            for stored in self._storage_batches(index, start, end, reverse, batch):
                for key, data in stored:
                    handle.last = key
                    size = len(data)
                    usage.scanned(size)
                    yield key, unpack(data), size
        handle.done = True

    def _storage_batches(
        self, index: IndexInfo, start: bytes, end: bytes | None, reverse: bool, batch: int,
    ) -> Iterator[list[tuple[bytes, bytes]]]:
        """Lists of (key, packed document) from storage, in batches that grow as a scan
        goes on, so `take(n)` fetches about n rows and `collect()` few round trips."""
        persistence = self._persistence
        ts = self.snapshot_ts
        lo, hi = start, end
        size = max(1, batch)
        by_id = index.kind == "id"
        while True:
            started = perf_counter()
            if by_id:
                rows = persistence.scan_table(index.table_number, lo, hi, ts, reverse, size)
            else:
                rows = persistence.scan_index(
                    index.id, index.table_number, lo, hi, ts, reverse, size)
            self.io_seconds += perf_counter() - started
            yield rows
            if len(rows) < size:
                return
            last = rows[-1][0]
            if reverse:
                hi = last
            else:
                lo = last + b"\x00"
            size = min(size * 2, 1024)

    def _storage_rows(
        self, index: IndexInfo, start: bytes, end: bytes | None, reverse: bool, batch: int,
    ) -> Iterator[tuple[bytes, bytes]]:
        for rows in self._storage_batches(index, start, end, reverse, batch):
            yield from rows

    # -- writes --------------------------------------------------------------------------

    def insert(self, table: str, value: dict[str, Any], *, system: bool = False) -> WriteResult:
        """Insert a new document; awaiting the result gives its ID. Only the runtime
        writes system tables (`system=True`)."""
        self._check_writable("insert")
        info = self._tables.get_or_create(table, system=system)
        if not isinstance(value, dict):
            raise InvalidValueError(f"db.insert expects an object, got {value!r}")
        for name in SYSTEM_FIELDS:
            if name in value and value[name] is not UNDEFINED:
                raise InvalidValueError(
                    f"System field `{name}` cannot be set on insert: it is assigned by the database"
                )
        fields = self._validate(table, value)
        internal = new_internal_id()
        document_id = encode_id(info.number, internal)
        doc = {"_id": document_id, "_creationTime": self._db.next_creation_time(), **fields}
        self._buffer(info, internal, document_id, None, doc)
        return WriteResult(self, document_id, f"db.insert({table!r}, ...)")

    def insert_with_id(self, table: str, document: dict[str, Any], *,
                       system: bool = False) -> str:
        """Insert `document` keeping its `_id` and `_creationTime` (data import only;
        `system=True` for a system table such as `_storage`).

        The ID's table number must be the table's number, and no document with that
        ID may exist. Returns the ID. System use only: user code cannot reach it.
        """
        self._check_writable("insert")
        info = self._tables.get_or_create(table, system=system)
        if not isinstance(document, dict):
            raise InvalidValueError(f"Expected an object, got {document!r}")
        document_id = document.get("_id")
        creation_time = document.get("_creationTime")
        if not isinstance(document_id, str):
            raise InvalidIdError(f"`_id` must be a document ID string, got {document_id!r}")
        try:
            number, internal = decode_id(document_id)
        except InvalidIdError as e:
            raise InvalidIdError(f"Invalid `_id` {document_id!r}: {e}") from None
        if number != info.number:
            owner = self._tables.by_number(number)
            raise InvalidIdError(
                f"`_id` {document_id!r} is an ID of table number {number}"
                + (f" ({owner.name!r})" if owner is not None else "")
                + f", not of table {table!r} (number {info.number})"
            )
        if (isinstance(creation_time, bool) or not isinstance(creation_time, (int, float))
                or creation_time != creation_time or creation_time <= 0):
            raise InvalidValueError(
                f"`_creationTime` must be a positive number of milliseconds, got {creation_time!r}"
            )
        if self._read_document(info, internal) is not None:
            raise InvalidValueError(f"A document with `_id` {document_id!r} already exists "
                                    f"in table {table!r}")
        fields = self._validate(
            table, {k: v for k, v in document.items() if k not in SYSTEM_FIELDS})
        doc = {"_id": document_id, "_creationTime": float(creation_time), **fields}
        self._buffer(info, internal, document_id, None, doc)
        return document_id

    def patch(
        self, document_id: str, value: dict[str, Any], *, system: bool = False,
    ) -> WriteResult:
        """Shallow-merge `value` into the document; UNDEFINED values remove fields."""
        self._check_writable("patch")
        info, internal, current = self._load_for_write(document_id, "patch", system)
        if not isinstance(value, dict):
            raise InvalidValueError(f"db.patch expects an object, got {value!r}")
        merged = {k: v for k, v in current.items() if k not in SYSTEM_FIELDS}
        for key, item in value.items():
            if key in SYSTEM_FIELDS:
                self._check_system_field(current, key, item, "patch")
                continue
            if item is UNDEFINED:
                merged.pop(key, None)
            else:
                merged[key] = item
        self._rewrite(info, internal, document_id, current, merged)
        return WriteResult(self, None, f"db.patch({document_id!r}, ...)")

    def replace(
        self, document_id: str, value: dict[str, Any], *, system: bool = False,
    ) -> WriteResult:
        """Replace the document's fields entirely, keeping its system fields."""
        self._check_writable("replace")
        info, internal, current = self._load_for_write(document_id, "replace", system)
        if not isinstance(value, dict):
            raise InvalidValueError(f"db.replace expects an object, got {value!r}")
        fields = {}
        for key, item in value.items():
            if key in SYSTEM_FIELDS:
                self._check_system_field(current, key, item, "replace")
            else:
                fields[key] = item
        self._rewrite(info, internal, document_id, current, fields)
        return WriteResult(self, None, f"db.replace({document_id!r}, ...)")

    def delete(self, document_id: str, *, system: bool = False) -> WriteResult:
        self._check_writable("delete")
        info, internal, current = self._load_for_write(document_id, "delete", system)
        self._buffer(info, internal, document_id, current, None)
        return WriteResult(self, None, f"db.delete({document_id!r})")

    @staticmethod
    def _check_system_field(current: dict[str, Any], key: str, item: Any, operation: str) -> None:
        if item is UNDEFINED or item == current[key]:
            return
        raise InvalidValueError(
            f"db.{operation} cannot change the system field `{key}` (from {current[key]!r} "
            f"to {item!r})"
        )

    def _load_for_write(
        self, document_id: str, operation: str, system: bool = False,
    ) -> tuple[TableInfo, bytes, dict[str, Any]]:
        table, internal = self._resolve(document_id, operation)
        if table is not None and is_system_table(table.number) and not system:
            raise InvalidIdError(
                f"db.{operation} cannot write {document_id!r}: it is a document of the system "
                f"table {table.name!r}, which only syncline writes"
            )
        current = self._read_document(table, internal, charged=False)
        if current is None or table is None:
            raise DocumentNotFoundError(
                f"db.{operation} failed: no document with ID {document_id!r} exists"
                + ("" if table is None else f" in table {table.name!r}")
            )
        return table, internal, current

    def _rewrite(
        self, info: TableInfo, internal: bytes, document_id: str, current: dict[str, Any],
        fields: dict[str, Any],
    ) -> None:
        validated = self._validate(info.name, fields)
        doc = {"_id": current["_id"], "_creationTime": current["_creationTime"], **validated}
        self._buffer(info, internal, document_id, current, doc)

    def _validate(self, table: str, fields: dict[str, Any]) -> dict[str, Any]:
        schema = self._schema
        if schema is not None and schema.schema_validation:
            definition = schema.tables.get(table)
            if definition is not None:
                return definition.validate_document(fields, id_table=self._tables.table_of_id)
        return normalize(fields)

    def _buffer(
        self, info: TableInfo, internal: bytes, document_id: str,
        before: dict[str, Any] | None, after: dict[str, Any] | None,
    ) -> None:
        """Apply one write to the buffer and to the pending index entries."""
        size = check_document(after) if after is not None else 0
        packed = pack(after) if after is not None else None
        write = self._writes.get(internal)
        undo = self._undo
        if undo is not None:
            undo.append(("write", internal, _ABSENT if write is None else _copy_write(write)))
        if write is None:
            write = _DocumentWrite(info, internal, document_id, before, before, None, 0)
            self._writes[internal] = write
            self.usage.wrote(True, size)
        else:
            self.usage.wrote(False, size - write.size)
        for index in self.indexes_of(info):
            old_key = index_key(index, before, internal) if before is not None else None
            new_key = index_key(index, after, internal) if after is not None else None
            pending = self._pending.get(index.id)
            if pending is None:
                pending = self._pending[index.id] = PendingEntries()
            if undo is not None:
                for key in (old_key, new_key):
                    if key is not None:
                        undo.append(("pending", index.id, key, pending.get(key, _ABSENT)))
            if old_key is not None and old_key != new_key:
                pending[old_key] = None
            if new_key is not None:
                pending[new_key] = packed
        write.current = after
        write.packed = packed
        write.size = size

    # -- savepoints -----------------------------------------------------------------------

    def savepoint(self) -> Savepoint:
        """Mark the current buffer so `rollback_to` can undo every write made after it.

        Reads made after the savepoint stay in the read set even if rolled back:
        the transaction did observe them, so keeping them is the safe choice.
        """
        self._check_open()
        if self._undo is None:
            self._undo = []
        usage = self.usage
        point = Savepoint(
            len(self._undo),
            (usage.documents_written, usage.bytes_written),
            list(self._unawaited),
        )
        self._savepoints.append(point)
        return point

    def release(self, point: Savepoint) -> None:
        """Keep the writes made since `point` (the nested call succeeded)."""
        self._pop_savepoint(point)

    def rollback_to(self, point: Savepoint) -> None:
        """Undo every write made since `point` (the nested call failed)."""
        undo = self._undo
        assert undo is not None and point.active
        while len(undo) > point.undo_position:
            entry = undo.pop()
            if entry[0] == "write":
                _, internal, previous = entry
                if previous is _ABSENT:
                    del self._writes[internal]
                else:
                    self._writes[internal] = previous
            else:
                _, index_id, key, previous = entry
                pending = self._pending[index_id]
                if previous is _ABSENT:
                    pending.pop(key, None)
                else:
                    pending[key] = previous
        self.usage.documents_written, self.usage.bytes_written = point.usage
        self._unawaited[:] = point.unawaited
        self._pop_savepoint(point)

    def _pop_savepoint(self, point: Savepoint) -> None:
        # Savepoints nest: releasing or rolling back one ends every one opened after it.
        while self._savepoints:
            top = self._savepoints.pop()
            top.active = False
            if top is point:
                break
        if not self._savepoints:
            self._undo = None

    # -- commit --------------------------------------------------------------------------

    def _commit_request(self) -> CommitRequest:
        touched: list[tuple[int, bytes, int]] = []
        documents: list[WrittenDocument] = []
        revisions: list[tuple[int, bytes, bytes | None]] = []
        entries: list[tuple[int, bytes, bytes | None]] = []
        tables: set[int] = set()
        search_changes: list[SearchChange] = []
        count_deltas: dict[int, int] = {}
        new_tables = {t.number for t in self._tables.unpersisted(
            {w.table.number for w in self._writes.values()})}
        for write in self._writes.values():
            if write.original is None and write.current is None:
                continue  # inserted and deleted again: nothing happened
            i = len(documents)
            documents.append(WrittenDocument(write.table.name, write.document_id))
            number = write.table.number
            if (write.original is None) != (write.current is None):
                count_deltas[number] = count_deltas.get(number, 0) + (
                    1 if write.original is None else -1)
            if number in new_tables or self.table_names_changed:
                # A table appears (or an admin hid one): whoever read the names re-reads.
                touched.append((TABLE_NAMES_INDEX, _table_key(number), i))
                new_tables.discard(number)
                self.table_names_changed = False
            for info in self._indexes.search_indexes(write.table.name):
                change = search_change(info, write.document_id, write.original, write.current)
                if change is None:
                    continue  # nothing this index looks at changed
                keys, search_update = change
                touched.extend(zip(repeat(info.id), keys, repeat(i)))
                search_changes.append(search_update)
            tables.add(write.table.number)
            revisions.append((write.table.number, write.internal_id, write.packed))
            for index in self.indexes_of(write.table):
                old_key = (index_key(index, write.original, write.internal_id)
                           if write.original is not None else None)
                new_key = (index_key(index, write.current, write.internal_id)
                           if write.current is not None else None)
                if old_key is not None:
                    touched.append((index.id, old_key, i))
                if new_key is not None and new_key != old_key:
                    touched.append((index.id, new_key, i))
                if index.kind == "id" or old_key == new_key:
                    continue
                if old_key is not None:
                    entries.append((index.id, old_key, None))
                if new_key is not None:
                    entries.append((index.id, new_key, write.internal_id))

        applied = self._applied_request

        def build_record(ts: int) -> CommitRecord:
            return CommitRecord(
                ts=ts,
                documents=[DocumentRevision(t, d, ts, v) for t, d, v in revisions],
                index_entries=[IndexEntry(x, k, ts, d) for x, k, d in entries],
                applied_request=applied,
            )

        return CommitRequest(
            snapshot_ts=self.snapshot_ts,
            schema_version=self._schema_version,
            read_set=self.reads.freeze(),
            touched=tuple(touched),
            documents=tuple(documents),
            build_record=build_record,
            table_numbers=tables,
            search_changes=tuple(search_changes),
            count_deltas=count_deltas,
        )

    def record_applied_request(self, session_id: str, request_id: int, result: bytes) -> None:
        """Commit, with this transaction's writes, the record that a client's request
        `request_id` of session `session_id` was applied and answered `result` (see
        storage AppliedRequest). A transaction without writes commits nothing, so it
        records nothing either: running it again cannot be told apart."""
        self._applied_request = AppliedRequest(session_id, request_id, result)

    @property
    def schema_version(self) -> int:
        """The committer's schema version when this transaction began."""
        return self._schema_version

    def has_writes(self) -> bool:
        return any(w.original is not None or w.current is not None for w in self._writes.values())

    def _check_awaited(self) -> None:
        if self._unawaited:
            descriptions = ", ".join(w._description for w in self._unawaited)
            raise UnawaitedWriteError(
                f"{descriptions} was called but never awaited. Every database write must be "
                "awaited (`await ctx.db.insert(...)`); this transaction was not committed."
            )

    async def commit(self, *, inline: bool = False, defer: bool = False) -> int:
        """Commit the buffered writes; returns the commit timestamp.

        Raises WriteConflictError if a concurrent commit wrote into this
        transaction's read set; nothing is applied then and a retry is safe.
        `inline`: the caller has nothing else to do, so if the committer is idle this
        thread writes the commit itself; `defer`: the caller will `flush()` the
        committer soon, with other commits (see committer.py).
        """
        import asyncio

        future = self._begin_commit(inline, defer)
        if future is None:
            return self.snapshot_ts
        if future.done():  # written inline (or refused): no need to wait on the loop
            return self._finish_commit(future)
        # Cancelling the waiting task cancels only `waiter`, never the commit, which the
        # committer may already be writing; its outcome is then simply not awaited.
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()

        def arrived(_done: Any) -> None:  # on whichever thread wrote the batch
            if asyncio._get_running_loop() is loop:
                _settle(waiter)
            else:
                loop.call_soon_threadsafe(_settle, waiter)

        def _settle(target: Any) -> None:
            if not target.done():
                target.set_result(None)

        future.add_done_callback(arrived)
        await waiter
        return self._finish_commit(future)

    def commit_sync(self) -> int:
        """Blocking commit, for code that runs outside an event loop."""
        future = self._begin_commit()
        if future is None:
            return self.snapshot_ts
        return self._finish_commit(future)

    def _finish_commit(self, future: Any) -> int:
        try:
            self.commit_ts = future.result()
        except BaseException:
            self._state = "aborted"
            raise
        self._state = "committed"
        return self.commit_ts

    def _begin_commit(self, inline: bool = False, defer: bool = False) -> Any:
        self._check_open()
        try:
            self._check_awaited()
        except UnawaitedWriteError:
            self._state = "aborted"
            raise
        if not self.has_writes():
            self._state = "committed"
            self.commit_ts = self.snapshot_ts
            return None
        self._state = "committing"
        return self._db.committer.submit(self._commit_request(), inline=inline, defer=defer)

    def abort(self) -> None:
        """Drop the buffered writes. Safe to call in any state."""
        if self._state in ("open", "committing"):
            self._state = "aborted"


def _copy_write(write: _DocumentWrite) -> _DocumentWrite:
    return _DocumentWrite(write.table, write.internal_id, write.document_id, write.original,
                          write.current, write.packed, write.size)


class PendingEntries:
    """One index's entries buffered by a transaction: key -> packed document, or None
    for a key it removed. Most transactions only write, so the keys are sorted only
    when a range read needs them (a sorted container cost each insert two of its
    constructors), and kept sorted from then on."""

    __slots__ = ("_entries", "_sorted")

    def __init__(self) -> None:
        self._entries: dict[bytes, bytes | None] = {}
        self._sorted: list[bytes] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes, default: Any = None) -> Any:
        return self._entries.get(key, default)

    def __setitem__(self, key: bytes, value: bytes | None) -> None:
        if key not in self._entries and self._sorted is not None:
            bisect.insort(self._sorted, key)
        self._entries[key] = value

    def pop(self, key: bytes, default: Any = None) -> Any:
        if key in self._entries and self._sorted is not None:
            del self._sorted[bisect.bisect_left(self._sorted, key)]
        return self._entries.pop(key, default)

    def range(self, start: bytes, end: bytes | None,
              reverse: bool) -> list[tuple[bytes, bytes | None]]:
        """The entries with start <= key < end, in key order (descending if reverse)."""
        if self._sorted is None:
            self._sorted = sorted(self._entries)
        keys = self._sorted
        lo = bisect.bisect_left(keys, start)
        hi = len(keys) if end is None else bisect.bisect_left(keys, end)
        chosen = keys[lo:hi]
        if reverse:
            chosen.reverse()
        entries = self._entries
        return [(key, entries[key]) for key in chosen]


def _merge(
    stored: Iterator[tuple[bytes, bytes]],
    pending: list[tuple[bytes, bytes | None]],
    reverse: bool,
) -> Iterator[tuple[bytes, bytes | None]]:
    """Merge stored rows with buffered ones in key order; buffered entries win ties.

    A buffered `None` is a key this transaction removed; it is yielded (as None) so
    the caller can extend its read interval past it, but carries no document.
    """
    before: Callable[[bytes, bytes], bool] = (
        (lambda a, b: a > b) if reverse else (lambda a, b: a < b)
    )
    i, n = 0, len(pending)
    for row in stored:
        key = row[0]
        while i < n and before(pending[i][0], key):
            yield pending[i]
            i += 1
        if i < n and pending[i][0] == key:
            yield pending[i]
            i += 1
            continue
        yield row
    yield from pending[i:]
