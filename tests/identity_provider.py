"""A real, local OpenID Connect identity provider for tests.

`LocalIdentityProvider` serves an OIDC discovery document and a JWKS over HTTP
on a free loopback port, holds an RSA (RS256) and an EC P-256 (ES256) signing
key, and mints signed JWTs with sensible defaults. It counts how often its
documents are fetched, can rotate keys, and can be told to fail, so tests can
observe a verifier's caching and refresh behaviour from the outside.

It also builds the tokens an attacker would send: `alg: none`, and HS256 signed
with the RSA public key's PEM as the HMAC secret (the classic key-confusion
attack), which PyJWT refuses to produce.

    with LocalIdentityProvider() as idp:
        token = idp.mint({"email": "ada@example.com"})
        ...  # verify against OidcProvider(domain=idp.issuer, application_id=idp.audience)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

__all__ = [
    "DEFAULT_AUDIENCE",
    "LocalIdentityProvider",
    "b64url",
    "b64url_decode",
    "jwks_data_uri",
    "new_private_key",
    "tamper",
]

DEFAULT_AUDIENCE = "test-app"
SUPPORTED_ALGORITHMS = ("RS256", "ES256")

_DEFAULT: Any = object()  # "use the provider's default" (distinct from an explicit None)


def b64url(data: bytes) -> str:
    """Unpadded base64url, as used by JWS."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json_segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def new_private_key(alg: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """A fresh signing key for `alg` ("RS256": RSA 2048, "ES256": EC P-256)."""
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unsupported algorithm {alg!r}; use one of {SUPPORTED_ALGORITHMS}")


def _public_jwk(alg: str, kid: str, private_key: Any) -> dict[str, Any]:
    codec = RSAAlgorithm if alg == "RS256" else ECAlgorithm
    jwk = dict(codec.to_jwk(private_key.public_key(), as_dict=True))
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


def jwks_data_uri(jwks: dict[str, Any], *, base64_encoded: bool = True) -> str:
    """A `data:` URI carrying `jwks`: base64 (`;base64,`) or plain percent-encoded JSON."""
    text = json.dumps(jwks, separators=(",", ":"))
    if base64_encoded:
        return "data:application/json;base64," + base64.b64encode(text.encode()).decode("ascii")
    return "data:application/json," + urllib.parse.quote(text, safe="")


def tamper(token: str, **changes: Any) -> str:
    """`token` with its payload claims changed (None deletes one), keeping the original signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return f"{header}.{_json_segment(claims)}.{signature}"


