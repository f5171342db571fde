"""The HTTP functions API, as documented and as the official `ConvexHttpClient` uses it.

- `POST /api/query|mutation|action` with `{"path", "args", "format"}`;
- `POST /api/run/{module/function}` with `{"args", "format"}`;
- `POST /api/function` (any kind; the JS client's `function()`);
- `POST /api/query_ts` and `/api/query_at_ts` (the JS client's `consistentQuery`);
- `GET /version`, `GET /instance_name`;
- file storage: `POST /api/storage/upload`, `GET /api/storage/{id}` (storage_api.py).

`format: "json"` (the default) returns values as plain JSON (int64 as a
decimal string, bytes as base64); `"convex_encoded_json"` uses the wire
encoding (`$integer`, `$bytes`, ...), which the official clients send with
the arguments as a one-element array. A failed function is HTTP 200 with
`status: "error"`; a malformed request is 4xx with `{"code", "message"}`.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from syncline import __version__
from syncline.errors import DiskFullError, InvalidValueError, SnapshotTooOldError
from syncline.functions import Credentials, Outcome
from syncline.functions.references import InvalidFunctionPathError, path_from_url
from syncline.functions.registration import FunctionKind
from syncline.server.admin_api import admin_routes
from syncline.server.cli_import_api import cli_import_routes
from syncline.server.dashboard import dashboard_routes
from syncline.server.data_api import data_routes
from syncline.server.deployment import Deployment
from syncline.server.env_api import env_routes
from syncline.server.env_update_api import env_update_routes
from syncline.server.import_export_api import import_export_routes
from syncline.server.log_stream_api import log_stream_routes
from syncline.server.metrics_api import metrics_routes
from syncline.server.request_bodies import BoundedBodies, read_json_object
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    disk_full_response,
    json_response,
    out_of_retention_response,
    request_credentials,
)
from syncline.server.storage_api import storage_routes
from syncline.server.streaming_export import streaming_export_routes
from syncline.server.sync_endpoint import sync_routes
from syncline.server.system_routes import system_routes
from syncline.server.unknown_routes import HANDLERS as unknown_route_handlers
from syncline.system import history
from syncline.values import from_json, to_export_json, to_json
from syncline.values.limits import MAX_ENCODED_CALL_SIZE
from syncline.values.timestamps import decode_ts, encode_ts

FORMATS = ("json", "convex_encoded_json")
# Arguments may be 16 MiB as Convex values; their JSON (base64 bytes, escapes) is larger:
# the same cap as a sync message (values/limits.py).
MAX_REQUEST_BODY = MAX_ENCODED_CALL_SIZE

_log = logging.getLogger(__name__)


async def _json_body(request: Request) -> dict[str, Any]:
    return await read_json_object(request, MAX_REQUEST_BODY)


def _format(body: dict[str, Any]) -> str:
    fmt = body.get("format", "json")
    if fmt is None:
        fmt = "json"
    if fmt not in FORMATS:
        raise BadRequest(
            "InvalidFormat", f"Unsupported format {fmt!r}: use one of {', '.join(FORMATS)}"
        )
    return fmt


def _args(body: dict[str, Any], *, allow_array: bool) -> dict[str, Any]:
    raw = body.get("args", {})
    if raw is None:
        raw = {}
    if allow_array and isinstance(raw, list):
        if len(raw) != 1:
            raise BadRequest("InvalidArgs", "args must be an object or a one-element array")
        raw = raw[0]
    if not isinstance(raw, dict):
        raise BadRequest("InvalidArgs", "args must be a JSON object of named arguments")
    try:
        return from_json(raw)
    except InvalidValueError as e:
        raise BadRequest("InvalidArgs", f"Invalid argument value: {e}") from None


def _path(body: dict[str, Any]) -> str:
    path = body.get("path")
    if not isinstance(path, str) or not path:
        raise BadRequest("MissingPath", "The request body needs a `path` string, e.g. 'messages:list'")
    return path


class HttpApi:
    """Request handlers bound to one deployment."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    async def caller(self, request: Request) -> Credentials:
        """Who is calling, from the Authorization header (docs/auth.md)."""
        return await request_credentials(self.deployment.authenticator, request)

    async def call(self, request: Request, kind: FunctionKind | None, *,
                   path_from_body: bool = True, allow_array: bool = True) -> Response:
        try:
            body = await _json_body(request)
            fmt = _format(body)
            if path_from_body:
                path = _path(body)
            else:
                try:
                    path = path_from_url(request.path_params["identifier"])
                except InvalidFunctionPathError as e:
                    raise BadRequest("InvalidPath", str(e)) from None
            args = _args(body, allow_array=allow_array)
            caller = await self.caller(request)
            snapshot_ts = None
            if "ts" in body and request.url.path.endswith("query_at_ts"):
                try:
                    snapshot_ts = decode_ts(body["ts"])
                except (InvalidValueError, TypeError) as e:
                    raise BadRequest("InvalidTimestamp", str(e)) from None
                if snapshot_ts > self.deployment.db.visible_ts:
                    raise BadRequest("InvalidTimestamp", "The timestamp is in the future")
        except BadRequest as e:
            return bad_request_response(e)
        try:
            outcome = await self.deployment.runner.run(
                path, args, expected_kind=kind, identity=caller.identity, admin=caller.admin,
                snapshot_ts=snapshot_ts, cached=True,
            )
        except SnapshotTooOldError as e:  # query_at_ts before the retention window
            return out_of_retention_response(request, e)
        return self.respond(outcome, fmt)

    def respond(self, outcome: Outcome, fmt: str) -> Response:
        encode = to_json if fmt == "convex_encoded_json" else to_export_json
        log_lines = [line.formatted() for line in outcome.log_lines] if self.deployment.dev else []
        failure = outcome.failure
        if failure is None:
            return json_response(
                {"status": "success", "value": encode(outcome.value), "logLines": log_lines}
            )
        body: dict[str, Any] = {"status": "error", "errorMessage": failure.message,
                                "logLines": log_lines}
        if failure.is_application_error:
            body["errorData"] = encode(failure.data)
        return json_response(body)

    # -- routes ----------------------------------------------------------------------------

    async def query(self, request: Request) -> Response:
        return await self.call(request, "query")

    async def mutation(self, request: Request) -> Response:
        return await self.call(request, "mutation")

    async def action(self, request: Request) -> Response:
        return await self.call(request, "action")

    async def function(self, request: Request) -> Response:
        return await self.call(request, None)

    async def run(self, request: Request) -> Response:
        return await self.call(request, None, path_from_body=False, allow_array=False)

    async def query_ts(self, request: Request) -> Response:
        return json_response({"ts": encode_ts(self.deployment.db.visible_ts)})

    async def version(self, request: Request) -> Response:
        return PlainTextResponse(__version__)

    async def instance_name(self, request: Request) -> Response:
        return PlainTextResponse(self.deployment.admin_keys.instance_name)


