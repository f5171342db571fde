"""The admin API behind `syncline data` and `syncline logs`: read-only views of a deployment.

- `GET /api/data/tables` lists the user tables (those in storage and those the schema
  defines): `{"tables": [{"name", "documents"}]}`, with the counts the database maintains
  (database/counts.py), all at one snapshot.
- `GET /api/data/documents?table=T&limit=N&order=asc|desc&cursor=C` gives one page of a
  table's documents in creation order, newest first by default (as `npx convex data`
  shows them), as export JSON: `{"documents", "cursor", "isDone"}`; `filters=[...]` keeps
  only the documents matching the dashboard's conditions (see data_filters). The system tables
  `_storage` and `_scheduled_functions` can be read too. An unknown table is a 404.
- `GET /api/logs?after=SEQ&limit=N` gives the deployment's execution records (its
  function log, bounded by count and age and kept across restarts: system/function_logs.py)
  with a sequence number greater than SEQ, oldest first; without `after`, `history=N` gives
  the last N (none by default). The answer is `{"records", "cursor"}`: poll again with
  `after=cursor`. A cursor ahead of the log (its data directory was replaced) starts again
  from its oldest record. (`/api/stream_function_logs`, for `npx convex logs`, is in
  log_stream_api.py.)

Every route needs `Authorization: Convex <admin key>`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncline.database import Transaction
from syncline.errors import SynclineError
from syncline.functions import ExecutionRecord
from syncline.server.data_filters import parse_filters
from syncline.server.deployment import Deployment
from syncline.server.request_bodies import ascii_uint
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    require_admin_key,
)
from syncline.values import to_export_json

DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000
MAX_LOG_LIMIT = 10_000
# System tables `syncline data <table>` may show, as Convex's `data` shows `_storage`.
READABLE_SYSTEM_TABLES = ("_scheduled_functions", "_storage")
PAGE_BYTES = 8 * 1024 * 1024


def _int_param(request: Request, name: str, default: int | None, low: int,
               high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = ascii_uint(raw)  # not int(): it takes " 5", "1_0", "١٢" and "²" raises
    if value is None or not low <= value <= high:
        raise BadRequest(f"Invalid{name[0].upper()}{name[1:]}",
                         f"{name} must be a whole number from {low} to {high}, got {raw!r}")
    return value


def record_json(seq: int, record: ExecutionRecord) -> dict[str, Any]:
    return {
        "seq": seq,
        "timestamp": record.started_ms,
        "requestId": record.request_id,
        "kind": record.kind,
        "path": record.path,
        "success": record.success,
        "error": record.error,
        "durationMs": record.duration_ms,
        "logLines": [{"level": line.level, "message": line.message,
                      "timestamp": line.timestamp_ms} for line in record.log_lines],
    }


class DataApi:
    """Route handlers bound to one deployment."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def _authorize(self, request: Request) -> None:
        require_admin_key(self.deployment.admin_keys, request)

    # -- tables ----------------------------------------------------------------------------

    def _user_tables(self) -> list[str]:
        db = self.deployment.db
        names = set(db.table_names())
        if db.schema is not None:
            names.update(db.schema.tables)
        return sorted(names)

    def _count(self, name: str, ts: int) -> int:
        """Live documents of `name` at `ts`: the maintained count (database/counts.py),
        or storage's count at `ts` for a snapshot older than the counts remember."""
        db = self.deployment.db
        info = db.tables.get(name)
        if info is None:
            return 0
        count = db.committer.document_count(info.number, ts)
        return db.persistence.count_documents(info.number, ts) if count is None else count

    async def tables(self, request: Request) -> Response:
        try:
            self._authorize(request)
        except BadRequest as e:
            return bad_request_response(e)
        names = self._user_tables()
        ts = self.deployment.db.visible_ts

        def count_all() -> list[dict[str, Any]]:
            return [{"name": name, "documents": self._count(name, ts)} for name in names]

        return json_response({"tables": await asyncio.to_thread(count_all)})

    # -- documents -------------------------------------------------------------------------

    async def documents(self, request: Request) -> Response:
        params = request.query_params
        try:
            self._authorize(request)
            table = params.get("table") or ""
            if not table:
                raise BadRequest("MissingTable", "Pass the table to read: ?table=NAME")
            system = table in READABLE_SYSTEM_TABLES
            if not system and table not in self._user_tables():
                raise BadRequest("TableNotFound", f"There is no table named {table!r}"
                                 + self._table_hint(), 404)
            limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
            order = params.get("order") or "desc"
            if order not in ("asc", "desc"):
                raise BadRequest("InvalidOrder", f'order must be "asc" or "desc", got {order!r}')
            cursor = params.get("cursor") or None
            conditions = parse_filters(params.get("filters"))

            async def page_of(tx: Transaction) -> dict[str, Any]:
                query = tx.query(table, system=system).order(order)
                for condition in conditions:
                    query = query.filter(condition.predicate)
                return await query.paginate(
                    {"numItems": limit, "cursor": cursor, "maximumBytesRead": PAGE_BYTES})

            try:
                page = await self.deployment.db.read(page_of)
            except SynclineError as e:
                raise BadRequest("InvalidRequest", str(e)) from None
        except BadRequest as e:
            return bad_request_response(e)
        return json_response({
            "documents": [to_export_json(doc) for doc in page["page"]],
            "cursor": page["continueCursor"],
            "isDone": page["isDone"],
        })

    def _table_hint(self) -> str:
        names = self._user_tables()
        if not names:
            return ": the deployment has no tables yet"
        return f". Tables: {', '.join(names)}"

    # -- logs ------------------------------------------------------------------------------

    async def logs(self, request: Request) -> Response:
        try:
            self._authorize(request)
            after = _int_param(request, "after", None, 0, 2**62)
            history = _int_param(request, "history", 0, 0, MAX_LOG_LIMIT)
            limit = _int_param(request, "limit", MAX_LOG_LIMIT, 1, MAX_LOG_LIMIT)
        except BadRequest as e:
            return bad_request_response(e)
        assert limit is not None and history is not None
        log = self.deployment.function_logs  # system/function_logs.py: any thread appends
        newest = log.newest_seq
        if after is None:
            entries = log.last(history)[:limit] if history else []
        elif after > newest:  # a log wiped since (a new data directory): from its oldest
            entries = log.after_seq(0, limit)
        else:
            entries = log.after_seq(after, limit)
        records = [record_json(entry.seq, entry.record) for entry in entries]
        cursor = entries[-1].seq if entries else (newest if after is None or after > newest
                                                   else after)
        return json_response({"records": records, "cursor": cursor})


def data_routes(deployment: Deployment) -> list[Route]:
    api = DataApi(deployment)
    return [
        Route("/api/data/tables", api.tables, methods=["GET"]),
        Route("/api/data/documents", api.documents, methods=["GET"]),
        Route("/api/logs", api.logs, methods=["GET"]),
    ]
