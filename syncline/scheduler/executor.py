"""Running scheduled functions when they are due: exactly-once mutations, at-most-once actions.

Jobs live in the `_scheduled_functions` system table (written by `ctx.scheduler`),
so they survive restarts. The executor keeps the pending ones in a heap ordered
by due time, learns of new, changed and canceled jobs from the committer, and
sleeps on a `Clock` until the next one is due, so tests drive it with a fake clock.

- A **mutation** job runs in one transaction with its own completion: the job
  document is read (it must still be pending) and marked `success` in the
  transaction that applies the mutation's writes. Either both commit or neither;
  a conflict re-runs both. So it runs exactly once, across crashes too.
- An **action** job is first marked `inProgress` in a transaction of its own,
  then run, then marked `success` or `failed`. A job found `inProgress` at
  startup was interrupted by a crash: it is marked failed, never run again.
- A job whose function fails is marked `failed` with the error message; one that
  could not run or be marked because the disk is full stays as it is (nothing of it
  was written) and is tried again every DISK_FULL_RETRY_MS.
- Finished jobs are deleted after 7 days.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import logging
import threading
import time
from typing import Any

from syncline.database import Database, Transaction
from syncline.database.write_log import LoggedCommit
from syncline.errors import DiskFullError, SynclineError
from syncline.functions import FunctionRunner, RegisteredFunction
from syncline.functions.scheduling import SCHEDULED_FUNCTIONS
from syncline.scheduler.background import BackgroundService
from syncline.scheduler.clock import Clock, RealClock

MAX_CONCURRENT_JOBS = 10  # the documented concurrency for scheduled jobs
RETENTION_MS = 7 * 24 * 3600 * 1000.0
CLEANUP_EVERY_MS = 3600 * 1000.0
DISK_FULL_RETRY_MS = 1000.0
DISK_FULL_WARN_S = 10.0
_PAGE = 1_000

_log = logging.getLogger(__name__)


class _NotPending(SynclineError):
    """The job was canceled (or already ran) before its turn."""


class _CompletesJob:
    """Wraps a scheduled mutation so that its job is checked and marked done in the
    mutation's own transaction."""

    def __init__(self, job_id: str, now_ms: float) -> None:
        self.job_id = job_id
        self.now_ms = now_ms
        self.skipped = False

    def wrap(self, fn: RegisteredFunction, tx: Transaction) -> RegisteredFunction:
        job_id, guard = self.job_id, self

        async def handler(ctx: Any, **args: Any) -> Any:
            job = await tx.get(job_id)
            if job is None or job["state"]["kind"] != "pending":
                guard.skipped = True
                raise _NotPending(f"scheduled function {job_id} is no longer pending")
            value = await fn.handler(ctx, **args)
            await tx.patch(job_id, {"state": {"kind": "success"},
                                    "completedTime": guard.now_ms}, system=True)
            return value

        return dataclasses.replace(fn, handler=handler)


