"""Verifying the JWTs clients present, against the app's configured providers.

A token is accepted only if every check passes: its `iss` names a configured
provider exactly, its `aud` is that provider's application id (when it has one),
it is signed by one of the provider's published keys with the provider's
algorithm (RS256 or ES256: never `none`, never an HMAC algorithm, so a public
key can never double as a shared secret), and it is inside its `nbf`/`exp`
window, give or take a small leeway for clock skew. The checks run on our
clock, with PyJWT doing the signature.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from jwt.exceptions import InvalidSignatureError, PyJWTError

from syncline.auth.claims import identity_from_claims
from syncline.auth.jwks import KeyFetchError, ProviderKeys
from syncline.auth.providers import ALGORITHMS, AuthProvider, CustomJwtProvider
from syncline.errors import AuthenticationError
from syncline.functions import UserIdentity

DEFAULT_LEEWAY_S = 10.0
DEFAULT_REFRESH_INTERVAL_S = 10.0
DEFAULT_CACHE_TTL_S = 3600.0


@dataclass(frozen=True)
class VerifiedToken:
    identity: UserIdentity
    expires_at: float  # the `exp` claim, in Unix seconds


class TokenVerifier:
    def __init__(
        self, providers: Sequence[AuthProvider], *, clock: Callable[[], float] = time.time,
        leeway_s: float = DEFAULT_LEEWAY_S,
        refresh_interval_s: float = DEFAULT_REFRESH_INTERVAL_S,
        cache_ttl_s: float = DEFAULT_CACHE_TTL_S, http: httpx.AsyncClient | None = None,
    ) -> None:
        self._providers = tuple(providers)
        self._clock = clock
        self._leeway = leeway_s
        self._keys = {
            provider: ProviderKeys(provider, clock=clock, cache_ttl_s=cache_ttl_s,
                                   refresh_interval_s=refresh_interval_s, http=http)
            for provider in dict.fromkeys(self._providers)
        }

    @property
    def leeway_s(self) -> float:
        """How far past `exp` (and before `nbf`) a token is still accepted, for clock skew."""
        return self._leeway

    @property
    def providers(self) -> tuple[AuthProvider, ...]:
        return self._providers

    def keys_of(self, provider: AuthProvider) -> ProviderKeys:
        return self._keys[provider]

    def adopt_keys(self, previous: TokenVerifier) -> None:
        """Keep the key caches of providers that a push left unchanged."""
        for provider, keys in previous._keys.items():
            if provider in self._keys:
                self._keys[provider] = keys

    async def aclose(self) -> None:
        """Nothing is held open between fetches; here for symmetry with other services."""

    async def verify(self, token: str) -> VerifiedToken:
        if not self._providers:
            raise AuthenticationError(
                "This deployment has no auth providers configured, so it cannot verify "
                "user tokens: add them to convex/auth_config.py (see docs/auth.md)")
        header, unverified = _unverified_parts(token)
        issuer = unverified.get("iss")
        if not isinstance(issuer, str):
            raise AuthenticationError("The token has no `iss` (issuer) claim")
        provider = self._provider_for(issuer, unverified.get("aud"))
        algorithm = header.get("alg")
        expected = (provider.algorithm,) if isinstance(provider, CustomJwtProvider) else ALGORITHMS
        if algorithm not in expected:
            raise AuthenticationError(
                f"The token's algorithm {algorithm!r} is not allowed for issuer {issuer!r}: "
                f"expected {' or '.join(expected)}")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise AuthenticationError("The token's `kid` header is not a string")
        try:
            key = await self._keys[provider].key(kid, algorithm)
        except KeyFetchError as e:
            raise AuthenticationError(f"Could not load the signing keys of {issuer!r}: {e}") \
                from None
        if key is None:
            raise AuthenticationError(
                f"The token is signed with a key ({algorithm}, kid {kid!r}) that {issuer!r} "
                "does not publish" if kid is not None else
                f"The token has no `kid` header and {issuer!r} publishes more than one "
                f"{algorithm} key (or none)")
        claims = _verified_claims(token, key.key, algorithm, provider)
        self._check_times(claims)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthenticationError("The token has no `sub` (subject) claim")
        return VerifiedToken(identity_from_claims(claims), float(claims["exp"]))

    def _provider_for(self, issuer: str, audience: Any) -> AuthProvider:
        same_issuer = [p for p in self._providers if p.issuer == issuer]
        if not same_issuer:
            configured = ", ".join(repr(p.issuer) for p in self._providers)
            raise AuthenticationError(
                f"No auth provider is configured for the token's issuer {issuer!r} "
                f"(configured: {configured}); `iss` must match a provider's domain or issuer "
                "exactly")
        audiences = audience if isinstance(audience, list) else [audience]
        for provider in same_issuer:
            if provider.application_id is None or provider.application_id in audiences:
                return provider
        expected = ", ".join(repr(p.application_id) for p in same_issuer)
        raise AuthenticationError(
            f"The token's audience {audience!r} does not match the application id of issuer "
            f"{issuer!r} (expected {expected})")

    def _check_times(self, claims: dict[str, Any]) -> None:
        now, leeway = self._clock(), self._leeway
        exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
        for name, value in (("exp", exp), ("nbf", nbf), ("iat", iat)):
            if value is not None and (not isinstance(value, int | float)
                                      or isinstance(value, bool)):
                raise AuthenticationError(f"The token's `{name}` claim is not a number")
        if exp is None:
            raise AuthenticationError("The token has no `exp` (expiration) claim")
        if now > exp + leeway:
            raise AuthenticationError(
                f"The token expired {now - exp:.0f} s ago; the client should fetch a new one")
        if nbf is not None and now + leeway < nbf:
            raise AuthenticationError(
                f"The token is not valid yet (`nbf` is {nbf - now:.0f} s in the future)")
        if iat is not None and now + leeway < iat:
            raise AuthenticationError(
                f"The token was issued in the future (`iat` is {iat - now:.0f} s ahead); "
                "check the clocks of the issuer and this server")


def _unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(token, str) or token.count(".") != 2:
        raise AuthenticationError("The token is not a JWT (three base64url parts separated "
                                  "by dots)")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except PyJWTError as e:
        raise AuthenticationError(f"The token is not a valid JWT: {e}") from None
    if not isinstance(claims, dict):
        raise AuthenticationError("The token's payload is not a JSON object")
    return header, claims


def _verified_claims(token: str, key: Any, algorithm: str,
                     provider: AuthProvider) -> dict[str, Any]:
    audience = provider.application_id
    try:
        return jwt.decode(
            token, key, algorithms=[algorithm], issuer=provider.issuer,
            audience=audience,
            options={"verify_aud": audience is not None, "verify_exp": False,
                     "verify_nbf": False, "verify_iat": False, "require": []},
        )
    except InvalidSignatureError:
        raise AuthenticationError("The token's signature is not valid") from None
    except PyJWTError as e:
        raise AuthenticationError(f"The token is not valid: {e}") from None

