"""The data import and snapshot export admin API (docs/data-import-export.md).

- `POST /api/import?table=T&mode=create|append|replace&format=jsonl|json|csv`: the body
  is the file; the table's documents are written as one transaction.
- `POST /api/import_snapshot?mode=create|append|replace`: the body is a snapshot ZIP;
  every table in it is written as one transaction, keeping `_id` and `_creationTime`.
- `GET /api/export`: a ZIP of one consistent snapshot of every user table.

Every route needs `Authorization: Convex <admin key>`. Bodies are streamed in and
refused (413) past `MAX_IMPORT_SIZE`.
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
from collections.abc import AsyncIterator

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from syncline.database.data_import import (
    FORMATS,
    MODES,
    DataImportError,
    import_tables,
    parse_table_file,
    read_snapshot_zip,
    write_snapshot_zip,
)
from syncline.server.deployment import Deployment
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    read_body,
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
            data = await read_body(request, MAX_IMPORT_SIZE)
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
            data = await read_body(request, MAX_IMPORT_SIZE)
            try:
                tables, numbers = await asyncio.to_thread(read_snapshot_zip, io.BytesIO(data))
                counts = await import_tables(self.deployment.db, tables, mode,
                                             table_numbers=numbers)
            except DataImportError as e:
                raise BadRequest("ImportFailed", str(e)) from None
        except BadRequest as e:
            return bad_request_response(e)
        return json_response({"tables": counts})

    async def export(self, request: Request) -> Response:
        try:
            require_admin_key(self.deployment.admin_keys, request)
        except BadRequest as e:
            return bad_request_response(e)
        handle, path = tempfile.mkstemp(prefix="syncline-export-", suffix=".zip")
        os.close(handle)
        try:
            ts = await asyncio.to_thread(write_snapshot_zip, self.deployment.db, path)
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
