"""Runs registered functions: transactions, retries, limits, determinism, logs, errors.

Queries and mutations first run on a pool of worker threads (as many as cores,
growing to 16, the documented concurrency limit, while slow functions hold them;
see workers.py), each with its own event loop, so a slow or runaway function
cannot stall the server's loop. A function that has run quickly there without
ever suspending then runs inline, on the caller's thread (placement.py says
when). An inline run that suspends (`asyncio.gather`, a timer) is discarded and
run again on a worker, which is safe because nothing it did outside its
transaction survives. The watchdog guards inline runs the same way.

A mutation's execution only runs the handler; waiting for the commit (and its
fsync) happens back on the caller's loop, so many commits share one group
commit. Actions run on a separate, larger pool so an action waiting for
`run_query` can never starve the queries it waits for.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import itertools
import os
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from syncline.database import Database, FrozenReadSet, Transaction
from syncline.database.query import QueryJournal
from syncline.errors import ConvexError, SynclineError, ValidationError, WriteConflictError
from syncline.functions import determinism, logs
from syncline.functions.context import (
    ActionCtx,
    Auth,
    DatabaseReader,
    DatabaseWriter,
    MutationCtx,
    QueryCtx,
)
from syncline.functions.coroutines import Suspended, run_coroutine, run_inline
from syncline.functions.diagnostics import missing_await, missing_function_hint
from syncline.functions.errors import (
    ArgumentValidationError,
    FunctionCallError,
    FunctionFailure,
    FunctionNotFoundError,
    ReturnsValidationError,
    describe_failure,
)
from syncline.functions.file_storage import (
    ActionStorage,
    FileStorage,
    MutationStorage,
    QueryStorage,
)
from syncline.functions.identity import UserIdentity
from syncline.functions.limits import (
    ACTION_TIME_S,
    QUERY_MUTATION_USER_TIME_S,
    Deadline,
    FunctionTimeoutError,
    watchdog,
)
from syncline.functions.loader import LoadedApp
from syncline.functions.logs import LogCollector, LogLine
from syncline.functions.placement import Placement
from syncline.functions.query_results import QueryResults
from syncline.functions.references import InvalidFunctionPathError, function_path
from syncline.functions.registration import FunctionKind, RegisteredFunction
from syncline.functions.scheduling import ActionScheduler, MutationScheduler
from syncline.functions.workers import WorkerPool
from syncline.values import check_value, normalize, pack
from syncline.values.limits import MAX_FUNCTION_ARGS_SIZE, MAX_FUNCTION_RESULT_SIZE

QUERY_MUTATION_CONCURRENCY = 16
ACTION_CONCURRENCY = 64
MAX_MUTATION_ATTEMPTS = 64
_FIRST_BACKOFF_S = 0.001
_MAX_BACKOFF_S = 0.1
# Paths of the deployment's own functions (syncline/system/), callable by admins only.
SYSTEM_PREFIX = "_system/"
_KIND_TITLE = {"query": "Query", "mutation": "Mutation", "action": "Action"}


class TransactionGuard(Protocol):
    """Something that runs inside a mutation's transaction around its handler."""

    def wrap(self, fn: RegisteredFunction, tx: Transaction) -> RegisteredFunction: ...


class UnauthorizedSystemCallError(SynclineError):
    """A caller without the admin key called a `_system/...` function."""


class ExecutionTimeoutError(SynclineError):
    """Reported to the caller when a function ran past its time limit."""


# Request ids and execution seeds need to differ, not to be secret (document IDs use the
# OS's randomness): a generator seeded once avoids a GIL-releasing syscall per request.
_ids = random.Random(int.from_bytes(determinism.real_urandom(16), "little"))


def new_request_id() -> str:
    return f"{_ids.getrandbits(64):016x}"


