"""Browser tests of the dashboard: a real `syncline dev` and a real headless Chromium.

Chromium is Debian's (`apt-get install chromium`, which `.ci/run` does), driven by
Playwright's Python package (`pip install -e '.[browser]'`); Playwright's own browser
download is never used. Its absence is a failure, not a skip, as for PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Server, start_server

APPS = Path(__file__).parent / "apps"
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images" / "dashboard"
CHROMIUM = os.environ.get("SYNCLINE_CHROMIUM", "/usr/bin/chromium")
# As root and in a closed network: no sandbox, no background connections to Google.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 20_000  # auto-waiting bound for a broken page, not a speed claim


def copy_dash_app(tmp_path: Path, name: str = "dash") -> Path:
    target = tmp_path / name
    shutil.copytree(APPS / name, target, ignore=shutil.ignore_patterns("__pycache__", ".syncline"))
    return target


@pytest.fixture(scope="module")
def dash_dev(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_dash_app(tmp_path_factory.mktemp("dash-dev")))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # Per module, not per session: Playwright's sync API keeps an event loop running on
    # this thread while it is started, which breaks every later asyncio test in the run.
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: `apt-get install chromium` "
                    "(.ci/run does), or set SYNCLINE_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def open_dashboard(browser, server: Server, *, logged_in: bool = True, hash: str = ""):
    """A new browser context on `server`'s dashboard; logged in by storing the admin key
    as the session (an admin credential like a session; login itself is tested in
    test_login.py)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(viewport={"width": 1360, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    if logged_in:
        context.add_init_script(
            f"window.localStorage.setItem('syncline.dashboard.session', {server.admin_key!r});")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto(f"{server.url}/dashboard/{hash}")
    return page


@pytest.fixture
def page(browser, dash_dev) -> Iterator[object]:
    page = open_dashboard(browser, dash_dev)
    try:
        yield page
    finally:
        page.context.close()


@pytest.fixture
def screenshot(tmp_path) -> Callable[[object, str], Path]:
    """`screenshot(page, name)`: a PNG of the page, into docs/images/dashboard/ when
    SYNCLINE_SCREENSHOTS=1 (how docs/dashboard.md's pictures are made), else tmp."""

    def take(page, name: str) -> Path:
        folder = DOCS_IMAGES if os.environ.get("SYNCLINE_SCREENSHOTS") == "1" else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(path))
        return path

    return take
