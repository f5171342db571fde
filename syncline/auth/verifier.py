"""Verifying the JWTs clients present, against the app's configured providers.

A token is accepted only if every check passes: its `iss` names a configured
provider exactly (an OIDC domain with or without a trailing slash), its `aud` is
that provider's application id (when it has one), it is signed by one of the
provider's published keys with the provider's algorithm (RS256 or ES256: never
`none`, never an HMAC algorithm, so a public key can never double as a shared
secret), and it is inside its `nbf`/`exp` window, give or take a small leeway
for clock skew. The checks run on our
clock, with PyJWT doing the signature.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import orjson
from jwt.exceptions import InvalidSignatureError, PyJWTError

from syncline.auth.claims import identity_from_claims
from syncline.auth.jwks import FETCH_TIMEOUT_S, KeyFetchError, ProviderKeys
from syncline.auth.providers import ALGORITHMS, AuthProvider, CustomJwtProvider
from syncline.errors import AuthenticationError
from syncline.functions import UserIdentity

DEFAULT_LEEWAY_S = 10.0
DEFAULT_REFRESH_INTERVAL_S = 10.0
DEFAULT_CACHE_TTL_S = 3600.0
MAX_VERIFIED_TOKENS = 10_000  # verified tokens remembered, so a repeated one costs a lookup


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
        fetch_timeout_s: float = FETCH_TIMEOUT_S,
    ) -> None:
        self._providers = tuple(providers)
        self._clock = clock
        self._leeway = leeway_s
        # The HTTP clients send the same token with every call: remember verified tokens
        # (exact strings) until they expire, instead of checking the signature again.
        # Each with the provider and key that verified it: a key the provider stops
        # publishing (rotated out, perhaps compromised) takes its tokens with it.
        self._verified: OrderedDict[str, tuple[VerifiedToken, AuthProvider, Any]] = (
            OrderedDict())
        self._keys = {
            provider: ProviderKeys(provider, clock=clock, cache_ttl_s=cache_ttl_s,
                                   refresh_interval_s=refresh_interval_s, http=http,
                                   fetch_timeout_s=fetch_timeout_s)
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
        remembered = self._verified.get(token)
        if remembered is not None:
            # It passed every check once; only its expiry and its key can have changed.
            verified, provider, key = remembered
            if (self._clock() <= verified.expires_at + self._leeway
                    and self._keys[provider].publishes(key)):
                self._verified.move_to_end(token)
                return verified
            del self._verified[token]
        verified, provider, key = await self._verify(token)
        self._verified[token] = (verified, provider, key)
        if len(self._verified) > MAX_VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return verified

    async def _verify(self, token: str) -> tuple[VerifiedToken, AuthProvider, Any]:
        if not self._providers:
            raise AuthenticationError(
                "This deployment has no auth providers configured, so it cannot verify "
                "user tokens: add them to convex/auth_config.py (see docs/auth.md)")
        header, unverified = _unverified_parts(token)
        issuer = unverified.get("iss")
        if not isinstance(issuer, str):
            raise AuthenticationError("The token has no `iss` (issuer) claim")
        algorithm = header.get("alg")
        provider = self._provider_for(issuer, unverified.get("aud"), algorithm)
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
        return VerifiedToken(identity_from_claims(claims), float(claims["exp"])), provider, key

    def _provider_for(self, issuer: str, audience: Any, algorithm: Any) -> AuthProvider:
        """The first provider for this issuer whose application id matches the audience
        (and, for a custom JWT provider, whose algorithm is the token's, so one issuer can
        be configured once per algorithm)."""
        same_issuer = [p for p in self._providers if issuer in p.accepted_issuers]
        if not same_issuer:
            configured = ", ".join(repr(p.issuer) for p in self._providers)
            raise AuthenticationError(
                f"No auth provider is configured for the token's issuer {issuer!r} "
                f"(configured: {configured}); `iss` must match a provider's domain (a "
                "trailing slash aside) or a custom JWT issuer exactly")
        audiences = audience if isinstance(audience, list) else [audience]
        for_audience = [p for p in same_issuer
                        if p.application_id is None or p.application_id in audiences]
        if not for_audience:
            expected = ", ".join(repr(p.application_id) for p in same_issuer)
            raise AuthenticationError(
                f"The token's audience {audience!r} does not match the application id of "
                f"issuer {issuer!r} (expected {expected})")
        for provider in for_audience:
            if not isinstance(provider, CustomJwtProvider) or provider.algorithm == algorithm:
                return provider
        return for_audience[0]  # its algorithm check below says what is wrong

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
    """Header and claims, read without any check, to pick the provider and key.

    Decoded here rather than with PyJWT (whose per-character validation made three
    parses cost more than the signature check): PyJWT parses the token again, strictly,
    when it verifies the signature.
    """
    if not isinstance(token, str) or token.count(".") != 2:
        raise AuthenticationError("The token is not a JWT (three base64url parts separated "
                                  "by dots)")
    header_part, payload_part, _ = token.split(".")
    try:
        header = orjson.loads(_b64url(header_part))
        claims = orjson.loads(_b64url(payload_part))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise AuthenticationError("The token is not a valid JWT: its header or payload is "
                                  "not base64url-encoded JSON") from None
    if not isinstance(header, dict):
        raise AuthenticationError("The token is not a valid JWT: its header is not a JSON object")
    if not isinstance(claims, dict):
        raise AuthenticationError("The token is not a valid JWT: its payload is not a JSON object")
    return header, claims


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _verified_claims(token: str, key: Any, algorithm: str,
                     provider: AuthProvider) -> dict[str, Any]:
    audience = provider.application_id
    try:
        return jwt.decode(
            token, key, algorithms=[algorithm], issuer=list(provider.accepted_issuers),
            audience=audience,
            options={"verify_aud": audience is not None, "verify_exp": False,
                     "verify_nbf": False, "verify_iat": False, "require": []},
        )
    except InvalidSignatureError:
        raise AuthenticationError("The token's signature is not valid") from None
    except PyJWTError as e:
        raise AuthenticationError(f"The token is not a valid JWT: {e}") from None

