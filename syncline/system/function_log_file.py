"""The function log on disk: an append-only SQLite file next to the database.

Kept apart from `db.sqlite3` so log writes never contend with commits and never enter the
document history. Rows are written in batches by the log's writer thread (function_logs.py)
and pruned in bounded batches by count and age; nothing here runs per function call.
Durability is `synchronous=NORMAL` in WAL mode: a power cut may lose the last batches, a
crash of the process loses nothing that was written.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import orjson

from syncline.functions import ExecutionRecord
from syncline.functions.logs import LogLine

FILE_NAME = "function_logs.sqlite3"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, ts_ms REAL NOT NULL, "
    "body BLOB NOT NULL)",
    # The newest (seq, ts_ms) ever written: numbering goes on after every row is pruned.
    "CREATE TABLE IF NOT EXISTS position (id INTEGER PRIMARY KEY CHECK (id = 0), "
    "seq INTEGER NOT NULL, ts_ms REAL NOT NULL)",
)


def encode(record: ExecutionRecord) -> bytes:
    """A record as a compact JSON array (the row's body)."""
    return orjson.dumps([
        record.request_id, record.path, record.kind, record.started_ms, record.duration_ms,
        record.success, record.error,
        [[line.level, line.message, line.timestamp_ms] for line in record.log_lines],
    ])


def decode(body: bytes) -> ExecutionRecord:
    request_id, path, kind, started, duration, success, error, lines = orjson.loads(body)
    return ExecutionRecord(request_id, path, kind, started, duration, success, error,
                           tuple(LogLine(level, message, ts) for level, message, ts in lines))


class FunctionLogFile:
    """One connection, used only by the thread that opened it after `open` (the writer)
    -- except `load`, which runs before the writer starts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=10000")
            for statement in _SCHEMA:
                self._conn.execute(statement)
        except BaseException:
            self._conn.close()
            raise

    def load(self, max_entries: int, min_ts_ms: float) -> list[tuple[int, float, ExecutionRecord]]:
        """The newest `max_entries` rows logged at or after `min_ts_ms`, oldest first.
        A row that cannot be decoded (a file from a future version) is skipped."""
        rows = self._conn.execute(
            "SELECT seq, ts_ms, body FROM entries WHERE ts_ms >= ? ORDER BY seq DESC LIMIT ?",
            (min_ts_ms, max_entries)).fetchall()
        loaded: list[tuple[int, float, ExecutionRecord]] = []
        for seq, ts_ms, body in reversed(rows):
            try:
                loaded.append((seq, ts_ms, decode(body)))
            except (ValueError, TypeError):
                continue
        return loaded

    def last_position(self) -> tuple[int, float]:
        """(seq, ts_ms) of the newest row ever written, or (0, 0.0): numbering goes on."""
        row = self._conn.execute("SELECT seq, ts_ms FROM position").fetchone()
        return (row[0], row[1]) if row else (0, 0.0)

    def append(self, rows: Sequence[tuple[int, float, bytes]]) -> None:
        """Write one batch in one transaction."""
        with self._transaction():
            self._conn.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", rows)
            seq, ts_ms, _ = rows[-1]
            self._conn.execute("INSERT OR REPLACE INTO position VALUES (0, ?, ?)", (seq, ts_ms))

    def prune(self, keep_from_seq: int, min_ts_ms: float, batch: int) -> int:
        """Delete up to `batch` of the oldest rows that are below `keep_from_seq` or older
        than `min_ts_ms` (sequence numbers and timestamps rise together). The count deleted."""
        oldest = self._conn.execute(
            "SELECT seq, ts_ms FROM entries ORDER BY seq LIMIT 1").fetchone()
        if oldest is None or (oldest[0] >= keep_from_seq and oldest[1] >= min_ts_ms):
            return 0  # nothing to do: the usual case, one indexed lookup
        with self._transaction():
            cursor = self._conn.execute(
                "DELETE FROM entries WHERE seq IN (SELECT seq FROM entries WHERE seq < ? "
                "OR ts_ms < ? ORDER BY seq LIMIT ?)", (keep_from_seq, min_ts_ms, batch))
        return cursor.rowcount

    def count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM entries").fetchone()[0]

    def close(self) -> None:
        self._conn.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")


def rows_of(entries: Iterable[tuple[int, float, ExecutionRecord]]) -> list[tuple[int, float, bytes]]:
    return [(seq, ts_ms, encode(record)) for seq, ts_ms, record in entries]
