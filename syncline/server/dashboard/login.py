"""The dashboard's login: one-time links and admin keys exchanged for sessions.

- `POST /dashboard/api/session` `{"token": <one-time>}` or `{"adminKey": ...}` ->
  `{"session", "expiresAt"}` (ms). A used, expired or unknown token, or a wrong key, is a
  401 `{code, message}` after a short delay (guessing stays slow).
- `GET /dashboard/api/session` (a credential) -> `{"kind": "session"|"adminKey",
  "expiresAt"}`: whether the browser's session still works (it stops when it expires or
  the admin key is rotated).
- `POST /dashboard/api/login-link` (admin) -> `{"url", "expiresAt"}`: a link that logs a
  browser in once, within 10 minutes (`syncline dashboard` opens it).
- `POST /dashboard/api/rotate-admin-key` (admin) -> `{"adminKey", "session", "expiresAt"}`:
  a new instance secret, so the old key and every session stop working; the caller gets
  the new key once, and a session so the dashboard stays logged in.

Sessions live in the browser's localStorage and travel in the Authorization header, never
in a cookie, so another site cannot make the browser use them (no CSRF).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncline.errors import InvalidAdminKeyError
from syncline.server.deployment import Deployment
from syncline.server.request_bodies import read_json_object
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    require_admin_key,
)
from syncline.storage.disk_full import is_disk_full

MAX_BODY = 16 * 1024
WRONG_CREDENTIAL_DELAY_S = 0.5  # per refused login: makes guessing slow, typos unnoticeable
DASHBOARD_PATH = "/dashboard/"

INVALID_TOKEN = (
    "This login link has expired or was already used (a link works once, within 10 "
    "minutes). Run `syncline dashboard` for a new one, or log in with the admin key.")
INVALID_KEY = (
    "That is not this deployment's admin key. `syncline admin-key DIR` prints it on the "
    "deployment's machine; `syncline serve` prints it when it starts.")


def session_json(deployment: Deployment) -> dict[str, Any]:
    session = deployment.admin_keys.new_session()
    return {"session": session.token, "expiresAt": session.expires_at_ms}


def dashboard_url(deployment: Deployment, request: Request) -> str:
    """The dashboard's URL as clients reach the deployment (its public URL once known)."""
    base = deployment.url or str(request.base_url)
    return base.rstrip("/") + DASHBOARD_PATH


def _credential(request: Request) -> str:
    header = request.headers.get("authorization") or ""
    if not header.startswith("Convex "):
        return ""
    return header[len("Convex "):].strip().split(":", 1)[0]


def _is_the_admin_key(deployment: Deployment, candidate: str) -> bool:
    """The admin key itself: a session is not exchanged for a newer one (it would never
    have to end but for a rotation)."""
    try:
        return deployment.admin_keys.expiry(candidate) is None
    except InvalidAdminKeyError:
        return False


def login_routes(deployment: Deployment) -> list[Route]:
    async def refused(code: str, message: str) -> Response:
        await asyncio.sleep(WRONG_CREDENTIAL_DELAY_S)
        return bad_request_response(BadRequest(code, message, 401))

    async def create_session(request: Request) -> Response:
        try:
            body = await read_json_object(request, MAX_BODY)
            token, key = body.get("token"), body.get("adminKey")
            given = token if key is None else key
            if (token is None) == (key is None) or not isinstance(given, str):
                raise BadRequest("BadLoginRequest", 'Send {"token": "<login link token>"} '
                                 'or {"adminKey": "<admin key>"}')
        except BadRequest as e:
            return bad_request_response(e)
        if token is not None:
            if not deployment.login_tokens.redeem(token):
                return await refused("InvalidLoginToken", INVALID_TOKEN)
        elif not _is_the_admin_key(deployment, key.strip()):
            return await refused("InvalidAdminKey", INVALID_KEY if key.strip() else
                                 "Enter the deployment's admin key.")
        return json_response(session_json(deployment))

    async def check_session(request: Request) -> Response:
        credential = _credential(request)
        try:
            expires = deployment.admin_keys.expiry(credential)
        except InvalidAdminKeyError:
            return bad_request_response(BadRequest(
                "SessionEnded", "This dashboard session has ended: it expired, or the admin "
                "key was rotated. Log in again.", 401))
        return json_response({"kind": "adminKey" if expires is None else "session",
                              "expiresAt": None if expires is None else int(expires * 1000)})

    async def login_link(request: Request) -> Response:
        try:
            require_admin_key(deployment.admin_keys, request)
        except BadRequest as e:
            return bad_request_response(e)
        token, expires = deployment.login_tokens.issue()
        return json_response({"url": f"{dashboard_url(deployment, request)}?token={token}",
                              "expiresAt": int(expires * 1000)})

    async def rotate(request: Request) -> Response:
        try:
            require_admin_key(deployment.admin_keys, request)
        except BadRequest as e:
            return bad_request_response(e)
        try:
            key = await deployment.rotate_admin_key()
        except OSError as e:
            return bad_request_response(BadRequest(
                "DiskFull" if is_disk_full(e) else "RotationFailed",
                f"The new admin key could not be saved ({e.strerror or e}): nothing changed, "
                "the old key keeps working", 507 if is_disk_full(e) else 500))
        return json_response({"adminKey": key, **session_json(deployment)})

    return [
        Route("/dashboard/api/session", create_session, methods=["POST"]),
        Route("/dashboard/api/session", check_session, methods=["GET"]),
        Route("/dashboard/api/login-link", login_link, methods=["POST"]),
        Route("/dashboard/api/rotate-admin-key", rotate, methods=["POST"]),
    ]
