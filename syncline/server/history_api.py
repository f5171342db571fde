"""The deployment history over HTTP: `GET /api/syncline/history?limit=N&cursor=C` answers
one page of events, newest first (`{"page", "isDone", "continueCursor"}`; see
system/history.py). Needs `Authorization: Convex <admin key>`. `syncline history` reads it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncline.errors import SynclineError
from syncline.server.deployment import Deployment
from syncline.server.request_bodies import ascii_uint
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    require_admin_key,
)
from syncline.system import history

PATH = "/api/syncline/history"


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return history.DEFAULT_PAGE
    limit = ascii_uint(raw)
    if limit is None or not 1 <= limit <= history.MAX_PAGE:
        raise BadRequest("InvalidLimit", f"limit must be a whole number from 1 to "
                         f"{history.MAX_PAGE}, got {raw!r}")
    return limit


def history_routes(deployment: Deployment) -> list[Route]:
    async def page(request: Request) -> Response:
        try:
            require_admin_key(deployment.admin_keys, request)
            limit = _limit(request.query_params.get("limit"))
            cursor = request.query_params.get("cursor") or None
            try:
                result = await history.history_page(deployment.db, cursor=cursor,
                                                    limit=limit)
            except SynclineError as e:  # a cursor from another query, say
                raise BadRequest("InvalidCursor", str(e)) from None
        except BadRequest as e:
            return bad_request_response(e)
        return json_response(result)

    return [Route(PATH, page, methods=["GET"])]
