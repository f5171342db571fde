"""`ConvexTest`: an app's real functions on the real engine, one private deployment per test.

Each `ConvexTest` is a `Deployment` of the app's `convex/` folder on a fresh
database in a temporary folder: the same loader, validation, transactions (OCC
retries included), limits, errors, scheduler, crons and HTTP router as `syncline
dev`, with no server and no sockets. Time is a `FakeClock` the test moves with
`advance`, so scheduled functions and cron jobs run when the test says so.

The deployment starts on the first call; concurrent first calls wait for the same
start. A scheduled function that fails is printed to stderr and kept in
`t.scheduled_failures`, as convex-test logs "Error when running scheduled function".
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from syncline.database.write_log import LoggedCommit
from syncline.errors import ConvexError, SynclineError
from syncline.functions import UserIdentity
from syncline.functions.http_router import find_router
from syncline.functions.http_types import Request as HttpRequest
from syncline.functions.scheduling import SCHEDULED_FUNCTIONS
from syncline.scheduler import FakeClock
from syncline.schema import DatabaseSchema
from syncline.server.deployment import Deployment
from syncline.values import UNDEFINED

TEST_ISSUER = "https://convex.test"
TEST_CLOUD_URL = "https://convex.test"  # file URLs and CONVEX_CLOUD_URL inside tests
TEST_SITE_URL = "https://convex.test.site"
MAX_SCHEDULING_ROUNDS = 1_000
_subjects = itertools.count(1)


class FunctionError(SynclineError):
    """A function failed with an error that is not a ConvexError; the message says why."""


class TestResponse:
    """What `t.fetch` returns: an HTTP action's response."""

    __test__ = False  # not a pytest test class

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return orjson.loads(self.body)

    def __repr__(self) -> str:
        return f"<TestResponse {self.status} {self.body[:60]!r}>"


@dataclass(frozen=True)
class ScheduledFailure:
    """A scheduled function (or cron job run) that failed during the test."""

    job_id: str
    name: str  # the function's path, "module:function"
    args: dict[str, Any]
    error: str  # the message its job recorded

    def __str__(self) -> str:
        return f"Error when running scheduled function {self.name} ({self.job_id}): {self.error}"


class _Backend:
    """The deployment and clock shared by a `ConvexTest` and its `with_identity` copies."""

    def __init__(self, schema: DatabaseSchema | None, modules: str | Path,
                 start_ms: float | None, crons: bool) -> None:
        folder = Path(modules).resolve()
        app_dir = folder.parent if folder.name == "convex" else folder
        if not (app_dir / "convex").is_dir():
            raise SynclineError(f"ConvexTest needs the app's convex/ folder; {folder} has none")
        self.schema = schema
        self.crons = crons
        self.clock = FakeClock(time.time() * 1000.0 if start_ms is None else start_ms)
        self.data_dir = Path(tempfile.mkdtemp(prefix="syncline-test-"))
        self.deployment = Deployment(app_dir, data_dir=self.data_dir, dev=True,
                                     durability="normal", clock=self.clock)
        self.failures: list[ScheduledFailure] = []
        self._reported: set[str] = set()
        self._touched: set[str] = set()  # job ids written since the last collect_failures
        self._touched_lock = threading.Lock()
        self.deployment.db.add_commit_listener(self._on_commit)
        self._starting: asyncio.Task[None] | None = None
        self.closed = False

    async def start(self) -> None:
        """Push the app and start its scheduler (and crons) once: every caller, also
        concurrent first calls, waits for that one start and sees its outcome."""
        task = self._starting
        if task is None:
            task = self._starting = asyncio.get_running_loop().create_task(self._start())
        if not task.done():
            await asyncio.shield(task)
        task.result()  # a failed start (the app does not load) fails every call

    async def _start(self) -> None:
        deployment = self.deployment
        deployment.set_urls(TEST_CLOUD_URL, TEST_SITE_URL)
        await deployment.push()
        app = deployment.app
        if self.schema is not None and app is not None and self.schema != app.schema:
            await deployment.db.apply_schema(self.schema)
        deployment.scheduler.start()
        if self.crons:
            deployment.crons.start()

    @property
    def started(self) -> bool:
        return self._starting is not None

    # -- failed scheduled functions ----------------------------------------------------------

    def _on_commit(self, commit: LoggedCommit) -> None:
        """Committer thread: remember which scheduled jobs changed (read later)."""
        ids = [d.document_id for d in commit.documents if d.table == SCHEDULED_FUNCTIONS]
        if ids:
            with self._touched_lock:
                self._touched.update(ids)

    async def collect_failures(self) -> None:
        """Report each scheduled job that has failed since the last look: printed to
        stderr (pytest shows it with a failing test) and added to `failures`."""
        with self._touched_lock:
            ids, self._touched = self._touched - self._reported, set()
        if not ids or self.closed:
            return

        async def read(tx: Any) -> list[dict[str, Any] | None]:
            return [await tx.get(job_id) for job_id in sorted(ids)]

        failed = [job for job in await self.deployment.db.read(read)
                  if job is not None and job["state"]["kind"] == "failed"]
        failed.sort(key=lambda job: (job.get("completedTime") or 0, job["_creationTime"]))
        for job in failed:
            failure = ScheduledFailure(job["_id"], job["name"], (job["args"] or [{}])[0],
                                       job["state"].get("error", ""))
            self._reported.add(failure.job_id)
            self.failures.append(failure)
            print(failure, file=sys.stderr)

    # -- closing -------------------------------------------------------------------------------

    async def aclose(self) -> None:
        if self.closed:
            return
        if self.started:
            await self.deployment.crons.stop()
            await self.deployment.scheduler.stop()
            await self.collect_failures()
        self.close()

    def close(self) -> None:
        if not self.closed and self.started:
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # no loop here: read the last failures on a private one
                loop = asyncio.new_event_loop()  # (not asyncio.run: it unsets the current loop)
                try:
                    loop.run_until_complete(self.collect_failures())
                finally:
                    loop.close()
        self.closed = True
        self.deployment.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


