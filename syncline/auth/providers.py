"""Auth providers, as an app declares them in `convex/auth_config.py`.

```python
providers = [
    {"domain": "https://my-tenant.auth0.com/", "application_id": "abc123"},     # OIDC
    {"type": "customJwt", "issuer": "https://auth.example.com",               # custom JWT
     "jwks": "https://auth.example.com/.well-known/jwks.json", "algorithm": "RS256"},
]
```

The Convex spelling `applicationID` is accepted too, so a config ported from
`auth.config.ts` reads the same. A config is checked in full when the code is
pushed, so a typo is refused with the provider's position and the key at fault,
not discovered by the first user who fails to sign in.

As in Convex, an OIDC `domain` may be written without a scheme (Auth0's page gives
`your-domain.us.auth0.com`): it means `https://`. Plain `http://` is accepted only
for a loopback host (localhost, 127.0.0.0/8, ::1), where a local identity provider
runs; anywhere else a token's keys fetched over http could be swapped on the way.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import urlparse

from syncline.errors import SynclineError

ALGORITHMS = ("RS256", "ES256")
_OIDC_KEYS = {"type", "domain", "application_id", "applicationID"}
_CUSTOM_KEYS = {"type", "issuer", "jwks", "algorithm", "application_id", "applicationID"}


class AuthConfigError(SynclineError):
    """`convex/auth_config.py` does not describe valid providers."""


@dataclass(frozen=True)
class OidcProvider:
    """An OpenID Connect issuer: keys come from its discovery document."""

    domain: str
    application_id: str

    @property
    def issuer(self) -> str:
        return self.domain

    @property
    def accepted_issuers(self) -> tuple[str, str]:
        """The `iss` values this provider's tokens may carry: the domain with and without
        a trailing slash. Both name the same issuer URL, and Auth0 puts the slash in `iss`
        while its docs (and Convex's) write the domain without one."""
        base = self.domain.rstrip("/")
        return base, base + "/"


@dataclass(frozen=True)
class CustomJwtProvider:
    """An issuer of plain JWTs, with its key set at a URL or inline as a `data:` URI."""

    issuer: str
    jwks: str
    algorithm: str
    application_id: str | None = None

    @property
    def accepted_issuers(self) -> tuple[str]:
        """The `iss` value this provider's tokens carry: exactly the configured issuer."""
        return (self.issuer,)


AuthProvider = OidcProvider | CustomJwtProvider


def providers_of(module: ModuleType | None) -> list[AuthProvider]:
    """The providers of an app's `auth_config` module (none without one)."""
    if module is None:
        return []
    if not hasattr(module, "providers"):
        raise AuthConfigError(
            "convex/auth_config.py must define `providers = [...]`, a list of providers "
            "(see docs/auth.md)")
    return parse_providers(module.providers)


def parse_providers(value: Any) -> list[AuthProvider]:
    if not isinstance(value, list | tuple):
        raise AuthConfigError(
            f"convex/auth_config.py: `providers` must be a list, not {type(value).__name__}")
    return [_parse_provider(i, entry) for i, entry in enumerate(value, start=1)]


def _parse_provider(position: int, entry: Any) -> AuthProvider:
    where = f"convex/auth_config.py: provider {position}"
    if not isinstance(entry, dict):
        raise AuthConfigError(f"{where} must be a dict, not {type(entry).__name__}")
    kind = entry.get("type", "oidc")
    if kind not in ("oidc", "customJwt"):
        raise AuthConfigError(f"{where}: `type` must be 'customJwt' (or left out for an OIDC "
                              f"provider), not {kind!r}")
    allowed = _CUSTOM_KEYS if kind == "customJwt" else _OIDC_KEYS
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise AuthConfigError(f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; "
                              f"allowed: {', '.join(sorted(allowed))}")
    if "application_id" in entry and "applicationID" in entry:
        raise AuthConfigError(f"{where} gives both `application_id` and `applicationID`")
    app_id = entry.get("application_id", entry.get("applicationID"))
    if app_id is not None and (not isinstance(app_id, str) or not app_id):
        raise AuthConfigError(f"{where}: `application_id` must be a non-empty string")
    if kind == "oidc":
        domain = entry.get("domain")
        if isinstance(domain, str) and domain and "://" not in domain:
            domain = "https://" + domain  # Convex's rule: a bare host name means https
        domain = _url(where, "domain", domain)
        if app_id is None:
            raise AuthConfigError(
                f"{where}: an OIDC provider needs `application_id`, the `aud` of its tokens "
                "(use type='customJwt' for tokens without one)")
        return OidcProvider(domain, app_id)
    issuer = entry.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise AuthConfigError(f"{where}: `issuer` must be a non-empty string, the exact `iss` "
                              "of its tokens")
    if issuer.lower().startswith("http://"):
        _url(where, "issuer", issuer)
    jwks = entry.get("jwks")
    if not isinstance(jwks, str) or not jwks.startswith("data:"):
        jwks = _url(where, "jwks", jwks)
    algorithm = entry.get("algorithm")
    if algorithm not in ALGORITHMS:
        raise AuthConfigError(f"{where}: `algorithm` must be one of {', '.join(ALGORITHMS)}, "
                              f"not {algorithm!r}")
    return CustomJwtProvider(issuer, jwks, algorithm, app_id)


def _url(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise AuthConfigError(f"{where}: `{key}` must be an http(s) URL string")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        extra = " or a data: URI" if key == "jwks" else ""
        raise AuthConfigError(f"{where}: `{key}` must be an http(s) URL{extra}, not {value!r}")
    if parsed.scheme == "http" and not is_loopback_host(parsed.hostname):
        raise AuthConfigError(
            f"{where}: `{key}` {value!r} uses plain http, which is allowed only for "
            "localhost and loopback addresses (127.0.0.0/8, ::1): use https://")
    return value


def is_loopback_host(host: str | None) -> bool:
    """Whether `host` (as urlparse gives it: lower case, no brackets) is this machine."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