class Scheduler(BackgroundService):
    task_name = "syncline-scheduler"

    def __init__(self, runner: FunctionRunner, db: Database, clock: Clock | None = None, *,
                 concurrency: int = MAX_CONCURRENT_JOBS) -> None:
        super().__init__()
        self.runner = runner
        self.db = db
        self.clock = clock or RealClock()
        runner.now_ms = self.clock.now_ms  # functions' "now" and scheduling share this clock
        self.executed = 0  # job executions started (tests count them)
        self._concurrency = concurrency
        self._heap: list[tuple[float, str]] = []
        self._pending: dict[str, float] = {}
        self._docs: dict[str, dict[str, Any]] = {}  # pending jobs' documents, as last read
        self._running: set[str] = set()
        # Jobs this executor ran: their later commits (inProgress, success, ...) need no read.
        self._settled: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._dirty: set[str] = set()
        self._dirty_lock = threading.Lock()
        self._wakeup = asyncio.Event()
        self._next_cleanup = 0.0
        self._disk_full_warned = -DISK_FULL_WARN_S  # when _warn_disk_full last logged
        db.add_commit_listener(self._on_commit)

    # -- lifecycle ---------------------------------------------------------------------------

    async def stop(self) -> None:
        await super().stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until no job is due now or running, and no clean-up is under way (for
        tests and the harness)."""
        while True:
            await asyncio.sleep(0)
            self._refresh_now()
            due = any(t <= self.clock.now_ms() for t in self._pending.values())
            if not due and not self._running and not self._dirty and not self._tasks:
                return
            await asyncio.sleep(0.001)

    def job_counts(self) -> tuple[int, int]:
        """(running, queued): jobs running now, and pending ones due but not started."""
        now = self.clock.now_ms()
        return len(self._running), sum(1 for due in self._pending.values() if due <= now)

    def next_due_ms(self) -> float | None:
        """When the earliest pending job is due, or None (the test harness jumps there)."""
        return min(self._pending.values(), default=None)

    # -- following the table -----------------------------------------------------------------

    def _on_commit(self, commit: LoggedCommit) -> None:
        """Committer thread: note which job documents changed, and wake the loop."""
        ids = [d.document_id for d in commit.documents if d.table == SCHEDULED_FUNCTIONS]
        if not ids:
            return
        with self._dirty_lock:
            self._dirty.update(ids)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wakeup.set)

    def _refresh_now(self) -> None:
        if self._dirty and self._loop is not None:
            self._wakeup.set()

    async def _refresh(self) -> None:
        with self._dirty_lock:
            ids, self._dirty = self._dirty, set()
        ours = ids & (self._running | self._settled)
        self._settled -= ours
        ids -= ours
        if not ids:
            return

        async def read(tx: Transaction) -> list[tuple[str, dict[str, Any] | None]]:
            return [(i, await tx.get(i)) for i in ids]

        for job_id, job in await self.db.read(read):
            self._track(job_id, job)

    def _track(self, job_id: str, job: dict[str, Any] | None) -> None:
        if job is None or job["state"]["kind"] != "pending":
            self._pending.pop(job_id, None)
            self._docs.pop(job_id, None)
            return
        due = job["scheduledTime"]
        self._docs[job_id] = job
        if self._pending.get(job_id) != due and job_id not in self._running:
            self._pending[job_id] = due
            heapq.heappush(self._heap, (due, job_id))

    async def _load(self) -> None:
        """Every job, page by page: pending ones are tracked, interrupted actions failed."""
        cursor: str | None = None
        interrupted: list[str] = []
        while True:
            page = await self.db.read(lambda tx, c=cursor: tx.query(
                SCHEDULED_FUNCTIONS, system=True).paginate({"numItems": _PAGE, "cursor": c}))
            for job in page["page"]:
                kind = job["state"]["kind"]
                if kind == "inProgress":
                    interrupted.append(job["_id"])
                else:
                    self._track(job["_id"], job)
            if page["isDone"]:
                break
            cursor = page["continueCursor"]
        for job_id in interrupted:
            await self._finish(job_id, "inProgress", {
                "kind": "failed",
                "error": "The deployment stopped while this action was running; actions run "
                         "at most once, so it was not run again"})

    # -- the loop ------------------------------------------------------------------------------

    async def _main(self) -> None:
        await self._load()
        while True:
            self._wakeup.clear()
            await self._refresh()
            now = self.clock.now_ms()
            if now >= self._next_cleanup:
                self._next_cleanup = now + CLEANUP_EVERY_MS
                self._spawn(self._cleanup(now))
            self._dispatch(now)
            await self._sleep()

    def _dispatch(self, now: float) -> None:
        """Start due jobs, only as many as there are free slots: the rest stay in the heap,
        so a burst of due jobs costs no tasks beyond the running ones. Called by the loop
        and by each finishing job, so a freed slot is refilled at once."""
        while (self._heap and self._heap[0][0] <= now
               and len(self._running) < self._concurrency):
            due, job_id = heapq.heappop(self._heap)
            if self._pending.get(job_id) != due:
                continue  # superseded, canceled or done
            del self._pending[job_id]
            self._running.add(job_id)
            self._spawn(self._run(job_id, self._docs.pop(job_id, None)))

    async def _sleep(self) -> None:
        waiters = [asyncio.ensure_future(self._wakeup.wait())]
        wake_at = self._next_cleanup
        # With every slot busy, only a finishing job (or a change) can let more start.
        if self._heap and len(self._running) < self._concurrency:
            wake_at = min(wake_at, self._heap[0][0])
        waiters.append(asyncio.ensure_future(self.clock.sleep_until(wake_at)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _warn_disk_full(self, what: str) -> None:
        """One warning per DISK_FULL_WARN_S, not one per job and retry."""
        now = time.monotonic()
        if now - self._disk_full_warned >= DISK_FULL_WARN_S:
            self._disk_full_warned = now
            _log.warning("The disk is full: %s (jobs are retried every %.0f s)", what,
                         DISK_FULL_RETRY_MS / 1000)

    def _retry_later(self, job_id: str, job: dict[str, Any]) -> None:
        """Run the job again in DISK_FULL_RETRY_MS (it re-checks its state then)."""
        due = self.clock.now_ms() + DISK_FULL_RETRY_MS
        self._docs[job_id] = job
        self._pending[job_id] = due
        heapq.heappush(self._heap, (due, job_id))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- running one job ---------------------------------------------------------------------

    async def _run(self, job_id: str, job: dict[str, Any] | None) -> None:
        retry: dict[str, Any] | None = None
        try:
            if job is None:
                job = await self.db.read(lambda tx: tx.get(job_id))
            # The document may be a moment old: a mutation re-checks the state in its own
            # transaction, an action in the transaction that marks it inProgress.
            if job is None or job["state"]["kind"] != "pending":
                return
            if await self._parent_canceled(job):
                await self._finish(job_id, "pending", {"kind": "canceled"})
                return
            self.executed += 1
            if self.runner.metrics is not None:
                self.runner.metrics.job_started(self.clock.now_ms() - job["scheduledTime"])
            await self._execute(job_id, job)
        except DiskFullError:
            self._warn_disk_full(f"scheduled function {job_id} waits for room on the disk")
            retry = job
        except Exception:
            _log.exception("scheduled function %s failed to run", job_id)
        finally:
            self._running.discard(job_id)
            if retry is not None:
                self._retry_later(job_id, retry)
            self._settled.add(job_id)
            if len(self._settled) > 100_000:  # ids whose commits never came back to us
                self._settled.clear()
            if self._task is not None:
                self._dispatch(self.clock.now_ms())
            self._wakeup.set()

    async def _execute(self, job_id: str, job: dict[str, Any]) -> None:
        path, args = job["name"], (job["args"] or [{}])[0]
        app = self.runner.app
        fn = app.functions.get(path) if app is not None else None
        if fn is None or fn.kind == "query":
            reason = (f"Could not find function for '{path}'" if fn is None else
                      f"'{path}' is a query: only mutations and actions can be scheduled")
            await self._finish(job_id, "pending", {"kind": "failed", "error": reason})
            return
        if fn.kind == "mutation":
            guard = _CompletesJob(job_id, self.clock.now_ms())
            outcome = await self.runner.run(path, args, expected_kind="mutation", admin=True,
                                            guard=guard)
            if not outcome.ok and not guard.skipped:
                if outcome.failure.retryable:  # type: ignore[union-attr]
                    raise DiskFullError(outcome.failure.message)  # type: ignore[union-attr]
                await self._finish(job_id, "pending", {
                    "kind": "failed", "error": outcome.failure.message})  # type: ignore[union-attr]
            return
        if not await self._finish(job_id, "pending", {"kind": "inProgress"}, completed=False):
            return  # canceled meanwhile
        outcome = await self.runner.run(path, args, expected_kind="action", admin=True,
                                        scheduled_job=job_id)
        state = ({"kind": "success"} if outcome.ok else
                 {"kind": "failed", "error": outcome.failure.message})  # type: ignore[union-attr]
        while True:  # the action ran (at most once): its outcome must not be lost
            try:
                await self._finish(job_id, "inProgress", state)
                return
            except DiskFullError:
                self._warn_disk_full(f"scheduled function {job_id} ran; its outcome is "
                                     "recorded once there is room on the disk")
                await asyncio.sleep(DISK_FULL_RETRY_MS / 1000)

    async def _parent_canceled(self, job: dict[str, Any]) -> bool:
        """Whether the scheduled action that scheduled this job was canceled: canceling a
        running action lets it finish but stops what it schedules."""
        parent = job.get("parent")
        if parent is None:
            return False
        parent_job = await self.db.read(lambda tx: tx.get(parent))
        return parent_job is not None and parent_job["state"]["kind"] == "canceled"

    async def _finish(self, job_id: str, expected: str, state: dict[str, Any], *,
                      completed: bool = True) -> bool:
        """Move the job from state `expected` to `state`; False if it was not in `expected`."""
        now = self.clock.now_ms()

        async def move(tx: Transaction) -> bool:
            job = await tx.get(job_id)
            if job is None or job["state"]["kind"] != expected:
                return False
            fields: dict[str, Any] = {"state": state}
            if completed:
                fields["completedTime"] = now
            await tx.patch(job_id, fields, system=True)
            return True

        return await self.db.run_transaction(move)

    async def _cleanup(self, now: float) -> None:
        """Delete jobs that finished more than 7 days ago."""
        horizon = now - RETENTION_MS
        cursor: str | None = None
        while True:
            async def sweep(tx: Transaction, c: str | None = cursor) -> dict[str, Any]:
                page = await tx.query(SCHEDULED_FUNCTIONS, system=True).paginate(
                    {"numItems": _PAGE, "cursor": c})
                for job in page["page"]:
                    done = job.get("completedTime")
                    if done is not None and done < horizon and \
                            job["state"]["kind"] not in ("pending", "inProgress"):
                        await tx.delete(job["_id"], system=True)
                return page

            page = await self.db.run_transaction(sweep)
            if page["isDone"]:
                return
            cursor = page["continueCursor"]
