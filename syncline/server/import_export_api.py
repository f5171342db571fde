"""The data import and snapshot export admin API (docs/data-import-export.md).

- `POST /api/import?table=T&mode=create|append|replace&format=jsonl|json|csv`: the body
  is the file; the table's documents are written as one transaction.
- `POST /api/import_snapshot?mode=create|append|replace`: the body is a snapshot ZIP;
  every table in it (and its files, if it has a `_storage/` folder) is written as one
  transaction, keeping `_id` and `_creationTime`.
- `GET /api/export[?includeStorage=true]`: a ZIP of one consistent snapshot of every
  user table (and with `includeStorage`, of file storage: `_storage/`).

Every route needs `Authorization: Convex <admin key>`. Bodies are streamed in and
refused (413) past `MAX_IMPORT_SIZE`.
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from syncline.data.snapshot_zip import export_snapshot_zip, import_snapshot, read_snapshot_zip
from syncline.data.table_import import FORMATS, MODES, import_tables, parse_table_file
from syncline.errors import DataExportError, DataImportError
from syncline.functions.file_storage import FileStorage, storage_document
from syncline.server.deployment import Deployment
from syncline.server.request_bodies import read_body
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    require_admin_key,
)

MAX_IMPORT_SIZE = int(os.environ.get("SYNCLINE_MAX_IMPORT_SIZE", str(512 * 1024 * 1024)))
_CHUNK = 1024 * 1024


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


class ImportExportApi:
    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

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
            data = await read_body(request, MAX_IMPORT_SIZE, budgeted=False)
            try:
                rows = await asyncio.to_thread(parse_table_file, data, fmt)
                counts = await import_tables(self.deployment.db, {table: rows}, mode)
            except DataImportError as e:
                raise BadRequest("ImportFailed", str(e)) from None
        except BadRequest as e:
            return bad_request_response(e)
        return json_response({"tables": counts})

    async def import_snapshot(self, request: Request) -> Response:
        try:
            require_admin_key(self.deployment.admin_keys, request)
            mode = _choice(request, "mode", MODES, "create")
            data = await read_body(request, MAX_IMPORT_SIZE, budgeted=False)
            try:
                snapshot = await asyncio.to_thread(read_snapshot_zip, io.BytesIO(data))
                counts = await import_snapshot(self.deployment.db, snapshot, mode,
                                               files=DeploymentFiles(self.deployment.files))
            except DataImportError as e:
                raise BadRequest("ImportFailed", str(e)) from None
        except BadRequest as e:
            return bad_request_response(e)
        return json_response({"tables": counts})

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


def import_export_routes(deployment: Deployment) -> list[Route]:
    api = ImportExportApi(deployment)
    return [
        Route("/api/import", api.import_table, methods=["POST"]),
        Route("/api/import_snapshot", api.import_snapshot, methods=["POST"]),
        Route("/api/export", api.export, methods=["GET"]),
    ]
