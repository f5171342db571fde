"""The dashboard's frame: served by the deployment, `/` leads to it, every page opens."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.dashboard.conftest import open_dashboard

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["health", "data", "functions", "files", "schedules", "logs", "history", "settings"]


def test_root_redirects_to_the_dashboard_which_is_served_with_strict_headers(dash_dev):
    response = httpx.get(f"{dash_dev.url}/", follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == "/dashboard/"
    page = httpx.get(f"{dash_dev.url}/dashboard/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"  # a login token stays put
    script = httpx.get(f"{dash_dev.url}/dashboard/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    again = httpx.get(f"{dash_dev.url}/dashboard/app.js",
                      headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304
    for missing in ("nope.js", "..%2Fassets.py", "%2E%2E%2F__init__.py"):
        assert httpx.get(f"{dash_dev.url}/dashboard/{missing}").status_code == 404


def test_every_page_opens_from_the_sidebar_without_errors(browser, dash_dev):
    page = open_dashboard(browser, dash_dev)
    try:
        expect(page.get_by_test_id("deployment-name")).to_have_text("syncline-local · dev")
        for name in PAGES:
            page.get_by_test_id(f"nav-{name}").click()
            expect(page.get_by_test_id(f"nav-{name}")).to_have_attribute("aria-current", "page")
            expect(page.locator(".page-header h1").first).to_be_visible()
        page.goto(f"{dash_dev.url}/dashboard/#/nowhere")
        expect(page.get_by_text('There is no page "nowhere"')).to_be_visible()
        assert page.js_errors == []
    finally:
        page.context.close()


def test_the_theme_toggle_switches_between_system_light_and_dark(browser, dash_dev):
    page = open_dashboard(browser, dash_dev)
    try:
        toggle = page.get_by_test_id("theme-toggle")
        expect(toggle).to_have_text("Theme: auto")
        toggle.click()
        expect(page.locator("html")).to_have_attribute("data-theme", "light")
        toggle.click()
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        page.reload()  # remembered
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    finally:
        page.context.close()


def test_without_a_session_the_login_form_shows(browser, dash_dev):
    page = open_dashboard(browser, dash_dev, logged_in=False)
    try:
        expect(page.get_by_test_id("login-form")).to_be_visible()
    finally:
        page.context.close()


def test_the_committed_assets_are_the_build_of_the_sources():
    modules = ROOT / "dashboard" / "node_modules"
    assert modules.exists(), "run `npm ci --prefix dashboard` (.ci/run does) to check the build"
    result = subprocess.run(["node", str(ROOT / "dashboard" / "build.mjs"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
