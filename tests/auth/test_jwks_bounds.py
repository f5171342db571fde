"""A hostile JWKS endpoint cannot hold a request or the server's memory (issue 17, item 4).

The provider is a real HTTP server on loopback (tests/identity_provider.py) whose JWKS
endpoint streams a huge body lazily, declares one, compresses one, or trickles bytes;
the verifier must refuse each with an authentication error naming the URL and the
reason, having read at most about `MAX_JWKS_BYTES`, and within the whole-fetch bound.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from syncline.auth.jwks import FETCH_TIMEOUT_S, MAX_JWKS_BYTES
from syncline.auth.providers import CustomJwtProvider, OidcProvider
from syncline.auth.verifier import AuthenticationError, TokenVerifier
from tests.identity_provider import DEFAULT_AUDIENCE, LocalIdentityProvider

MiB = 1 << 20
CHUNK = 1 << 16
HUGE = 200 * MiB
# What may be in flight besides what the client read: the server's send buffer (64 KiB,
# set by the provider), the client's receive buffer and the chunk it was reading.
IN_FLIGHT_SLACK = 2 * MiB


@pytest.fixture
async def idp() -> AsyncIterator[LocalIdentityProvider]:
    provider = LocalIdentityProvider()
    try:
        yield provider
    finally:
        await asyncio.to_thread(provider.close)


def oidc(idp: LocalIdentityProvider) -> OidcProvider:
    return OidcProvider(domain=idp.issuer, application_id=DEFAULT_AUDIENCE)


def huge_body() -> Iterator[bytes]:
    """200 MiB of a JSON key set that never ends, made one chunk at a time."""
    yield b'{"keys":[' + b" " * (CHUNK - 9)
    for _ in range(HUGE // CHUNK):
        yield b" " * CHUNK


async def refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(AuthenticationError) as info:
        await verifier.verify(token)
    return str(info.value)


def test_the_documented_bounds() -> None:
    assert FETCH_TIMEOUT_S == 10.0  # docs/limits.md: key fetch timeout
    assert MAX_JWKS_BYTES == 1 << 20  # ... and a JWKS document at most 1 MiB


async def test_a_huge_streamed_body_is_refused_after_reading_about_the_cap(
        idp: LocalIdentityProvider) -> None:
    idp.jwks_stream = huge_body
    verifier = TokenVerifier([oidc(idp)], fetch_timeout_s=60)
    message = await refusal(verifier, idp.mint())
    assert idp.jwks_url in message
    assert f"larger than the {MAX_JWKS_BYTES} bytes a key set may have" in message
    assert MAX_JWKS_BYTES < idp.jwks_bytes_sent <= MAX_JWKS_BYTES + IN_FLIGHT_SLACK


async def test_a_declared_length_over_the_cap_is_refused_without_reading(
        idp: LocalIdentityProvider) -> None:
    def headers_then_nothing() -> Iterator[bytes]:
        """A body that never arrives: reading any of it would wait out the fetch bound."""
        while not idp._stopping.wait(0.05):
            pass
        yield b""

    idp.jwks_stream = headers_then_nothing
    idp.jwks_headers = {"Content-Length": str(HUGE)}
    verifier = TokenVerifier([oidc(idp)], fetch_timeout_s=60)
    message = await asyncio.wait_for(refusal(verifier, idp.mint()), 30)
    assert idp.jwks_url in message
    assert f"declares {HUGE} bytes, more than the {MAX_JWKS_BYTES}" in message


async def test_a_compressed_bomb_is_refused_without_inflating_it(
        idp: LocalIdentityProvider) -> None:
    bomb = gzip.compress(b'{"keys":[' + b" " * (64 * MiB))  # about 64 KiB on the wire
    assert len(bomb) < MAX_JWKS_BYTES
    idp.jwks_stream = lambda: [bomb]
    idp.jwks_headers = {"Content-Encoding": "gzip"}
    message = await refusal(TokenVerifier([oidc(idp)]), idp.mint())
    assert idp.jwks_url in message
    assert "decompresses to more than" in message


async def test_a_compressed_key_set_is_accepted(idp: LocalIdentityProvider) -> None:
    idp.jwks_stream = lambda: [gzip.compress(json.dumps(idp.jwks()).encode())]
    idp.jwks_headers = {"Content-Encoding": "gzip"}
    verified = await TokenVerifier([oidc(idp)]).verify(idp.mint())
    assert verified.identity.subject == "user-1"


@pytest.mark.parametrize("kind", ["oidc", "custom-jwt"])
async def test_a_trickling_provider_is_refused_after_the_whole_fetch_bound(
        idp: LocalIdentityProvider, kind: str) -> None:
    """One byte every 0.5 s: every read succeeds, so only a bound on the whole fetch
    ends it. 4x the bound is a correctness margin (a per-read timeout never fires)."""
    def trickle() -> Iterator[bytes]:
        yield b"{"
        while not idp._stopping.wait(0.5):
            yield b" "

    bound = 2.0
    idp.jwks_stream = trickle
    provider = oidc(idp) if kind == "oidc" else CustomJwtProvider(
        issuer=idp.issuer, jwks=idp.jwks_url, algorithm="RS256",
        application_id=DEFAULT_AUDIENCE)
    verifier = TokenVerifier([provider], fetch_timeout_s=bound)
    started = time.monotonic()
    message = await asyncio.wait_for(refusal(verifier, idp.mint()), 4 * bound)
    assert time.monotonic() - started >= bound
    assert idp.jwks_url in message
    assert f"no complete answer within {bound:g} s" in message
    assert idp.jwks_bytes_sent >= 2  # it did trickle: the reads themselves never stalled
