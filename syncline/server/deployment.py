"""A deployment: one app's database, loaded code, function runner and admin keys.

`push()` loads the app's `convex/` folder afresh and makes it live together
with its schema: the schema is validated against the stored documents and
applied, and the new code swapped in, while commits are paused, so no
transaction ever runs new code against the old schema or the reverse. A push
that fails (syntax error, import error, invalid schema, documents that do not
match) changes nothing and the last good version keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from syncline.auth import AdminKeys, AuthConfigError, TokenVerifier, providers_of
from syncline.auth.authenticator import Authenticator
from syncline.auth.signed_urls import UrlSigner, read_instance_secret
from syncline.data.table_import import set_import_hook
from syncline.database import Database
from syncline.errors import DiskFullError, SchemaError, SynclineError
from syncline.functions import ExecutionRecord, FunctionRunner, LoadedApp, PushError, load_app
from syncline.functions.environment import EnvironmentVariables
from syncline.functions.file_storage import (
    DEFAULT_MAX_UPLOAD_SIZE,
    FileStorage,
    sweep_unreferenced_blobs,
)
from syncline.scheduler import Clock, Crons, Scheduler
from syncline.scheduler.cron_runner import CronRunner, crons_of
from syncline.server.request_bodies import BodyLimits, env_bytes
from syncline.storage.blobs import LocalBlobStore
from syncline.storage.sqlite import Durability
from syncline.sync.engine import SyncEngine
from syncline.system import SystemServices, history, install_system_functions
from syncline.system.function_logs import FunctionLogPolicy, FunctionLogs
from syncline.system.live_feeds import signalling_feeds
from syncline.system.metrics import FILE_NAME as METRICS_FILE
from syncline.system.metrics import Metrics, live_gauges

DEFAULT_INSTANCE_NAME = "syncline-local"
BLOB_SWEEP_INTERVAL_S = 3600.0
_log = logging.getLogger(__name__)


def _max_upload_size() -> int:
    """SYNCLINE_MAX_UPLOAD_BYTES overrides the (generous) default upload size limit."""
    return env_bytes("SYNCLINE_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_SIZE)


@dataclass(frozen=True)
class PushReport:
    functions: int
    schema_tables: int | None  # None when the app has no schema.py


class Deployment:
    def __init__(
        self, app_dir: str | Path, *, data_dir: str | Path | None = None, dev: bool = True,
        instance_name: str = DEFAULT_INSTANCE_NAME, durability: Durability = "full",
        on_record: Callable[[ExecutionRecord], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.data_dir = Path(data_dir).resolve() if data_dir else self.app_dir / ".syncline"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.dev = dev
        # Settings first: a bad one is refused before anything is opened.
        self.body_limits = BodyLimits.from_env()  # request bodies: budget, timeouts
        max_upload_size = _max_upload_size()
        log_policy = FunctionLogPolicy.from_env()
        self.db = Database(self.data_dir / "db.sqlite3", durability=durability)
        self.admin_keys = AdminKeys.for_data_dir(self.data_dir, instance_name)
        self.function_logs = FunctionLogs(self.data_dir, log_policy)  # survives restarts
        self.runner = FunctionRunner(self.db, dev=dev, keep_records=0,
                                     on_record=self.function_logs.recorder(
                                         signalling_feeds(self.db.feeds, on_record)))
        self.auth_verifier = TokenVerifier([])  # replaced by each push's auth_config.py
        self.authenticator = Authenticator(self.admin_keys, lambda: self.auth_verifier)
        self.sync = SyncEngine(self.runner, self.db, dev=dev,
                               authenticate=self.authenticator.from_sync)
        self.scheduler = Scheduler(self.runner, self.db, clock)
        self.crons = CronRunner(self.db, self.scheduler.clock)
        self._push_lock = asyncio.Lock()
        self.env = EnvironmentVariables(self.db)  # published to functions via os.environ
        self.url: str | None = None  # the API URL, once the server listens (set_urls)
        self.files = FileStorage(
            self.db, LocalBlobStore(self.data_dir / "files"),
            UrlSigner(read_instance_secret(self.data_dir), "storage upload"),
            base_url=lambda: self.url, max_upload_size=max_upload_size)
        self.runner.files = self.files
        set_import_hook(self.db, history.record_import)  # imports record themselves
        # Counts survive restarts (saved every 10 s and on a clean stop): system/metrics.py.
        self.metrics = self.runner.metrics = Metrics(self.data_dir / METRICS_FILE)
        self.metrics.live = live_gauges(self.sync, self.scheduler)
        # `_system/...` functions and the services they reach as ctx.deployment (SYSTEM_API.md)
        self.system = SystemServices(db=self.db, runner=self.runner, env=self.env,
                                     files=self.files, scheduler=self.scheduler, crons=self.crons)
        self.system.instance_name, self.system.dev = instance_name, dev
        install_system_functions(self.runner, self.system)
        self.system.register("metrics", self.metrics)  # _system/metrics:* (system/metrics.py)
        self._sweeper: asyncio.Task[None] | None = None

    # -- file storage (functions/file_storage.py) ------------------------------------------

    async def sweep_blobs(self, older_than_s: float = 3600.0) -> int:
        """Delete blobs no `_storage` row refers to (sparing young ones)."""
        return await sweep_unreferenced_blobs(self.db, self.files.blobs, older_than_s)

    def start_blob_sweeper(self) -> None:
        """Sweep unreferenced blobs now (deployment start) and then every hour."""
        async def sweep_forever() -> None:
            while True:
                try:
                    await self.sweep_blobs()
                except Exception:  # noqa: BLE001 - a failed sweep retries next time
                    _log.exception("Sweeping unreferenced file blobs failed")
                await asyncio.sleep(BLOB_SWEEP_INTERVAL_S)

        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(sweep_forever())

    async def stop_blob_sweeper(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sweeper
            self._sweeper = None

    @property
    def app(self) -> LoadedApp | None:
        return self.runner.app

    async def push(self, *, who: str = "cli") -> PushReport:
        """Load and activate the app's current code. Raises PushError, changing nothing.
        What changed is recorded in the deployment's history (system/history.py)."""
        async with self._push_lock:
            loop = asyncio.get_running_loop()
            if not self.env.loaded:  # before the first load: module-level code reads them
                await self.env.load()
            app = await loop.run_in_executor(None, load_app, self.app_dir)
            old = self.runner.app
            try:
                crons = _checked_crons(app)
                _checked_http_router(app)
                verifier = _checked_auth_config(app)
                state = await loop.run_in_executor(
                    None, history.push_state, app, crons, verifier.providers)
            except PushError:
                app.unload()
                raise

            def activate() -> None:
                self.runner.app = app
                self.crons.set_jobs(crons)
                verifier.adopt_keys(self.auth_verifier)
                self.auth_verifier = verifier

            try:
                await self.db.apply_schema(app.schema, on_applied=activate)
            except (SchemaError, DiskFullError) as e:
                app.unload()
                raise PushError(str(e)) from None
            self._results_may_have_changed()
            if old is not None:
                old.unload()
            try:
                await history.record_push(self.db, state, who=who)
            except Exception:  # noqa: BLE001 - the next push's event includes this one's
                _log.exception("Recording the push in the deployment history failed")
            return PushReport(
                len(app.functions), None if app.schema is None else len(app.schema.tables)
            )

    # -- environment variables (functions/environment.py) ----------------------------------

    def set_urls(self, cloud_url: str, site_url: str) -> None:
        """Publish CONVEX_CLOUD_URL and CONVEX_SITE_URL, once the servers listen; file
        URLs are `{cloud_url}/api/storage/...`."""
        self.url = cloud_url
        self.system.cloud_url, self.system.site_url = cloud_url, site_url
        self.env.set_urls(cloud_url, site_url)
        self._results_may_have_changed()

    async def set_env(self, name: str, value: str) -> bool:
        """Store and publish one variable (True if new); subscribed queries re-run."""
        created = await self.env.set(name, value, history.env_recorder(name))
        self._results_may_have_changed()
        return created

    async def remove_env(self, name: str) -> bool:
        """Remove one variable (False if there was none); subscribed queries re-run."""
        removed = await self.env.remove(name, history.env_recorder(name))
        if removed:
            self._results_may_have_changed()
        return removed

    async def update_env(self, changes: list[tuple[str, str | None]]) -> None:
        """Set and remove variables (value None) in one transaction; queries re-run."""
        await self.env.update(changes, history.env_recorder)
        self._results_may_have_changed()

    def _results_may_have_changed(self) -> None:
        """Code, schema or environment changed: what functions return may differ though
        no document did. Subscribed queries re-run; cached HTTP query results go."""
        self.sync.code_pushed()
        self.runner.query_results.clear()

    def close(self) -> None:
        self.env.close()
        self.runner.close()
        self.function_logs.close()
        self.db.close()


