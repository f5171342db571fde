"""The persistence interface: what the database layer needs from a storage engine.

Storage is multi-version: every document revision and every index entry is kept
under the commit timestamp that wrote it, and every read names the snapshot
timestamp it reads at. Nothing above this interface knows it is SQLite, so a
Postgres (or any ordered key-value) implementation can be dropped in.

Conventions:
- A document is addressed by (table number, 16-byte internal id).
- A document revision with `value=None` is a deletion.
- Index keys are memcomparable bytes; an index entry with `internal_id=None`
  is a tombstone meaning "this key left the index at `ts`".
- Key ranges are half-open `[start, end)`; `end=None` means unbounded.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TableRecord:
    """A table's durable identity: its number is baked into every document ID."""

    number: int
    name: str
    id_index_id: int
    creation_index_id: int


@dataclass(frozen=True, slots=True)
class IndexRecord:
    """A user-defined database index: `fields` excludes the implicit `_creationTime`, `_id` tail."""

    id: int
    table_number: int
    name: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DocumentRevision:
    table_number: int
    internal_id: bytes
    ts: int
    value: bytes | None


@dataclass(frozen=True, slots=True)
class IndexEntry:
    index_id: int
    key: bytes
    ts: int
    internal_id: bytes | None


@dataclass(frozen=True, slots=True)
class AppliedRequest:
    """A client request whose effects a commit holds, with the result it answered.

    The sync protocol's exactly-once record: a client that re-sends request
    `request_id` of session `session_id` after a crash is answered with `result`
    instead of running the mutation again. It lands in the same atomic write as
    the mutation's documents, so there is never one without the other.
    """

    session_id: str
    request_id: int
    result: bytes  # the mutation's return value, encoded by the layer that recorded it


@dataclass(slots=True)
class CommitRecord:
    """Everything one transaction commit writes; a batch of these lands atomically."""

    ts: int
    documents: list[DocumentRevision]
    index_entries: list[IndexEntry]
    new_tables: list[TableRecord] = field(default_factory=list)
    applied_request: AppliedRequest | None = None


@dataclass(slots=True)
class IndexChange:
    """A schema push's index work, applied atomically with the new schema.

    Dropped indexes disappear from the catalog at once; their entries may be
    reclaimed later, since transactions that began earlier can still read them.
    """

    ts: int
    new_tables: list[TableRecord]
    added: list[IndexRecord]
    backfill: Iterable[IndexEntry]  # may be lazy: consumed once, inside the write
    dropped: list[int]
    schema_json: str | None


@dataclass(frozen=True, slots=True)
class Catalog:
    """What storage knows at start-up: tables, indexes, the schema and the clocks."""

    tables: tuple[TableRecord, ...]
    indexes: tuple[IndexRecord, ...]
    schema_json: str | None
    max_ts: int
    max_creation_time: float


@dataclass(frozen=True, slots=True)
class PruneProgress:
    """What one bounded batch of history pruning did (Persistence.prune_history)."""

    revisions: int  # superseding revisions examined
    documents_deleted: int  # document revisions (tombstones included) removed
    index_entries_deleted: int
    done: bool  # every revision up to the retention floor has been examined


# The index entries a document revision had: (table number, internal id, packed value)
# -> [(index id, key)], computed by the database layer, which knows the index definitions.
IndexKeysOf = Callable[[int, bytes, bytes], Iterable[tuple[int, bytes]]]

# A scanned index row: (index key, packed document).
IndexRow = tuple[bytes, bytes]
# A scanned table row in id order: (internal id, packed document).
TableRow = tuple[bytes, bytes]