@dataclass
class Outcome:
    """The result of one top-level call: a value or a failure, plus its log lines."""

    request_id: str
    path: str
    kind: FunctionKind | None
    value: Any = None
    failure: FunctionFailure | None = None
    log_lines: list[LogLine] = field(default_factory=list)
    own_log_lines: list[LogLine] | None = None  # for the log: without nested calls' lines
    snapshot_ts: int | None = None
    commit_ts: int | None = None
    read_set: FrozenReadSet | None = None
    journal: str | None = None  # queries: what re-runs must agree with (pagination)
    used_auth: bool = False  # the function read ctx.auth, so its result is per identity
    usage: Any = None  # the transaction's TransactionUsage, for the metrics

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True)
class ExecutionRecord:
    """One finished execution, for the deployment's log (`syncline logs`, the dev console)."""

    request_id: str
    path: str
    kind: FunctionKind | None
    started_ms: float
    duration_ms: float
    success: bool
    error: str | None
    log_lines: tuple[LogLine, ...]


@dataclass
class _Attempt:
    """What a worker hands back: a value or an error, and (for mutations) the transaction."""

    value: Any = None
    error: BaseException | None = None
    lines: list[LogLine] = field(default_factory=list)
    own_lines: list[LogLine] | None = None  # lines minus those of nested calls (actions)
    tx: Transaction | None = None
    used_auth: bool = False
    suspended: bool = False  # the handler awaited something other than the database
    cpu_seconds: float = 0.0  # CPU time of the executing thread


