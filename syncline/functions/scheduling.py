"""`ctx.scheduler`: recording scheduled functions in the `_scheduled_functions` system table.

From a mutation, a scheduled call is a document written in the mutation's own
transaction, so it exists only if the mutation commits. From an action it is
written at once, in a transaction of its own. Running due jobs is the
scheduler layer's work; this module only records and cancels them.

Documents have Convex's shape: `name` (the function path), `args` (a
one-element array holding the arguments), `scheduledTime` and `completedTime`
in Unix milliseconds, and `state` = `{"kind": "pending" | "inProgress" |
"success" | "failed" (with "error") | "canceled"}`.
"""

from __future__ import annotations

import datetime as _datetime
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from syncline.database import Database, Transaction
from syncline.errors import InvalidIdError, InvalidValueError, SynclineError
from syncline.functions.references import function_path
from syncline.functions.registration import RegisteredFunction
from syncline.values import check_value, decode_id, normalize
from syncline.values.limits import MAX_FUNCTION_ARGS_SIZE

SCHEDULED_FUNCTIONS = "_scheduled_functions"
MAX_SCHEDULED_PER_EXECUTION = 1_000
MAX_SCHEDULED_ARGS_PER_MUTATION = 16 * 1024 * 1024


class SchedulingError(SynclineError):
    """A scheduling call was given bad arguments or went past a scheduling limit."""


# The app's functions by path, or None when no app is loaded (nothing can be checked).
Functions = Mapping[str, RegisteredFunction] | None


def checked_target(functions: Functions, ref: Any) -> str:
    """The path of a function that can be scheduled: it exists and is a mutation or an action.

    Checked at the `run_after` / `run_at` call, as Convex does, so the mistake surfaces in
    the function that made it rather than later in a failed job. The job still checks again
    when it runs: a later push may have removed the function.
    """
    path = function_path(ref)
    if functions is None:
        return path
    fn = functions.get(path)
    if fn is None:
        module, _, name = path.partition(":")
        if not any(p.partition(":")[0] == module for p in functions):
            raise SchedulingError(
                f"Attempted to schedule function at nonexistent path: {module}.py")
        raise SchedulingError(
            f"Attempted to schedule function, but no exported function {name} found in the "
            f"file: {module}.py. Did you forget to export it?")
    if fn.kind == "query":
        raise SchedulingError(
            f"Attempted to schedule function at {path}, but it is a query: only mutations "
            "and actions can be scheduled (read in a mutation, or call the query from an "
            "action with ctx.run_query)")
    return path


def job_document(path: str, args: dict[str, Any], scheduled_ms: float,
                 parent: str | None = None) -> dict[str, Any]:
    """A new pending job. `parent` is the scheduled action that scheduled it, if any: when
    that action is canceled, what it scheduled does not run."""
    document = {"name": path, "args": [args], "scheduledTime": float(scheduled_ms),
                "state": {"kind": "pending"}}
    if parent is not None:
        document["parent"] = parent
    return document


def _timestamp_ms(when: Any) -> float:
    if isinstance(when, _datetime.datetime):
        if when.tzinfo is None:
            raise SchedulingError("run_at needs an aware datetime (with a timezone) or Unix "
                                  "milliseconds")
        return when.timestamp() * 1000.0
    if isinstance(when, bool) or not isinstance(when, int | float):
        raise SchedulingError(f"run_at expects Unix milliseconds or a datetime, got {when!r}")
    return float(when)


def _delay_ms(delay: Any) -> float:
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay != delay:
        raise SchedulingError(f"run_after expects a delay in milliseconds, got {delay!r}")
    return max(0.0, float(delay))


def _checked_args(args: Any) -> dict[str, Any]:
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise SchedulingError(f"Scheduled function arguments must be an object, got {args!r}")
    try:
        args = normalize(args)
        check_value(args, max_size=MAX_FUNCTION_ARGS_SIZE, what="Scheduled function arguments")
    except InvalidValueError as e:
        raise SchedulingError(str(e)) from None
    return args


