"""SQLite persistence: WAL journal, one writer connection, one reader connection per thread.

MVCC lives in the schema: `documents` and `index_entries` are keyed by
(..., ts), and a read at snapshot S picks, per key, the newest row with ts <= S.
Those "newest row at or before S" picks are correlated sub-selects that SQLite
answers with one B-tree seek each, so a range read costs O(rows returned) seeks
whatever the table size.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from typing import IO, Literal

from syncline.errors import DatabaseInUseError, DiskFullError, SnapshotTooOldError
from syncline.storage.disk_full import is_disk_full
from syncline.storage.interface import (
    AppliedRequest,
    Catalog,
    CommitRecord,
    DocumentRevision,
    IndexChange,
    IndexKeysOf,
    IndexRecord,
    IndexRow,
    Persistence,
    PruneProgress,
    TableRecord,
    TableRow,
)
from syncline.values.index_key import decode_key_tuple

Durability = Literal["full", "normal"]
_log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tables (
    number INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    id_index_id INTEGER NOT NULL,
    creation_index_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS indexes (
    id INTEGER PRIMARY KEY,
    table_number INTEGER NOT NULL,
    name TEXT NOT NULL,
    fields TEXT NOT NULL,
    UNIQUE (table_number, name)
);
CREATE TABLE IF NOT EXISTS documents (
    table_number INTEGER NOT NULL,
    internal_id BLOB NOT NULL,
    ts INTEGER NOT NULL,
    value BLOB,
    PRIMARY KEY (table_number, internal_id, ts)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS documents_by_ts ON documents (ts);
CREATE TABLE IF NOT EXISTS index_entries (
    index_id INTEGER NOT NULL,
    key BLOB NOT NULL,
    ts INTEGER NOT NULL,
    internal_id BLOB,
    PRIMARY KEY (index_id, key, ts)
) WITHOUT ROWID;
-- Keyed by the commit's ts (one request per commit), so rows append at the end of the
-- table and pruning deletes its start; looked up by (session, request) through a small
-- index of a 64-bit hash of the session id (a session id is a 36-character UUID).
CREATE TABLE IF NOT EXISTS applied_requests (
    ts INTEGER PRIMARY KEY,
    session_key INTEGER NOT NULL,
    request_id INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    result BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS applied_requests_by_request
    ON applied_requests (session_key, request_id);
"""

_FORMAT_VERSION = 1
_BACKFILL_PAGE = 2048
# SQLite's auto_vacuum modes (PRAGMA auto_vacuum).
_AUTO_VACUUM_INCREMENTAL = 2
# The write-ahead log is cut back to this size after a checkpoint (it keeps its largest
# size otherwise: an import would leave a WAL of hundreds of megabytes behind).
_WAL_SIZE_LIMIT = 64 * 1024 * 1024

# History pruning (prune_history). The revisions that supersede others, in commit order,
# from the durable cursor up to the retention floor; each removes what it supersedes.
_PRUNE_NEXT = """
SELECT table_number, internal_id, ts, value IS NULL FROM documents INDEXED BY documents_by_ts
WHERE (ts, table_number, internal_id) > (:ts, :table, :id) AND ts <= :floor
ORDER BY ts, table_number, internal_id
LIMIT :limit
"""
_OLDER_REVISIONS = """
SELECT value FROM documents WHERE table_number = ? AND internal_id = ? AND ts < ?
"""
_DELETE_OLDER_REVISIONS = """
DELETE FROM documents WHERE table_number = ? AND internal_id = ? AND ts < ?
"""
_DELETE_REVISION = "DELETE FROM documents WHERE table_number = ? AND internal_id = ? AND ts = ?"
_NEWEST_ENTRY = """
SELECT ts, internal_id IS NULL FROM index_entries WHERE index_id = ? AND key = ? AND ts <= ?
ORDER BY ts DESC LIMIT 1
"""

# The newest entry per key at or before :ts, with the document revision current
# at :ts. `{hi_clause}` and `{order}` are filled in per direction and
# boundedness; everything else is bound parameters.
_SCAN_INDEX = """
SELECT e.key,
       (SELECT d.value FROM documents AS d
        WHERE d.table_number = :table AND d.internal_id = e.internal_id AND d.ts <= :ts
        ORDER BY d.ts DESC LIMIT 1)
FROM index_entries AS e
WHERE e.index_id = :index AND e.key >= :lo {hi_clause} AND e.ts <= :ts
  AND e.ts = (SELECT max(e2.ts) FROM index_entries AS e2
              WHERE e2.index_id = :index AND e2.key = e.key AND e2.ts <= :ts)
  AND e.internal_id IS NOT NULL
ORDER BY e.key {order}
LIMIT :limit
"""