def _checked_auth_config(app: LoadedApp) -> TokenVerifier:
    """The verifier for the providers in convex/auth_config.py (docs/auth.md)."""
    try:
        return TokenVerifier(providers_of(app.module("auth_config")))
    except AuthConfigError as e:
        raise PushError(f"Invalid auth config: {e}") from None


def _checked_http_router(app: LoadedApp) -> None:
    """convex/http.py, if any, defines a valid `http = HttpRouter()` (docs/http-actions.md)."""
    from syncline.functions.http_router import find_router

    try:
        find_router(app.module("http"))
    except SynclineError as e:
        raise PushError(f"Invalid HTTP router in convex/http.py: {e}") from None


def _checked_crons(app: LoadedApp) -> Crons | None:
    """The app's cron jobs, each naming a mutation or action that exists."""
    try:
        crons = crons_of(app.module("crons"))
    except TypeError as e:
        raise PushError(str(e)) from None
    if crons is None:
        return None
    try:
        jobs = crons.jobs()
    except SynclineError as e:
        raise PushError(f"Invalid cron job in convex/crons.py: {e}") from None
    for job in jobs:
        fn = app.functions.get(job.function_path)
        if fn is None:
            raise PushError(f"Cron job {job.name!r} runs {job.function_path!r}, which does "
                            "not exist")
        if fn.kind == "query":
            raise PushError(f"Cron job {job.name!r} runs {job.function_path!r}, a query: cron "
                            "jobs run mutations and actions")
    return crons
