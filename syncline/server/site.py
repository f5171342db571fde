"""The HTTP actions site (port 3211 by default): the app's own HTTP routes.

Routes come from the `http` router in `convex/http.py`, looked up afresh on every
request so a push takes effect at once. A handler runs like an action (see
`FunctionRunner.run_http_action`); its Response is sent as is, a streamed body chunk by
chunk. Request bodies over 20 MiB get a 413, a handler that fails a 500 whose body ends
with `[Request ID: ...]`.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from syncline.errors import AuthenticationError, SynclineError
from syncline.functions import UserIdentity
from syncline.functions.http_router import HttpRouter, find_router
from syncline.functions.http_types import MAX_HTTP_BODY_SIZE, HttpResult
from syncline.functions.http_types import Request as HttpRequest
from syncline.server.deployment import Deployment
from syncline.server.request_bodies import BoundedBodies, read_body
from syncline.server.responses import BadRequest

_log = logging.getLogger(__name__)
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]


def _router(deployment: Deployment) -> HttpRouter | None:
    app = deployment.runner.app
    if app is None:
        return None
    try:
        return find_router(app.module("http"))
    except SynclineError:  # a push validates it; this cannot normally happen
        _log.exception("invalid convex/http.py router")
        return None


def _response(result: HttpResult) -> Response:
    if result.failure is not None or result.response is None:
        message = result.failure.message if result.failure is not None else (
            f"Server Error [Request ID: {result.request_id}]")
        return PlainTextResponse(message, status_code=500)
    response = result.response
    headers = [(name.encode("latin-1"), value.encode("latin-1"))
               for name, value in response.headers.items()]
    if result.chunks is not None:
        streamed = StreamingResponse(result.chunks, status_code=response.status)
        streamed.raw_headers = [h for h in streamed.raw_headers
                                if h[0] != b"content-type"] + headers
        return streamed
    plain = Response(response.body, status_code=response.status)
    plain.raw_headers = [h for h in plain.raw_headers if h[0] == b"content-length"] + [
        h for h in headers if h[0] != b"content-length"]
    return plain


async def _caller(deployment: Deployment,
                  request: Request) -> tuple[UserIdentity | None, Exception | None]:
    """The identity of a `Bearer` token (or an admin acting as a user), else anonymous.

    The request runs either way, since a route may use the header for its own scheme;
    a token that does not verify makes `ctx.auth.get_user_identity()` raise why.
    """
    header = request.headers.get("authorization", "")
    if not header.lower().startswith(("bearer ", "convex ")):
        return None, None
    try:
        credentials = await deployment.authenticator.from_header(header)
    except AuthenticationError as e:
        return None, AuthenticationError(f"Could not authenticate the request: {e}")
    return credentials.identity, None


def create_site_app(deployment: Deployment) -> BoundedBodies:
    async def serve(request: Request) -> Response:
        path = request.url.path
        router = _router(deployment)
        match = router.lookup(request.method, path) if router is not None else None
        if match is None or match.status == 404:
            return PlainTextResponse(f"No HTTP route matches {request.method} {path}",
                                     status_code=404)
        if match.route is None:
            return PlainTextResponse(
                f"Method {request.method} is not allowed for {path}", status_code=405,
                headers={"Allow": ", ".join(match.allowed)})
        try:
            body = await read_body(request, MAX_HTTP_BODY_SIZE)
        except BadRequest as e:
            return PlainTextResponse(e.message, status_code=e.status, headers=e.headers)
        http_request = HttpRequest(
            request.method, str(request.url),
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw], body)
        identity, auth_error = await _caller(deployment, request)
        result = await deployment.runner.run_http_action(
            match.route.handler, http_request, label=match.route.label, identity=identity,
            auth_error=auth_error)
        return _response(result)

    return BoundedBodies(Starlette(routes=[Route("/{path:path}", serve, methods=_METHODS)]),
                         deployment.body_limits)