class ConvexTest:
    """`t = ConvexTest(schema, "convex/")`, then `await t.query(api.x.y, {...})` and so on.

    `schema` (optional) must be the app's schema, or one to use instead of it;
    `modules` is the app's `convex/` folder (or the app folder holding it);
    `start_ms` the fake clock's start (default: now); `crons=False` leaves the app's
    cron jobs off, so only what the test schedules runs.
    """

    __test__ = False

    def __init__(self, schema: DatabaseSchema | None = None, modules: str | Path = "convex", *,
                 start_ms: float | None = None, crons: bool = True,
                 _backend: _Backend | None = None, _identity: UserIdentity | None = None) -> None:
        self._backend = _backend or _Backend(schema, modules, start_ms, crons)
        self._identity = _identity

    # -- calling functions ---------------------------------------------------------------

    async def query(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        return await self._call("query", ref, args)

    async def mutation(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        return await self._call("mutation", ref, args)

    async def action(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        return await self._call("action", ref, args)

    async def run(self, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run `async def handler(ctx)` with a mutation's context, in one transaction: for
        setting up and inspecting data (`ctx.db`, `ctx.storage`, `ctx.scheduler`)."""
        await self._backend.start()
        outcome = await self._backend.deployment.runner.run_handler(
            "mutation", handler, label="t.run", identity=self._identity)
        return _result(outcome)

    async def _call(self, kind: str, ref: Any, args: dict[str, Any] | None) -> Any:
        await self._backend.start()
        outcome = await self._backend.deployment.runner.run(
            ref, args or {}, expected_kind=kind, identity=self._identity, admin=True)
        return _result(outcome)

    def with_identity(self, attributes: dict[str, Any] | None = None) -> ConvexTest:
        """A `t` whose calls run as this user; `issuer`, `subject` and `tokenIdentifier`
        are filled in when missing."""
        claims = dict(attributes or {})
        claims.setdefault("issuer", TEST_ISSUER)
        claims.setdefault("subject", f"user-{next(_subjects)}")
        return ConvexTest(_backend=self._backend, _identity=UserIdentity(claims))

    # -- HTTP actions -----------------------------------------------------------------------

    async def fetch(self, path: str, *, method: str = "GET", body: Any = None,
                    headers: dict[str, str] | None = None) -> TestResponse:
        """Send a request through the app's `convex/http.py` router."""
        await self._backend.start()
        deployment = self._backend.deployment
        app = deployment.app
        router = find_router(app.module("http")) if app is not None else None
        route_path = path.split("?", 1)[0]
        match = router.lookup(method.upper(), route_path) if router is not None else None
        if match is None or match.status == 404:
            return TestResponse(404, {}, f"No HTTP route matches {method} {path}".encode())
        if match.route is None:
            return TestResponse(405, {"allow": ", ".join(match.allowed)}, b"")
        data = body.encode() if isinstance(body, str) else (
            orjson.dumps(body) if body is not None and not isinstance(body, bytes)
            else body or b"")
        request = HttpRequest(method.upper(), f"{TEST_ISSUER}{path}",
                              list((headers or {}).items()), data)
        result = await deployment.runner.run_http_action(
            match.route.handler, request, label=match.route.label, identity=self._identity)
        if result.failure is not None or result.response is None:
            message = result.failure.message if result.failure is not None else "Server Error"
            return TestResponse(500, {}, message.encode())
        response = result.response
        content = response.body or b""
        if result.chunks is not None:
            content = b"".join([chunk async for chunk in result.chunks])
        return TestResponse(response.status, dict(response.headers.items()), content)

    # -- time and scheduled functions ---------------------------------------------------------

    @property
    def now_ms(self) -> float:
        return self._backend.clock.now_ms()

    @property
    def scheduled_failures(self) -> list[ScheduledFailure]:
        """Scheduled functions and cron runs that failed so far, oldest first; up to date
        after `finish_in_progress_scheduled_functions()` / `finish_all_...()`. Clear it
        after asserting on an expected failure."""
        return self._backend.failures

    def advance(self, ms: float) -> None:
        """Move the fake clock forward: scheduled functions and cron jobs now due run at
        the next `finish_in_progress_scheduled_functions()` (or any await)."""
        self._backend.clock.advance(ms)

    async def finish_in_progress_scheduled_functions(self) -> None:
        """Wait until every scheduled function due now has finished."""
        backend = self._backend
        await backend.start()
        deployment = backend.deployment
        while True:  # cron jobs schedule runs, runs schedule more: until nothing moves
            before = deployment.db.visible_ts
            await asyncio.sleep(0)
            if backend.crons:
                await deployment.crons.idle()
            await deployment.scheduler.idle()
            if deployment.db.visible_ts == before:
                await backend.collect_failures()
                return

    async def finish_all_scheduled_functions(self) -> None:
        """Run every scheduled function, moving the clock to each one's time, including
        the ones they schedule, until none is left."""
        await self._backend.start()
        scheduler = self._backend.deployment.scheduler
        for _ in range(MAX_SCHEDULING_ROUNDS):
            await self.finish_in_progress_scheduled_functions()
            due = scheduler.next_due_ms()
            if due is None:
                return
            self._backend.clock.set(max(due, self._backend.clock.now_ms()))
        raise SynclineError(f"Scheduled functions kept scheduling more after "
                            f"{MAX_SCHEDULING_ROUNDS} rounds")

    # -- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self._backend.aclose()

    def close(self) -> None:
        """Close the deployment (and the event loop of `t.sync`, if it was used)."""
        entry = SyncConvexTest._loops.pop(id(self._backend), None)
        if entry is None:
            self._backend.close()
            return
        loop, thread = entry
        asyncio.run_coroutine_threadsafe(self._backend.aclose(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    async def __aenter__(self) -> ConvexTest:
        await self._backend.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def sync(self) -> SyncConvexTest:
        """The same test deployment, called from synchronous code."""
        return SyncConvexTest(self)


def _result(outcome: Any) -> Any:
    failure = outcome.failure
    if failure is None:
        return outcome.value
    if failure.data is not UNDEFINED:
        raise ConvexError(failure.data)
    raise FunctionError(failure.message)


class SyncConvexTest:
    """`ConvexTest` for tests that are not async: each call runs on a private event loop
    in a background thread (shared by every `sync` of one `ConvexTest`)."""

    __test__ = False
    _loops: dict[int, tuple[asyncio.AbstractEventLoop, threading.Thread]] = {}

    def __init__(self, t: ConvexTest) -> None:
        self._t = t
        key = id(t._backend)
        if key not in self._loops:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, daemon=True,
                                      name="syncline-test-loop")
            thread.start()
            self._loops[key] = (loop, thread)
        self._loop = self._loops[key][0]

    def _wait(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def query(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        return self._wait(self._t.query(ref, args))

    def mutation(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        return self._wait(self._t.mutation(ref, args))

    def action(self, ref: Any, args: dict[str, Any] | None = None) -> Any:
        return self._wait(self._t.action(ref, args))

    def run(self, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        return self._wait(self._t.run(handler))

    def fetch(self, path: str, **options: Any) -> TestResponse:
        return self._wait(self._t.fetch(path, **options))

    def with_identity(self, attributes: dict[str, Any] | None = None) -> SyncConvexTest:
        return SyncConvexTest(self._t.with_identity(attributes))

    def advance(self, ms: float) -> None:
        self._t.advance(ms)

    @property
    def now_ms(self) -> float:
        return self._t.now_ms

    @property
    def scheduled_failures(self) -> list[ScheduledFailure]:
        return self._t.scheduled_failures

    def finish_in_progress_scheduled_functions(self) -> None:
        self._wait(self._t.finish_in_progress_scheduled_functions())

    def finish_all_scheduled_functions(self) -> None:
        self._wait(self._t.finish_all_scheduled_functions())

    def close(self) -> None:
        self._t.close()
