"""Public origins (server/origins.py): what is accepted, how it is written, the fallbacks."""

from __future__ import annotations

import socket

import pytest

from syncline.errors import SynclineError
from syncline.server.origins import (
    OriginError,
    fallback_warning,
    local_url,
    parse_origin,
    public_urls,
)
from syncline.server.runtime import bind


@pytest.mark.parametrize("value, expected", [
    ("https://api.example.com", "https://api.example.com"),
    ("https://api.example.com/", "https://api.example.com"),
    ("HTTPS://API.Example.com:8443", "https://api.example.com:8443"),
    ("http://localhost:3210", "http://localhost:3210"),
    ("http://[2001:db8::1]:80", "http://[2001:db8::1]:80"),
    ("http://10.1.2.3", "http://10.1.2.3"),
])
def test_valid_origins(value: str, expected: str) -> None:
    assert parse_origin(value, name="--cloud-origin") == expected


@pytest.mark.parametrize("value, why", [
    ("", "it is empty"),
    ("api.example.com", "the scheme must be http:// or https://"),
    ("ws://api.example.com", "the scheme must be http:// or https://"),
    ("https://", "it has no host"),
    ("https://api.example.com/convex", "it has a path (/convex)"),
    ("https://api.example.com/?a=1", "it has a query string"),
    ("https://api.example.com?", "it has a query string"),
    ("https://api.example.com#top", "it has a fragment"),
    ("https://user:pw@api.example.com", "user name or password"),
    ("https://api.example.com:99999", "Port out of range"),
    ("https://api.example.com:0", "port 0"),
    (" https://api.example.com", "whitespace"),
    ("https://api.example.com\n", "whitespace"),
    ("http://0.0.0.0:3210", "0.0.0.0 is an address to listen on"),
    ("http://[::]:3210", ":: is an address to listen on"),
])
def test_invalid_origins_say_why(value: str, why: str) -> None:
    with pytest.raises(OriginError) as info:
        parse_origin(value, name="CONVEX_CLOUD_ORIGIN")
    message = str(info.value)
    assert isinstance(info.value, SynclineError)
    assert message.startswith(f"CONVEX_CLOUD_ORIGIN {value!r} is not a public origin")
    assert why in message
    assert "scheme://host[:port]" in message


@pytest.mark.parametrize("host, expected", [
    ("0.0.0.0", "http://127.0.0.1:3210"),
    ("", "http://127.0.0.1:3210"),
    ("::", "http://[::1]:3210"),
    ("[::]", "http://[::1]:3210"),
    ("::1", "http://[::1]:3210"),
    ("127.0.0.1", "http://127.0.0.1:3210"),
    ("localhost", "http://localhost:3210"),
    ("192.168.1.5", "http://192.168.1.5:3210"),
])
def test_local_url(host: str, expected: str) -> None:
    assert local_url(host, 3210) == expected


def test_origins_win_and_each_falls_back_on_its_own() -> None:
    urls = public_urls("0.0.0.0", 3210, 3211, cloud_origin="https://api.example.com",
                       site_origin=None)
    assert (urls.cloud, urls.site) == ("https://api.example.com", "http://127.0.0.1:3211")
    assert (urls.local_cloud, urls.local_site) == ("http://127.0.0.1:3210",
                                                   "http://127.0.0.1:3211")
    warning = fallback_warning("0.0.0.0", urls, cloud_origin="https://api.example.com",
                               site_origin=None)
    assert warning is not None and "--site-origin (or CONVEX_SITE_ORIGIN)" in warning
    assert "--cloud-origin" not in warning


def test_no_warning_for_a_specific_host_or_with_both_origins() -> None:
    urls = public_urls("127.0.0.1", 1, 2, cloud_origin=None, site_origin=None)
    assert fallback_warning("127.0.0.1", urls, cloud_origin=None, site_origin=None) is None
    both = {"cloud_origin": "https://a.example", "site_origin": "https://b.example"}
    urls = public_urls("0.0.0.0", 1, 2, **both)
    assert fallback_warning("0.0.0.0", urls, **both) is None


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 on this machine")
def test_bind_listens_on_ipv6_hosts() -> None:
    # `--host ::` used to fail: the socket was created for IPv4 only.
    for host in ("::", "::1", "[::1]"):
        sock = bind(host, 0)
        try:
            assert sock.family == socket.AF_INET6
        finally:
            sock.close()
