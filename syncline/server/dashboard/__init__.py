"""The dashboard: a browser client of the deployment, served by it at `/dashboard/`.

It is a syncline client like any other: every view reads through `_system/...` functions
over the sync protocol (so it is live), and every edit goes through the normal commit
path. The browser code lives in `dashboard/src/` at the repository's root; its build
(`node dashboard/build.mjs`) is committed here under `assets/`, so `pip install` ships it
and no Node.js is needed to run it.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from syncline.server.dashboard.assets import asset_routes


def dashboard_routes(deployment: Any) -> list[Route]:
    """Every route of the dashboard (pages and assets; login in login.py)."""
    return [*asset_routes()]
