"""The single committer: validates transactions, assigns timestamps, writes durably.

Validation and timestamp assignment happen under one lock, in memory, so they
are fast and totally ordered. The durable write happens on a dedicated writer
thread that takes every commit queued while it was busy and lands them in one
storage transaction (group commit): at concurrency, one fsync serves many
commits. A commit's future resolves only after its batch is durable, and the
visible timestamp (what new transactions read at) only moves past durable data.

A caller with nothing else to do (one client at a time) may ask to write its
commit itself when the writer thread is idle: waking that thread and being woken
back costs more than the write. Callers that commit together may instead queue
their commits without waking the writer (`defer`) and then `flush()` them as one
batch on their own thread, which is cheaper when a batch costs no fsync (durability
"normal"). Whoever writes holds the writer role (`_busy`), so batches still land
one at a time and in timestamp order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from syncline.database.counts import TableCounts
from syncline.database.read_set import FrozenReadSet
from syncline.database.write_log import LoggedCommit, WriteLog, WrittenDocument
from syncline.errors import SynclineError, WriteConflictError
from syncline.storage.interface import CommitRecord, Persistence

_log = logging.getLogger(__name__)

CommitListener = Callable[[LoggedCommit], None]
# Commits written per storage transaction at most, so one huge backlog cannot
# make a single fsync wait on megabytes of unrelated work.
MAX_BATCH = 512


@dataclass(slots=True)
class CommitRequest:
    """What a transaction hands the committer."""

    snapshot_ts: int
    schema_version: int
    read_set: FrozenReadSet
    touched: tuple[tuple[int, bytes, int], ...]
    documents: tuple[WrittenDocument, ...]
    build_record: Callable[[int], CommitRecord]
    table_numbers: set[int] = field(default_factory=set)
    search_changes: tuple[Any, ...] = ()  # SearchChange (database/search/), for the indexer
    count_deltas: dict[int, int] = field(default_factory=dict)  # table number -> +/- docs


@dataclass(slots=True)
class _CommitJob:
    ts: int
    build_record: Callable[[int], CommitRecord]
    new_tables: list[Any]  # tables this commit persists first (decided in commit order)
    logged: LoggedCommit
    future: Future[int]
    table_numbers: set[int]
    search_changes: tuple[Any, ...] = ()
    count_deltas: dict[int, int] = field(default_factory=dict)

    def record(self) -> CommitRecord:
        """Built by whoever writes the batch, not under the commit lock: for a large
        commit (a data import) that is a lot of objects, and `Database.begin` waits
        on that lock."""
        record = self.build_record(self.ts)
        record.new_tables = self.new_tables
        return record


@dataclass(slots=True)
class _ExclusiveJob:
    """Work that must see every earlier commit and block every later one (schema pushes)."""

    fn: Callable[[int], Any]
    future: Future[Any]


@dataclass(slots=True)
class _MaintenanceJob:
    """Writer-connection housekeeping between commit batches: it changes nothing a
    transaction can read, so unlike an exclusive job it takes no timestamp and makes
    no running transaction retry."""

    fn: Callable[[], Any]
    future: Future[Any]


# What the writer thread takes from its queue; None tells it to stop.
_Job = _CommitJob | _ExclusiveJob | _MaintenanceJob | None


class CommitterClosedError(SynclineError):
    """The database was closed while a commit was in flight or after."""


class Committer:
    def __init__(
        self, persistence: Persistence, max_ts: int,
        mark_tables_persisted: Callable[[set[int]], None],
        unpersisted_tables: Callable[[set[int]], list[Any]],
        counts: dict[int, int] | None = None,
    ) -> None:
        self._persistence = persistence
        self._mark_tables_persisted = mark_tables_persisted
        self._unpersisted_tables = unpersisted_tables
        # Held while a commit is validated and while an exclusive job runs; the Database
        # also takes it to read a consistent (snapshot, schema version, schema) triple.
        self.lock = threading.RLock()
        self._wakeup = threading.Condition(threading.Lock())
        self._queue: deque[_Job] = deque()
        self._busy = False  # some thread is writing (the writer, or an inline commit)
        # (ts, callback) called once visible_ts reaches ts (on the thread that moved it).
        self._visible_waiters: list[tuple[int, Callable[[], None]]] = []
        self._log = WriteLog(horizon_ts=max_ts)
        self._last_ts = max_ts
        self.visible_ts = max_ts
        # Every commit up to here was written or refused (say, on a full disk): nobody
        # need wait to see one of them (see when_visible).
        self._settled_ts = max_ts
        self.schema_version = 0
        # Live documents per table at every visible snapshot (counts.py), moved by each
        # commit as it becomes visible.
        self.counts = TableCounts(counts or {}, max_ts)
        self._closed = False
        self._listeners: list[CommitListener] = []
        # Hears every commit's search-index changes (even none) before other listeners.
        self.search_listener: Callable[[int, tuple[Any, ...]], None] | None = None
        # Batches cost no fsync: callers may write them themselves (see flush()).
        self.cheap_batches = getattr(persistence, "durability", "full") == "normal"
        self._thread = threading.Thread(target=self._run, name="syncline-committer", daemon=True)
        self._thread.start()

    # -- submission (any thread) --------------------------------------------------------

    def add_listener(self, listener: CommitListener) -> None:
        """Call `listener` on the writer thread once each commit is durable and visible,
        before the committing transaction is told it succeeded."""
        self._listeners.append(listener)

    def submit(self, request: CommitRequest, *, inline: bool = False,
               defer: bool = False) -> Future[int]:
        """Validate and order `request`; the future resolves once it is durable. With
        `inline`, if no other write is pending, the calling thread writes it at once.
        With `defer`, it waits in the queue for `flush()` (or the writer thread, if
        that is busy anyway)."""
        future: Future[int] = Future()
        with self.lock:
            if self._closed:
                future.set_exception(CommitterClosedError("The database is closed"))
                return future
            if request.schema_version != self.schema_version:
                future.set_exception(WriteConflictError(
                    "The schema changed while this transaction ran; retry it"
                ))
                return future
            conflict = self._log.find_conflict(request.read_set, request.snapshot_ts)
            if conflict is not None:
                future.set_exception(_conflict_error(conflict.document, conflict.ts))
                return future
            ts = self._next_ts()
            logged = LoggedCommit(ts, request.touched, request.documents)
            self._log.append(logged)
            job = _CommitJob(ts, request.build_record,
                             self._unpersisted_tables(request.table_numbers), logged, future,
                             request.table_numbers, request.search_changes,
                             request.count_deltas)
            with self._wakeup:
                claimed = inline and not self._busy and not self._queue
                if claimed:
                    self._busy = True
                else:
                    self._queue.append(job)
                    if not defer or self._busy:
                        self._wakeup.notify()
        if claimed:
            self._write_as_writer([job])
        return future

    def flush(self) -> None:
        """Write the queued commits as one batch on this thread if no one is writing;
        otherwise leave them to the writer thread (woken)."""
        with self._wakeup:
            if self._busy or not self._queue or not isinstance(self._queue[0], _CommitJob):
                if self._queue:
                    self._wakeup.notify()
                return
            self._busy = True
            batch: list[_CommitJob] = []
            while (self._queue and isinstance(self._queue[0], _CommitJob)
                   and len(batch) < MAX_BATCH):
                job = self._queue.popleft()
                assert isinstance(job, _CommitJob)
                batch.append(job)
        self._write_as_writer(batch)

    def _write_as_writer(self, batch: list[_CommitJob]) -> None:
        """Write `batch` on this thread, which took the writer role; then give it back,
        waking the writer thread if commits queued up meanwhile."""
        try:
            self._write_batch(batch)
        finally:
            with self._wakeup:
                self._busy = False
                if self._queue:
                    self._wakeup.notify()

    def run_exclusive(self, fn: Callable[[int], Any]) -> Future[Any]:
        """Run `fn(ts)` on the writer thread after all queued commits, with commits paused.

        `fn` receives a fresh commit timestamp; if it returns normally that timestamp
        becomes visible and the schema version moves on, so transactions that began
        before it retry.
        """
        return self._submit_job(lambda future: _ExclusiveJob(fn, future))

    def run_maintenance(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run `fn()` on the writer thread, between commit batches (storage housekeeping
        that needs the writer connection but no timestamp)."""
        return self._submit_job(lambda future: _MaintenanceJob(fn, future))

    def _submit_job(self, make: Callable[[Future[Any]], _Job]) -> Future[Any]:
        future: Future[Any] = Future()
        with self.lock:
            if self._closed:
                future.set_exception(CommitterClosedError("The database is closed"))
                return future
            self._enqueue(make(future))
        return future

    def unchanged_since(self, read_set: FrozenReadSet, snapshot_ts: int,
                        max_commits: int) -> bool:
        """Whether no commit (durable or still being written) after `snapshot_ts` wrote
        into `read_set`: a read at `snapshot_ts` would read the same now."""
        with self.lock:
            return self._log.find_conflict(read_set, snapshot_ts, max_commits) is None

    def document_count(self, table_number: int, ts: int) -> int | None:
        """The table's live documents at visible snapshot `ts`, or None if `ts` is older
        than the counts remember (counts.py; then storage must count)."""
        with self.lock:
            return self.counts.at(table_number, ts)

    def forget_through(self, ts: int) -> None:
        """Drop the conflict history up to `ts` (see WriteLog.forget_through)."""
        with self.lock:
            self._log.forget_through(ts)

    def when_visible(self, ts: int, callback: Callable[[], None]) -> None:
        """Call `callback` once commits up to `ts` are visible or refused (at once if they
        are): on this thread, or on the thread that settles them."""
        with self.lock:
            if max(self.visible_ts, self._settled_ts) < ts and not self._closed:
                self._visible_waiters.append((ts, callback))
                return
        callback()

    def _take_visible_waiters(self) -> list[Callable[[], None]]:
        """Lock held: the callbacks whose timestamp is now visible (or refused), removed."""
        if not self._visible_waiters:
            return []
        upto = max(self.visible_ts, self._settled_ts)
        due = [cb for ts, cb in self._visible_waiters if ts <= upto]
        if due:
            self._visible_waiters = [(ts, cb) for ts, cb in self._visible_waiters
                                     if ts > upto]
        return due

    def _next_ts(self) -> int:
        ts = max(self._last_ts + 1, time.time_ns())
        self._last_ts = ts
        return ts

    def _enqueue(self, job: _Job) -> None:
        with self._wakeup:
            self._queue.append(job)
            self._wakeup.notify()

    # -- the writer thread ---------------------------------------------------------------

    def _take_jobs(self) -> list[_Job]:
        with self._wakeup:
            while not self._queue or self._busy:
                self._wakeup.wait()
            self._busy = True
            # Take commits up to and including the first exclusive job: commits queued
            # behind it must be drained by that job itself, under the commit lock.
            jobs: list[_Job] = []
            while self._queue:
                job = self._queue.popleft()
                jobs.append(job)
                if not isinstance(job, _CommitJob):
                    break
        return jobs

    def _run(self) -> None:
        while self._run_jobs(self._take_jobs()):
            with self._wakeup:
                self._busy = False

    def _run_jobs(self, jobs: list[_Job]) -> bool:
        """Run the jobs taken; False once told to stop. The jobs (a commit's documents,
        which for a data import are many) are referenced only until this returns, not
        while the writer thread waits for more."""
        batch: list[_CommitJob] = []
        for job in jobs:
            if isinstance(job, _CommitJob):
                batch.append(job)
                if len(batch) >= MAX_BATCH:
                    self._write_batch(batch)
                    batch = []
                continue
            self._write_batch(batch)
            batch = []
            if job is None:
                return False
            if isinstance(job, _MaintenanceJob):
                _run_maintenance_job(job)
            else:
                self._run_exclusive_job(job)
        self._write_batch(batch)
        return True

    def _write_batch(self, batch: list[_CommitJob]) -> None:
        if not batch:
            return
        try:
            self._persistence.write_commits([job.record() for job in batch])
        except BaseException as error:  # noqa: BLE001 - every waiter must hear about it
            with self.lock:
                self._log.remove({job.ts for job in batch})
                # Batches land in timestamp order, so every commit up to this batch's last
                # is durable or refused: whoever waits to see one (a retry after conflicting
                # with a refused commit, say on a full disk) need not wait for a later one.
                self._settled_ts = max(self._settled_ts, batch[-1].ts)
                due = self._take_visible_waiters()
            for callback in due:
                callback()
            for job in batch:
                job.future.set_exception(error)
            return
        tables: set[int] = set()
        for job in batch:
            tables |= job.table_numbers
        with self.lock:
            self._mark_tables_persisted(tables)
            for job in batch:
                if job.count_deltas:
                    self.counts.apply(job.ts, job.count_deltas)
            self.visible_ts = batch[-1].ts
            due = self._take_visible_waiters()
        for callback in due:
            callback()
        # Listeners hear of a commit before its caller does, so whoever waits on a
        # commit can rely on every listener (e.g. subscription invalidation) having run.
        for job in batch:
            if self.search_listener is not None:
                try:
                    self.search_listener(job.ts, job.search_changes)
                except Exception:  # indexing trouble must not stop commits
                    _log.exception("search indexing listener failed")
            for listener in self._listeners:
                try:
                    listener(job.logged)
                except Exception:  # a broken listener must not stop the committer
                    _log.exception("commit listener %r failed", listener)
        for job in batch:
            # A caller that stopped waiting (its task was cancelled) must not stop the
            # committer: the commit is durable either way.
            if not job.future.cancelled():
                job.future.set_result(job.ts)

    def _run_exclusive_job(self, job: _ExclusiveJob) -> None:
        with self.lock:
            # Commits validated before we took the lock are queued behind us: land them
            # first so the exclusive work sees the latest state.
            with self._wakeup:
                pending = [j for j in self._queue if isinstance(j, _CommitJob)]
                rest = [j for j in self._queue if not isinstance(j, _CommitJob)]
                self._queue.clear()
                self._queue.extend(rest)
            for start in range(0, len(pending), MAX_BATCH):
                self._write_batch(pending[start:start + MAX_BATCH])
            ts = self._next_ts()
            try:
                result = job.fn(ts)
            except BaseException as error:  # noqa: BLE001 - reported to the caller
                job.future.set_exception(error)
                return
            self.schema_version += 1
            self.visible_ts = ts
            due = self._take_visible_waiters()
        for callback in due:
            callback()
        if self.search_listener is not None:
            self.search_listener(ts, ())  # searches at this timestamp need not wait
        job.future.set_result(result)

    def close(self) -> None:
        with self.lock:
            if self._closed:
                return
            self._closed = True
            self._enqueue(None)
        self._thread.join()
        with self.lock:  # nothing more becomes visible: nobody may wait for it
            waiters, self._visible_waiters = self._visible_waiters, []
        for _ts, callback in waiters:
            callback()


def _run_maintenance_job(job: _MaintenanceJob) -> None:
    # Its caller may have stopped waiting (a pruner cancelled at shutdown): then skip it,
    # and never fail on the cancelled future, which would end the writer thread.
    if not job.future.set_running_or_notify_cancel():
        return
    try:
        result = job.fn()
    except BaseException as error:  # noqa: BLE001 - reported to the caller
        job.future.set_exception(error)
        return
    job.future.set_result(result)


def _conflict_error(document: WrittenDocument | None, ts: int) -> WriteConflictError:
    if document is None:
        return WriteConflictError(
            "This transaction's snapshot is older than the committer's conflict history; "
            "it was not applied and can be retried", conflict_ts=ts,
        )
    return WriteConflictError(
        f"Documents read from or written to the {document.table!r} table changed while this "
        f"transaction was being run: a concurrent commit wrote the document with ID "
        f"{document.document_id!r}. Nothing was applied; the transaction can be retried.",
        table=document.table,
        document_id=document.document_id,
        conflict_ts=ts,
    )
