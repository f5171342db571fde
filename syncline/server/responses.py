"""What every HTTP endpoint shares: JSON responses, 4xx errors, reading a bounded JSON body."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from syncline.errors import DISK_FULL_MESSAGE, AuthenticationError, InvalidAdminKeyError
from syncline.functions import Credentials


class BadRequest(Exception):
    """A request the endpoint refuses: answered with `status` and `{"code", "message"}`."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def bad_request_response(error: BadRequest) -> Response:
    return json_response({"code": error.code, "message": error.message}, error.status)


def disk_full_response(_request: Request | None = None, error: Exception | None = None,
                       ) -> Response:
    """507 Insufficient Storage (RFC 4918): the deployment's disk is full, nothing was
    written. Also the API app's handler for a DiskFullError no endpoint caught."""
    return bad_request_response(BadRequest("DiskFull", str(error or DISK_FULL_MESSAGE), 507))


def _size_text(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit // (1024 * 1024)} MiB"
    return f"{limit // 1024} KiB"


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The whole body, streamed in and refused (413) past `max_bytes` without reading on."""
    too_large = BadRequest("PayloadTooLarge",
                           f"The request body is larger than the {_size_text(max_bytes)} this "
                           "endpoint accepts", 413)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    # The ASGI messages directly: Starlette's `stream()` costs a small request more.
    chunks, size = [], 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise BadRequest("ClientDisconnected", "The client disconnected", 400)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """The JSON object in the body (an empty body is `{}`), streamed in and refused past
    `max_bytes` without reading the rest."""
    raw = await read_body(request, max_bytes)
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as e:
        raise BadRequest("BadJsonBody", f"The request body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise BadRequest("BadJsonBody", "The request body must be a JSON object")
    return body


def require_admin_key(admin_keys: Any, request: Request) -> None:
    """Refuse (401) a request without the deployment's admin key."""
    if not admin_keys.check_authorization(request.headers.get("authorization")):
        raise BadRequest("Unauthorized", "This endpoint needs the deployment's admin key: "
                         "send `Authorization: Convex <admin key>`", 401)


async def request_credentials(authenticator: Any, request: Request) -> Credentials:
    """The caller of an HTTP request; bad credentials are a 401 saying why (docs/auth.md)."""
    try:
        return await authenticator.from_header(request.headers.get("authorization"))
    except InvalidAdminKeyError:
        raise BadRequest("Unauthorized", "The admin key in the Authorization header is not "
                         "valid for this deployment", 401) from None
    except AuthenticationError as e:
        raise BadRequest("Unauthenticated", f"Could not authenticate: {e}", 401) from None
