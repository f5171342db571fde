"""What every HTTP endpoint shares: JSON responses, 4xx errors, checking the caller.

Reading request bodies, within bounds, is in request_bodies.py."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from syncline.errors import (
    DISK_FULL_MESSAGE,
    AuthenticationError,
    InvalidAdminKeyError,
    SnapshotTooOldError,
)
from syncline.functions import Credentials


class BadRequest(Exception):
    """A request the endpoint refuses: answered with `status` and `{"code", "message"}`."""

    def __init__(self, code: str, message: str, status: int = 400,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def bad_request_response(error: BadRequest) -> Response:
    response = json_response({"code": error.code, "message": error.message}, error.status)
    if error.headers:
        response.headers.update(error.headers)
    return response


def disk_full_response(_request: Request | None = None, error: Exception | None = None,
                       ) -> Response:
    """507 Insufficient Storage (RFC 4918): the deployment's disk is full, nothing was
    written. Also the API app's handler for a DiskFullError no endpoint caught."""
    return bad_request_response(BadRequest("DiskFull", str(error or DISK_FULL_MESSAGE), 507))


def out_of_retention_response(_request: Request | None, error: Exception) -> Response:
    """400 `InvalidWindowToReadDocuments` (Convex's code for a too-old streaming export
    cursor): a snapshot or cursor older than the retained history. Also the API app's
    handler for a SnapshotTooOldError no endpoint caught."""
    return bad_request_response(BadRequest(SnapshotTooOldError.code, str(error)))


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
