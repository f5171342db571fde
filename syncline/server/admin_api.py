"""The admin API for scheduled functions: list them, cancel one, cancel many.

- `GET /api/syncline/scheduled_functions?state=...&limit=N` lists jobs in
  scheduled-time order: by default the unfinished ones (`pending` and
  `inProgress`); `state` takes one state, a comma-separated list, or `all`.
- `POST /api/syncline/scheduled_functions/cancel` with `{"id"}` cancels one job.
- `POST /api/syncline/scheduled_functions/cancel_all` with an optional
  `{"name": "module:function"}` cancels every unfinished job (of that function).

Every route needs `Authorization: Convex <admin key>`. Jobs live in the
`_scheduled_functions` system table, which has no index on `scheduledTime` or
`state`, so both the listing and `cancel_all` walk the table page by page, each
page in a transaction of its own: a table of any size stays under the
per-transaction read and write limits.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncline.database.catalog import SYSTEM_TABLES
from syncline.errors import InvalidIdError
from syncline.functions.references import InvalidFunctionPathError, canonical_path
from syncline.functions.scheduling import SCHEDULED_FUNCTIONS
from syncline.server.deployment import Deployment
from syncline.server.request_bodies import ascii_uint, read_json_object
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    require_admin_key,
)
from syncline.system import dashboard_schedules as schedules
from syncline.values import decode_id, to_export_json

PREFIX = "/api/syncline/scheduled_functions"
STATES = ("pending", "inProgress", "success", "failed", "canceled")
UNFINISHED = ("pending", "inProgress")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000
# Rows per page when listing, and per transaction when canceling. Pages also stop after
# PAGE_BYTES, so that jobs with large arguments keep a page well under the 16 MiB that one
# transaction may read (and, canceling, write back).
LIST_PAGE = 1_000
PAGE_BYTES = 2 * 1024 * 1024
MAX_BODY = 64 * 1024


async def _body(request: Request) -> dict[str, Any]:
    return await read_json_object(request, MAX_BODY)


def _states(raw: str | None) -> frozenset[str]:
    if raw is None or raw == "":
        return frozenset(UNFINISHED)
    if raw == "all":
        return frozenset(STATES)
    states = {part.strip() for part in raw.split(",")}
    unknown = sorted(states - set(STATES))
    if unknown:
        raise BadRequest("InvalidState", f"Unknown state {unknown[0]!r}: use one of "
                         f"{', '.join(STATES)} (comma-separated for several), or all")
    return frozenset(states)


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    limit = ascii_uint(raw)  # not int(): it takes " 5", "1_0" and "١٢"
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise BadRequest("InvalidLimit",
                         f"limit must be a whole number from 1 to {MAX_LIMIT}, got {raw!r}")
    return limit


def _job_id(raw: Any) -> str:
    """`raw` if it is the ID of a document of `_scheduled_functions`."""
    if not isinstance(raw, str):
        raise BadRequest("InvalidId", 'The request body needs an "id" string: the ID of a '
                         "scheduled function")
    try:
        table_number, _ = decode_id(raw)
    except InvalidIdError:
        table_number = None
    if table_number != SYSTEM_TABLES[SCHEDULED_FUNCTIONS]:
        raise BadRequest("InvalidId", f"{raw!r} is not the ID of a scheduled function")
    return raw


def _function_name(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise BadRequest("InvalidFunctionPath",
                         f'"name" must be a function path like "messages:send", got {raw!r}')
    try:
        return canonical_path(raw)
    except InvalidFunctionPathError as e:
        raise BadRequest("InvalidFunctionPath", str(e)) from None


def _job_json(job: dict[str, Any]) -> dict[str, Any]:
    """A job as the API shows it; `args` is the stored one-element array, as plain JSON."""
    return {
        "id": job["_id"],
        "name": job["name"],
        "args": to_export_json(job["args"]),
        "scheduledTime": job["scheduledTime"],
        "completedTime": job.get("completedTime"),
        "state": to_export_json(job["state"]),
    }


def _page_options(size: int, cursor: str | None) -> dict[str, Any]:
    return {"numItems": size, "cursor": cursor, "maximumBytesRead": PAGE_BYTES}


class ScheduledFunctionsApi:
    """Route handlers bound to one deployment."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def _authorize(self, request: Request) -> None:
        require_admin_key(self.deployment.admin_keys, request)

    async def list_jobs(self, states: frozenset[str], limit: int) -> list[dict[str, Any]]:
        """The first `limit` jobs in `states` by scheduled time (then creation order)."""
        db = self.deployment.db

        def order(job: dict[str, Any]) -> tuple[float, float]:
            return job["scheduledTime"], job["_creationTime"]

        kept: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await db.read(lambda tx, c=cursor: tx.query(
                SCHEDULED_FUNCTIONS, system=True).paginate(_page_options(LIST_PAGE, c)))
            kept += [job for job in page["page"] if job["state"]["kind"] in states]
            if len(kept) > 2 * limit:  # keep memory bounded on large tables
                kept.sort(key=order)
                del kept[limit:]
            if page["isDone"]:
                break
            cursor = page["continueCursor"]
        kept.sort(key=order)
        return kept[:limit]

    async def cancel_job(self, job_id: str) -> bool | None:
        """True if canceled, False if it had finished, None if there is no such job."""
        now = self.deployment.runner.now_ms()
        return await self.deployment.db.run_transaction(
            lambda tx: schedules.cancel_job(tx, job_id, now))

    async def cancel_jobs(self, name: str | None) -> int:
        """Cancel every unfinished job (of function `name`), one page per transaction
        (system/dashboard_schedules.py `cancel_page`, as the dashboard's cancel all)."""
        db = self.deployment.db
        canceled = 0
        cursor: str | None = None
        while True:
            now = self.deployment.runner.now_ms()
            count, page = await db.run_transaction(
                lambda tx, c=cursor, now=now: schedules.cancel_page(tx, name, c, now))
            canceled += count
            if page["isDone"]:
                return canceled
            cursor = page["continueCursor"]

    # -- routes ----------------------------------------------------------------------------

    async def list(self, request: Request) -> Response:
        try:
            self._authorize(request)
            states = _states(request.query_params.get("state"))
            limit = _limit(request.query_params.get("limit"))
        except BadRequest as e:
            return bad_request_response(e)
        jobs = await self.list_jobs(states, limit)
        return json_response({"jobs": [_job_json(job) for job in jobs]})

    async def cancel(self, request: Request) -> Response:
        try:
            self._authorize(request)
            job_id = _job_id((await _body(request)).get("id"))
            canceled = await self.cancel_job(job_id)
            if canceled is None:
                raise BadRequest("NotFound", f"There is no scheduled function {job_id!r} (jobs "
                                 "are deleted 7 days after they finish)", 404)
        except BadRequest as e:
            return bad_request_response(e)
        return json_response({"canceled": canceled})

    async def cancel_all(self, request: Request) -> Response:
        try:
            self._authorize(request)
            name = _function_name((await _body(request)).get("name"))
        except BadRequest as e:
            return bad_request_response(e)
        return json_response({"canceled": await self.cancel_jobs(name)})


def admin_routes(deployment: Deployment) -> list[Route]:
    api = ScheduledFunctionsApi(deployment)
    return [
        Route(PREFIX, api.list, methods=["GET"]),
        Route(f"{PREFIX}/cancel", api.cancel, methods=["POST"]),
        Route(f"{PREFIX}/cancel_all", api.cancel_all, methods=["POST"]),
    ]