_SCAN_TABLE = """
SELECT d.internal_id, d.value
FROM documents AS d
WHERE d.table_number = :table AND d.internal_id >= :lo {hi_clause} AND d.ts <= :ts
  AND d.ts = (SELECT max(d2.ts) FROM documents AS d2
              WHERE d2.table_number = :table AND d2.internal_id = d.internal_id AND d2.ts <= :ts)
  AND d.value IS NOT NULL
ORDER BY d.internal_id {order}
LIMIT :limit
"""

_GET_DOCUMENT = """
SELECT value FROM documents
WHERE table_number = ? AND internal_id = ? AND ts <= ?
ORDER BY ts DESC LIMIT 1
"""

# Streaming export (docs/streaming-export.md). Row values `(a, b) > (:x, :y)` are range
# constraints SQLite answers from the primary key (and, for revisions, the ts index, which
# holds the primary key columns after `ts`), so a page costs O(rows scanned) seeks.
_SNAPSHOT_PAGE = """
SELECT d.table_number, d.internal_id, d.ts, d.value
FROM documents AS d
WHERE (d.table_number, d.internal_id) > (:table, :id) AND d.ts <= :ts
  AND d.ts = (SELECT max(d2.ts) FROM documents AS d2
              WHERE d2.table_number = d.table_number AND d2.internal_id = d.internal_id
                AND d2.ts <= :ts)
  AND d.value IS NOT NULL
ORDER BY d.table_number, d.internal_id
LIMIT :limit
"""

_REVISIONS_AFTER = """
SELECT table_number, internal_id, ts, value FROM documents INDEXED BY documents_by_ts
WHERE ts > :after AND ts <= :upto {only_clause}
ORDER BY ts, table_number, internal_id
LIMIT :limit
"""

# The rest of one commit after a given (table, id) position.
_REST_OF_COMMIT = """
SELECT table_number, internal_id, ts, value FROM documents INDEXED BY documents_by_ts
WHERE ts = :ts AND (table_number, internal_id) > (:table, :id) {only_clause}
ORDER BY table_number, internal_id
"""


# Maintained counts (database/counts.py): a document is live if its newest revision (at
# :ts) is not a deletion. SQLite takes a bare expression next to max() from the max row,
# and walks the primary key in order, so this reads no document value off its page.
_COUNT_ALL = """
SELECT table_number, count(*) FROM (
    SELECT table_number, value IS NOT NULL AS live, max(ts) FROM documents
    WHERE ts <= :ts GROUP BY table_number, internal_id)
WHERE live GROUP BY table_number
"""
_COUNT_TABLE = """
SELECT count(*) FROM (
    SELECT value IS NOT NULL AS live, max(ts) FROM documents
    WHERE table_number = :table AND ts <= :ts GROUP BY internal_id)
WHERE live
"""


def _only(template: str) -> dict[bool, str]:
    """The (unfiltered, one-table) variants of an export read."""
    return {False: template.format(only_clause=""),
            True: template.format(only_clause="AND table_number = :only")}


_SNAPSHOT_PAGE_SQL = {
    False: _SNAPSHOT_PAGE,
    True: _SNAPSHOT_PAGE.replace("(d.table_number, d.internal_id) > (:table, :id)",
                                 "d.table_number = :only AND d.internal_id > :id"),
}
_REVISIONS_AFTER_SQL = _only(_REVISIONS_AFTER)
_REST_OF_COMMIT_SQL = _only(_REST_OF_COMMIT)


def _statements(template: str, column: str) -> dict[tuple[bool, bool], str]:
    """Pre-render the four (bounded above?, reversed?) variants of a scan."""
    out = {}
    for bounded in (False, True):
        for reverse in (False, True):
            hi = f"AND {column} < :hi" if bounded else ""
            out[(bounded, reverse)] = template.format(
                hi_clause=hi, order="DESC" if reverse else "ASC"
            )
    return out


_SCAN_INDEX_SQL = _statements(_SCAN_INDEX, "e.key")
_SCAN_TABLE_SQL = _statements(_SCAN_TABLE, "d.internal_id")


