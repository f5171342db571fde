"""Signing keys of one provider: fetched, cached, refreshed when they rotate.

Keys are fetched on first use and kept for an hour. A token signed with a key id
the cache does not know makes us fetch again, since the provider may have
rotated its keys; but at most once per refresh interval, so a stream of tokens
with made-up key ids cannot turn us into a load generator against the identity
provider. Concurrent verifications share one fetch. If a routine refresh fails,
the keys we already have keep working.

A fetch is bounded so that a slow or hostile provider cannot hold requests or
memory: the whole key-set load (discovery, connects and every read) must finish
within `FETCH_TIMEOUT_S`, and a body is read as a stream and dropped past
`MAX_JWKS_BYTES` (a `Content-Length` over it is refused without reading).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import httpx
import orjson
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from syncline.auth.providers import AuthConfigError, AuthProvider, OidcProvider
from syncline.errors import SynclineError

FETCH_TIMEOUT_S = 10.0  # the whole load of a key set, not each read (docs/limits.md)
MAX_JWKS_BYTES = 1 << 20  # a key set is a few KB; 1 MiB is far more than any provider sends


class KeyFetchError(SynclineError):
    """The provider's key set could not be fetched or read."""


class ProviderKeys:
    def __init__(self, provider: AuthProvider, *, clock: Callable[[], float],
                 cache_ttl_s: float, refresh_interval_s: float,
                 http: httpx.AsyncClient | None = None,
                 fetch_timeout_s: float = FETCH_TIMEOUT_S) -> None:
        self.provider = provider
        self._clock = clock
        self._ttl = cache_ttl_s
        self._refresh_interval = refresh_interval_s
        self._http = http
        self._fetch_timeout = fetch_timeout_s
        self._keys: list[PyJWK] | None = None
        self._fetched_at = float("-inf")
        self._jwks_uri: str | None = None
        self._inflight: asyncio.Task[None] | None = None
        self._last_error: str | None = None
        self.fetches = 0
        jwks = getattr(provider, "jwks", "")
        if jwks.startswith("data:"):  # inline keys: read (and checked) once, never fetched
            try:
                self._keys = parse_jwks(decode_data_uri(jwks), where=self._describe())
            except KeyFetchError as e:
                raise AuthConfigError(f"convex/auth_config.py: provider {provider.issuer!r}: "
                                      f"{e}") from None
            if not self._keys:
                raise AuthConfigError(f"convex/auth_config.py: provider {provider.issuer!r}: "
                                      "the jwks data: URI holds no RSA or EC signing key")
            self._fetched_at = float("inf")  # never stale

    async def key(self, kid: str | None, algorithm: str) -> PyJWK | None:
        """The key for `kid` and `algorithm`, or None if the provider has no such key."""
        now = self._clock()
        if self._keys is None:
            if self._last_error is not None and now - self._fetched_at < self._refresh_interval:
                raise KeyFetchError(self._last_error)  # the provider failed just now
            await self._refresh()
        elif now - self._fetched_at >= self._ttl:  # (inline keys never are)
            with contextlib.suppress(KeyFetchError):  # cached keys stay good meanwhile
                await self._refresh()
        found = self._find(kid, algorithm)
        if found is None and kid is not None and self._clock() - self._fetched_at >= (
                self._refresh_interval):
            await self._refresh()  # an unknown key id: the provider may have rotated keys
            found = self._find(kid, algorithm)
        return found

    def publishes(self, key: PyJWK) -> bool:
        """Whether `key` is still in the provider's current key set."""
        return any(k is key for k in self._keys or ())

    def _find(self, kid: str | None, algorithm: str) -> PyJWK | None:
        usable = [k for k in self._keys or () if k.algorithm_name == algorithm]
        if kid is None:
            return usable[0] if len(usable) == 1 else None
        return next((k for k in usable if k.key_id == kid), None)

    async def _refresh(self) -> None:
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(self._fetch())
        await asyncio.shield(self._inflight)

    async def _fetch(self) -> None:
        self.fetches += 1
        self._fetched_at = self._clock()  # failures count too: they are rate limited alike
        deadline = asyncio.get_running_loop().time() + self._fetch_timeout
        try:
            document = await self._load_jwks(deadline)
            self._keys = parse_jwks(document, where=self._describe())
        except KeyFetchError as e:
            self._last_error = str(e)
            raise
        self._last_error = None

    def _describe(self) -> str:
        return f"the key set of {self.provider.issuer!r}"

    async def _load_jwks(self, deadline: float) -> Any:
        """The provider's JWKS document; every request in it ends by `deadline` (loop time)."""
        provider = self.provider
        if isinstance(provider, OidcProvider):
            if self._jwks_uri is None:
                self._jwks_uri = await self._discover(provider.domain, deadline)
            return await self._get_json(self._jwks_uri, deadline)
        if provider.jwks.startswith("data:"):
            return decode_data_uri(provider.jwks)
        return await self._get_json(provider.jwks, deadline)

    async def _discover(self, domain: str, deadline: float) -> str:
        base = domain.rstrip("/")
        config = await self._get_json(f"{base}/.well-known/openid-configuration", deadline)
        uri = config.get("jwks_uri") if isinstance(config, dict) else None
        return uri if isinstance(uri, str) and uri else f"{base}/.well-known/jwks.json"

    async def _get_json(self, url: str, deadline: float) -> Any:
        try:
            async with asyncio.timeout_at(deadline):
                body = await self._get_bounded(url)
        except TimeoutError:
            raise KeyFetchError(
                f"Could not fetch {url}: no complete answer within {self._fetch_timeout:g} s "
                "(the time allowed for loading a key set)") from None
        except httpx.HTTPError as e:
            raise KeyFetchError(f"Could not fetch {url}: {type(e).__name__}: {e}") from None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise KeyFetchError(f"{url} did not return JSON") from None

    async def _get_bounded(self, url: str) -> bytes:
        """The body at `url`, read only up to `MAX_JWKS_BYTES` (on the wire and decoded)."""
        timeout = httpx.Timeout(self._fetch_timeout)
        headers = {"Accept-Encoding": "gzip"}  # a coding _decoded can inflate within bounds
        if self._http is not None:
            async with self._http.stream("GET", url, headers=headers,
                                         timeout=timeout) as response:
                return await _bounded_body(url, response)
        async with httpx.AsyncClient(timeout=timeout) as client, client.stream(
                "GET", url, headers=headers) as response:
            return await _bounded_body(url, response)


