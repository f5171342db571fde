"""Signed, expiring tokens for URLs (file upload URLs), keyed by the instance secret.

A token is `<expiry in Unix seconds>.<nonce>.<signature>` where the signature is
the hex HMAC-SHA256, under a key derived from the deployment's instance secret
and the token's purpose, of the expiry and the nonce. Anyone holding the token
may use it until it expires; changing any part of it breaks the signature, and
rotating the instance secret revokes every outstanding token.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

from syncline.auth.admin_keys import SECRET_FILE

# Unix seconds as `sign` writes them: ASCII digits, no leading zero, at most 19.
_EXPIRY = re.compile(r"0|[1-9][0-9]{0,18}")


class InvalidTokenError(ValueError):
    """The token is malformed or its signature does not match."""


class ExpiredTokenError(ValueError):
    """The token was valid but its expiry has passed."""


def read_instance_secret(data_dir: str | os.PathLike[str]) -> bytes:
    """The instance secret kept in a deployment's data folder (see AdminKeys)."""
    return bytes.fromhex((Path(data_dir) / SECRET_FILE).read_text().strip())


class UrlSigner:
    def __init__(self, secret: bytes, purpose: str) -> None:
        self._key = hmac.new(secret, f"syncline signed url v1 {purpose}".encode(),
                             hashlib.sha256).digest()

    def _signature(self, expires: int, nonce: str) -> str:
        return hmac.new(self._key, f"{expires}.{nonce}".encode(), hashlib.sha256).hexdigest()

    def sign(self, valid_for_s: float, *, now: float | None = None) -> str:
        """A token valid for `valid_for_s` seconds from `now` (default: the real clock)."""
        # The real clock and randomness, not a running mutation's frozen/seeded ones.
        from syncline.functions.determinism import real_time, real_urandom

        expires = int((real_time() if now is None else now) + valid_for_s)

        nonce = real_urandom(12).hex()
        return f"{expires}.{nonce}.{self._signature(expires, nonce)}"

    def verify(self, token: str | None, *, now: float | None = None) -> int:
        """The token's expiry; raises InvalidTokenError or ExpiredTokenError."""
        parts = (token or "").split(".")
        if len(parts) != 3:
            raise InvalidTokenError("The token is missing or malformed")
        if _EXPIRY.fullmatch(parts[0]) is None:  # not `isdigit()`: it accepts `²` and `١٢`
            raise InvalidTokenError("The token is malformed: its expiry must be a Unix time "
                                    "in ASCII digits, as generated")
        expires, nonce, signature = int(parts[0]), parts[1], parts[2]
        if not hmac.compare_digest(signature.encode(), self._signature(expires, nonce).encode()):
            raise InvalidTokenError("The token's signature is not valid for this deployment")
        from syncline.functions.determinism import real_time

        if expires < (real_time() if now is None else now):
            raise ExpiredTokenError("The token has expired")
        return expires
