"""The data import and snapshot export admin API (docs/data-import-export.md).

- `POST /api/import?table=T&mode=create|append|replace&format=jsonl|json|csv`: the body
  is the file; the table's documents are written as one transaction. The answer is
  `{"tables": {...}}`, or, asked with `Accept: application/x-ndjson`, a stream of
  progress events ending with the outcome (see `ImportJobs`).
- `POST /api/import/cancel?importId=I`: cancel a streamed import unless its commit has
  started; answers whether it was cancelled.
- `POST /api/import_snapshot?mode=create|append|replace`: the body is a snapshot ZIP;
  every table in it (and its files, if it has a `_storage/` folder) is written as one
  transaction, keeping `_id` and `_creationTime`.
- `GET /api/export[?includeStorage=true]`: a ZIP of one consistent snapshot of every
  user table (and with `includeStorage`, of file storage: `_storage/`).

Every route needs `Authorization: Convex <admin key>`. Bodies are streamed in (a table
file to a temporary file, read back row by row) and refused (413) past `MAX_IMPORT_SIZE`.
After each import the server gives the memory it used back to the system.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import os
import secrets
import tempfile
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from syncline.data.import_progress import ImportProgress
from syncline.data.snapshot_zip import export_snapshot_zip, import_snapshot, read_snapshot_zip
from syncline.data.table_import import (
    CURRENT_PROGRESS,
    FORMATS,
    LARGE_IMPORT,
    MODES,
    TableFile,
    document_validator,
    import_tables,
)
from syncline.errors import DataExportError, DataImportError
from syncline.functions.file_storage import FileStorage, storage_document
from syncline.server.deployment import Deployment
from syncline.server.request_bodies import CLOSE, declared_length, stream_body
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    require_admin_key,
)
from syncline.storage.disk_full import is_disk_full

MAX_IMPORT_SIZE = int(os.environ.get("SYNCLINE_MAX_IMPORT_SIZE", str(512 * 1024 * 1024)))
_CHUNK = 1024 * 1024
NDJSON = "application/x-ndjson"
# Outcomes of finished imports kept for a late cancel request to read.
_FINISHED_KEPT = 100


def _choice(request: Request, name: str, choices: tuple[str, ...], default: str) -> str:
    value = request.query_params.get(name, default)
    if value not in choices:
        raise BadRequest("InvalidArgument",
                         f"`{name}` must be one of {', '.join(choices)}, got {value!r}")
    return value


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise BadRequest("InvalidArgument", f"`{name}` must be true or false, got {value!r}")
    return value in ("true", "1")


class DeploymentFiles:
    """The deployment's file storage as snapshot import and export use it
    (`syncline.data.snapshot_zip.SnapshotFiles`)."""

    def __init__(self, files: FileStorage) -> None:
        self._files = files

    async def store(self, chunks: AsyncIterable[bytes],
                    content_type: str | None) -> dict[str, Any]:
        blob = await self._files.blobs.put(chunks, max_size=self._files.max_upload_size)
        return storage_document(blob.key, blob.size, blob.sha256, content_type)

    def open(self, document: dict[str, Any]) -> AsyncIterator[bytes]:
        return self._files.open_blob(document)

    def discard(self, document: dict[str, Any]) -> None:
        self._files.blobs.delete(document["blobKey"])


def release_memory() -> None:
    """Give the memory an import used back to the system: collect cycles, then ask
    glibc's malloc to return its free pages (Python's own arenas are returned when
    empty; glibc keeps freed heap memory mapped unless trimmed)."""
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)


def _find_malloc_trim() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        return None


_malloc_trim = _find_malloc_trim()


async def spool_body(request: Request, max_bytes: int) -> str:
    """The request body written to a temporary file (its path), refused (413) past
    `max_bytes` without reading on: an import is read back row by row, never held."""
    too_large = BadRequest("PayloadTooLarge", f"The request body is larger than the "
                           f"{max_bytes} bytes an import accepts (SYNCLINE_MAX_IMPORT_SIZE)",
                           413, CLOSE)
    declared = declared_length(request.headers)
    if declared is not None and declared > max_bytes:
        raise too_large
    handle, path = tempfile.mkstemp(prefix="syncline-import-")
    try:
        with os.fdopen(handle, "wb") as file:
            size = 0
            async for chunk in stream_body(request.receive):
                size += len(chunk)
                if size > max_bytes:
                    raise too_large
                file.write(chunk)  # noqa: ASYNC230 - a small write to a local file
    except OSError as e:
        os.unlink(path)
        if not is_disk_full(e):
            raise
        raise BadRequest("DiskFull", f"There is no room in {tempfile.gettempdir()} to "
                         "receive the import: nothing was written", 507, CLOSE) from None
    except BaseException:
        os.unlink(path)
        raise
    return path


class ImportJobs:
    """Imports whose progress is streamed, by ID, so that a client can cancel one.

    The stream (NDJSON, one object per line) starts with `{"importId", "phase":
    "importing", ...}`, goes on with progress events `{"phase", "documents",
    "bytesRead", "bytesTotal"}` (documents read, validated and buffered; every
    PROGRESS_EVERY documents), then `{"phase": "committing"}` once the commit has
    started (from then on a cancel is refused: the import commits), and ends with
    `{"phase": "committed", "tables": {...}}`, or `{"phase": "failed" | "cancelled",
    "code", "message"}` when nothing was written. A client that disconnects before
    the commit has started cancels the import.
    """

    def __init__(self) -> None:
        self.running: dict[str, ImportProgress] = {}
        self.finished: OrderedDict[str, str] = OrderedDict()

    def cancel(self, import_id: str) -> dict[str, Any] | None:
        progress = self.running.get(import_id)
        if progress is None:
            phase = self.finished.get(import_id)
            return None if phase is None else {"cancelled": phase == "cancelled",
                                               "phase": phase}
        cancelled = progress.cancel()
        return {"cancelled": cancelled, "phase": "cancelled" if cancelled else progress.phase}

    def done(self, import_id: str, phase: str) -> None:
        self.running.pop(import_id, None)
        self.finished[import_id] = phase
        while len(self.finished) > _FINISHED_KEPT:
            self.finished.popitem(last=False)


class ImportExportApi:
    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.jobs = ImportJobs()

    async def import_table(self, request: Request) -> Response:
        try:
            require_admin_key(self.deployment.admin_keys, request)
            table = request.query_params.get("table")
            if not table:
                raise BadRequest("InvalidArgument", "`table` is required")
            mode = _choice(request, "mode", MODES, "create")
            fmt = _choice(request, "format", FORMATS, "jsonl")
            # Admin only, and bounded by its own limit, which is larger than the budget
            # shared by other request bodies (request_bodies.py): it does not draw on it.
            path = await spool_body(request, MAX_IMPORT_SIZE)
        except BadRequest as e:
            return bad_request_response(e)
        db = self.deployment.db

        async def work(progress: ImportProgress) -> dict[str, int]:
            progress.bytes_total = os.path.getsize(path)
            rows = TableFile(path, fmt, document_validator(db, table), progress)
            return await import_tables(db, {table: rows}, mode, progress=progress)

        return await self._run_import(request, path, work)

    async def import_snapshot(self, request: Request) -> Response:
        try:
            require_admin_key(self.deployment.admin_keys, request)
            mode = _choice(request, "mode", MODES, "create")
            path = await spool_body(request, MAX_IMPORT_SIZE)
        except BadRequest as e:
            return bad_request_response(e)
        db = self.deployment.db

        async def work(progress: ImportProgress) -> dict[str, int]:
            snapshot = await asyncio.to_thread(read_snapshot_zip, path)
            progress.documents_total = (sum(len(rows) for rows in snapshot.tables.values())
                                        + len(snapshot.files or ()))
            token = CURRENT_PROGRESS.set(progress)  # import_snapshot's import reports to it
            try:
                return await import_snapshot(db, snapshot, mode,
                                             files=DeploymentFiles(self.deployment.files))
            finally:
                CURRENT_PROGRESS.reset(token)

        return await self._run_import(request, path, work)

    async def _run_import(self, request: Request, path: str,
                          work: Callable[[ImportProgress], Awaitable[dict[str, int]]],
                          ) -> Response:
        """Run `work` on the spooled body at `path` (removed afterwards): answered with
        its counts, or (`Accept: application/x-ndjson`) with a stream of its progress."""
        streamed = NDJSON in request.headers.get("accept", "")
        events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        progress = ImportProgress(
            lambda event: loop.call_soon_threadsafe(events.put_nowait, event))

        async def run() -> dict[str, Any]:
            try:
                return {"phase": "committed", "tables": await work(progress)}
            except DataImportError as e:
                return {"phase": "cancelled" if progress.cancelled else "failed",
                        "code": "ImportFailed", "message": str(e)}
            finally:
                os.unlink(path)
                if progress.documents >= LARGE_IMPORT:  # a full collection is not free
                    await asyncio.to_thread(release_memory)

        task = asyncio.create_task(run())
        if not streamed:
            return await self._answer(task)
        import_id = secrets.token_hex(8)
        self.jobs.running[import_id] = progress
        return StreamingResponse(self._events(import_id, progress, events, task),
                                 media_type=NDJSON)

    @staticmethod
    async def _answer(task: asyncio.Task[dict[str, Any]]) -> Response:
        outcome = await task
        if outcome["phase"] != "committed":
            return bad_request_response(BadRequest(outcome["code"], outcome["message"]))
        return json_response({"tables": outcome["tables"]})

    async def _events(self, import_id: str, progress: ImportProgress,
                      events: asyncio.Queue[dict[str, Any]],
                      task: asyncio.Task[dict[str, Any]]) -> AsyncIterator[bytes]:
        next_event: asyncio.Future[dict[str, Any]] | None = None
        try:
            yield orjson.dumps({"importId": import_id, **progress.event()}) + b"\n"
            while not task.done():
                next_event = asyncio.ensure_future(events.get())
                await asyncio.wait({next_event, task}, return_when=asyncio.FIRST_COMPLETED)
                if not next_event.done():
                    next_event.cancel()  # what it would have taken stays in the queue
                    break
                event = next_event.result()
                if event["phase"] in ("importing", "committing"):
                    yield orjson.dumps(event) + b"\n"
            while not events.empty():  # sent before the outcome: keep their order
                event = events.get_nowait()
                if event["phase"] in ("importing", "committing"):
                    yield orjson.dumps(event) + b"\n"
            try:
                outcome = await task
            except Exception as e:  # noqa: BLE001 - reported in the stream
                outcome = {"phase": "failed", "code": type(e).__name__, "message": str(e)}
            self.jobs.done(import_id, outcome["phase"])
            yield orjson.dumps({**progress.event(), **outcome}) + b"\n"
        finally:
            if next_event is not None and not next_event.done():
                next_event.cancel()
            if not task.done():
                # The client went away: cancel unless the commit has started (then it
                # completes and the outcome is kept for a cancel request to read).
                progress.cancel()
                task.add_done_callback(lambda t: self.jobs.done(import_id, _phase_of(t)))

    async def cancel_import(self, request: Request) -> Response:
        try:
            require_admin_key(self.deployment.admin_keys, request)
            import_id = request.query_params.get("importId", "")
            answer = self.jobs.cancel(import_id)
            if answer is None:
                raise BadRequest("ImportNotFound",
                                 f"No streamed import with ID {import_id!r} is known", 404)
        except BadRequest as e:
            return bad_request_response(e)
        return json_response(answer)

    async def export(self, request: Request) -> Response:
        try:
            require_admin_key(self.deployment.admin_keys, request)
            include_storage = _flag(request, "includeStorage")
        except BadRequest as e:
            return bad_request_response(e)
        handle, path = tempfile.mkstemp(prefix="syncline-export-", suffix=".zip")
        os.close(handle)
        files = DeploymentFiles(self.deployment.files) if include_storage else None
        try:
            ts = await export_snapshot_zip(self.deployment.db, path, files=files)
        except DataExportError as e:
            os.unlink(path)
            return bad_request_response(BadRequest("ExportFailed", str(e), 409))
        except BaseException:
            os.unlink(path)
            raise

        async def chunks() -> AsyncIterator[bytes]:
            with open(path, "rb") as file:  # noqa: ASYNC230 - small reads of a local file
                while chunk := file.read(_CHUNK):
                    yield chunk

        return StreamingResponse(
            chunks(), media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="snapshot_{ts}.zip"',
                     "Content-Length": str(os.path.getsize(path))},
            background=BackgroundTask(os.unlink, path))


def _phase_of(task: asyncio.Task[dict[str, Any]]) -> str:
    if task.cancelled():
        return "cancelled"
    if task.exception() is not None:
        return "failed"
    return str(task.result()["phase"])


def import_export_routes(deployment: Deployment) -> list[Route]:
    api = ImportExportApi(deployment)
    return [
        Route("/api/import", api.import_table, methods=["POST"]),
        Route("/api/import/cancel", api.cancel_import, methods=["POST"]),
        Route("/api/import_snapshot", api.import_snapshot, methods=["POST"]),
        Route("/api/export", api.export, methods=["GET"]),
    ]
