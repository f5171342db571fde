"""The import and export routes of the official `npx convex` CLI.

Import (upload, then confirm):
- `POST /api/import/start_upload` -> `{"uploadToken"}`: a staging folder in the data dir.
- `POST /api/import/upload_part?uploadToken=&partNumber=N` (body: the part's bytes) ->
  a part token (a string naming the part and its SHA-256).
- `POST /api/import/finish_upload` `{"import": {"tableName"?, "mode", "format"},
  "uploadToken", "partTokens"}` -> `{"importId"}`: the parts are joined in token order
  into one file and a `_snapshot_imports` job is created (state `uploaded`). The file
  is then read once (in the background) to count its documents and check them; the job
  becomes `waiting_for_confirmation` with a change summary (or `failed`).
- `POST /api/perform_import` `{"importId"}`: the job goes `in_progress`, is imported
  (syncline/data: one transaction) and ends `completed` (`num_rows_written`) or
  `failed` (`error_message`: nothing was written).
- `POST /api/cancel_import` `{"importId"}`: a job not yet committing ends `failed`.
The CLI follows the job through the system query `_system/cli/queryImport`.

Export:
- `POST /api/export/request/zip?includeStorage=` -> `{}`: an `_exports` job is created
  (400 `ExportInProgress` while another runs) and written in the background to the
  data dir as `exports/snapshot_{ts}.zip` (the newest EXPORTS_KEPT are kept).
- `GET /api/export/zip/{ts}`: that ZIP. The CLI follows the job through
  `_system/cli/exports:getLatest`.

Every route needs `Authorization: Convex <admin key>`; errors are `{code, message}`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from syncline.data.import_progress import ImportProgress
from syncline.data.snapshot_jobs import (
    IMPORTS,
    find_export,
    get_import,
    housekeep,
    insert_export,
    insert_job,
    move_import,
    patch_job,
    recover,
)
from syncline.data.snapshot_zip import (
    STORAGE_TABLE,
    export_snapshot_zip,
    import_snapshot,
    read_snapshot_zip,
)
from syncline.data.table_import import (
    CURRENT_PROGRESS,
    LARGE_IMPORT,
    TableFile,
    document_validator,
    import_tables,
)
from syncline.errors import DataExportError, DataImportError
from syncline.server.deployment import Deployment
from syncline.server.import_export_api import MAX_IMPORT_SIZE, DeploymentFiles, release_memory
from syncline.server.request_bodies import CLOSE, declared_length, read_json_object, stream_body
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    require_admin_key,
)
from syncline.values import Int64

_log = logging.getLogger(__name__)

# The CLI's format names -> syncline's (table_import.FORMATS), and its modes.
CLI_FORMATS = {"jsonLines": "jsonl", "jsonArray": "json", "csv": "csv", "zip": "zip"}
CLI_MODES = {"requireEmpty": "create", "append": "append", "replace": "replace",
             "replaceAll": "replace"}
MAX_PARTS = 10_000  # the CLI splits a file into at most 9,999 parts
UPLOAD_IDLE_S = 3600.0  # an upload or unconfirmed import older than this is dropped
MAX_OPEN_UPLOADS = 16  # staged uploads at once (each up to SYNCLINE_MAX_IMPORT_SIZE)
EXPORTS_KEPT = 3  # export ZIPs kept in the data dir, newest first
MAX_JSON_BODY = 4 * 1024 * 1024  # finish_upload lists up to 10,000 part tokens
_TOKEN = re.compile(r"[0-9a-f]{32}\Z")
_CHUNK = 1024 * 1024
CONFIRM_NOTE = ("Once the import has started, it runs in the background: interrupting "
                "`npx convex import` does not cancel it.")


def _json_error(code: str, message: str, status: int = 400) -> BadRequest:
    return BadRequest(code, message, status)


class CliJobs:
    """Import and export jobs of one deployment: their files live under
    `<data dir>/cli_jobs/`, their states in `_snapshot_imports` and `_exports`."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.db = deployment.db
        self.root = deployment.data_dir / "cli_jobs"
        self.uploads = self.root / "uploads"
        self.imports = self.root / "imports"
        self.exports = self.root / "exports"
        self.running: dict[str, ImportProgress] = {}  # import ID -> its progress (cancel)
        # Upload token -> part number -> bytes: the bound on one upload's total size.
        self._part_sizes: dict[str, dict[int, int]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._recovered: asyncio.Lock | None = None
        self._ready = False

    # -- housekeeping ----------------------------------------------------------------------

    async def ready(self) -> None:
        """Once per process, before the first job: fail what a restart interrupted, and
        resume reading uploads whose summary was not made yet."""
        if self._ready:
            return
        if self._recovered is None:
            self._recovered = asyncio.Lock()
        async with self._recovered:
            if self._ready:
                return
            for folder in (self.uploads, self.imports, self.exports):
                folder.mkdir(parents=True, exist_ok=True)
            # Uploads in flight did not survive the restart (their client gave up).
            for folder in self.uploads.iterdir():
                shutil.rmtree(folder, ignore_errors=True)
            waiting = await recover(self.db)
            kept = {str(row["upload"]) for row in waiting}
            for file in self.imports.iterdir():
                if file.name not in kept:
                    file.unlink(missing_ok=True)
            for row in waiting:
                if row["state"]["state"] == "uploaded":
                    self._spawn(self._summarize(row["_id"]))
            self._ready = True

    async def _housekeep(self) -> None:
        """Drop abandoned uploads and unconfirmed imports, and old job documents."""
        horizon = time.time() - UPLOAD_IDLE_S
        for folder in self.uploads.iterdir():
            if folder.stat().st_mtime < horizon:
                shutil.rmtree(folder, ignore_errors=True)
                self._part_sizes.pop(folder.name, None)
        for row in await housekeep(self.db, time.time() * 1000, UPLOAD_IDLE_S * 1000):
            self._upload_file(row).unlink(missing_ok=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _upload_file(self, job: dict[str, Any]) -> Path:
        return self.imports / str(job["upload"])

    async def _fail(self, import_id: str, message: str,
                    from_states: tuple[str, ...] = ("uploaded", "in_progress")) -> bool:
        """Mark the import failed (if it is in one of `from_states`) and drop its upload;
        True if it was marked."""
        before = await move_import(self.db, import_id, from_states,
                                   {"state": "failed", "error_message": message})
        job = await self.db.read(lambda tx: get_import(tx, import_id))
        if job is not None and job["state"]["state"] == "failed":
            self._upload_file(job).unlink(missing_ok=True)
        return before in from_states

    # -- upload ----------------------------------------------------------------------------

    async def start_upload(self) -> dict[str, Any]:
        await self.ready()
        await self._housekeep()
        if sum(1 for _ in self.uploads.iterdir()) >= MAX_OPEN_UPLOADS:
            raise BadRequest("TooManyUploads", f"{MAX_OPEN_UPLOADS} uploads are in "
                             "progress already: finish one or retry later", 503,
                             {"Retry-After": "10"})
        token = secrets.token_hex(16)
        (self.uploads / token).mkdir()
        return {"uploadToken": token}

    def _staging(self, token: Any) -> Path:
        if not isinstance(token, str) or not _TOKEN.match(token):
            raise _json_error("InvalidUploadToken", "The upload token is not one this "
                              "deployment gave out")
        folder = self.uploads / token
        if not folder.is_dir():
            raise _json_error("InvalidUploadToken", "There is no upload with this token: "
                              "it was finished already or never started", 404)
        return folder

    async def upload_part(self, request: Request) -> str:
        await self.ready()
        folder = self._staging(request.query_params.get("uploadToken"))
        raw = request.query_params.get("partNumber", "")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PARTS:
            raise _json_error("InvalidArgument",
                              f"`partNumber` must be a number from 1 to {MAX_PARTS}")
        number = int(raw)
        sizes = self._part_sizes.setdefault(folder.name, {})
        room = MAX_IMPORT_SIZE - (sum(sizes.values()) - sizes.get(number, 0))
        too_large = BadRequest("PayloadTooLarge", f"The upload is larger than the "
                               f"{MAX_IMPORT_SIZE} bytes an import accepts "
                               "(SYNCLINE_MAX_IMPORT_SIZE)", 413, CLOSE)
        declared = declared_length(request.headers)
        if declared is not None and declared > room:
            raise too_large
        digest = hashlib.sha256()
        part = folder / f"{number:05d}"
        size = 0
        try:
            with open(part, "wb") as file:  # noqa: ASYNC230 - local writes of 1 MiB chunks
                async for chunk in stream_body(request.receive):
                    size += len(chunk)
                    if size > room:
                        raise too_large
                    digest.update(chunk)
                    file.write(chunk)
        except BaseException:
            part.unlink(missing_ok=True)
            sizes.pop(number, None)
            raise
        sizes[number] = size
        return f"{number}:{digest.hexdigest()}"

    async def finish_upload(self, body: dict[str, Any]) -> dict[str, Any]:
        await self.ready()
        spec = body.get("import")
        if not isinstance(spec, dict):
            raise _json_error("InvalidArgument", "`import` must be an object with `mode` "
                              "and `format` (and `tableName`)")
        if spec.get("componentPath"):
            raise _json_error("ComponentsNotSupported", "syncline has no components: "
                              "import without --component")
        fmt, mode, table = spec.get("format"), spec.get("mode"), spec.get("tableName")
        if fmt not in CLI_FORMATS:
            raise _json_error("InvalidArgument", f"Unknown import format {fmt!r}: use one "
                              f"of {', '.join(CLI_FORMATS)}")
        if mode not in CLI_MODES:
            raise _json_error("InvalidArgument", f"Unknown import mode {mode!r}: use one "
                              f"of {', '.join(CLI_MODES)}")
        if (fmt == "zip") != (table is None):
            raise _json_error("InvalidArgument", "A ZIP import takes no `tableName`; "
                              "every other format needs one")
        if table is not None and not isinstance(table, str):
            raise _json_error("InvalidArgument", "`tableName` must be a string")
        token = body.get("uploadToken")
        folder = self._staging(token)
        tokens = body.get("partTokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise _json_error("InvalidArgument", "`partTokens` must be the list of the "
                              "tokens upload_part answered, in order")
        target = self.imports / f"{token}.{CLI_FORMATS[fmt]}"
        self._part_sizes.pop(folder.name, None)
        await asyncio.to_thread(_join_parts, folder, tokens, target)
        job: dict[str, Any] = {"state": {"state": "uploaded"}, "format": fmt, "mode": mode,
                               "requestor": "cli", "upload": target.name}
        if table is not None:
            job["tableName"] = table
        import_id = await insert_job(self.db, IMPORTS, job)
        self._spawn(self._summarize(import_id))
        return {"importId": import_id}

    # -- summary (before confirmation) -----------------------------------------------------

    async def _summarize(self, import_id: str) -> None:
        """Read the upload once: count and check its documents, then wait for
        confirmation with a summary of the changes (or fail, writing nothing)."""
        job = await self.db.read(lambda tx: get_import(tx, import_id))
        if job is None:
            return
        path = self._upload_file(job)
        try:
            incoming = await asyncio.to_thread(self._count_upload, job, path)
            names = [*incoming, *self._cleared_tables(job)]
            existing = await asyncio.to_thread(self._count_existing, names)
            message = _summary(job, incoming, existing)
        except DataImportError as e:
            await self._fail(import_id, str(e))
            return
        except FileNotFoundError:
            await self._fail(import_id, "The uploaded file is gone: upload it again")
            return
        except Exception as e:  # noqa: BLE001 - reported to the CLI
            _log.exception("Reading import %s failed", import_id)
            await self._fail(import_id, f"{type(e).__name__}: {e}")
            return
        # Unless it was cancelled meanwhile.
        await move_import(self.db, import_id, ("uploaded",), {
            "state": "waiting_for_confirmation", "message_to_confirm": message,
            "require_manual_confirmation": True})

    def _count_upload(self, job: dict[str, Any], path: Path) -> dict[str, int]:
        fmt = CLI_FORMATS[job["format"]]
        if fmt == "zip":
            snapshot = read_snapshot_zip(str(path))
            counts = {name: len(rows) for name, rows in snapshot.tables.items()}
            if snapshot.files is not None:
                counts[STORAGE_TABLE] = len(snapshot.files)
            return counts
        table = job["tableName"]
        rows = TableFile(path, fmt, document_validator(self.db, table))
        return {table: sum(1 for _ in rows)}

    def _count_existing(self, names: list[str]) -> dict[str, int]:
        """Documents the named tables hold now (for the summary's delete column)."""
        tx = self.db.begin(read_only=True, limits=False)
        try:
            counts = {}
            for name in dict.fromkeys(names):
                info = self.db.tables.get(name)
                if info is not None:
                    counts[name] = sum(1 for _ in tx.table_documents(info))
            return counts
        finally:
            tx.abort()

    # -- the import ------------------------------------------------------------------------

    async def _job_named(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The import job `body["importId"]` names (after start-up's recovery), or a 404."""
        await self.ready()
        import_id = body.get("importId")
        job = None
        if isinstance(import_id, str):
            job = await self.db.read(lambda tx: get_import(tx, import_id))
        if job is None or not isinstance(import_id, str):
            raise _json_error("ImportNotFound", f"There is no import {import_id!r}", 404)
        return import_id, job

    async def perform(self, body: dict[str, Any]) -> dict[str, Any]:
        import_id, job = await self._job_named(body)
        state = await move_import(self.db, import_id, ("waiting_for_confirmation",), {
            "state": "in_progress", "progress_message": "Importing",
            "checkpoint_messages": []})
        if state != "waiting_for_confirmation":
            raise _json_error("ImportNotWaiting", f"Import {import_id} is {state}: only an "
                              "import waiting for confirmation can be performed")
        progress = ImportProgress(self._progress_listener(import_id))
        self.running[import_id] = progress
        self._spawn(self._import(import_id, job, progress))
        return {}

    def _progress_listener(self, import_id: str) -> Any:
        loop = asyncio.get_running_loop()

        def show(event: dict[str, Any]) -> None:  # on the import's worker thread
            if event["phase"] != "importing":
                return
            message = f"Importing: {event['documents']} documents read"
            if event["documentsTotal"]:
                message += f" of {event['documentsTotal']}"
            loop.call_soon_threadsafe(self._spawn, self._show(import_id, message, []))

        return show

    async def _import(self, import_id: str, job: dict[str, Any],
                      progress: ImportProgress) -> None:
        path = self._upload_file(job)
        try:
            counts = await self._write(job, path, progress)
        except DataImportError as e:
            await self._fail(import_id, str(e))
            return
        except Exception as e:  # noqa: BLE001 - reported to the CLI, nothing was written
            _log.exception("Import %s failed", import_id)
            await self._fail(import_id, f"{type(e).__name__}: {e}")
            return
        finally:
            self.running.pop(import_id, None)
            path.unlink(missing_ok=True)
            if progress.documents >= LARGE_IMPORT:
                await asyncio.to_thread(release_memory)
        try:
            await self._show(import_id, "Import committed",
                             [_checkpoint(name, n) for name, n in counts.items() if n])
            await move_import(self.db, import_id, ("in_progress",), {
                "state": "completed", "num_rows_written": Int64(sum(counts.values()))})
        except Exception:  # never leave the CLI waiting on in_progress
            _log.exception("Recording the outcome of import %s failed", import_id)
            await self._fail(import_id, "The import was committed, but recording its "
                             "outcome failed: see the server log", ("in_progress",))

    async def _show(self, import_id: str, message: str, checkpoints: list[str]) -> None:
        """Progress of a running import (a late one never overwrites its outcome)."""
        await move_import(self.db, import_id, ("in_progress",), {
            "state": "in_progress", "progress_message": message,
            "checkpoint_messages": checkpoints})

    async def _write(self, job: dict[str, Any], path: Path,
                     progress: ImportProgress) -> dict[str, int]:
        fmt, mode = CLI_FORMATS[job["format"]], CLI_MODES[job["mode"]]
        cleared = self._cleared_tables(job)
        if fmt != "zip":
            table = job["tableName"]
            progress.bytes_total = path.stat().st_size
            tables: dict[str, Any] = {table: TableFile(path, fmt,
                                                       document_validator(self.db, table),
                                                       progress)}
            tables.update((name, ()) for name in cleared if name != table)
            return await import_tables(self.db, tables, mode, progress=progress)
        snapshot = await asyncio.to_thread(read_snapshot_zip, str(path))
        progress.documents_total = (sum(len(rows) for rows in snapshot.tables.values())
                                    + len(snapshot.files or ()))
        for name in cleared:
            snapshot.tables.setdefault(name, [])
        token = CURRENT_PROGRESS.set(progress)
        try:
            return await import_snapshot(self.db, snapshot, mode,
                                         files=DeploymentFiles(self.deployment.files))
        finally:
            CURRENT_PROGRESS.reset(token)

    def _cleared_tables(self, job: dict[str, Any]) -> list[str]:
        """`replaceAll` also empties every user table the upload does not hold."""
        return list(self.db.table_names()) if job["mode"] == "replaceAll" else []

    async def cancel(self, body: dict[str, Any]) -> dict[str, Any]:
        import_id, job = await self._job_named(body)
        state = job["state"]["state"]
        progress = self.running.get(import_id)
        if progress is not None:
            if not progress.cancel():
                raise _json_error("ImportCommitting", "The import is committing: it can "
                                  "no longer be cancelled")
            return {}  # its task records the outcome (failed: cancelled, nothing written)
        if state in ("uploaded", "waiting_for_confirmation") and await self._fail(
                import_id, "Import canceled", ("uploaded", "waiting_for_confirmation")):
            return {}
        raise _json_error("ImportNotCancelable", f"Import {import_id} is {state}")

    # -- export ----------------------------------------------------------------------------

    async def request_export(self, include_storage: bool) -> dict[str, Any]:
        await self.ready()
        await self._housekeep()
        export_id = await insert_export(self.db, {
            "state": "requested", "format": "zip", "include_storage": include_storage,
            "requestor": "cli"})
        if export_id is None:
            raise _json_error("ExportInProgress", "A snapshot export is already requested "
                              "or in progress")
        self._spawn(self._export(export_id, include_storage))
        return {}

    async def _export(self, export_id: str, include_storage: bool) -> None:
        await patch_job(self.db, export_id, {"state": "in_progress"})
        partial = self.exports / f"{export_id}.partial"
        files = DeploymentFiles(self.deployment.files) if include_storage else None
        try:
            ts = await export_snapshot_zip(self.db, str(partial), files=files)
            name = f"snapshot_{ts}.zip"
            os.replace(partial, self.exports / name)
        except Exception as e:  # noqa: BLE001 - reported to the CLI
            partial.unlink(missing_ok=True)
            if not isinstance(e, DataExportError):
                _log.exception("Export %s failed", export_id)
            await patch_job(self.db, export_id, {"state": "failed",
                                                 "error_message": str(e)})
            return
        try:
            await patch_job(self.db, export_id, {
                "state": "completed", "start_ts": Int64(ts),
                "complete_ts": Int64(time.time_ns()), "zip_file": name})
        except Exception as e:  # noqa: BLE001 - never leave the CLI waiting on in_progress
            _log.exception("Recording export %s failed", export_id)
            await patch_job(self.db, export_id, {"state": "failed", "error_message": str(e)})
            return
        await asyncio.to_thread(self._prune_exports)

    def _prune_exports(self) -> None:
        zips = sorted(self.exports.glob("snapshot_*.zip"), key=lambda p: p.stat().st_mtime,
                      reverse=True)
        for old in zips[EXPORTS_KEPT:]:
            old.unlink(missing_ok=True)

    async def export_file(self, raw_ts: str) -> tuple[Path, str]:
        if not raw_ts.isdigit():
            raise _json_error("InvalidArgument", "The export timestamp must be a number")
        ts = int(raw_ts)
        job = await self.db.read(lambda tx: find_export(tx, ts))
        if job is None:
            raise _json_error("ExportNotFound", f"There is no completed export at {ts}", 404)
        path = self.exports / str(job["zip_file"])
        if not path.exists():
            raise _json_error("ExportExpired", f"The export at {ts} was removed: only the "
                              f"newest {EXPORTS_KEPT} are kept. Export again.", 404)
        return path, str(job["zip_file"])


def _join_parts(folder: Path, tokens: list[str], target: Path) -> None:
    """Concatenate the parts the tokens name, in order, checking each against its
    SHA-256; the staging folder goes either way."""
    try:
        with open(target, "wb") as out:
            for token in tokens:
                number, _, digest = token.partition(":")
                if not number.isdigit():
                    raise _json_error("InvalidArgument", f"{token!r} is not a part token")
                part = folder / f"{int(number):05d}"
                if not part.exists():
                    raise _json_error("InvalidArgument", f"Part {number} was not uploaded")
                sha = hashlib.sha256()
                with open(part, "rb") as file:
                    while chunk := file.read(_CHUNK):
                        sha.update(chunk)
                        out.write(chunk)
                if sha.hexdigest() != digest:
                    raise _json_error("InvalidArgument",
                                      f"Part {number} does not match its token")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _checkpoint(table: str, count: int) -> str:
    if table == STORAGE_TABLE:
        return f"Imported {count} files into file storage"
    return f'Imported "{table}" ({count} documents)'


def _summary(job: dict[str, Any], incoming: dict[str, int], existing: dict[str, int]) -> str:
    """The change summary shown before confirmation; DataImportError if the mode
    refuses the import (requireEmpty into a table that holds documents)."""
    mode = job["mode"]
    names = list(incoming)
    if mode == "replaceAll":
        names += [n for n in existing if n not in incoming and n != STORAGE_TABLE
                  and existing[n]]
    rows = []
    for name in names:
        have = existing.get(name, 0)
        if mode == "requireEmpty" and have and incoming.get(name):
            if name == STORAGE_TABLE:
                raise DataImportError(f"File storage already holds {have} files: pass "
                                      "--append to add to them or --replace to replace them")
            raise DataImportError(f"Table {name!r} already holds {have} documents: pass "
                                  "--append to add to them or --replace to replace them")
        deleted = have if mode in ("replace", "replaceAll") else 0
        rows.append((name, str(incoming.get(name, 0)), f"{deleted} of {have}"))
    header = ("table", "create", "delete")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]

    def line(cells: tuple[str, str, str]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    table = [line(header), "-" * len(line(header)), *(line(r) for r in rows)]
    return "\n".join(["Import change summary:", *table, CONFIRM_NOTE])


def cli_import_routes(deployment: Deployment) -> list[Route]:
    jobs = CliJobs(deployment)
    deployment.cli_jobs = jobs  # type: ignore[attr-defined] - for tests and the system layer

    def handler(work: Any, *, json_body: bool = False) -> Any:
        async def handle(request: Request) -> Response:
            try:
                require_admin_key(deployment.admin_keys, request)
                if json_body:
                    answer = await work(await read_json_object(request, MAX_JSON_BODY))
                else:
                    answer = await work(request)
            except BadRequest as e:
                return bad_request_response(e)
            return json_response(answer)

        return handle

    async def start(_request: Request) -> Any:
        return await jobs.start_upload()

    async def request_zip(request: Request) -> Any:
        flag = request.query_params.get("includeStorage", "false").lower()
        if flag not in ("true", "false"):
            raise _json_error("InvalidArgument", "`includeStorage` must be true or false")
        return await jobs.request_export(flag == "true")

    async def download(request: Request) -> Response:
        try:
            require_admin_key(deployment.admin_keys, request)
            path, name = await jobs.export_file(request.path_params["ts"])
        except BadRequest as e:
            return bad_request_response(e)

        async def chunks() -> AsyncIterator[bytes]:
            with open(path, "rb") as file:  # noqa: ASYNC230 - small reads of a local file
                while chunk := file.read(_CHUNK):
                    yield chunk

        # Unquoted: the CLI takes the file name as everything after `filename=`.
        return StreamingResponse(chunks(), media_type="application/zip", headers={
            "Content-Disposition": f"attachment; filename={name}",
            "Content-Length": str(path.stat().st_size)})

    return [
        Route("/api/import/start_upload", handler(start), methods=["POST"]),
        Route("/api/import/upload_part", handler(jobs.upload_part), methods=["POST"]),
        Route("/api/import/finish_upload", handler(jobs.finish_upload, json_body=True),
              methods=["POST"]),
        Route("/api/perform_import", handler(jobs.perform, json_body=True), methods=["POST"]),
        Route("/api/cancel_import", handler(jobs.cancel, json_body=True), methods=["POST"]),
        Route("/api/export/request/zip", handler(request_zip), methods=["POST"]),
        Route("/api/export/zip/{ts}", download, methods=["GET"]),
    ]