def _counted(count: int) -> int:
    """One more scheduled call for this execution, within the documented limit."""
    count += 1
    if count > MAX_SCHEDULED_PER_EXECUTION:
        raise SchedulingError(
            f"Too many functions scheduled by one execution (limit: "
            f"{MAX_SCHEDULED_PER_EXECUTION})")
    return count


def _job_id(job_id: Any) -> str:
    try:
        number, _ = decode_id(job_id) if isinstance(job_id, str) else (None, None)
    except InvalidIdError:
        number = None
    from syncline.database.catalog import SYSTEM_TABLES

    if number != SYSTEM_TABLES[SCHEDULED_FUNCTIONS]:
        raise SchedulingError(f"{job_id!r} is not the ID of a scheduled function")
    return job_id


async def cancel_in(tx: Transaction, job_id: Any, now_ms: float) -> None:
    """Cancel a job that has not finished; a finished one is left as it is."""
    job_id = _job_id(job_id)
    job = await tx.get(job_id)
    if job is None:
        return
    if job["state"]["kind"] in ("pending", "inProgress"):
        await tx.patch(job_id, {"state": {"kind": "canceled"}, "completedTime": now_ms},
                       system=True)


class MutationScheduler:
    """`ctx.scheduler` in a mutation: jobs are written in the mutation's transaction."""

    def __init__(self, tx: Transaction, now_ms: Callable[[], float],
                 functions: Functions = None) -> None:
        self._tx = tx
        self._now_ms = now_ms
        self._functions = functions
        self._count = 0
        self._args_size = 0

    def run_after(self, delay_ms: float, ref: Any, args: dict[str, Any] | None = None) -> Any:
        """Schedule `ref(args)` to run `delay_ms` from now; await it for the job's ID."""
        return self._schedule(self._now_ms() + _delay_ms(delay_ms), ref, args)

    def run_at(self, when: Any, ref: Any, args: dict[str, Any] | None = None) -> Any:
        """Schedule `ref(args)` at `when` (Unix ms or an aware datetime); await for the ID."""
        return self._schedule(_timestamp_ms(when), ref, args)

    def cancel(self, job_id: Any) -> Awaitable[None]:
        return cancel_in(self._tx, job_id, self._now_ms())

    def _schedule(self, at_ms: float, ref: Any, args: Any) -> Any:
        path, args = checked_target(self._functions, ref), _checked_args(args)
        self._count = _counted(self._count)
        self._args_size += check_value(args)
        if self._args_size > MAX_SCHEDULED_ARGS_PER_MUTATION:
            raise SchedulingError(
                "The arguments of the functions one mutation schedules total more than "
                f"{MAX_SCHEDULED_ARGS_PER_MUTATION // (1024 * 1024)} MiB")
        # An insert: the write is buffered now, and awaiting it (required) gives the ID.
        return self._tx.insert(SCHEDULED_FUNCTIONS, job_document(path, args, at_ms),
                               system=True)


class ActionScheduler:
    """`ctx.scheduler` in an action: each call commits its own small transaction at once."""

    def __init__(self, db: Database, now_ms: Callable[[], float],
                 parent: str | None = None, functions: Functions = None) -> None:
        self._db = db
        self._now_ms = now_ms
        self._functions = functions
        self._parent = parent  # the job this action runs as, if it is a scheduled one
        self._count = 0

    async def run_after(self, delay_ms: float, ref: Any, args: dict[str, Any] | None = None) -> str:
        return await self._schedule(self._now_ms() + _delay_ms(delay_ms), ref, args)

    async def run_at(self, when: Any, ref: Any, args: dict[str, Any] | None = None) -> str:
        return await self._schedule(_timestamp_ms(when), ref, args)

    async def cancel(self, job_id: Any) -> None:
        now = self._now_ms()
        await self._db.run_transaction(lambda tx: cancel_in(tx, job_id, now))

    async def _schedule(self, at_ms: float, ref: Any, args: Any) -> str:
        path, args = checked_target(self._functions, ref), _checked_args(args)
        self._count = _counted(self._count)
        document = job_document(path, args, at_ms, self._parent)

        async def insert(tx: Transaction) -> str:
            return await tx.insert(SCHEDULED_FUNCTIONS, document, system=True)

        return await self._db.run_transaction(insert)
