"""Dashboard sessions and one-time login tokens: how a browser becomes an admin without
holding the admin key.

A session is `session.<expiry>.<nonce>.<signature>`: the expiry in Unix seconds, a random
nonce and the hex HMAC-SHA256 of both under a key derived from the instance secret. It
is stateless, so it survives a restart; it expires after SESSION_TTL_S; and replacing
the instance secret (AdminKeys.rotate) revokes every session at once. It holds no ':'
and no whitespace, because HTTP clients send `Convex <credential>:<identity>`.

A login token (what `syncline dev` prints and `syncline dashboard` opens) is random,
single-use and valid for LOGIN_TOKEN_TTL_S, kept only in the deployment's memory: it is
exchanged for a session right away, so a restart forgetting it costs nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from syncline.functions.determinism import real_time

SESSION_PREFIX = "session."
SESSION_TTL_S = 30 * 86_400
LOGIN_TOKEN_TTL_S = 600
MAX_LOGIN_TOKENS = 1_000  # outstanding at once: the oldest go first

# `session.` + ASCII digits (no leading zero) + hex nonce + hex signature.
_SESSION = re.compile(r"session\.(0|[1-9][0-9]{0,18})\.([0-9a-f]{32})\.([0-9a-f]{64})")


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: int  # Unix seconds

    @property
    def expires_at_ms(self) -> int:
        return self.expires_at * 1000


def _signature(secret: bytes, expires: int, nonce: str) -> str:
    key = hmac.new(secret, b"syncline dashboard session v1", hashlib.sha256).digest()
    return hmac.new(key, f"{expires}.{nonce}".encode(), hashlib.sha256).hexdigest()


def issue_session(secret: bytes, *, ttl_s: float = SESSION_TTL_S,
                  now: float | None = None) -> Session:
    """A new session valid for `ttl_s` seconds from `now` (default: the real clock)."""
    expires = int((real_time() if now is None else now) + ttl_s)
    nonce = secrets.token_hex(16)
    return Session(f"{SESSION_PREFIX}{expires}.{nonce}.{_signature(secret, expires, nonce)}",
                   expires)


def session_expiry(secret: bytes, token: str, *, now: float | None = None) -> int | None:
    """The expiry (Unix seconds) of a valid, unexpired session; None for anything else."""
    match = _SESSION.fullmatch(token)
    if match is None:
        return None
    expires, nonce, signature = int(match[1]), match[2], match[3]
    if not hmac.compare_digest(signature, _signature(secret, expires, nonce)):
        return None
    if expires <= (real_time() if now is None else now):
        return None
    return expires


class LoginTokens:
    """One-time login tokens, in memory. Only their SHA-256 is kept, so the dict lookup
    reveals nothing about a token through its timing."""

    def __init__(self, ttl_s: float = LOGIN_TOKEN_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._expiries: dict[bytes, float] = {}  # insertion order: oldest first

    def issue(self) -> tuple[str, float]:
        """A new token and its expiry (Unix seconds)."""
        now = real_time()
        self._drop_expired(now)
        while len(self._expiries) >= MAX_LOGIN_TOKENS:
            del self._expiries[next(iter(self._expiries))]
        token = secrets.token_urlsafe(32)
        expires = now + self.ttl_s
        self._expiries[_digest(token)] = expires
        return token, expires

    def redeem(self, token: str) -> bool:
        """Whether `token` was issued, is unexpired and unused; it is used up either way."""
        expires = self._expiries.pop(_digest(token), None)
        return expires is not None and expires > real_time()

    def clear(self) -> None:
        """Forget every outstanding token (the admin key was rotated)."""
        self._expiries.clear()

    def __len__(self) -> int:
        return len(self._expiries)

    def _drop_expired(self, now: float) -> None:
        for digest in [d for d, expires in self._expiries.items() if expires <= now]:
            del self._expiries[digest]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