async def _bounded_body(url: str, response: httpx.Response) -> bytes:
    if response.status_code != 200:
        raise KeyFetchError(f"Could not fetch {url}: HTTP {response.status_code}")
    declared = response.headers.get("content-length", "").strip().lstrip("0")
    if declared.isascii() and declared.isdigit() and (  # no int() of thousands of digits
            len(declared) > len(str(MAX_JWKS_BYTES)) or int(declared) > MAX_JWKS_BYTES):
        raise KeyFetchError(f"Refused {url}: it declares {declared} bytes, more than the "
                            f"{MAX_JWKS_BYTES} bytes a key set may have")
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > MAX_JWKS_BYTES:
            raise KeyFetchError(f"Refused {url}: its body is larger than the "
                                f"{MAX_JWKS_BYTES} bytes a key set may have")
    return _decoded(url, bytes(body), response.headers.get("content-encoding", ""))


def _decoded(url: str, body: bytes, encoding: str) -> bytes:
    """`body` without its content coding, decompressed no further than `MAX_JWKS_BYTES`
    (httpx would inflate a whole compressed chunk at once: a small bomb, a large buffer)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise KeyFetchError(f"Could not fetch {url}: unsupported Content-Encoding {encoding!r}")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
    try:
        decoded = inflater.decompress(body, MAX_JWKS_BYTES + 1)
    except zlib.error:
        raise KeyFetchError(f"Could not fetch {url}: its {encoding} body is corrupt") from None
    if len(decoded) > MAX_JWKS_BYTES:
        raise KeyFetchError(f"Refused {url}: its body decompresses to more than the "
                            f"{MAX_JWKS_BYTES} bytes a key set may have")
    return decoded


def decode_data_uri(uri: str) -> Any:
    """The JSON inside a `data:` URI, base64 (`;base64,`) or percent-encoded."""
    header, sep, payload = uri.partition(",")
    if not sep:
        raise KeyFetchError("The jwks data: URI has no ',' before its content")
    try:
        raw = (base64.b64decode(payload + "=" * (-len(payload) % 4))
               if header.endswith(";base64") else unquote(payload).encode())
        return orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise KeyFetchError("The jwks data: URI does not hold a JSON key set") from None


def parse_jwks(document: Any, *, where: str) -> list[PyJWK]:
    """The signing keys in a JWKS document; keys we cannot use are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeyFetchError(f"{where} is not a JWKS document (an object with a `keys` list)")
    keys = []
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") not in ("RSA", "EC"):
            continue  # symmetric keys never verify user tokens
        try:
            keys.append(PyJWK(entry))
        except PyJWKError:
            continue
    return keys
