"""Serving the dashboard's built files, and sending `/` to it.

The files are few and small: they are read once and kept in memory, with an ETag so a
browser revalidates instead of downloading them again. The headers keep the page to its
own origin (no CDN, no frames) and keep a login token in the address bar out of
`Referer` headers.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

ASSETS = Path(__file__).parent / "assets"
PREFIX = "/dashboard/"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; "
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def _asset(name: str) -> Asset | None:
    path = (ASSETS / name).resolve()
    if path.parent != ASSETS.resolve() or not path.is_file():
        return None
    body = path.read_bytes()
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith("javascript"):
        media_type += "; charset=utf-8"
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _serve(request: Request, name: str) -> Response:
    asset = _asset(name)
    if asset is None:
        return Response(f"No dashboard file {name!r}", status_code=404,
                        media_type="text/plain")
    headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


async def index(request: Request) -> Response:
    return _serve(request, "index.html")


async def asset(request: Request) -> Response:
    return _serve(request, request.path_params["name"])


async def to_dashboard(request: Request) -> Response:
    query = request.url.query
    return RedirectResponse(PREFIX + (f"?{query}" if query else ""), status_code=302)


def asset_routes() -> list[Route]:
    return [
        Route("/", to_dashboard, methods=["GET", "HEAD"]),
        Route("/dashboard", to_dashboard, methods=["GET", "HEAD"]),
        Route(PREFIX, index, methods=["GET", "HEAD"]),
        Route(PREFIX + "{name}", asset, methods=["GET", "HEAD"]),
    ]
