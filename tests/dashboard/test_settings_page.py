"""The Settings page in Chromium against a real `syncline dev`: URLs, environment variables
added, edited, renamed and removed in the page (seen through the env API and by the app's
functions), the server's validation message, copy all, auth providers, and a snapshot
export whose progress reaches `completed` and downloads, imported back."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.dashboard.conftest import copy_dash_app, open_dashboard
from tests.e2e.conftest import copy_app, start_server

T = 20_000  # ms: generous auto-wait


def open_settings(page, dash_dev) -> None:
    page.get_by_test_id("nav-settings").click()
    expect(page.get_by_test_id("settings-urls")).to_be_visible(timeout=T)


def env_api(dash_dev) -> dict[str, str]:
    response = httpx.get(f"{dash_dev.url}/api/syncline/env", timeout=30,
                         headers={"Authorization": f"Convex {dash_dev.admin_key}"})
    assert response.status_code == 200, response.text
    return response.json()["variables"]


def env_row(page, name: str):
    return page.locator(f'[data-testid="env-row"][data-name="{name}"]')


def app_reads(dash_dev, name: str):
    return dash_dev.run("query", "filesset:env", {"name": name})["value"]


def test_urls_and_environment_variables(dash_dev, page, screenshot) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_settings(page, dash_dev)
    expect(page.get_by_test_id("settings-cloud-url")).to_have_text(dash_dev.url, timeout=T)
    page.get_by_test_id("settings-cloud-url-copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == dash_dev.url

    env = page.get_by_test_id("settings-env")
    # Add.
    env.get_by_test_id("env-add").click()
    env.get_by_test_id("env-name-input").fill("PAYMENT_KEY")
    env.get_by_test_id("env-value-input").fill("sk_test_123")
    env.get_by_test_id("env-save").click()
    expect(env_row(page, "PAYMENT_KEY").get_by_test_id("env-value")).to_have_text(
        "sk_test_123", timeout=T)
    assert env_api(dash_dev)["PAYMENT_KEY"] == "sk_test_123"
    assert app_reads(dash_dev, "PAYMENT_KEY") == "sk_test_123"

    # A bad name: the server's message, next to the row; nothing is stored.
    env.get_by_test_id("env-add").click()
    env.get_by_test_id("env-name-input").fill("2FAST")
    env.get_by_test_id("env-value-input").fill("x")
    env.get_by_test_id("env-save").click()
    expect(env.get_by_test_id("env-error")).to_contain_text("2FAST", timeout=T)
    assert "2FAST" not in env_api(dash_dev)
    # Fixed in place, then saved.
    env.get_by_test_id("env-name-input").fill("FAST")
    env.get_by_test_id("env-save").click()
    expect(env_row(page, "FAST")).to_be_visible(timeout=T)

    # Edit the value, then rename (one atomic change).
    env_row(page, "PAYMENT_KEY").get_by_test_id("env-edit").click()
    env.get_by_test_id("env-value-input").fill("sk_live_456")
    env.get_by_test_id("env-save").click()
    expect(env_row(page, "PAYMENT_KEY").get_by_test_id("env-value")).to_have_text(
        "sk_live_456", timeout=T)
    assert app_reads(dash_dev, "PAYMENT_KEY") == "sk_live_456"
    env_row(page, "PAYMENT_KEY").get_by_test_id("env-edit").click()
    env.get_by_test_id("env-name-input").fill("STRIPE_KEY")
    env.get_by_test_id("env-save").click()
    expect(env_row(page, "STRIPE_KEY")).to_be_visible(timeout=T)
    expect(env_row(page, "PAYMENT_KEY")).to_have_count(0, timeout=T)
    variables = env_api(dash_dev)
    assert variables["STRIPE_KEY"] == "sk_live_456" and "PAYMENT_KEY" not in variables

    # A variable set from outside appears live; copy all gives NAME=value lines.
    response = httpx.post(f"{dash_dev.url}/api/syncline/env", timeout=30,
                          json={"name": "FROM_CLI", "value": "yes"},
                          headers={"Authorization": f"Convex {dash_dev.admin_key}"})
    assert response.status_code == 200, response.text
    expect(env_row(page, "FROM_CLI")).to_be_visible(timeout=T)
    env.get_by_test_id("env-copy-all").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.splitlines() == ["FAST=x", "FROM_CLI=yes", "STRIPE_KEY=sk_live_456"]

    expect(page.locator(".toast")).to_have_count(0, timeout=T)  # a clean screenshot
    screenshot(page, "settings")

    # Remove, with confirmation.
    env_row(page, "STRIPE_KEY").get_by_test_id("env-remove").click()
    page.get_by_test_id("confirm-button").click()
    expect(env_row(page, "STRIPE_KEY")).to_have_count(0, timeout=T)
    assert "STRIPE_KEY" not in env_api(dash_dev)
    assert app_reads(dash_dev, "STRIPE_KEY") is None
    assert page.js_errors == []


def test_auth_providers_empty_state(dash_dev, page) -> None:
    open_settings(page, dash_dev)
    auth = page.get_by_test_id("settings-auth")
    expect(auth).to_contain_text("No authentication providers", timeout=T)


def test_export_snapshot_progress_download_and_import(dash_dev, page, screenshot) -> None:
    kept = dash_dev.run("action", "filesset:store", {"text": "in the snapshot",
                                                     "content_type": "text/plain"})["value"]
    open_settings(page, dash_dev)
    panel = page.get_by_test_id("export-panel")
    panel.get_by_test_id("export-start").click()
    expect(panel.get_by_test_id("export-state")).to_have_text("completed", timeout=60_000)
    with page.expect_download() as download:
        panel.get_by_test_id("export-download").click()
    data = Path(download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
    assert any(name.startswith("_storage/") for name in names), names

    # The file goes; importing the snapshot back (replace) brings it back, same ID.
    dash_dev.run("mutation", "_system/frontend/deleteFiles", {"ids": [kept]}, admin=True)
    assert kept not in {f["id"] for f in dash_dev.run("query", "filesset:files", {})["value"]}
    importer = page.get_by_test_id("import-panel")
    importer.get_by_test_id("import-file").set_input_files(files=[
        {"name": "snapshot.zip", "mimeType": "application/zip", "buffer": data}])
    importer.get_by_test_id("import-mode").select_option("replace")
    importer.get_by_test_id("import-start").click()
    expect(importer.get_by_test_id("import-summary")).to_contain_text(
        "Import change summary", timeout=T)
    importer.get_by_test_id("import-confirm").click()
    expect(importer.get_by_test_id("import-state")).to_have_text("completed", timeout=60_000)
    page.get_by_test_id("settings-snapshots").scroll_into_view_if_needed()
    expect(page.locator(".toast")).to_have_count(0, timeout=T)
    screenshot(page, "settings-snapshots")
    assert kept in {f["id"] for f in dash_dev.run("query", "filesset:files", {})["value"]}


def test_auth_providers_on_serve(browser, tmp_path) -> None:
    """The providers of convex/auth_config.py, on a production deployment."""
    server = start_server(copy_app("dashsettings", tmp_path), "serve")
    page = None
    try:
        page = open_dashboard(browser, server, hash="#/settings")
        expect(page.get_by_test_id("settings-urls")).to_be_visible(timeout=T)
        expect(page.get_by_test_id("settings-urls")).to_contain_text(
            "production (syncline serve)", timeout=T)
        providers = page.get_by_test_id("auth-provider")
        expect(providers).to_have_count(2, timeout=T)
        expect(providers.nth(0)).to_contain_text("OpenID Connect")
        expect(providers.nth(0)).to_contain_text("https://tenant.example.com")
        expect(providers.nth(0)).to_contain_text("app-123")
        expect(providers.nth(1)).to_contain_text("Custom JWT")
        expect(providers.nth(1)).to_contain_text("https://jwt.example.com/.well-known/jwks.json")
        expect(providers.nth(1)).to_contain_text("RS256")
        assert page.js_errors == []
    finally:
        if page is not None:
            page.context.close()
        server.stop()


def test_rotate_admin_key(browser, tmp_path) -> None:
    """The new key is shown once; the old one stops working; the page goes on working on
    the new session (its own deployment: the key of `dash_dev` must stay valid)."""
    server = start_server(copy_dash_app(tmp_path))
    page = None
    try:
        page = open_dashboard(browser, server, hash="#/settings")
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.get_by_test_id("admin-key-rotate").click()
        page.get_by_test_id("admin-key-confirm").click()
        shown = page.get_by_test_id("admin-key-new")
        expect(shown).to_be_visible(timeout=T)
        new_key = shown.inner_text().strip()
        assert new_key != server.admin_key and new_key.startswith("syncline-local|")
        page.get_by_test_id("admin-key-copy").click()
        assert page.evaluate("navigator.clipboard.readText()") == new_key

        def env_status(key: str) -> int:
            return httpx.get(f"{server.url}/api/syncline/env", timeout=30,
                             headers={"Authorization": f"Convex {key}"}).status_code

        assert env_status(server.admin_key) == 401
        assert env_status(new_key) == 200
        page.get_by_role("button", name="Done").click()
        expect(shown).to_have_count(0, timeout=T)

        # Still logged in, on the new session: a change and the live table work.
        env = page.get_by_test_id("settings-env")
        env.get_by_test_id("env-add").click()
        env.get_by_test_id("env-name-input").fill("AFTER_ROTATION")
        env.get_by_test_id("env-value-input").fill("ok")
        env.get_by_test_id("env-save").click()
        expect(env_row(page, "AFTER_ROTATION")).to_be_visible(timeout=T)
        # Kept for reloads (the fixture's init script would put the old key back on one).
        stored = page.evaluate("localStorage.getItem('syncline.dashboard.session')")
        assert stored not in (None, server.admin_key, new_key)
        assert httpx.get(f"{server.url}/dashboard/api/session", timeout=30,
                         headers={"Authorization": f"Convex {stored}"}).status_code == 200
        assert page.js_errors == []
    finally:
        if page is not None:
            page.context.close()
        server.stop()


def test_import_of_a_bad_file_says_why(dash_dev, page) -> None:
    open_settings(page, dash_dev)
    importer = page.get_by_test_id("import-panel")
    importer.get_by_test_id("import-file").set_input_files(files=[
        {"name": "notes.zip", "mimeType": "application/zip", "buffer": b"not a zip at all"}])
    importer.get_by_test_id("import-start").click()
    expect(importer.get_by_test_id("import-state")).to_have_text("failed", timeout=T)
    expect(importer.get_by_test_id("import-error")).to_contain_text("Not a ZIP file", timeout=T)


def test_paste_env_file(dash_dev, page) -> None:
    """Pasting .env lines into a new variable's name adds them all, in one change: one bad
    line refuses them all, with the server's reason."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_settings(page, dash_dev)
    env = page.get_by_test_id("settings-env")

    def paste(text: str) -> None:
        page.evaluate("text => navigator.clipboard.writeText(text)", text)
        env.get_by_test_id("env-name-input").focus()
        page.keyboard.press("Control+V")

    env.get_by_test_id("env-add").click()
    paste("PASTED_A=1\n9_BAD=2\n")
    expect(env.get_by_test_id("env-error")).to_contain_text("9_BAD", timeout=T)
    assert not {"PASTED_A", "9_BAD"} & set(env_api(dash_dev))
    paste("# from .env\nexport PASTED_A=1\nPASTED_B=\"two words\"\n")
    expect(env_row(page, "PASTED_B").get_by_test_id("env-value")).to_have_text("two words",
                                                                             timeout=T)
    variables = env_api(dash_dev)
    assert variables["PASTED_A"] == "1" and variables["PASTED_B"] == "two words"
    # One line fills the two fields, to be saved.
    env.get_by_test_id("env-add").click()
    paste("PASTED_C=three")
    expect(env.get_by_test_id("env-value-input")).to_have_value("three", timeout=T)
    expect(env.get_by_test_id("env-name-input")).to_have_value("PASTED_C", timeout=T)
    env.get_by_test_id("env-save").click()
    expect(env_row(page, "PASTED_C")).to_be_visible(timeout=T)
    assert page.js_errors == []