def _lock_exclusively(path: str) -> IO[bytes]:
    """Hold an exclusive lock beside the database file for as long as it is open.

    One committer per file is what makes conflict detection and table numbering
    sound, so a second opener (another process, or a second Database here) fails fast.
    """
    handle = open(path + ".lock", "wb")  # noqa: SIM115 - held open until close()
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DatabaseInUseError(
            f"{path} is already open in another syncline Database (this or another "
            "process); a database file has exactly one owner at a time"
        ) from None
    return handle


class _Reader:
    """One thread's read connection, used as `with reader as conn:`. The lock is held for
    each read, so `close()` (from another thread) waits for a read in progress instead
    of closing the connection under it, which would crash the process in SQLite's C code;
    a read after the close raises sqlite3.ProgrammingError instead."""

    __slots__ = ("closed", "conn", "generation", "lock")

    def __init__(self, conn: sqlite3.Connection, generation: int) -> None:
        self.conn = conn
        self.generation = generation
        self.lock = threading.Lock()
        self.closed = False

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        if self.closed:
            self.lock.release()
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.lock.release()

    def close(self) -> None:
        self.closed = True  # first: a thread reading in a loop then stops taking the lock
        with self.lock:
            self.conn.close()


def _applied_row(ts: int, applied: AppliedRequest) -> tuple[int, int, int, str, bytes]:
    return (ts, _session_key(applied.session_id), applied.request_id, applied.session_id,
            applied.result)


