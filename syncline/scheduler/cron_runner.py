"""Running an app's cron jobs (`convex/crons.py`) on their schedules.

Each due run of a cron job becomes a scheduled job in `_scheduled_functions`,
so it is executed, retried and recorded exactly like `ctx.scheduler` jobs
(mutations exactly once, actions at most once). At most one run of a cron job
is in flight: if the previous run is still pending or running when the next is
due, the next is skipped and the skip is logged. Runs that fell due while the
deployment was down are skipped too: after a restart, each job's next run is
computed from the present.

The job set is replaced as a whole when a push activates new code; a job
whose definition did not change keeps its schedule (an interval job keeps its
anchor), a new or changed one starts from the push time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from syncline.database import Database, Transaction
from syncline.errors import DiskFullError
from syncline.functions.scheduling import SCHEDULED_FUNCTIONS, job_document
from syncline.scheduler.background import BackgroundService
from syncline.scheduler.clock import Clock
from syncline.scheduler.crons import CronJob, Crons

_log = logging.getLogger(__name__)


@dataclass
class _Tracked:
    job: CronJob
    anchor_ms: float
    next_ms: float
    last_run_id: str | None = None


class CronRunner(BackgroundService):
    task_name = "syncline-crons"

    def __init__(self, db: Database, clock: Clock) -> None:
        super().__init__()
        self.db = db
        self.clock = clock
        self.skipped: list[tuple[str, float]] = []  # (cron name, due time) of skipped runs
        self._jobs: dict[str, _Tracked] = {}
        self._changed = asyncio.Event()
        self._firing = False

    def set_jobs(self, crons: Crons | None) -> None:
        """Make `crons` the job set (None: no crons). Thread-safe: a push calls it while
        commits are paused, on the committer's thread."""
        now = self.clock.now_ms()
        jobs: dict[str, _Tracked] = {}
        for job in (crons.jobs() if crons is not None else []):
            old = self._jobs.get(job.name)
            if old is not None and old.job == job:
                old.job = job  # the same job, perhaps written differently (minutes=1 for 60 s)
                jobs[job.name] = old
            else:
                first = job.schedule.first_run_ms(now)
                jobs[job.name] = _Tracked(job, now, first)
        self._jobs = jobs
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._changed.set)

    @property
    def job_names(self) -> list[str]:
        return list(self._jobs)

    def upcoming(self) -> list[tuple[CronJob, float]]:
        """Each job with the Unix ms of its next run, for the system functions."""
        return [(tracked.job, tracked.next_ms) for tracked in list(self._jobs.values())]

    async def idle(self) -> None:
        """Wait until every due run has been scheduled (for tests and the harness)."""
        while self._firing or any(t.next_ms <= self.clock.now_ms()
                                  for t in self._jobs.values()):
            await asyncio.sleep(0.001)

    async def _main(self) -> None:
        while True:
            self._changed.clear()
            now = self.clock.now_ms()
            self._firing = True
            try:
                for tracked in list(self._jobs.values()):
                    if tracked.next_ms <= now:
                        await self._fire(tracked, now)
            finally:
                self._firing = False
            upcoming = [t.next_ms for t in self._jobs.values()]
            waiters = [asyncio.ensure_future(self._changed.wait())]
            if upcoming:
                waiters.append(asyncio.ensure_future(self.clock.sleep_until(min(upcoming))))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()

    async def _fire(self, tracked: _Tracked, now: float) -> None:
        due = tracked.next_ms
        tracked.next_ms = tracked.job.schedule.next_run_ms(now, anchor_ms=tracked.anchor_ms)
        job = tracked.job
        previous = tracked.last_run_id

        async def schedule(tx: Transaction) -> str | None:
            if previous is not None:
                last = await tx.get(previous)
                if last is not None and last["state"]["kind"] in ("pending", "inProgress"):
                    return None
            document = job_document(job.function_path, job.args, now)
            document["cron"] = job.name
            return await tx.insert(SCHEDULED_FUNCTIONS, document, system=True)

        try:
            run_id = await self.db.run_transaction(schedule)
        except DiskFullError:  # as any failed run: it is skipped, the next one goes ahead
            _log.warning("cron job %r skipped the run due at %s: the disk is full",
                         job.name, _iso(due))
            return
        except Exception:
            _log.exception("cron job %r could not be scheduled", job.name)
            return
        if run_id is None:
            self.skipped.append((job.name, due))
            _log.warning("cron job %r skipped the run due at %s: the previous run is still "
                         "going", job.name, _iso(due))
            return
        tracked.last_run_id = run_id


def _iso(ms: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).isoformat()


def crons_of(module: Any) -> Crons | None:
    """The `crons` a loaded `convex/crons.py` defines, or None; an error if it is not one."""
    if module is None:
        return None
    crons = getattr(module, "crons", None)
    if not isinstance(crons, Crons):
        raise TypeError("convex/crons.py must define `crons = Crons()`"
                        + ("" if crons is None else f"; found {type(crons).__name__}"))
    return crons
