"""The Database: opens storage, hands out transactions, retries conflicts, applies schemas."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import orjson

from syncline.database.catalog import IndexCatalog, IndexInfo, SearchIndexInfo, TableRegistry
from syncline.database.committer import CommitListener, Committer
from syncline.database.feeds import Feeds
from syncline.database.index_range import index_key
from syncline.database.retention import HistoryPruner, PruneReport, RetentionPolicy
from syncline.database.search import SearchIndexes
from syncline.database.transaction import Transaction
from syncline.errors import (
    InvalidValueError,
    SchemaError,
    SnapshotTooOldError,
    ValidationError,
    WriteConflictError,
)
from syncline.schema import DatabaseSchema, schema_from_json
from syncline.storage.interface import IndexChange, IndexEntry, IndexRecord, Persistence
from syncline.storage.sqlite import Durability, SQLitePersistence
from syncline.values import encode_id, unpack

T = TypeVar("T")

DEFAULT_MAX_ATTEMPTS = 16
_FIRST_BACKOFF_S = 0.001
_MAX_BACKOFF_S = 0.1
# Creation times advance by at least this much (milliseconds); a power of two, so
# the sum is exact for any realistic epoch-millisecond value.
_CREATION_TIME_STEP = 2.0**-10
# Bound at import, before the functions layer may freeze `time.time` inside executions.
_wall_clock = time.time


class Database:
    """A syncline database. Safe to share between tasks and threads; each
    transaction belongs to one task."""

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, durability: Durability = "full",
        persistence: Persistence | None = None, retention: RetentionPolicy | None = None,
    ) -> None:
        # Settings first: a bad one is refused before anything is opened.
        retention = retention if retention is not None else RetentionPolicy.from_env()
        self._temp_dir: str | None = None
        if persistence is None:
            if path is None:
                self._temp_dir = tempfile.mkdtemp(prefix="syncline-")
                path = os.path.join(self._temp_dir, "db.sqlite3")
            persistence = SQLitePersistence(path, durability=durability)
        self.persistence = persistence
        catalog = persistence.load_catalog()
        self.tables = TableRegistry(catalog)
        self._schema: DatabaseSchema | None = (
            schema_from_json(catalog.schema_json) if catalog.schema_json else None
        )
        self._indexes = IndexCatalog.from_records(0, catalog.indexes, self.tables)
        self._hidden: set[int] = persistence.hidden_tables()
        self._clock_lock = threading.Lock()
        self._last_creation_time = catalog.max_creation_time
        self.feeds = Feeds()  # in-memory sources queries may depend on (feeds.py)
        self.committer = Committer(
            persistence, catalog.max_ts, self.tables.mark_persisted, self.tables.unpersisted,
            counts=persistence.count_all_documents(catalog.max_ts),
        )
        self._closed = False
        # Transactions begun and maybe still running: pruning never passes their snapshots.
        self._transactions: weakref.WeakSet[Transaction] = weakref.WeakSet()
        # Text and vector search indexes, kept next to the database file.
        search_dir = (Path(os.fspath(path)).parent / "search"
                      if path is not None and self._temp_dir is None else None)
        self.search = SearchIndexes(search_dir)
        self.committer.search_listener = self.search.on_commit
        if self._schema is not None and _search_definitions(self._schema):
            self.committer.run_exclusive(self._open_search).result()
        self.search.start(self.committer.visible_ts)
        self.retention = HistoryPruner(self, retention)
        if not self.read_only:
            self.retention.start()

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.retention.stop()
        self.committer.close()
        self.search.close()
        self.persistence.close()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # -- state -----------------------------------------------------------------------------

    @property
    def schema(self) -> DatabaseSchema | None:
        return self._schema

    @property
    def read_only(self) -> bool:
        """Storage was opened on a full disk and takes no writes until there is room
        (each write tries again, failing with DiskFullError while the disk is full)."""
        return bool(getattr(self.persistence, "read_only", False))

    @property
    def visible_ts(self) -> int:
        """The newest durable commit timestamp; new transactions read at it."""
        return self.committer.visible_ts

    async def wait_visible(self, ts: int) -> None:
        """Return once commits up to `ts` are visible, so a transaction begun then reads
        them (a retry after a conflict with `ts` would otherwise just conflict again)."""
        if self.committer.visible_ts >= ts:
            return
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def wake() -> None:
            if loop.is_closed():
                return
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None))

        self.committer.when_visible(ts, wake)
        await done

    def table_names(self) -> list[str]:
        """User tables in storage, but not those an admin deleted while they stay empty
        and undeclared."""
        names = self.tables.names()
        if not self._hidden:
            return names
        declared = self._schema.tables if self._schema is not None else {}
        hidden = {info.name for number in self._hidden
                  if (info := self.tables.by_number(number)) is not None
                  and info.name not in declared  # a push declared it again
                  and self.committer.document_count(number, self.visible_ts) == 0}
        return [name for name in names if name not in hidden]

    @property
    def hidden_table_numbers(self) -> frozenset[int]:
        return frozenset(self._hidden)

    async def hide_table(self, name: str) -> None:
        """An admin deleted table `name` (the dashboard's "delete table", after deleting its
        documents): leave it out of `table_names` while it is empty. Its number stays taken
        (document IDs and history name it); a new document makes it listed again."""
        info = self.tables.get(name)
        if info is None:
            return
        hidden = self._hidden | {info.number}
        await asyncio.wrap_future(self.committer.run_maintenance(
            lambda: self.persistence.set_hidden_tables(hidden)))
        self._hidden = hidden

    # -- applied requests (exactly-once mutations; see Transaction.record_applied_request) --

    def applied_request(self, session_id: str, request_id: int) -> tuple[int, bytes] | None:
        """(commit ts, recorded result) if a commit recorded this request as applied."""
        return self.persistence.applied_request(session_id, request_id)

    async def prune_applied_requests(self, before_ts: int, *, batch: int = 10_000) -> int:
        """Forget applied requests committed before `before_ts`, a batch at a time between
        commits (each batch holds up commits only for its own delete); returns how many."""
        pruned = 0
        while True:
            n = await asyncio.wrap_future(self.committer.run_maintenance(
                lambda: self.persistence.prune_applied_requests(before_ts, batch)))
            pruned += n
            if n < batch:
                return pruned

    # -- retention (database/retention.py) ------------------------------------------------

    @property
    def min_snapshot_ts(self) -> int:
        """The oldest timestamp a read may name: older history may have been pruned."""
        return self.persistence.min_snapshot_ts

    async def prune_history(self, upto_ts: int | None = None) -> PruneReport:
        """Prune now, as the background pass does: move the retention floor to `upto_ts`
        (default: now minus the window; never past a running transaction's snapshot),
        delete the history behind it in batches between commits, give the space back."""
        return await asyncio.to_thread(self.retention.run_pass, upto_ts)

    def _advance_retention_floor(self, target: int) -> int:
        """Writer thread: move the floor towards `target`; returns the floor."""
        committer = self.committer
        with committer.lock:  # begin() checks and registers under it: no snapshot slips by
            floor = min(target, committer.visible_ts)
            for tx in list(self._transactions):
                if tx._state == "open":  # one that committed or aborted reads no more
                    floor = min(floor, tx.snapshot_ts)
            if floor <= self.persistence.min_snapshot_ts:
                return self.persistence.min_snapshot_ts
            self.persistence.advance_min_snapshot_ts(floor)
        return floor

    def _index_keys_of(self, table_number: int, internal: bytes,
                       packed: bytes) -> list[tuple[int, bytes]]:
        """Writer thread: the index entries a revision of a document has (pruning)."""
        table = self.tables.by_number(table_number)
        if table is None:
            return []
        doc = unpack(packed)
        return [(index.id, index_key(index, doc, internal))
                for index in (table.by_creation_time,
                              *self._indexes.user_indexes(table.name))]

    def add_commit_listener(self, listener: CommitListener) -> None:
        self.committer.add_listener(listener)

    def next_creation_time(self) -> float:
        """A `_creationTime` in milliseconds, strictly greater than every earlier one."""
        with self._clock_lock:
            now = _wall_clock() * 1000.0
            last = self._last_creation_time
            value = now if now > last else last + _CREATION_TIME_STEP
            self._last_creation_time = value
            return value

    # -- transactions ----------------------------------------------------------------------

    def begin(
        self, *, read_only: bool = False, snapshot_ts: int | None = None, limits: bool = True,
    ) -> Transaction:
        """Start a transaction reading at the newest durable snapshot.

        A read-only transaction may instead read at an earlier `snapshot_ts` (for
        consistent reads across several queries); it must not be in the future, nor
        older than the retention window (SnapshotTooOldError; database/retention.py).
        History a transaction may read is not pruned while it is open.
        """
        committer = self.committer
        with committer.lock:
            ts = committer.visible_ts
            if snapshot_ts is not None:
                if not read_only:
                    raise ValueError("Only a read-only transaction can read at a chosen timestamp")
                if snapshot_ts > ts:
                    raise ValueError(f"Timestamp {snapshot_ts} is in the future (latest is {ts})")
                oldest = self.persistence.min_snapshot_ts
                if snapshot_ts < oldest:
                    raise SnapshotTooOldError(snapshot_ts, oldest)
                ts = snapshot_ts
            tx = Transaction(
                self, ts, self._indexes, self._schema, committer.schema_version, read_only,
                limits,
            )
            self._transactions.add(tx)  # under the lock the retention floor moves under
            return tx

    async def run_transaction(
        self, fn: Callable[[Transaction], Awaitable[T]], *, read_only: bool = False,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> T:
        """Run `fn(tx)` and commit, re-running it on write conflicts.

        `fn` must be deterministic in what it writes given what it reads (as Convex
        mutations are), since it may run several times. Backoff is exponential with
        full jitter, from 1 ms up to 100 ms.
        """
        delay = _FIRST_BACKOFF_S
        for attempt in range(1, max_attempts + 1):
            tx = self.begin(read_only=read_only)
            try:
                result = await fn(tx)
                await tx.commit()
                return result
            except WriteConflictError as error:
                tx.abort()
                if attempt == max_attempts:
                    raise WriteConflictError(
                        f"{error} (gave up after {max_attempts} attempts)",
                        table=error.table, document_id=error.document_id,
                    ) from error
                if error.conflict_ts is not None:
                    await self.wait_visible(error.conflict_ts)
            except BaseException:
                tx.abort()
                raise
            await asyncio.sleep(random.uniform(0, delay))
            delay = min(delay * 2, _MAX_BACKOFF_S)
        raise AssertionError("unreachable")  # pragma: no cover

    async def read(self, fn: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run `fn` in a read-only transaction (a query): it never conflicts."""
        tx = self.begin(read_only=True)
        try:
            return await fn(tx)
        finally:
            tx.abort()

    # -- schema ----------------------------------------------------------------------------

    async def apply_schema(
        self, schema: DatabaseSchema | None, *, on_applied: Callable[[], None] | None = None,
    ) -> None:
        """Make `schema` the database's schema, atomically.

        Existing documents of every table in the schema are validated first (unless
        `schema_validation=False`); if any fails, nothing changes and SchemaError says
        which document. New indexes are backfilled and removed ones dropped in the same
        step. Transactions that began before the change retry.

        `on_applied` runs while commits are still paused, right after the change
        (or at once if the schema is unchanged): a deployment swaps in the code
        that goes with the schema there, so no transaction sees one without the other.
        """
        if schema == self._schema:
            if on_applied is not None:
                await asyncio.wrap_future(self.committer.run_exclusive(lambda ts: on_applied()))
            return

        def apply(ts: int) -> None:
            self._apply(schema, ts)
            if on_applied is not None:
                on_applied()

        await asyncio.wrap_future(self.committer.run_exclusive(apply))

    # -- search indexes (database/search/) --------------------------------------------------

    async def renumber_empty_table(self, name: str, number: int) -> None:
        """Give table `name` another table number, if it has never held a document (a
        snapshot import keeping the IDs of a table the schema already declared)."""
        def renumber(ts: int) -> None:
            info = self.tables.get(name)
            if info is None or info.number == number:
                return
            if next(iter(self.persistence.changed_since(info.number, 0)), None) is not None:
                raise InvalidValueError(
                    f"Table {name!r} has held documents under table number {info.number}, "
                    f"so it cannot take number {number}")
            persisted = info.number not in {t.number for t in self.tables.unpersisted(
                {info.number})}
            self.tables.renumber(name, number)
            if persisted:
                self.persistence.renumber_table(info.number, number)
            searches = [replace(s, table_number=number) if s.table_name == name else s
                        for s in self._indexes.all_search_indexes()]
            records = [IndexRecord(r.id, number if r.table_number == info.number
                                   else r.table_number, r.name, r.fields)
                       for r in self._indexes.records()]
            self._indexes = IndexCatalog.from_records(
                self._indexes.version + 1, records, self.tables).with_search(searches)

        await asyncio.wrap_future(self.committer.run_exclusive(renumber))

    def search_index(self, table: str, name: str) -> SearchIndexInfo | None:
        """A search index of the schema in force."""
        return self._indexes.search_by_table.get(table, {}).get(name)

    async def vector_search(self, table: str, index: str,
                            options: dict[str, Any]) -> list[dict[str, Any]]:
        """`ctx.vector_search`: the nearest documents by cosine similarity (actions only)."""
        from syncline.database.search.vector_query import vector_search

        return await asyncio.to_thread(vector_search, self, table, index, options)

    def _search_infos(self, schema: DatabaseSchema | None) -> list[SearchIndexInfo]:
        infos = []
        for table, kind, definition in _search_definitions(schema):
            number = self.tables.get_or_create(table).number
            if kind == "text":
                infos.append(SearchIndexInfo(
                    self.tables.allocate_index_id(), number, table, definition.name, "text",
                    definition.search_field, tuple(definition.filter_fields)))
            else:
                infos.append(SearchIndexInfo(
                    self.tables.allocate_index_id(), number, table, definition.name, "vector",
                    definition.vector_field, tuple(definition.filter_fields),
                    definition.dimensions))
        return infos

    def _search_documents(self, ts: int) -> Callable[[str], Iterator[tuple[str, dict[str, Any]]]]:
        def documents(table: str) -> Iterator[tuple[str, dict[str, Any]]]:
            info = self.tables.get(table)
            if info is not None:
                for _internal, data in self.persistence.documents_in_table(info.number, ts):
                    doc = unpack(data)
                    yield doc["_id"], doc
        return documents

    def _open_search(self, ts: int) -> None:
        """At start-up (writer thread): reopen the saved search indexes and catch up."""
        infos = self._search_infos(self._schema)

        def changed_since(table: str, since: int) -> Iterator[tuple[str, dict[str, Any] | None]]:
            if since < self.persistence.min_snapshot_ts:
                # Deletions before the floor may be pruned: the saved index must be rebuilt.
                raise SnapshotTooOldError(since, self.persistence.min_snapshot_ts)
            info = self.tables.get(table)
            if info is None:
                return
            for internal in self.persistence.changed_since(info.number, since):
                data = self.persistence.get_document(info.number, internal, ts)
                yield encode_id(info.number, internal), None if data is None else unpack(data)

        self.search.reconcile(infos, ts, self._search_documents(ts), changed_since)
        self._indexes = self._indexes.with_search(infos)

    def apply_schema_sync(self, schema: DatabaseSchema | None) -> None:
        if schema == self._schema:
            return
        self.committer.run_exclusive(lambda ts: self._apply(schema, ts)).result()

    def _apply(self, schema: DatabaseSchema | None, ts: int) -> None:
        """Runs on the writer thread with commits paused; `ts` is this change's timestamp."""
        persistence = self.persistence
        tables_in_schema = schema.tables if schema is not None else {}

        def docs_of(name: str) -> Iterator[tuple[bytes, dict[str, Any]]]:
            """Streamed, so a push over a large table never holds it in memory."""
            info = self.tables.get(name)
            if info is not None:
                for internal, data in persistence.documents_in_table(info.number, ts):
                    yield internal, unpack(data)

        if schema is not None and schema.schema_validation:
            for name, definition in tables_in_schema.items():
                for _internal, doc in docs_of(name):
                    try:
                        definition.validate_document(doc, id_table=self.tables.table_of_id)
                    except ValidationError as e:
                        raise SchemaError(
                            f"Schema validation failed: document with ID {doc['_id']!r} in "
                            f"table {name!r} does not match the schema: {e}"
                        ) from None

        current = {
            (table, name): info
            for table, indexes in self._indexes.by_table.items()
            for name, info in indexes.items()
        }
        desired = {
            (table, index.name): tuple(index.fields)
            for table, definition in tables_in_schema.items()
            for index in definition.indexes
        }
        new_tables = []
        for name in tables_in_schema:
            info = self.tables.get_or_create(name)
            new_tables += self.tables.unpersisted({info.number})
        dropped = [info.id for key, info in current.items() if desired.get(key) != info.fields]
        kept = [
            IndexRecord(info.id, info.table_number, info.name, info.fields)
            for key, info in current.items() if desired.get(key) == info.fields
        ]
        added: list[IndexInfo] = []
        for (table, name), fields in desired.items():
            existing = current.get((table, name))
            if existing is not None and existing.fields == fields:
                continue
            table_info = self.tables.get_or_create(table)
            added.append(IndexInfo(self.tables.allocate_index_id(), table_info.number, table,
                                   name, fields, "user"))

        def backfill() -> Iterator[IndexEntry]:
            for index in added:
                for internal, doc in docs_of(index.table_name):
                    yield IndexEntry(index.id, index_key(index, doc, internal), ts, internal)

        added_records = [IndexRecord(i.id, i.table_number, i.name, i.fields) for i in added]
        persistence.apply_index_change(IndexChange(
            ts=ts, new_tables=new_tables, added=added_records, backfill=backfill(),
            dropped=dropped,
            schema_json=orjson.dumps(schema.to_json()).decode() if schema is not None else None,
        ))
        self.tables.mark_persisted({t.number for t in new_tables})
        infos = self._search_infos(schema)
        self.search.reconcile(infos, ts, self._search_documents(ts))
        self._indexes = IndexCatalog.from_records(
            self._indexes.version + 1, kept + added_records, self.tables
        ).with_search(infos)
        self._schema = schema


def _search_definitions(schema: DatabaseSchema | None) -> list[tuple[str, str, Any]]:
    """(table, "text" | "vector", definition) for every search index of the schema."""
    if schema is None:
        return []
    out: list[tuple[str, str, Any]] = []
    for table, definition in schema.tables.items():
        out += [(table, "text", d) for d in definition.search_indexes]
        out += [(table, "vector", d) for d in definition.vector_indexes]
    return out