class FunctionRunner:
    """Executes an app's functions against a Database."""

    def __init__(
        self, db: Database, app: LoadedApp | None = None, *, dev: bool = True,
        on_record: Callable[[ExecutionRecord], None] | None = None,
        query_mutation_threads: int = QUERY_MUTATION_CONCURRENCY,
        action_threads: int = ACTION_CONCURRENCY,
        user_time_limit_s: float = QUERY_MUTATION_USER_TIME_S,
        action_time_limit_s: float = ACTION_TIME_S,
        now_ms: Callable[[], float] | None = None,
        keep_records: int = 10_000,
    ) -> None:
        determinism.install()
        logs.install()
        self.db = db
        self.app = app
        self.dev = dev
        self.user_time_limit_s = user_time_limit_s
        self.action_time_limit_s = action_time_limit_s
        # The deployment's clock (Unix ms): what functions see as "now" and what
        # scheduling is relative to. Tests and the harness pass a fake one.
        self.now_ms = now_ms or (lambda: determinism.real_time() * 1000.0)
        # The last records, for tests and embedders; a deployment keeps its own bounded,
        # persistent log instead (system/function_logs.py) and passes keep_records=0.
        self.recent: deque[ExecutionRecord] = deque(maxlen=keep_records)
        self.records_total = 0  # records ever appended: recent[-1] is number records_total
        self._on_record = on_record
        self._tx_pool = WorkerPool("syncline-fn", os.cpu_count() or 2, query_mutation_threads)
        self._action_pool = ThreadPoolExecutor(action_threads, "syncline-action")
        self._local = threading.local()
        self.files: FileStorage | None = None  # ctx.storage; the deployment sets it
        # `_system/...` functions by path, installed by the system layer (syncline/system/);
        # they survive every push, which replaces only `app`.
        self.system_functions: dict[str, RegisteredFunction] = {}
        self.placement = Placement()  # which queries and mutations run inline
        self.query_results = QueryResults(db)  # HTTP queries' results while current
        self.inline_enabled = True
        self._mutations_running = 0  # top-level mutations between start and commit
        # Requests the transports received and have not answered yet (function calls over
        # HTTP, mutations over sync), kept by the server when it can (`requests_counted`):
        # a mutation alone in the process commits at once instead of yielding first.
        self.requests_waiting = 0
        self.requests_counted = False
        self._counter_lock = threading.Lock()
        self._flush_scheduled: set[asyncio.AbstractEventLoop] = set()
        self.metrics: Any = None  # system/metrics.py's Metrics; the deployment sets it

    def close(self) -> None:
        self._tx_pool.shutdown(wait=False, cancel_futures=True)
        self._action_pool.shutdown(wait=False, cancel_futures=True)

    # -- entry point -----------------------------------------------------------------------

    async def run(
        self, ref: Any, args: Any = None, *, expected_kind: FunctionKind | None = None,
        identity: UserIdentity | None = None, admin: bool = False,
        request_id: str | None = None, snapshot_ts: int | None = None,
        journal: str | None = None, guard: TransactionGuard | None = None,
        scheduled_job: str | None = None, cached: bool = False,
        applied_request: tuple[str, int] | None = None,
    ) -> Outcome:
        """Call a function by reference or path and report how it went; never raises
        for a failure of the function itself. `journal` is a reactive query's journal
        from its previous run (see QueryJournal). `guard` wraps a mutation's handler in
        its transaction (the scheduler records a job's completion there). `cached`: a
        query may be answered from its cached result (query_results.py); only for callers
        that never modify the value they get (the HTTP API encodes it and lets go).
        `applied_request`: (session id, request id) of the client request a mutation
        answers, recorded in its commit so that a re-sent copy is answered from the
        record instead of running again (Database.applied_request)."""
        request_id = request_id or new_request_id()
        started = time.time() * 1000.0
        try:
            path = function_path(ref)
        except InvalidFunctionPathError as e:
            path = str(ref)
            outcome = self._failed(request_id, path, None, FunctionNotFoundError(str(e)))
            self._record(outcome, started)
            return outcome
        if path.startswith(SYSTEM_PREFIX):  # self.lookup(path), inline: the hot path
            fn = self.system_functions.get(path)
        else:
            app = self.app
            fn = app.functions.get(path) if app is not None else None
        try:
            if fn is not None and not admin and fn.visibility == "system":
                raise UnauthorizedSystemCallError(
                    f"Unauthorized: {path!r} is a system function, which only an admin may "
                    "call: authenticate with the deployment's admin key")
            if fn is None or (fn.visibility != "public" and not admin):
                hint = missing_function_hint(ref, path, self._callable_paths(admin))
                if admin:
                    raise FunctionNotFoundError(f"Could not find function for '{path}'.{hint}")
                raise FunctionNotFoundError(
                    f"Could not find public function for '{path}'." + (
                        hint or " Did you forget to run `syncline dev`, or misspell the name?"))
            if expected_kind is not None and fn.kind != expected_kind:
                raise FunctionNotFoundError(
                    f"Trying to execute {path} as {_KIND_TITLE[expected_kind]}, but it is "
                    f"defined as {_KIND_TITLE[fn.kind]}."
                )
            checked = self._check_args(fn, path, args)
        except SynclineError as e:
            outcome = self._failed(request_id, path, fn.kind if fn else None, e)
            self._record(outcome, started)
            return outcome
        if fn.kind == "query":
            outcome = await self._run_query(fn, path, checked, identity, request_id, snapshot_ts,
                                            journal, cached)
        elif fn.kind == "mutation":
            outcome = await self._run_mutation(fn, path, args, checked, identity, request_id,
                                               guard, applied_request)
        else:
            outcome = await self._run_action(fn, path, checked, identity, request_id,
                                             scheduled_job)
        self._record(outcome, started)
        return outcome

    async def run_handler(self, kind: FunctionKind, handler: Callable[..., Any], *,
                          label: str, identity: UserIdentity | None = None) -> Outcome:
        """Run an ad-hoc `async def handler(ctx)` as a function of `kind`, with that kind's
        context, transaction, limits and logs (the test harness's `t.run`)."""
        request_id = new_request_id()
        started = time.time() * 1000.0

        async def adapted(ctx: Any) -> Any:
            return await handler(ctx)

        fn = RegisteredFunction(kind, "internal", adapted, None, None, label)
        if kind == "query":
            outcome = await self._run_query(fn, label, {}, identity, request_id, None, None)
        elif kind == "mutation":
            outcome = await self._run_mutation(fn, label, {}, {}, identity, request_id)
        else:
            outcome = await self._run_action(fn, label, {}, identity, request_id)
        self._record(outcome, started)
        return outcome

    # -- the three kinds -------------------------------------------------------------------

    async def _run_query(
        self, fn: RegisteredFunction, path: str, args: dict[str, Any],
        identity: UserIdentity | None, request_id: str, snapshot_ts: int | None,
        journal: str | None, cached: bool = False,
    ) -> Outcome:
        cache_key = None
        # System functions may read in-memory state (metrics) no commit invalidates: never cached.
        if (cached and not self.dev and snapshot_ts is None and journal is None
                and fn.visibility != "system"):
            cache_key = self.query_results.key(fn, args, identity)
            hit = self.query_results.get(cache_key)
            if hit is not None:
                if self.metrics is not None:
                    self.metrics.cache_hit(path, executed=True)
                return dataclasses.replace(hit, request_id=request_id, usage=None)
        attempt = await self._place(fn, self._execute_query, fn, path, args, identity,
                                    snapshot_ts, journal)
        outcome = self._outcome(request_id, path, fn.kind, attempt)
        tx = attempt.tx
        if tx is not None:
            outcome.snapshot_ts = tx.snapshot_ts
            outcome.usage = tx.usage
            outcome.read_set = tx.reads.freeze()
            outcome.journal = tx.journal.serialize() if tx.journal is not None else None
            if cache_key is not None:
                self.query_results.put(cache_key, outcome, tx.schema_version,
                                       tx.usage.bytes_read)
        return outcome

    async def _run_mutation(
        self, fn: RegisteredFunction, path: str, raw_args: Any, args: dict[str, Any],
        identity: UserIdentity | None, request_id: str, guard: TransactionGuard | None = None,
        applied_request: tuple[str, int] | None = None,
    ) -> Outcome:
        with self._counter_lock:  # actions' threads run mutations too
            self._mutations_running += 1
        try:
            return await self._run_mutation_attempts(fn, path, raw_args, args, identity,
                                                     request_id, guard, applied_request)
        finally:
            with self._counter_lock:
                self._mutations_running -= 1

    async def _run_mutation_attempts(
        self, fn: RegisteredFunction, path: str, raw_args: Any, args: dict[str, Any],
        identity: UserIdentity | None, request_id: str, guard: TransactionGuard | None,
        applied_request: tuple[str, int] | None,
    ) -> Outcome:
        loop = asyncio.get_running_loop()
        delay = _FIRST_BACKOFF_S
        for attempt_number in itertools.count(1):
            attempt = await self._place(fn, self._execute_mutation, fn, path, args, identity,
                                        guard)
            tx = attempt.tx
            if attempt.error is None and tx is not None:
                try:
                    if applied_request is not None:
                        tx.record_applied_request(*applied_request, pack(attempt.value))
                    if tx.has_writes() and not self._nothing_else_waiting():
                        # Let mutations the loop has ready run up to their commit too:
                        # then alone, write the commit here (saving two thread hand-offs);
                        # with company, group-commit: on this thread at the end of this
                        # loop iteration if batches are cheap (no fsync), else on the
                        # writer thread, so the loop runs on during the fsync.
                        await asyncio.sleep(0)
                    alone = self._mutations_running == 1
                    defer = not alone and self.db.committer.cheap_batches
                    if defer:
                        self._schedule_flush(loop)
                    commit_ts = await tx.commit(inline=alone, defer=defer)
                except WriteConflictError as e:
                    if self.metrics is not None:
                        self.metrics.occ_conflict(
                            path, retried=attempt_number < MAX_MUTATION_ATTEMPTS)
                    if attempt_number >= MAX_MUTATION_ATTEMPTS:
                        attempt.error = e
                    else:
                        # Re-running before the conflicting commit is visible would read
                        # the same stale snapshot and conflict again: wait for it. Back
                        # off (with jitter) only when that was not enough, twice over.
                        if e.conflict_ts is not None:
                            await self.db.wait_visible(e.conflict_ts)
                        if attempt_number > 2:
                            await asyncio.sleep(random.uniform(0, delay))
                            delay = min(delay * 2, _MAX_BACKOFF_S)
                        # A push may have landed (it makes running transactions conflict):
                        # the retry runs the code that goes with the new schema.
                        pushed = self.app.functions.get(path) if self.app is not None else None
                        if pushed is not None and pushed is not fn:
                            fn = pushed
                            try:
                                args = self._check_args(fn, path, raw_args)
                            except SynclineError as error:
                                return self._failed(request_id, path, fn.kind, error)
                        continue
                except Exception as e:
                    attempt.error = e
                else:
                    outcome = self._outcome(request_id, path, fn.kind, attempt)
                    outcome.commit_ts = commit_ts
                    outcome.snapshot_ts = tx.snapshot_ts
                    outcome.usage = tx.usage
                    return outcome
            if tx is not None:
                tx.abort()
            return self._outcome(request_id, path, fn.kind, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _run_action(
        self, fn: RegisteredFunction, path: str, args: dict[str, Any],
        identity: UserIdentity | None, request_id: str, scheduled_job: str | None = None,
    ) -> Outcome:
        loop = asyncio.get_running_loop()
        attempt = await loop.run_in_executor(
            self._action_pool, self._execute_action, fn, path, args, identity, request_id,
            scheduled_job)
        return self._outcome(request_id, path, fn.kind, attempt)

    # -- HTTP actions (convex/http.py) ------------------------------------------------------

    async def run_http_action(
        self, action: Any, request: Any, *, label: str, identity: UserIdentity | None = None,
        auth_error: Exception | None = None,
    ) -> Any:
        """Run an `@http_action` handler like an action (action pool, time limit, logs,
        recorded as `label`, e.g. `GET /hello`) and return an HttpResult as soon as the
        handler has returned its Response; a streamed body's chunks follow as produced."""
        from syncline.functions.http_types import ResponseChannel

        request_id = new_request_id()
        started = time.time() * 1000.0
        loop = asyncio.get_running_loop()
        channel = ResponseChannel(loop)

        async def handler(ctx: ActionCtx) -> None:
            await channel.produce(action, ctx, request)

        fn = RegisteredFunction("action", "internal", handler, None, None, label)
        future = loop.run_in_executor(self._action_pool, self._execute_action, fn, label, {},
                                      identity, request_id, None, auth_error)

        def finished(done: asyncio.Future[_Attempt]) -> None:
            try:
                attempt = done.result()
            except BaseException as e:  # noqa: BLE001 - the pool shut down under it
                attempt = _Attempt(error=e)
            outcome = self._outcome(request_id, label, "action", attempt)
            self._record(outcome, started)
            channel.put("done", outcome.failure)

        future.add_done_callback(finished)
        return await channel.result(request_id)

    # -- worker side -----------------------------------------------------------------------

    def _nothing_else_waiting(self) -> bool:
        """Known for sure: no other request waits and no other mutation runs, so
        yielding to let company reach its commit would only cost a loop iteration."""
        return (self.requests_counted and self.requests_waiting <= 1
                and self._mutations_running == 1)

    def _schedule_flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """Flush deferred commits once this loop iteration's other callbacks (the other
        mutations resuming to commit) have queued theirs."""
        if loop not in self._flush_scheduled:  # per loop: actions run theirs on threads
            self._flush_scheduled.add(loop)
            loop.call_soon(self._flush, loop)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._flush_scheduled.discard(loop)
        self.db.committer.flush()

    async def _place(self, fn: RegisteredFunction, execute: Callable[..., _Attempt],
                     *args: Any) -> _Attempt:
        """`execute(*args)` inline (its last argument `inline=True`) if `fn` is placed
        there, else, or if the inline run suspended, on a worker; placement learns from
        either run."""
        if self.inline_enabled and self.placement.inline(fn):
            attempt = execute(*args, True)
            self.placement.after_inline_run(fn, attempt.cpu_seconds, attempt.suspended)
            if not attempt.suspended:
                return attempt
        attempt = await asyncio.get_running_loop().run_in_executor(
            self._tx_pool, execute, *args)
        self.placement.after_pool_run(fn, attempt.cpu_seconds, attempt.suspended)
        return attempt

    def _execute_query(
        self, fn: RegisteredFunction, path: str, args: dict[str, Any],
        identity: UserIdentity | None, snapshot_ts: int | None, journal: str | None,
        inline: bool = False,
    ) -> _Attempt:
        tx = self.db.begin(read_only=True, snapshot_ts=snapshot_ts)
        auth = Auth(identity)
        ctx = QueryCtx(DatabaseReader(tx, self.db.schema), auth, self._nested_query(tx, auth),
                       self._query_storage(tx))
        try:
            tx.journal = QueryJournal.parse(journal)
        except SynclineError as e:
            attempt = _Attempt(error=e)
        else:
            attempt = self._execute(fn, path, ctx, args, tx, deterministic=True, inline=inline)
        attempt.tx = tx
        attempt.used_auth = auth.used
        tx.abort()
        return attempt

    def _execute_mutation(
        self, fn: RegisteredFunction, path: str, args: dict[str, Any],
        identity: UserIdentity | None, guard: TransactionGuard | None = None,
        inline: bool = False,
    ) -> _Attempt:
        tx = self.db.begin()
        if guard is not None:
            fn = guard.wrap(fn, tx)
        auth = Auth(identity)
        run_query = self._nested_query(tx, auth)
        # Read inside the execution, where the clock is frozen at its start.
        scheduler = MutationScheduler(tx, lambda: time.time() * 1000.0, self._functions())
        ctx = MutationCtx(DatabaseWriter(tx, self.db.schema), auth, run_query,
                          self._nested_mutation(tx, auth, run_query, scheduler), scheduler,
                          self._mutation_storage(tx))
        attempt = self._execute(fn, path, ctx, args, tx, deterministic=True, inline=inline)
        if attempt.error is None:
            attempt.tx = tx
        else:
            tx.abort()
        return attempt

    def _execute_action(
        self, fn: RegisteredFunction, path: str, args: dict[str, Any],
        identity: UserIdentity | None, request_id: str, scheduled_job: str | None = None,
        auth_error: Exception | None = None,
    ) -> _Attempt:
        collector = LogCollector()
        nested: set[int] = set()

        def caller(kind: FunctionKind) -> Callable[..., Coroutine[Any, Any, Any]]:
            async def call(ref: Any, call_args: dict[str, Any] | None = None) -> Any:
                outcome = await self.run(ref, call_args or {}, expected_kind=kind,
                                         identity=identity, admin=True, request_id=request_id)
                # The caller sees the nested call's lines in order with the action's own;
                # the deployment log already has them under the nested call's record.
                collector.lines.extend(outcome.log_lines)
                nested.update(map(id, outcome.log_lines))
                if outcome.failure is None:
                    return outcome.value
                if outcome.failure.is_application_error:
                    raise ConvexError(outcome.failure.data)
                raise FunctionCallError(outcome.failure.message)
            return call

        ctx = ActionCtx(Auth(identity, auth_error), caller("query"), caller("mutation"),
                        caller("action"),
                        ActionScheduler(self.db, self.now_ms, scheduled_job, self._functions()),
                        ActionStorage(self.files) if self.files is not None else None,
                        self.db.vector_search)
        attempt = self._execute(fn, path, ctx, args, None, deterministic=False,
                                collector=collector)
        attempt.own_lines = [line for line in attempt.lines if id(line) not in nested]
        return attempt

    def _execute(
        self, fn: RegisteredFunction, path: str, ctx: Any, args: dict[str, Any],
        tx: Transaction | None, *, deterministic: bool, collector: LogCollector | None = None,
        inline: bool = False,
    ) -> _Attempt:
        """Run the handler on this thread (a worker's, or inline the caller's), in a fresh
        contextvars context so nothing it sets (frozen clock, log capture) outlives it."""
        collector = collector or LogCollector()
        attempt = _Attempt()
        began = time.thread_time()
        budget = self.user_time_limit_s if deterministic else self.action_time_limit_s
        excluded: Callable[[], float] = (lambda: tx.io_seconds) if tx is not None else (
            lambda: 0.0)
        deadline = Deadline(threading.get_ident(), budget, excluded,
                            f"{_KIND_TITLE[fn.kind]} {path}")
        context = contextvars.copy_context()
        try:
            try:
                watchdog.start(deadline)
                attempt.value = context.run(
                    self._drive, fn, ctx, args, collector, deadline, deterministic, inline,
                    attempt)
            finally:
                watchdog.finish(deadline)
        except Suspended:
            attempt.suspended = True
            attempt.error = RuntimeError("suspended inline")  # never reported: run again
        except FunctionTimeoutError:
            if not inline:  # an inline run never touched this thread's own loop
                self._reset_loop()
            attempt.error = ExecutionTimeoutError(deadline.message())
        except BaseException as e:
            attempt.error = e
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                attempt.error = RuntimeError(f"{type(e).__name__} raised inside a function")
        attempt.lines = collector.lines
        attempt.cpu_seconds = time.thread_time() - began
        return attempt

    def _drive(
        self, fn: RegisteredFunction, ctx: Any, args: dict[str, Any], collector: LogCollector,
        deadline: Deadline, deterministic: bool, inline: bool, attempt: _Attempt,
    ) -> Any:
        with logs.capture_logs(collector):
            if not deterministic:  # an action runs as a real task: httpx, anyio need one
                coro = fn.handler(ctx, **args)
                value = self._thread_loop().run_until_complete(self._guard(coro, deadline))
                return self._check_returns(fn, value)
            with determinism.deterministic(self.now_ms(), self._next_seed(), fn.kind):
                coro = fn.handler(ctx, **args)
                if inline:
                    value = run_inline(coro)
                else:
                    def resume(rest: Awaitable[Any]) -> Coroutine[Any, Any, Any]:
                        attempt.suspended = True
                        return self._guard(rest, deadline)
                    value = run_coroutine(coro, self._thread_loop(), resume)
        return self._check_returns(fn, value)

    @staticmethod
    async def _guard(rest: Awaitable[Any], deadline: Deadline) -> Any:
        """Await a suspended handler; if it sits in a non-database await past its
        budget (where the watchdog's interrupt cannot reach it), cancel it."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        expired = False

        def check() -> None:
            nonlocal expired
            remaining = deadline.remaining()
            if remaining <= 0:
                expired = True
                task.cancel()
            else:
                handles[0] = loop.call_later(remaining, check)

        # The watchdog's interrupt is delivered at the thread's next bytecode, which is often
        # a loop callback (this very `check`): the loop would log it and carry on, leaving
        # the handler asleep past its deadline. Taken here, it ends the handler instead.
        previous = loop.get_exception_handler()

        def interrupted(loop_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            nonlocal expired
            if isinstance(context.get("exception"), FunctionTimeoutError):
                expired = True
                task.cancel()
            elif previous is not None:
                previous(loop_, context)
            else:
                loop_.default_exception_handler(context)

        loop.set_exception_handler(interrupted)
        handles = [loop.call_later(deadline.budget_s, check)]
        try:
            return await rest
        except asyncio.CancelledError:
            if expired:
                raise FunctionTimeoutError() from None
            raise
        finally:
            handles[0].cancel()
            loop.set_exception_handler(previous)

    # -- nested calls inside one transaction -------------------------------------------------

    def _nested_query(self, tx: Transaction, auth: Auth) -> Callable[..., Any]:
        async def run_query(ref: Any, args: dict[str, Any] | None = None) -> Any:
            fn, path = self._resolve_nested(ref, "query")
            checked = self._check_args(fn, path, args or {})
            ctx = QueryCtx(DatabaseReader(tx, self.db.schema), auth, run_query, self._query_storage(tx))
            value = await fn.handler(ctx, **checked)
            return self._check_returns(fn, value)
        return run_query

    def _nested_mutation(
        self, tx: Transaction, auth: Auth, run_query: Callable[..., Any],
        scheduler: MutationScheduler,
    ) -> Callable[..., Any]:
        async def run_mutation(ref: Any, args: dict[str, Any] | None = None) -> Any:
            fn, path = self._resolve_nested(ref, "mutation")
            checked = self._check_args(fn, path, args or {})
            point = tx.savepoint()
            try:
                ctx = MutationCtx(DatabaseWriter(tx, self.db.schema), auth, run_query, run_mutation, scheduler,
                                  self._mutation_storage(tx))
                value = self._check_returns(fn, await fn.handler(ctx, **checked))
            except BaseException:
                tx.rollback_to(point)
                raise
            tx.release(point)
            return value
        return run_mutation

    def _functions(self) -> dict[str, RegisteredFunction] | None:
        """The loaded app's functions, for checks made at call time (scheduling)."""
        return self.app.functions if self.app is not None else None

    def _query_storage(self, tx: Transaction) -> QueryStorage | None:
        return QueryStorage(tx, self.files) if self.files is not None else None

    def _mutation_storage(self, tx: Transaction) -> MutationStorage | None:
        return MutationStorage(tx, self.files) if self.files is not None else None

    def lookup(self, path: str) -> RegisteredFunction | None:
        """The function at a canonical path: a `_system/...` function of the deployment
        (the system layer installs them; an app cannot define one, `_` modules are never
        loaded) or one of the app's."""
        if path.startswith(SYSTEM_PREFIX):
            return self.system_functions.get(path)
        app = self.app
        return app.functions.get(path) if app is not None else None

    def _resolve_nested(self, ref: Any, kind: FunctionKind) -> tuple[RegisteredFunction, str]:
        path = function_path(ref)
        fn = self.lookup(path)
        if fn is None:
            hint = missing_function_hint(ref, path, self._callable_paths(True))
            raise FunctionNotFoundError(f"Could not find function for '{path}'.{hint}")
        if fn.kind != kind:
            raise FunctionNotFoundError(
                f"ctx.run_{kind} cannot call {path}: it is a {fn.kind}, not a {kind}"
            )
        return fn, path

    def _callable_paths(self, admin: bool) -> list[str]:
        """The paths a caller could have meant (public ones only, unless admin)."""
        functions = self.app.functions if self.app is not None else {}
        return [p for p, f in functions.items() if admin or f.visibility == "public"]

    # -- validation ------------------------------------------------------------------------

    def _check_args(self, fn: RegisteredFunction, path: str, args: Any) -> dict[str, Any]:
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise ArgumentValidationError(
                f"ArgumentValidationError: arguments to {path} must be an object, got {args!r}"
            )
        try:
            if fn.args is None:
                checked = normalize(args)
            else:
                checked = fn.args.validate(args, id_table=self.db.tables.table_of_id)
            check_value(checked, max_size=MAX_FUNCTION_ARGS_SIZE, what="Function arguments")
            return fn.with_absent_arguments(checked)
        except (ValidationError, ValueError) as e:
            awaiting = missing_await(args, f"An argument of {path}")
            if awaiting is not None:
                raise awaiting from None
            raise ArgumentValidationError(
                f"ArgumentValidationError: {e}\nin the arguments of {path}"
            ) from None

    def _check_returns(self, fn: RegisteredFunction, value: Any) -> Any:
        try:
            if fn.returns is not None:
                value = fn.returns.validate(value, id_table=self.db.tables.table_of_id)
            else:
                value = normalize(value)
            check_value(value, max_size=MAX_FUNCTION_RESULT_SIZE, what="Function return value")
        except (ValidationError, ValueError) as e:
            awaiting = missing_await(value, f"The return value of {fn.path}")
            if awaiting is not None:
                raise awaiting from None
            raise ReturnsValidationError(
                f"ReturnsValidationError: {e}\nin the return value of {fn.path}"
            ) from None
        return value

    # -- helpers ---------------------------------------------------------------------------

    def _thread_loop(self) -> asyncio.AbstractEventLoop:
        loop = getattr(self._local, "loop", None)
        if loop is None or loop.is_closed():
            loop = self._local.loop = asyncio.new_event_loop()
        return loop

    def _reset_loop(self) -> None:
        """An interrupt may have landed inside the loop's own code: start a fresh one."""
        loop = getattr(self._local, "loop", None)
        self._local.loop = None
        if loop is not None:
            try:
                for task in asyncio.all_tasks(loop):
                    task.cancel()
                loop.close()
            except Exception:
                pass

    @staticmethod
    def _next_seed() -> int:
        return _ids.getrandbits(64)

    def _outcome(
        self, request_id: str, path: str, kind: FunctionKind | None, attempt: _Attempt,
    ) -> Outcome:
        if attempt.error is not None:
            outcome = self._failed(request_id, path, kind, attempt.error)
        else:
            outcome = Outcome(request_id, path, kind, attempt.value)
        outcome.log_lines = attempt.lines
        outcome.own_log_lines = attempt.own_lines
        outcome.used_auth = attempt.used_auth
        return outcome

    def _failed(
        self, request_id: str, path: str, kind: FunctionKind | None, error: BaseException,
    ) -> Outcome:
        app_dir = self.app.convex_dir.parent if self.app is not None else None
        failure = describe_failure(error, request_id, dev=self.dev, app_dir=app_dir)
        return Outcome(request_id, path, kind, None, failure)

    def _record(self, outcome: Outcome, started_ms: float) -> None:
        ended_ms = time.time() * 1000.0
        record = ExecutionRecord(
            outcome.request_id, outcome.path, outcome.kind, started_ms,
            ended_ms - started_ms, outcome.ok,
            outcome.failure.full_message if outcome.failure else None,
            tuple(outcome.log_lines if outcome.own_log_lines is None else outcome.own_log_lines),
        )
        self.recent.append(record)
        self.records_total += 1
        if self.metrics is not None:
            self.metrics.record(outcome.path, outcome.kind, outcome.failure is None,
                                record.duration_ms, ended_ms, outcome.usage)
        if self._on_record is not None:
            self._on_record(record)

