"""The deployment's function log: recent executions, in memory and on disk, bounded.

Every finished execution (`FunctionRunner` hands over an `ExecutionRecord`) becomes an
entry with a sequence number (`seq`, what `/api/logs` pages by) and a log time in
milliseconds (`ts_ms`, strictly increasing: the cursor of `/api/stream_function_logs`).
Entries are kept for `syncline logs`, `npx convex logs` and the dashboard:

- bounded by count (SYNCLINE_FUNCTION_LOGS_MAX, default 10,000 executions, at most
  100,000) and by age (SYNCLINE_FUNCTION_LOGS_RETENTION_S, default 7 days), in memory and
  on disk alike;
- persisted to `function_logs.sqlite3` in the data directory and reloaded at start, so
  they survive a restart. The hot path never touches the disk: `record()` appends to two
  deques under a lock held for a few attribute updates, and a writer thread writes what
  accumulated every SYNCLINE_FUNCTION_LOGS_FLUSH_S (default 1 s) or as soon as
  FLUSH_ROWS wait, in one transaction, then prunes in bounded batches. A crash loses at
  most the entries of the last interval; a clean stop writes everything.

`record()` may be called from any thread (nested calls of actions finish on action
threads), so reads copy under the same lock. Long-polling readers (`wait_after`) are woken
once per batch of appends, not once per append.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import logging
import os
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from syncline.errors import InvalidSettingError
from syncline.functions import ExecutionRecord
from syncline.storage.disk_full import is_disk_full
from syncline.system.function_log_file import FILE_NAME, FunctionLogFile, rows_of

__all__ = ["FunctionLogPolicy", "FunctionLogs", "LogEntry"]

_log = logging.getLogger(__name__)

ENV_MAX = "SYNCLINE_FUNCTION_LOGS_MAX"
ENV_RETENTION = "SYNCLINE_FUNCTION_LOGS_RETENTION_S"
ENV_FLUSH = "SYNCLINE_FUNCTION_LOGS_FLUSH_S"
DEFAULT_MAX_ENTRIES = 10_000
MAX_MAX_ENTRIES = 100_000
DEFAULT_MAX_AGE_S = 7 * 24 * 3600.0
MIN_MAX_AGE_S = 1.0
DEFAULT_FLUSH_INTERVAL_S = 1.0
MAX_FLUSH_INTERVAL_S = 24 * 3600.0
FLUSH_ROWS = 256  # entries waiting that wake the writer before its interval is up
PRUNE_BATCH = 1_000  # rows deleted per transaction
_TS_STEP_MS = 0.001  # the least a log time moves on: entries never share a cursor position

_UINT = re.compile(r"[0-9]{1,9}")
_SECONDS = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?")


class LogEntry(NamedTuple):
    """One execution in the log (a named tuple: the cheapest immutable record to make)."""

    seq: int
    ts_ms: float
    record: ExecutionRecord


@dataclass(frozen=True, slots=True)
class FunctionLogPolicy:
    """How much of the function log to keep, and how often to write it."""

    max_entries: int = DEFAULT_MAX_ENTRIES
    max_age_s: float = DEFAULT_MAX_AGE_S
    flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S

    def __post_init__(self) -> None:
        if not 1 <= self.max_entries <= MAX_MAX_ENTRIES:
            raise InvalidSettingError(f"The function log keeps 1 to {MAX_MAX_ENTRIES:,} "
                                      f"executions, got {self.max_entries!r}")
        if not self.max_age_s >= MIN_MAX_AGE_S:
            raise InvalidSettingError(f"The function log retention must be at least "
                                      f"{MIN_MAX_AGE_S:g} second, got {self.max_age_s!r}")
        if not 0 < self.flush_interval_s <= MAX_FLUSH_INTERVAL_S:
            raise InvalidSettingError(f"The function log flush interval must be above 0 and "
                                      f"at most {MAX_FLUSH_INTERVAL_S:g} seconds, got "
                                      f"{self.flush_interval_s!r}")

    @classmethod
    def from_env(cls) -> FunctionLogPolicy:
        """The defaults, overridden by SYNCLINE_FUNCTION_LOGS_MAX / _RETENTION_S / _FLUSH_S."""
        values: dict[str, Any] = {}
        for env, field, pattern, kind, what in (
            (ENV_MAX, "max_entries", _UINT, int,
             f"a whole number of executions from 1 to {MAX_MAX_ENTRIES}"),
            (ENV_RETENTION, "max_age_s", _SECONDS, float,
             f"a number of seconds of at least {MIN_MAX_AGE_S:g}"),
            (ENV_FLUSH, "flush_interval_s", _SECONDS, float,
             f"a number of seconds above 0 and at most {MAX_FLUSH_INTERVAL_S:g}"),
        ):
            raw = os.environ.get(env, "")
            if raw == "":
                continue
            if pattern.fullmatch(raw) is None:
                raise InvalidSettingError(f"{env} must be {what}, got {raw!r}")
            values[field] = kind(raw)
        try:
            return cls(**values)
        except InvalidSettingError as e:
            names = ", ".join(f"{k}={os.environ[k]!r}" for k in (ENV_MAX, ENV_RETENTION, ENV_FLUSH)
                              if os.environ.get(k))
            raise InvalidSettingError(f"{e} ({names})") from None


def _wall_ms() -> float:
    return time.time() * 1000.0


class FunctionLogs:
    """The bounded function log of one deployment; see the module docstring.

    `directory` None keeps it in memory only (no file, no writer thread)."""

    def __init__(self, directory: Path | None, policy: FunctionLogPolicy | None = None, *,
                 now_ms: Callable[[], float] = _wall_ms) -> None:
        self.policy = policy or FunctionLogPolicy()
        self._now_ms = now_ms
        self._max_age_ms = self.policy.max_age_s * 1000.0
        self._lock = threading.Lock()
        # Plain (seq, ts_ms, record) tuples: the cheapest to make on the hot path; readers
        # get LogEntry named tuples.
        self._entries: deque[_Row] = deque(maxlen=self.policy.max_entries)
        # Written by the writer thread; its bound drops the oldest if the disk falls behind.
        self._pending: deque[_Row] = deque(maxlen=self.policy.max_entries)
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._closing = False
        self.write_batches = 0  # transactions that wrote entries (tests count them)
        self.rows_written = 0
        self.rows_dropped = 0  # entries a failed write lost
        self._disk_was_full = False  # the last write found the disk full (said once)
        self._seq = 0
        self._floor_ms = 0.0  # the next entry's log time is above this
        self._file: FunctionLogFile | None = None
        self._writer: threading.Thread | None = None
        self._wake_writer = threading.Event()
        self._stop = False
        if directory is not None:
            self._open(Path(directory) / FILE_NAME)

    def _open(self, path: Path) -> None:
        """Load the file and start the writer. A file that is not a readable log is moved
        aside (kept, renamed) and a new one started; one that cannot be opened or written
        at all (a full disk, no permission) leaves the log in memory only. Either way the
        deployment starts, with a warning: logs are never worth refusing to serve."""
        try:
            log_file = self._load(path)
        except sqlite3.OperationalError as e:
            _log.warning("The function log %s cannot be opened (%s): logs are kept in "
                         "memory only until the next start", path, e)
            return
        except sqlite3.DatabaseError as e:
            aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
            _log.warning("The function log %s is not readable (%s): moved to %s, starting "
                         "a new one", path, e, aside)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{path}{suffix}").rename(f"{aside}{suffix}")
            try:
                log_file = self._load(path)
            except sqlite3.DatabaseError as again:
                _log.warning("The function log %s cannot be created (%s): logs are kept in "
                             "memory only", path, again)
                return
        self._file = log_file
        self._prune_file()  # what the bounds dropped while stopped (or a lowered bound)
        self._writer = threading.Thread(target=self._write_forever, daemon=True,
                                        name="syncline-function-logs")
        self._writer.start()

    def _load(self, path: Path) -> FunctionLogFile:
        log_file = FunctionLogFile(path)
        try:
            self._seq, self._floor_ms = log_file.last_position()
            self._entries.clear()
            self._entries.extend(log_file.load(self.policy.max_entries, self._oldest_kept()))
        except BaseException:
            log_file.close()
            raise
        return log_file

    def _oldest_kept(self) -> float:
        return self._now_ms() - self._max_age_ms

    # -- the hot path ----------------------------------------------------------------------

    def record(self, record: ExecutionRecord) -> None:
        """Log one finished execution. O(1), no I/O; any thread."""
        now = self._now_ms()
        entries = self._entries
        with self._lock:
            self._seq += 1
            ts = now if now > self._floor_ms else self._floor_ms + _TS_STEP_MS
            self._floor_ms = ts
            entry = (self._seq, ts, record)
            entries.append(entry)
            while entries[0][1] < now - self._max_age_ms:
                entries.popleft()
            if self._file is not None:
                self._pending.append(entry)
        if self._file is not None and len(self._pending) == FLUSH_ROWS:
            self._wake_writer.set()
        if self._waiters:
            self._wake_waiters()

    def recorder(self, then: Callable[[ExecutionRecord], None] | None
                 ) -> Callable[[ExecutionRecord], None]:
        """An `on_record` callback for FunctionRunner that logs, then calls `then`."""
        if then is None:
            return self.record

        def on_record(record: ExecutionRecord) -> None:
            self.record(record)
            then(record)

        return on_record

    # -- reading ---------------------------------------------------------------------------

    def _drop_expired(self) -> None:
        """(Lock held.) Entries past the age bound go even when nothing is appended."""
        oldest = self._oldest_kept()
        while self._entries and self._entries[0][1] < oldest:
            self._entries.popleft()

    def after_seq(self, seq: int, limit: int) -> list[LogEntry]:
        """Up to `limit` entries with a sequence number above `seq`, oldest first."""
        with self._lock:
            self._drop_expired()
            start = bisect.bisect_right(self._entries, seq, key=_seq_of)
            return _entries(itertools.islice(self._entries, start, start + limit))

    def after_ts(self, ts_ms: float, limit: int) -> list[LogEntry]:
        """Up to `limit` entries logged after `ts_ms`, oldest first."""
        with self._lock:
            self._drop_expired()
            start = bisect.bisect_right(self._entries, ts_ms, key=_ts_of)
            return _entries(itertools.islice(self._entries, start, start + limit))

    def last(self, count: int) -> list[LogEntry]:
        """The newest `count` entries, oldest first."""
        with self._lock:
            self._drop_expired()
            start = max(0, len(self._entries) - count)
            return _entries(itertools.islice(self._entries, start, None))

    def rows(self) -> list[tuple[int, float, ExecutionRecord]]:
        """Every kept entry as a plain `(seq, ts_ms, record)` tuple, oldest first: one list
        copy under the lock, for readers that filter the whole log (the dashboard)."""
        with self._lock:
            self._drop_expired()
            return list(self._entries)

    def position(self) -> float:
        """A cursor (log time) no entry logged from now on is at or below."""
        with self._lock:
            self._floor_ms = max(self._floor_ms, self._now_ms())
            return self._floor_ms

    @property
    def newest_seq(self) -> int:
        return self._seq

    def __len__(self) -> int:
        return len(self._entries)

    # -- long polling ----------------------------------------------------------------------

    async def wait_after(self, ts_ms: float, timeout_s: float) -> None:
        """Return once an entry is logged after `ts_ms`, `timeout_s` passes, or the
        deployment stops (`release_waiters`)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        item = (loop, waiter)
        with self._lock:
            if self._closing or (self._entries and self._entries[-1][1] > ts_ms):
                return
            self._waiters.append(item)
        try:
            await asyncio.wait({waiter}, timeout=timeout_s)
        finally:
            with self._lock:
                if item in self._waiters:
                    self._waiters.remove(item)

    def _wake_waiters(self) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            with contextlib.suppress(RuntimeError):  # a closed loop: its request is gone
                loop.call_soon_threadsafe(_resolve, waiter)

    def release_waiters(self) -> None:
        """The server is stopping: long polls answer now, and later ones do not wait."""
        self._closing = True
        self._wake_waiters()

    # -- the writer ------------------------------------------------------------------------

    def _write_forever(self) -> None:
        while not self._stop:
            self._wake_writer.wait(self.policy.flush_interval_s)
            self._wake_writer.clear()
            self._write_pending()
        self._write_pending()

    def _write_pending(self) -> None:
        """Write what waits in one transaction, then prune. On the writer thread (or at
        close, after it stopped)."""
        batch: list[_Row] = []
        pending = self._pending
        while pending:
            try:
                batch.append(pending.popleft())
            except IndexError:
                break
        assert self._file is not None
        if batch:
            try:
                self._file.append(rows_of(batch))
            except Exception as e:  # noqa: BLE001 - logs are best effort; the server goes on
                if is_disk_full(e, self._file.path):
                    self._wait_for_room(batch)
                    return
                self.rows_dropped += len(batch)
                _log.exception("Writing %d function log entries to %s failed", len(batch),
                               self._file.path)
                return
            if self._disk_was_full:
                self._disk_was_full = False
                _log.warning("Function log entries are written to %s again", self._file.path)
            self.write_batches += 1
            self.rows_written += len(batch)
        self._prune_file()

    def _wait_for_room(self, batch: list[_Row]) -> None:
        """The disk is full: keep the batch (in order, ahead of newer entries) for the next
        write, dropping the oldest past the count bound, and say so once, without a
        traceback: a full disk is an operating condition, not a bug."""
        self._pending.extendleft(reversed(batch))
        while len(self._pending) > self.policy.max_entries:
            self._pending.popleft()
            self.rows_dropped += 1
        if not self._disk_was_full:
            self._disk_was_full = True
            _log.warning("The disk is full: function log entries wait in memory (at most %d) "
                         "until %s can be written again", self.policy.max_entries,
                         self._file.path if self._file is not None else "the log file")

    def _prune_file(self) -> None:
        assert self._file is not None
        keep_from = self._seq - self.policy.max_entries + 1
        try:
            while self._file.prune(keep_from, self._oldest_kept(), PRUNE_BATCH) == PRUNE_BATCH:
                pass
        except Exception as e:  # noqa: BLE001 - retried after the next write
            if not is_disk_full(e, self._file.path):
                _log.exception("Pruning the function log in %s failed", self._file.path)

    def flush(self) -> None:
        """Have the writer write what waits now (tests, shutdown)."""
        self._wake_writer.set()

    def stats(self) -> dict[str, Any]:
        """Sizes and counters, for tests and the status endpoint."""
        return {
            "entries": len(self._entries),
            "pending": len(self._pending),
            "longPolls": len(self._waiters),  # requests waiting in wait_after
            "newestSeq": self._seq,
            "writeBatches": self.write_batches,
            "rowsWritten": self.rows_written,
            "rowsDropped": self.rows_dropped,
            "maxEntries": self.policy.max_entries,
            "maxAgeSeconds": self.policy.max_age_s,
            "flushIntervalSeconds": self.policy.flush_interval_s,
            "persistent": self._file is not None,
        }

    def close(self) -> None:
        """Write everything that waits, prune, and close the file. Idempotent."""
        self.release_waiters()
        if self._writer is not None:
            self._stop = True
            self._wake_writer.set()
            self._writer.join()
            self._writer = None
        if self._file is not None:
            self._write_pending()  # anything recorded while the writer finished
            self._file.close()
            self._file = None


_Row = tuple[int, float, ExecutionRecord]  # (seq, ts_ms, record)


def _seq_of(row: _Row) -> int:
    return row[0]


def _ts_of(row: _Row) -> float:
    return row[1]


def _entries(rows: Iterable[_Row]) -> list[LogEntry]:
    return [LogEntry._make(row) for row in rows]


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
