"""What a client presents, turned into who it is: one place for every transport.

- HTTP (`Authorization` header): `Bearer <jwt>` is a user token, verified
  against the app's providers; `Convex <admin key>` is an admin, and
  `Convex <admin key>:<base64 JSON identity>` an admin acting as that user.
- WebSocket (`Authenticate` message): `User` with a JWT, `Admin` with an admin
  key and optionally an identity to impersonate, or `None`.

Anything that does not check out raises AuthenticationError with the reason;
callers never run a function with credentials that failed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import orjson

from syncline.auth.admin_keys import AdminKeys
from syncline.auth.verifier import TokenVerifier
from syncline.errors import AuthenticationError
from syncline.functions import ANONYMOUS, Credentials, UserIdentity


class Authenticator:
    def __init__(self, admin_keys: AdminKeys, verifier: Callable[[], TokenVerifier]) -> None:
        self.admin_keys = admin_keys
        self._verifier = verifier  # the live one: a push may change the providers

    async def from_header(self, header: str | None) -> Credentials:
        """Credentials from an HTTP `Authorization` header (anonymous without one)."""
        if not header:
            return ANONYMOUS
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return await self.user(value)
        if scheme == "Convex":
            key, _, acting_as = value.partition(":")
            return self.admin(key, _acting_as(acting_as) if acting_as else None)
        raise AuthenticationError(
            f"Unsupported Authorization scheme {scheme!r}: send `Bearer <token>` for a user "
            "or `Convex <admin key>` for an admin")

    async def from_sync(self, token_type: str, value: str | None,
                        impersonating: dict[str, Any] | None) -> Credentials:
        """Credentials from a sync `Authenticate` message."""
        if token_type == "None":
            return ANONYMOUS
        if token_type == "Admin":
            identity = UserIdentity(impersonating) if impersonating else None
            return self.admin(value or "", identity)
        return await self.user(value or "")

    async def user(self, token: str) -> Credentials:
        if not token:
            raise AuthenticationError("The user token is empty")
        verifier = self._verifier()
        verified = await verifier.verify(token)
        return Credentials(verified.identity, admin=False,
                           expires_at=verified.expires_at + verifier.leeway_s)

    def admin(self, key: str, acting_as: UserIdentity | None = None) -> Credentials:
        """The admin key, or a dashboard session: a sync connection authenticated with a
        session is told and closed when the session expires (like a user token)."""
        expires_at = self.admin_keys.expiry(key)  # raises InvalidAdminKeyError
        return Credentials(acting_as, admin=True, expires_at=expires_at)


def _acting_as(encoded: str) -> UserIdentity:
    """The identity an admin acts as: base64 of a JSON object (what the official clients send)."""
    try:
        claims = orjson.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise AuthenticationError("The acting-as identity is not base64 JSON") from None
    if not isinstance(claims, dict):
        raise AuthenticationError("The acting-as identity must be a JSON object")
    return UserIdentity(claims)
