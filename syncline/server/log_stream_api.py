"""The function log stream the official CLI reads (`npx convex logs`, its MCP `logs` tool).

- `GET /api/stream_function_logs?cursor=MS` answers `{"entries": [...], "newCursor": MS}`.
  Each entry is one finished execution: `kind` ("Completion"), `identifier` (the function
  path, or `GET /route` for an HTTP action), `udfType` ("Query", "Mutation", "Action",
  "HttpAction"), `timestamp` (start, seconds since the epoch), `logLines` (`"[LEVEL]
  message"` strings), `error` (null on success), `executionTime` (seconds), `requestId`.
  The cursor is the log time (ms) of the last entry seen; pass `newCursor` back.
  `cursor=0` (where the CLI starts) answers at once with the newest STREAM_PAGE entries:
  `npx convex logs --history N` prints the last N of them and tails from there. Any other
  cursor gets the entries logged after it, oldest first, up to STREAM_PAGE; when there are
  none the request waits (long poll) up to LONG_POLL_S for one, and answers empty with the
  same cursor if none comes or the server stops.
- `GET /api/logs/status`: the log's sizes and bounds (system/function_logs.py `stats`).

Both need the admin key. A missing or wrong key is a 403 here (not the 401 of the other
admin routes): the CLI's log loop gives up on 403 with the message, and retries everything
else forever.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncline.server.deployment import Deployment
from syncline.server.responses import BadRequest, bad_request_response, json_response
from syncline.system.function_logs import LogEntry

STREAM_PAGE = 10_000  # entries per answer
LONG_POLL_S = 30.0  # well under the 300 s Node's fetch waits for response headers
_CURSOR = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?")
_UDF_TYPES = {"query": "Query", "mutation": "Mutation", "action": "Action"}


def entry_json(entry: LogEntry) -> dict[str, Any]:
    """One execution as Convex's stream shows it (see the module docstring)."""
    record = entry.record
    if record.kind == "action" and " " in record.path:  # HTTP actions: "GET /path"
        udf_type = "HttpAction"
    else:  # an unknown function (kind None) was called as one of the three
        udf_type = _UDF_TYPES.get(record.kind or "", "Action")
    return {
        "kind": "Completion",
        "identifier": record.path,
        "udfType": udf_type,
        "timestamp": record.started_ms / 1000.0,
        "logLines": [line.formatted() for line in record.log_lines],
        "error": record.error,
        "executionTime": record.duration_ms / 1000.0,
        "requestId": record.request_id,
        "cachedResult": False,
    }


class LogStreamApi:
    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def _authorize(self, request: Request) -> None:
        if not self.deployment.admin_keys.check_authorization(
                request.headers.get("authorization")):
            raise BadRequest("Unauthorized", "Reading function logs needs the deployment's "
                             "admin key: send `Authorization: Convex <admin key>`", 403)

    async def stream(self, request: Request) -> Response:
        try:
            self._authorize(request)
            cursor = _cursor(request.query_params.get("cursor"))
        except BadRequest as e:
            return bad_request_response(e)
        log = self.deployment.function_logs
        if cursor <= 0:
            entries = log.last(STREAM_PAGE)
            new_cursor = entries[-1].ts_ms if entries else log.position()
        else:
            entries = log.after_ts(cursor, STREAM_PAGE)
            if not entries:
                await log.wait_after(cursor, LONG_POLL_S)
                entries = log.after_ts(cursor, STREAM_PAGE)
            new_cursor = entries[-1].ts_ms if entries else cursor
        return json_response({"entries": [entry_json(e) for e in entries],
                              "newCursor": new_cursor})

    async def status(self, request: Request) -> Response:
        try:
            self._authorize(request)
        except BadRequest as e:
            return bad_request_response(e)
        return json_response(self.deployment.function_logs.stats())


def _cursor(raw: str | None) -> float:
    if raw is None or raw == "":
        return 0.0
    if _CURSOR.fullmatch(raw) is None:
        raise BadRequest("InvalidCursor", "cursor must be a non-negative number of "
                         f"milliseconds (the newCursor of the last answer, or 0), got {raw!r}")
    value = float(raw)
    if value == float("inf"):
        raise BadRequest("InvalidCursor", f"cursor is too large: {raw!r}")
    return value


def log_stream_routes(deployment: Deployment) -> list[Route]:
    api = LogStreamApi(deployment)
    return [
        Route("/api/stream_function_logs", api.stream, methods=["GET"]),
        Route("/api/logs/status", api.status, methods=["GET"]),
    ]