def _session_key(session_id: str) -> int:
    """A signed 64-bit hash of a session id, for the applied requests' index."""
    digest = hashlib.blake2b(session_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _insert_tables(conn: sqlite3.Connection, tables: Sequence[TableRecord]) -> None:
    """Register tables; a table first written by two commits of one batch is inserted once."""
    if tables:
        conn.executemany(
            "INSERT OR IGNORE INTO tables (number, name, id_index_id, creation_index_id) "
            "VALUES (?, ?, ?, ?)",
            [(t.number, t.name, t.id_index_id, t.creation_index_id) for t in tables],
        )


class SQLitePersistence(Persistence):
    """Persistence in one SQLite file. `durability="full"` fsyncs every commit batch;
    `"normal"` survives a killed process but not a power cut."""

    def __init__(self, path: str | os.PathLike[str], *, durability: Durability = "full") -> None:
        if durability not in ("full", "normal"):
            raise ValueError(f"durability must be 'full' or 'normal', got {durability!r}")
        self.path = os.fspath(path)
        self.durability = durability
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        self._lock_file = _lock_exclusively(self.path)
        self._local = threading.local()
        self._readers: list[_Reader] = []
        self._closed = False
        self._readers_lock = threading.Lock()
        # Started on a full disk (see _open_read_only): every connection reads the file
        # as it is; writes reopen it normally as soon as there is room again.
        self.read_only = False
        self._generation = 0  # bumped when the connections are replaced
        try:
            try:
                self._writer = self._connect(writer=True)
                self._use_incremental_vacuum()
                self._writer.executescript(_SCHEMA)
                self._check_format()
            except sqlite3.Error as error:
                if not is_disk_full(error, self.path):
                    raise
                self._open_read_only(error)
        except BaseException:
            if hasattr(self, "_writer"):
                self._writer.close()
            self._lock_file.close()
            raise
        self._load_retention()
        if not self.read_only:
            try:
                self.purge_dropped_indexes()
            except DiskFullError:  # housekeeping: retried by the next schema change
                _log.warning("%s: the disk is full; dropped index entries are kept for now",
                             self.path)

    # -- connections -----------------------------------------------------------------

    def _connect(self, immutable: bool = False, writer: bool = False) -> sqlite3.Connection:
        if immutable:
            conn = sqlite3.connect(f"file:{self.path}?immutable=1", uri=True,
                                   isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=1")
            return conn
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, cached_statements=64
        )
        try:
            if writer and (not os.path.exists(self.path) or os.path.getsize(self.path) == 0):
                # A new file: before its first table (and before WAL mode, which writes the
                # header), so freed pages can be given back (reclaim_space). An existing
                # file is converted by _use_incremental_vacuum (the pragma would need a
                # write, which fails on a full disk).
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("PRAGMA journal_mode=WAL")  # fails on a full disk without -shm
        except BaseException:
            conn.close()
            raise
        conn.execute(f"PRAGMA synchronous={self.durability.upper()}")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA mmap_size=268435456")
        conn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
        return conn

    def _reader(self) -> _Reader:
        """This thread's read connection (see _Reader: use it as `with ... as conn`)."""
        reader: _Reader | None = getattr(self._local, "reader", None)
        if reader is None or reader.generation != self._generation:
            if reader is not None:  # left read-only mode: this thread's reader is replaced
                with self._readers_lock:
                    self._readers.remove(reader)
                reader.close()
            generation = self._generation
            conn = self._connect(self.read_only)
            conn.execute("PRAGMA query_only=1")
            reader = _Reader(conn, generation)
            with self._readers_lock:
                if self._closed:  # close() ran meanwhile: it would never close this one
                    conn.close()
                    raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
                self._readers.append(reader)
            self._local.reader = reader
        return reader

    def _use_incremental_vacuum(self) -> None:
        """Convert a file from before history pruning to auto_vacuum=INCREMENTAL, once.

        Only in that mode can pages freed by pruning be given back to the file system
        (reclaim_space); without it they are reused by later writes but the file never
        shrinks. A new file gets the mode from _connect. An existing one needs a VACUUM,
        which rewrites the whole file in one transaction: a crash (or a full disk) midway
        leaves the old file as it was. It needs room for a copy of the data in the
        temporary file and in the write-ahead log, so with too little free space it is
        skipped, with a warning, and tried again at the next start.
        """
        conn = self._writer
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == _AUTO_VACUUM_INCREMENTAL:
            return
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            return  # a file with no table yet takes the mode from _connect
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free_pages = conn.execute("PRAGMA freelist_count").fetchone()[0]
        used = (pages - free_pages) * page_size
        directory = os.path.dirname(os.path.abspath(self.path))
        if shutil.disk_usage(directory).free < 2 * used + _WAL_SIZE_LIMIT:
            _log.warning("%s: not enough free disk space to convert the file to incremental "
                         "vacuum (needs about %d MB): pruned history is reused but the file "
                         "does not shrink; it is tried again at the next start",
                         self.path, (2 * used + _WAL_SIZE_LIMIT) // 1_000_000)
            return
        _log.warning("%s: converting the database file (%d MB) to incremental vacuum, once; "
                     "this takes a moment for a large file", self.path, used // 1_000_000)
        # The VACUUM's temporary copy goes to a file beside the database, not memory.
        conn.execute("PRAGMA temp_store=FILE")
        conn.execute(f"PRAGMA temp_store_directory='{directory.replace(chr(39), chr(39) * 2)}'")
        try:
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # applied by the VACUUM
            conn.execute("VACUUM")
        except sqlite3.Error as error:
            if not is_disk_full(error, self.path):
                raise
            _log.warning("%s: the disk filled up while converting the file to incremental "
                         "vacuum; nothing changed, it is tried again at the next start",
                         self.path)
        finally:
            conn.execute("PRAGMA temp_store_directory=''")
            conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _check_format(self) -> None:
        row = self._writer.execute("SELECT value FROM meta WHERE key='format'").fetchone()
        if row is None and self.read_only:
            raise sqlite3.OperationalError("no storage format recorded")
        if row is None:
            self._writer.execute(
                "INSERT INTO meta (key, value) VALUES ('format', ?)", (_FORMAT_VERSION,)
            )
        elif row[0] != _FORMAT_VERSION:
            raise RuntimeError(
                f"{self.path} was written by storage format {row[0]}; this syncline reads "
                f"format {_FORMAT_VERSION}"
            )

    # -- retention ----------------------------------------------------------------------

    def _load_retention(self) -> None:
        meta = dict(self._writer.execute(
            "SELECT key, value FROM meta WHERE key IN ('min_snapshot_ts', 'prune_cursor')"))
        self._min_snapshot_ts = int(meta.get("min_snapshot_ts") or 0)
        cursor = str(meta.get("prune_cursor") or "0:0:")
        ts, table, internal = cursor.split(":")
        self._prune_cursor: tuple[int, int, bytes] = (int(ts), int(table),
                                                      bytes.fromhex(internal))

    @property
    def min_snapshot_ts(self) -> int:
        return self._min_snapshot_ts

    def _check_window(self, ts: int, what: str = "Timestamp") -> None:
        """Refuse a read at `ts` if history it needs may be pruned (after reading: a
        prune raises the floor before it deletes anything)."""
        if ts < self._min_snapshot_ts:
            raise SnapshotTooOldError(ts, self._min_snapshot_ts, what)

    def advance_min_snapshot_ts(self, ts: int) -> None:
        if ts <= self._min_snapshot_ts:
            return
        # Raised in memory first: reads racing with the write below already fail.
        self._min_snapshot_ts = ts
        self._write_meta({"min_snapshot_ts": ts})

    def _write_meta(self, values: dict[str, object]) -> None:
        conn = self._writable()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             list(values.items()))
            conn.execute("COMMIT")
        except BaseException as error:
            self._failed_write(error)
            raise

    def prune_history(self, limit: int, index_keys: IndexKeysOf) -> PruneProgress:
        floor = self._min_snapshot_ts
        cursor_ts, cursor_table, cursor_id = self._prune_cursor
        conn = self._writable()
        documents = entries = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute(_PRUNE_NEXT, {"ts": cursor_ts, "table": cursor_table,
                                              "id": cursor_id, "floor": floor,
                                              "limit": limit}).fetchall()
            keys: set[tuple[int, bytes]] = set()
            for table, internal, ts, deleted in rows:
                # Everything older than a revision at or before the floor is unreachable.
                older = conn.execute(_OLDER_REVISIONS, (table, internal, ts)).fetchall()
                if older:
                    conn.execute(_DELETE_OLDER_REVISIONS, (table, internal, ts))
                    documents += len(older)
                    for (value,) in older:
                        if value is not None:
                            keys.update(index_keys(table, internal, value))
                if deleted:  # a deletion at or before the floor: nothing of it is reachable
                    conn.execute(_DELETE_REVISION, (table, internal, ts))
                    documents += 1
            for index_id, key in keys:
                entries += self._prune_key(conn, index_id, key, floor)
            cursor = self._prune_cursor
            if rows:
                last = rows[-1]
                cursor = (last[2], last[0], last[1])
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES "
                             "('prune_cursor', ?)", (f"{last[2]}:{last[0]}:{last[1].hex()}",))
            conn.execute("COMMIT")
        except BaseException as error:
            self._failed_write(error)
            raise
        self._prune_cursor = cursor
        return PruneProgress(len(rows), documents, entries, done=len(rows) < limit)

    @staticmethod
    def _prune_key(conn: sqlite3.Connection, index_id: int, key: bytes, floor: int) -> int:
        """Delete a key's index entries that no read at or after `floor` sees: those
        older than its newest entry at or before the floor, and that one too if it is a
        tombstone (the key had left the index by then)."""
        newest = conn.execute(_NEWEST_ENTRY, (index_id, key, floor)).fetchone()
        if newest is None:
            return 0
        ts, tombstone = newest
        op = "<=" if tombstone else "<"
        return conn.execute(
            f"DELETE FROM index_entries WHERE index_id = ? AND key = ? AND ts {op} ?",
            (index_id, key, ts)).rowcount

    def reclaim_space(self, max_pages: int) -> int:
        conn = self._writable()
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != _AUTO_VACUUM_INCREMENTAL:
            return 0
        before = conn.execute("PRAGMA freelist_count").fetchone()[0]
        if before == 0:
            return 0
        try:
            # Each step of the pragma frees one page, and Python's execute() steps a
            # statement without result columns once: executescript() runs it to the end
            # (one write transaction; there is none open to commit on this connection).
            conn.executescript(f"PRAGMA incremental_vacuum({int(max_pages)});")
        except BaseException as error:
            self._failed_write(error)
            raise
        after = conn.execute("PRAGMA freelist_count").fetchone()[0]
        if after == 0:
            # The main file is cut to its new size when the log is copied back into it; a
            # passive checkpoint never waits for readers (a later one finishes the job).
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return before - after

    def space_stats(self) -> dict[str, int]:
        """Page size, pages in the file and free pages among them (for tests and tools)."""
        conn = self._writer
        return {name: conn.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("page_size", "page_count", "freelist_count", "auto_vacuum")}

    # -- catalog ----------------------------------------------------------------------

    def load_catalog(self) -> Catalog:
        conn = self._writer
        tables = tuple(
            TableRecord(n, name, i, c)
            for n, name, i, c in conn.execute(
                "SELECT number, name, id_index_id, creation_index_id FROM tables ORDER BY number"
            )
        )
        indexes = tuple(
            IndexRecord(i, t, name, tuple(fields.split("\x1f")))
            for i, t, name, fields in conn.execute(
                "SELECT id, table_number, name, fields FROM indexes ORDER BY id"
            )
        )
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        # Clocks are derived rather than stored per commit, which keeps a commit to the
        # pages it must touch: the newest revision ts, and the newest key of each
        # table's creation-time index (its first component is the creation time).
        max_doc_ts = conn.execute("SELECT max(ts) FROM documents").fetchone()[0] or 0
        max_creation_time = 0.0
        for table in tables:
            row = conn.execute(
                "SELECT key FROM index_entries WHERE index_id = ? ORDER BY key DESC LIMIT 1",
                (table.creation_index_id,),
            ).fetchone()
            if row is not None:
                max_creation_time = max(max_creation_time, decode_key_tuple(row[0])[0])
        return Catalog(
            tables=tables,
            indexes=indexes,
            schema_json=meta.get("schema"),
            # Pruning may remove the newest revision (a deletion's tombstone), never the
            # retention floor, so the clock never goes back behind what was readable.
            max_ts=max(int(meta.get("max_ts") or 0), max_doc_ts,
                       int(meta.get("min_snapshot_ts") or 0)),
            max_creation_time=max_creation_time,
        )

    # -- writes -------------------------------------------------------------------------

    def write_commits(self, commits: Sequence[CommitRecord]) -> None:
        if not commits:
            return
        conn = self._writable()
        docs = [
            (d.table_number, d.internal_id, d.ts, d.value) for c in commits for d in c.documents
        ]
        entries = [
            (e.index_id, e.key, e.ts, e.internal_id) for c in commits for e in c.index_entries
        ]
        applied = [_applied_row(c.ts, c.applied_request) for c in commits
                   if c.applied_request is not None]
        conn.execute("BEGIN IMMEDIATE")
        try:
            _insert_tables(conn, [t for c in commits for t in c.new_tables])
            conn.executemany(
                "INSERT INTO documents (table_number, internal_id, ts, value) VALUES (?, ?, ?, ?)",
                docs,
            )
            conn.executemany(
                "INSERT INTO index_entries (index_id, key, ts, internal_id) VALUES (?, ?, ?, ?)",
                entries,
            )
            if applied:
                conn.executemany(
                    "INSERT INTO applied_requests (ts, session_key, request_id, session_id, "
                    "result) VALUES (?, ?, ?, ?, ?)", applied,
                )
            conn.execute("COMMIT")
        except BaseException as error:
            self._failed_write(error)
            raise


    def apply_index_change(self, change: IndexChange) -> None:
        conn = self._writable()
        conn.execute("BEGIN IMMEDIATE")
        try:
            _insert_tables(conn, change.new_tables)
            # A dropped index's entries stay until the next schema change or restart:
            # transactions that began before this change may still be reading them.
            self._purge_dropped(conn)
            for index_id in change.dropped:
                conn.execute("DELETE FROM indexes WHERE id = ?", (index_id,))
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('dropped_indexes', ?)",
                (",".join(map(str, change.dropped)),),
            )
            conn.executemany(
                "INSERT INTO indexes (id, table_number, name, fields) VALUES (?, ?, ?, ?)",
                [(i.id, i.table_number, i.name, "\x1f".join(i.fields)) for i in change.added],
            )
            conn.executemany(
                "INSERT INTO index_entries (index_id, key, ts, internal_id) VALUES (?, ?, ?, ?)",
                ((e.index_id, e.key, e.ts, e.internal_id) for e in change.backfill),
            )
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)",
                (change.schema_json,),
            )
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('max_ts', ?)", (change.ts,)
            )
            conn.execute("COMMIT")
        except BaseException as error:
            self._failed_write(error)
            raise

    @staticmethod
    def _purge_dropped(conn: sqlite3.Connection) -> None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'dropped_indexes'").fetchone()
        for index_id in (row[0].split(",") if row and row[0] else ()):
            conn.execute("DELETE FROM index_entries WHERE index_id = ?", (int(index_id),))
        conn.execute("DELETE FROM meta WHERE key = 'dropped_indexes'")

    def purge_dropped_indexes(self) -> None:
        """Delete entries of indexes dropped earlier; safe when no transaction is running."""
        row = self._writer.execute(
            "SELECT value FROM meta WHERE key = 'dropped_indexes'").fetchone()
        if row is None or not row[0]:
            return  # nothing to purge: no write transaction (a start on a full disk)
        conn = self._writable()
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._purge_dropped(conn)
            conn.execute("COMMIT")
        except BaseException as error:
            self._failed_write(error)
            raise

    # -- reads --------------------------------------------------------------------------

    def get_document(self, table_number: int, internal_id: bytes, ts: int) -> bytes | None:
        with self._reader() as conn:
            row = conn.execute(_GET_DOCUMENT, (table_number, internal_id, ts)).fetchone()
        self._check_window(ts)
        return None if row is None else row[0]

    def scan_index(
        self, index_id: int, table_number: int, start: bytes, end: bytes | None, ts: int,
        reverse: bool, limit: int,
    ) -> list[IndexRow]:
        sql = _SCAN_INDEX_SQL[(end is not None, reverse)]
        params = {"index": index_id, "table": table_number, "lo": start, "hi": end, "ts": ts,
                  "limit": limit}
        with self._reader() as conn:
            rows = conn.execute(sql, params).fetchall()
        self._check_window(ts)
        return rows

    def scan_table(
        self, table_number: int, start: bytes, end: bytes | None, ts: int, reverse: bool,
        limit: int,
    ) -> list[TableRow]:
        sql = _SCAN_TABLE_SQL[(end is not None, reverse)]
        params = {"table": table_number, "lo": start, "hi": end, "ts": ts, "limit": limit}
        with self._reader() as conn:
            rows = conn.execute(sql, params).fetchall()
        self._check_window(ts)
        return rows

    def snapshot_page(
        self, after_table: int, after_id: bytes, ts: int, limit: int,
        table_number: int | None = None,
    ) -> list[DocumentRevision]:
        sql = _SNAPSHOT_PAGE_SQL[table_number is not None]
        if table_number is not None and after_table != table_number:
            if after_table > table_number:
                return []
            after_id = b""  # the table's first document onwards
        params = {"table": after_table, "id": after_id, "ts": ts, "limit": limit,
                  "only": table_number}
        with self._reader() as conn:
            rows = conn.execute(sql, params).fetchall()
        self._check_window(ts, "Snapshot")
        return [DocumentRevision(*row) for row in rows]

    def revisions_after(
        self, after_ts: int, upto_ts: int, limit: int, table_number: int | None = None,
    ) -> list[DocumentRevision]:
        only = table_number is not None
        with self._reader() as conn:
            # One read transaction, so the completing query sees the same database state.
            conn.execute("BEGIN")
            try:
                rows = conn.execute(_REVISIONS_AFTER_SQL[only], {
                    "after": after_ts, "upto": upto_ts, "limit": limit, "only": table_number,
                }).fetchall()
                if len(rows) >= limit > 0:
                    last = rows[-1]
                    rows += conn.execute(_REST_OF_COMMIT_SQL[only], {
                        "ts": last[2], "table": last[0], "id": last[1], "only": table_number,
                    }).fetchall()
            finally:
                conn.execute("COMMIT")
        # Every revision after the cursor is kept only if the cursor is within the window.
        self._check_window(after_ts, "Cursor")
        return [DocumentRevision(*row) for row in rows]

    def renumber_table(self, old_number: int, new_number: int) -> None:
        conn = self._writable()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("UPDATE tables SET number = ? WHERE number = ?",
                         (new_number, old_number))
            conn.execute("UPDATE indexes SET table_number = ? WHERE table_number = ?",
                         (new_number, old_number))
            conn.execute("COMMIT")
        except BaseException as error:
            self._failed_write(error)
            raise

    def hidden_tables(self) -> set[int]:
        row = self._writer.execute(
            "SELECT value FROM meta WHERE key = 'hidden_tables'").fetchone()
        return {int(n) for n in row[0].split(",")} if row and row[0] else set()

    def set_hidden_tables(self, numbers: set[int]) -> None:
        self._write_meta({"hidden_tables": ",".join(map(str, sorted(numbers)))})

    def count_documents(self, table_number: int, ts: int) -> int:
        with self._reader() as conn:
            row = conn.execute(_COUNT_TABLE, {"table": table_number, "ts": ts}).fetchone()
        self._check_window(ts)
        return int(row[0])

    def count_all_documents(self, ts: int) -> dict[int, int]:
        rows = self._writer.execute(_COUNT_ALL, {"ts": ts}).fetchall()  # at open, as the catalog
        return {int(table): int(count) for table, count in rows}

    def changed_since(self, table_number: int, ts: int) -> Iterator[bytes]:
        rows = self._writer.execute(
            "SELECT DISTINCT internal_id FROM documents WHERE table_number = ? AND ts > ?",
            (table_number, ts)).fetchall()
        return iter([row[0] for row in rows])

    def documents_in_table(self, table_number: int, ts: int) -> Iterator[TableRow]:
        """Every live document of a table at `ts`, read on the writer connection in
        pages, so a schema push over a large table never holds it all in memory.

        Used by schema pushes, which run on the writer thread while commits are paused.
        """
        sql = _SCAN_TABLE_SQL[(False, False)]
        lo = b""
        while True:
            params = {"table": table_number, "lo": lo, "hi": None, "ts": ts,
                      "limit": _BACKFILL_PAGE}
            rows = self._writer.execute(sql, params).fetchall()
            yield from rows
            if len(rows) < _BACKFILL_PAGE:
                return
            lo = rows[-1][0] + b"\x00"

    # -- applied requests (exactly-once mutations over sync) ---------------------------

    def applied_request(self, session_id: str, request_id: int) -> tuple[int, bytes] | None:
        try:
            with self._reader() as conn:
                row = conn.execute(
                    "SELECT ts, result FROM applied_requests WHERE session_key = ? AND "
                    "request_id = ? AND session_id = ? ORDER BY ts LIMIT 1",
                    (_session_key(session_id), request_id, session_id),
                ).fetchone()
        except sqlite3.OperationalError:
            if self.read_only:  # a file from before the table, opened on a full disk
                return None
            raise
        return None if row is None else (row[0], row[1])

    def prune_applied_requests(self, before_ts: int, limit: int) -> int:
        cursor = self._writable().execute(
            "DELETE FROM applied_requests WHERE ts IN (SELECT ts FROM applied_requests "
            "WHERE ts < ? ORDER BY ts LIMIT ?)", (before_ts, limit),
        )
        return cursor.rowcount

    # -- a full disk ----------------------------------------------------------------------

    def _failed_write(self, error: BaseException) -> None:
        """Clean up after a write transaction failed; raise DiskFullError (chained to
        `error`) if the disk is full, else return so the caller re-raises `error`.

        On SQLITE_FULL SQLite may already have rolled the whole transaction back (then a
        ROLLBACK would fail with "no transaction is active"), or only the statement.
        Either way nothing of the transaction is applied once this returns; if even the
        ROLLBACK fails, the writer connection is replaced, which discards the transaction.
        """
        conn = self._writer
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                _log.warning("%s: ROLLBACK failed; reopening the writer connection", self.path)
                conn.close()
                self._writer = self._connect(writer=True)
        if is_disk_full(error, self.path) and not isinstance(error, DiskFullError):
            raise DiskFullError() from error

    def _writable(self) -> sqlite3.Connection:
        """The writer connection, leaving read-only mode first if there is room again
        (DiskFullError if there is not)."""
        if self.read_only:
            try:
                writer = self._connect(writer=True)  # creating the -shm file needs disk space
            except sqlite3.Error as error:
                if is_disk_full(error, self.path):
                    raise DiskFullError() from error
                raise
            writer.executescript(_SCHEMA)  # tables newer than the file (CREATE IF NOT EXISTS)
            old, self._writer = self._writer, writer
            old.close()
            # Readers of the immutable file are replaced at their next read (_reader),
            # before a checkpoint can rewrite the main file under them.
            with self._readers_lock:
                self.read_only = False
                self._generation += 1
            _log.warning("%s: there is room on the disk again: writes are accepted",
                         self.path)
        return self._writer

    def _open_read_only(self, error: BaseException) -> None:
        """Open the database file read-only, for a start on a full disk.

        In WAL mode even a reader needs the -shm file, which cannot be created on a full
        disk. After a clean shutdown there is no WAL (its commits are in the main file),
        so reading the main file as immutable sees every commit; a WAL left by a crash
        comes with its -shm file, and a normal open would have worked. With a non-empty
        WAL but no -shm file, reading only the main file could miss commits: refuse.
        """
        wal = self.path + "-wal"
        if os.path.exists(wal) and os.path.getsize(wal) > 0:
            raise DiskFullError(
                f"The disk holding {self.path} is full and its write-ahead log cannot be "
                "read without more space: free some space and start again") from error
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.close()
        self.read_only = True
        self._writer = self._connect(immutable=True)
        try:
            self._check_format()
        except sqlite3.Error as reading:  # an empty file: the database was never created
            raise DiskFullError(f"The disk holding {self.path} is full: the database cannot "
                                "be created; free some space and start again") from reading
        _log.warning("%s: the disk is full: started read-only; writes fail until space is "
                     "freed", self.path)

    def release_memory(self) -> None:
        """Free the writer connection's page cache (after a bulk write, a data import);
        on the writer thread (Committer.run_maintenance)."""
        self._writer.execute("PRAGMA shrink_memory")

    def close(self) -> None:
        with self._readers_lock:
            self._closed = True
            for reader in self._readers:
                reader.close()  # waits for a read in progress on another thread
            self._readers.clear()
        self._local = threading.local()
        self._writer.close()
        self._lock_file.close()