class LocalIdentityProvider:
    """An OIDC identity provider on a free loopback port, in a background thread.

    `path_prefix` puts the issuer below a path (`http://127.0.0.1:PORT/tenant`),
    as hosted providers such as Auth0 tenants or Clerk instances often do.
    `advertise_jwks_uri=False` leaves `jwks_uri` out of the discovery document.
    `response_delay_s` delays every response (to make concurrent fetches overlap).

    Set `jwks_status` (e.g. 500) or `jwks_body` (raw bytes) to make the JWKS
    endpoint misbehave; likewise `discovery_status` for the discovery document.
    A hostile JWKS endpoint: `jwks_stream` (a function returning the body's chunks,
    produced lazily and written one by one, the connection closing after the last),
    with `jwks_headers` sent too (e.g. a `Content-Length`); `jwks_bytes_sent` counts
    the body bytes handed to the socket (each chunk as it is written). Streams stop when the provider is closed.
    """

    def __init__(
        self,
        *,
        path_prefix: str = "",
        audience: str = DEFAULT_AUDIENCE,
        advertise_jwks_uri: bool = True,
        response_delay_s: float = 0.0,
    ) -> None:
        if path_prefix and not path_prefix.startswith("/"):
            path_prefix = "/" + path_prefix
        self.path_prefix = path_prefix.rstrip("/")
        self.audience = audience
        self.advertise_jwks_uri = advertise_jwks_uri
        self.response_delay_s = response_delay_s
        self.jwks_status = 200
        self.jwks_body: bytes | None = None
        self.jwks_stream: Callable[[], Iterable[bytes]] | None = None
        self.jwks_headers: dict[str, str] = {}
        self.discovery_status = 200
        self._stopping = threading.Event()
        self._jwks_bytes_sent = 0

        self._lock = threading.Lock()
        self._jwks_fetches = 0
        self._discovery_fetches = 0
        # kid -> (alg, private key); `_current[alg]` is the kid `mint` signs with by default.
        self._keys: dict[str, tuple[str, Any]] = {}
        self._current: dict[str, str] = {}
        for alg in SUPPORTED_ALGORITHMS:
            self._current[alg] = self._add(alg)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.issuer = self.url + self.path_prefix
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="local-idp", daemon=True,
        )
        self._thread.start()
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Stop serving; the port then refuses connections."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> LocalIdentityProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- endpoints and counters --------------------------------------------------

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    @property
    def jwks_fetches(self) -> int:
        """How many times the JWKS document was requested."""
        with self._lock:
            return self._jwks_fetches

    @property
    def jwks_bytes_sent(self) -> int:
        """Body bytes of `jwks_stream` responses handed to the socket so far."""
        with self._lock:
            return self._jwks_bytes_sent

    @property
    def discovery_fetches(self) -> int:
        """How many times the discovery document was requested."""
        with self._lock:
            return self._discovery_fetches

    def discovery_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/oauth/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code", "id_token", "token id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(SUPPORTED_ALGORITHMS),
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "name", "email"],
        }
        if self.advertise_jwks_uri:
            doc["jwks_uri"] = self.jwks_url
        return doc

    # -- keys ----------------------------------------------------------------------

    def _add(self, alg: str) -> str:
        kid = f"{alg.lower()}-{uuid.uuid4().hex[:12]}"
        with self._lock:
            self._keys[kid] = (alg, new_private_key(alg))
        return kid

    def kid(self, alg: str = "RS256") -> str:
        """The kid `mint` signs `alg` tokens with by default."""
        return self._current[alg]

    def kids(self) -> list[str]:
        """Every kid currently served."""
        with self._lock:
            return list(self._keys)

    def private_key(self, alg: str = "RS256") -> Any:
        return self._keys[self._current[alg]][1]

    def jwks(self) -> dict[str, Any]:
        """The public keys as served at `jwks_url`."""
        with self._lock:
            items = list(self._keys.items())
        return {"keys": [_public_jwk(alg, kid, key) for kid, (alg, key) in items]}

    def jwks_data_uri(self, *, base64_encoded: bool = True) -> str:
        return jwks_data_uri(self.jwks(), base64_encoded=base64_encoded)

    def public_pem(self, alg: str = "RS256") -> bytes:
        """The current `alg` public key as PEM (SubjectPublicKeyInfo)."""
        return self.private_key(alg).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def rotate(self, alg: str = "RS256") -> str:
        """Replace every `alg` key with one new key (new kid); old keys are no longer served."""
        new_kid = f"{alg.lower()}-{uuid.uuid4().hex[:12]}"
        new_key = new_private_key(alg)
        with self._lock:
            self._keys = {k: v for k, v in self._keys.items() if v[0] != alg}
            self._keys[new_kid] = (alg, new_key)
            self._current[alg] = new_kid
        return new_kid

    def add_key(self, alg: str = "RS256") -> str:
        """Serve one more `alg` key next to the existing ones; returns its kid (mint with kid=...)."""
        return self._add(alg)

    # -- tokens --------------------------------------------------------------------

    def claims(
        self,
        claims: dict[str, Any] | None = None,
        *,
        subject: str | None = "user-1",
        audience: Any = _DEFAULT,
        lifetime_s: float = 3600,
        now: float | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """The payload `mint` would sign: defaults, then `claims`, then `overrides`; None omits."""
        issued_at = int(time.time() if now is None else now)
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience if audience is _DEFAULT else audience,
            "iat": issued_at,
            "exp": int(issued_at + lifetime_s),
        }
        payload.update(claims or {})
        payload.update(overrides)
        return {k: v for k, v in payload.items() if v is not None}

    def mint(
        self,
        claims: dict[str, Any] | None = None,
        *,
        alg: str = "RS256",
        kid: str | None = None,
        subject: str | None = "user-1",
        audience: Any = _DEFAULT,
        lifetime_s: float = 3600,
        now: float | None = None,
        headers: dict[str, Any] | None = None,
        key: Any = None,
        **overrides: Any,
    ) -> str:
        """A signed JWT.

        Defaults: iss=issuer, sub=subject, aud=audience, iat=now, exp=now+lifetime_s.
        `claims` and then keyword `overrides` replace them; a None value omits the claim.
        `kid` sets the header kid (default: the current `alg` key's); the token is signed
        with that kid's key if served, else with the current `alg` key, or with `key`
        when given (a foreign key under a known kid). `headers` entries are merged into
        the header; a None value removes one (`headers={"kid": None}` for no kid).
        """
        payload = self.claims(
            claims, subject=subject, audience=audience, lifetime_s=lifetime_s, now=now,
            **overrides,
        )
        header_kid = self._current[alg] if kid is None else kid
        if key is None:
            served = self._keys.get(header_kid)
            key = served[1] if served is not None and served[0] == alg else self.private_key(alg)
        header: dict[str, Any] = {"kid": header_kid}
        header.update(headers or {})
        header = {k: v for k, v in header.items() if v is not None}
        return jwt.encode(payload, key, algorithm=alg, headers=header)

    def mint_unsigned(self, claims: dict[str, Any] | None = None, **kwargs: Any) -> str:
        """An `alg: none` token (empty signature) carrying the current RS256 kid."""
        header = {"alg": "none", "typ": "JWT", "kid": self.kid("RS256")}
        payload = self.claims(claims, **kwargs)
        return f"{_json_segment(header)}.{_json_segment(payload)}."

    def mint_hs256_with_public_key(
        self, claims: dict[str, Any] | None = None, *, alg: str = "RS256", **kwargs: Any
    ) -> str:
        """HS256 with the `alg` public key's PEM as the HMAC secret (key-confusion attack)."""
        header = {"alg": "HS256", "typ": "JWT", "kid": self.kid(alg)}
        payload = self.claims(claims, **kwargs)
        signing_input = f"{_json_segment(header)}.{_json_segment(payload)}"
        mac = hmac.new(self.public_pem(alg), signing_input.encode("ascii"), hashlib.sha256)
        return f"{signing_input}.{b64url(mac.digest())}"

    # -- HTTP ----------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = urllib.parse.urlsplit(self.path).path
                prefix = idp.path_prefix
                if idp.response_delay_s:
                    time.sleep(idp.response_delay_s)
                if path == f"{prefix}/.well-known/openid-configuration":
                    with idp._lock:
                        idp._discovery_fetches += 1
                    body = json.dumps(idp.discovery_document()).encode()
                    self._send(idp.discovery_status, body)
                elif path == f"{prefix}/.well-known/jwks.json":
                    with idp._lock:
                        idp._jwks_fetches += 1
                    if idp.jwks_stream is not None:
                        self._stream(idp.jwks_stream())
                        return
                    body = idp.jwks_body
                    if body is None:
                        body = json.dumps(idp.jwks()).encode()
                    self._send(idp.jwks_status, body)
                else:
                    self._send(404, b'{"error":"not found"}')

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, chunks: Iterable[bytes]) -> None:
                # A small send buffer, so the bytes counted as sent are close to the bytes
                # the client read (the kernel holds little on its behalf).
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                for name, value in idp.jwks_headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.flush()
                try:
                    for chunk in chunks:
                        if idp._stopping.is_set():
                            return
                        # Counted before it is written: a client may have read it (and
                        # refused the body) before this thread runs again.
                        with idp._lock:
                            idp._jwks_bytes_sent += len(chunk)
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except OSError:
                    return  # the client went away: what a fetch that gives up does
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler
