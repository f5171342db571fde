"""The deployment's public URLs: where clients reach its API and its HTTP actions.

The address a server listens on is not always one clients can use: `--host 0.0.0.0`
listens everywhere but `http://0.0.0.0:3210` reaches nothing from a browser, and a
deployment behind a reverse proxy or on a real domain is reached at an origin the
server cannot know. So, as self-hosted Convex does, the public origins are given
(`--cloud-origin` / `CONVEX_CLOUD_ORIGIN`, `--site-origin` / `CONVEX_SITE_ORIGIN`)
and used for everything handed out: upload URLs, `storage.get_url` results and the
`CONVEX_CLOUD_URL` / `CONVEX_SITE_URL` functions see.

Without an origin, the URL is the listening address, and a wildcard host
(`0.0.0.0`, `::`) becomes the loopback address of its family with a warning at
start. Not the `Host` header of the request at hand: URLs are also made where no
request exists (scheduled functions, crons, module-level code reading
`CONVEX_CLOUD_URL`), query results are cached and shared by every subscriber, so one
client's `Host` would reach the others, and the header is whatever the client says.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from syncline.errors import SynclineError

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class OriginError(SynclineError):
    """A public origin that clients could not use as given."""


def parse_origin(value: str, *, name: str) -> str:
    """`value` as an origin, `scheme://host[:port]` (a trailing `/` dropped); OriginError
    naming `name` (the flag or variable it came from) if it is anything else."""
    def refuse(why: str) -> OriginError:
        return OriginError(f"{name} {value!r} is not a public origin: {why}. Give "
                           "scheme://host[:port], e.g. https://api.example.com")

    if not isinstance(value, str) or not value:
        raise refuse("it is empty")
    if value != value.strip() or any(c.isspace() or ord(c) < 32 for c in value):
        raise refuse("it contains whitespace or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # ValueError if it is not a number in 0..65535
    except ValueError as e:
        raise refuse(str(e)) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or "://" not in value:
        raise refuse("the scheme must be http:// or https://")
    if not parts.hostname:
        raise refuse("it has no host")
    if parts.username is not None or parts.password is not None:
        raise refuse("it must not contain a user name or password")
    if parts.path not in ("", "/"):
        raise refuse(f"it has a path ({parts.path}); syncline serves at the root")
    if "?" in value:
        raise refuse("it has a query string")
    if "#" in value:
        raise refuse("it has a fragment")
    if port == 0:
        raise refuse("port 0 is not a port clients can reach")
    if parts.hostname in WILDCARD_HOSTS:
        raise refuse(f"{parts.hostname} is an address to listen on, not one clients can reach")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + ("" if port is None else f":{port}")


def is_wildcard(host: str) -> bool:
    """Whether listening on `host` means every interface (no address clients can use)."""
    return host.strip("[]") in WILDCARD_HOSTS


def local_url(host: str, port: int) -> str:
    """`http://host:port` for a server listening on `host`, reachable from this machine:
    a wildcard host becomes the loopback address of its family, IPv6 gets brackets."""
    bare = host.strip("[]")
    if bare == "::":
        bare = "::1"
    elif bare in WILDCARD_HOSTS:
        bare = "127.0.0.1"
    try:
        literal = ipaddress.ip_address(bare)
    except ValueError:
        literal = None
    shown = f"[{bare}]" if literal is not None and literal.version == 6 else bare
    return f"http://{shown}:{port}"


@dataclass(frozen=True)
class PublicUrls:
    """What the deployment hands out (`cloud`, `site`) and where it listens (`local_*`)."""

    cloud: str
    site: str
    local_cloud: str
    local_site: str

    @property
    def differ(self) -> bool:
        return (self.cloud, self.site) != (self.local_cloud, self.local_site)


def public_urls(host: str, port: int, site_port: int, *, cloud_origin: str | None,
                site_origin: str | None) -> PublicUrls:
    """The configured origins, each falling back to the local URL of its server."""
    local_cloud, local_site = local_url(host, port), local_url(host, site_port)
    return PublicUrls(cloud_origin or local_cloud, site_origin or local_site,
                      local_cloud, local_site)


def fallback_warning(host: str, urls: PublicUrls, *, cloud_origin: str | None,
                     site_origin: str | None) -> str | None:
    """Why URLs handed out will not work from other machines, or None if they may."""
    if not is_wildcard(host) or (cloud_origin and site_origin):
        return None
    missing = [f"{flag} (or {var})" for flag, var, given in (
        ("--cloud-origin", "CONVEX_CLOUD_ORIGIN", cloud_origin),
        ("--site-origin", "CONVEX_SITE_ORIGIN", site_origin)) if not given]
    return (f"Listening on every interface ({host or '0.0.0.0'}) without a public origin: "
            f"file URLs and CONVEX_CLOUD_URL/CONVEX_SITE_URL use {urls.cloud} and {urls.site}, "
            f"which only this machine can reach. Set {' and '.join(missing)} to the URLs "
            "clients use.")