def create_api_app(deployment: Deployment) -> BoundedBodies:
    api = HttpApi(deployment)
    routes = [
        Route("/api/query", api.query, methods=["POST"]),
        Route("/api/mutation", api.mutation, methods=["POST"]),
        Route("/api/action", api.action, methods=["POST"]),
        Route("/api/function", api.function, methods=["POST"]),
        Route("/api/run/{identifier:path}", api.run, methods=["POST"]),
        Route("/api/query_ts", api.query_ts, methods=["POST"]),
        Route("/api/query_at_ts", api.query, methods=["POST"]),
        Route("/version", api.version, methods=["GET"]),
        Route("/instance_name", api.instance_name, methods=["GET"]),
        *admin_routes(deployment),
        *env_routes(deployment),
        *data_routes(deployment),
        *log_stream_routes(deployment),
        *storage_routes(deployment.files),
        *streaming_export_routes(deployment),
        *import_export_routes(deployment),
        *cli_import_routes(deployment),
        *env_update_routes(deployment),
        *sync_routes(deployment),
        *metrics_routes(deployment),
        *system_routes(deployment),
        *dashboard_routes(deployment),
    ]
    middleware = [Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"],
                             allow_headers=["*"]),
                  Middleware(history.ActorMiddleware)]  # who changes what: system/history.py
    # Outermost: a request's share of the body budget is given back once it is answered.
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={DiskFullError: disk_full_response,
                                        SnapshotTooOldError: out_of_retention_response,
                                        **unknown_route_handlers})
    return BoundedBodies(FunctionCallShortcut(app, api), deployment.body_limits)


class FunctionCallShortcut:
    """Function calls (`POST /api/query|mutation|action|function|query_at_ts`) answered
    before Starlette's middleware stack and router, which cost a quick query's request
    about 30 µs, as much as running the query. The answers are the same, with the CORS
    headers the middleware would add; every other request goes through `app`."""

    def __init__(self, app: Starlette, api: HttpApi) -> None:
        self.app = app
        self._handlers: dict[str, Any] = {
            "/api/query": api.query, "/api/mutation": api.mutation, "/api/action": api.action,
            "/api/function": api.function, "/api/query_at_ts": api.query,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = (self._handlers.get(scope["path"])
                   if scope["type"] == "http" and scope["method"] == "POST" else None)
        if handler is None:
            await self.app(scope, receive, send)
            return
        try:
            response = await handler(Request(scope, receive))
        except Exception:  # as Starlette's ServerErrorMiddleware would answer
            _log.exception("Exception in %s", scope["path"])
            response = PlainTextResponse("Internal Server Error", status_code=500)
        # CORSMiddleware(allow_origins=["*"]) on a simple request: "*" for a request with
        # an Origin, and Vary: Origin on every response.
        if any(name == b"origin" for name, _ in scope["headers"]):
            response.headers["access-control-allow-origin"] = "*"
        response.headers["vary"] = "Origin"
        await response(scope, receive, send)
