"""The HTTP actions site (port 3211 by default): the app's own HTTP routes.

Routes come from `convex/http.py`; until an app defines any, every request
gets a 404 that says so.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from syncline.server.deployment import Deployment


def create_site_app(deployment: Deployment) -> Starlette:
    async def not_routed(request: Request) -> Response:
        return PlainTextResponse(
            f"No HTTP route matches {request.method} {request.url.path}", status_code=404
        )

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    return Starlette(routes=[Route("/{path:path}", not_routed, methods=methods)])