class Persistence(ABC):
    """A durable, multi-version store of documents and index entries."""

    @abstractmethod
    def load_catalog(self) -> Catalog:
        """Read tables, indexes, schema and clocks; called once at open."""

    @abstractmethod
    def write_commits(self, commits: Sequence[CommitRecord]) -> None:
        """Durably write a batch of commits, all or nothing, before returning."""

    @abstractmethod
    def apply_index_change(self, change: IndexChange) -> None:
        """Durably add/backfill/drop indexes and store the schema, all or nothing."""

    @abstractmethod
    def get_document(self, table_number: int, internal_id: bytes, ts: int) -> bytes | None:
        """The packed document as of snapshot `ts`, or None if absent or deleted."""

    @abstractmethod
    def scan_index(
        self, index_id: int, table_number: int, start: bytes, end: bytes | None, ts: int,
        reverse: bool, limit: int,
    ) -> list[IndexRow]:
        """Live index rows in `[start, end)` at snapshot `ts`, in key order (or reversed)."""

    @abstractmethod
    def scan_table(
        self, table_number: int, start: bytes, end: bytes | None, ts: int, reverse: bool,
        limit: int,
    ) -> list[TableRow]:
        """Live documents of a table with internal id in `[start, end)` at snapshot `ts`."""

    @abstractmethod
    def documents_in_table(self, table_number: int, ts: int) -> Iterator[TableRow]:
        """Every live document of a table at `ts`, for schema validation and index backfill.

        Called only from the committer's writer thread while commits are paused.
        """

    @abstractmethod
    def renumber_table(self, old_number: int, new_number: int) -> None:
        """Give a table with no document revisions another number (a snapshot import that
        keeps Convex's IDs). Called only from the committer's writer thread."""

    @abstractmethod
    def changed_since(self, table_number: int, ts: int) -> Iterator[bytes]:
        """Internal ids of the table's documents with a revision after `ts`, so a saved
        search index can catch up. Called only from the committer's writer thread."""

    @abstractmethod
    def snapshot_page(
        self, after_table: int, after_id: bytes, ts: int, limit: int,
        table_number: int | None = None,
    ) -> list[DocumentRevision]:
        """Up to `limit` documents live at snapshot `ts` whose (table number, internal id)
        comes after `(after_table, after_id)`, in that order, each as its revision current
        at `ts` (so `.ts` is the commit that wrote it); only table `table_number` if given.
        For the streaming export's `list_snapshot` (docs/streaming-export.md)."""

    @abstractmethod
    def revisions_after(
        self, after_ts: int, upto_ts: int, limit: int, table_number: int | None = None,
    ) -> list[DocumentRevision]:
        """Revisions (deletions included, as `value=None`) with `after_ts < ts <= upto_ts`,
        ordered by (ts, table number, internal id): about `limit` of them, and never part
        of a commit: once `limit` is reached the commit of the last one is completed.
        Only table `table_number` if given. For the streaming export's `document_deltas`."""

    @abstractmethod
    def applied_request(self, session_id: str, request_id: int) -> tuple[int, bytes] | None:
        """(commit ts, result) of the commit that recorded this request, if one did and
        it has not been pruned. Any thread."""

    @abstractmethod
    def prune_applied_requests(self, before_ts: int, limit: int) -> int:
        """Forget up to `limit` applied requests committed before `before_ts`; returns how
        many were forgotten. Called only from the committer's writer thread."""

    def count_documents(self, table_number: int, ts: int) -> int:
        """Live documents of the table at snapshot `ts` (the maintained counts' fallback
        for a snapshot older than they remember). Engines that can count cheaper override."""
        count, after = 0, b""
        while True:
            page = self.snapshot_page(table_number, after, ts, 1024, table_number)
            count += len(page)
            if len(page) < 1024:
                return count
            after = page[-1].internal_id

    def hidden_tables(self) -> set[int]:
        """Numbers of the tables an admin deleted (Database.hide_table)."""
        return set(getattr(self, "_hidden_tables", ()))

    def set_hidden_tables(self, numbers: set[int]) -> None:
        """Store `hidden_tables` durably. Called only from the committer's writer thread."""
        self._hidden_tables = set(numbers)

    def count_all_documents(self, ts: int) -> dict[int, int]:
        """Live documents per table number at `ts` (tables with none may be absent); read
        once at open to start the maintained counts (database/counts.py)."""
        counts: dict[int, int] = {}
        table, after = 0, b""
        while True:
            page = self.snapshot_page(table, after, ts, 1024)
            for revision in page:
                counts[revision.table_number] = counts.get(revision.table_number, 0) + 1
            if len(page) < 1024:
                return counts
            table, after = page[-1].table_number, page[-1].internal_id

    # -- retention (docs/limits.md: the document retention window) ------------------------

    @property
    @abstractmethod
    def min_snapshot_ts(self) -> int:
        """The oldest timestamp reads may name. Every read at a snapshot (or a
        `revisions_after` cursor) older than this raises SnapshotTooOldError, checked
        after the read, so a read racing with pruning fails instead of returning wrong
        data. It only moves forward, and survives restarts."""

    @abstractmethod
    def advance_min_snapshot_ts(self, ts: int) -> None:
        """Move `min_snapshot_ts` forward to `ts` (durably, before anything is pruned past
        the old one). Called only from the committer's writer thread."""

    @abstractmethod
    def prune_history(self, limit: int, index_keys: IndexKeysOf) -> PruneProgress:
        """Delete, in one atomic write, history no read at or after `min_snapshot_ts`
        can reach, examining at most about `limit` revisions: every document revision
        superseded by a newer one at or before it, a deletion's tombstone at or before it
        (once nothing older of the document is left), and likewise index entries (of the
        keys `index_keys` gives for the revisions removed). The latest revision of every
        live document is never removed. Progress is durable, so a crash loses at most
        the batch in flight. Called only from the committer's writer thread."""

    @abstractmethod
    def reclaim_space(self, max_pages: int) -> int:
        """Give up to `max_pages` free pages back to the file system; returns how many.
        Called only from the committer's writer thread."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store must be reopenable afterwards."""
