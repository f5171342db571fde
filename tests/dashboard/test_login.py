"""Logging in to the dashboard in a real browser: the admin key on `syncline serve`, the
printed one-time link on `syncline dev`, logging out, and a session that stops working
(the admin key rotated) sending the browser back to the login form."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from tests.dashboard.conftest import copy_dash_app, open_dashboard
from tests.e2e.conftest import Server, start_server

SESSION_KEY = "syncline.dashboard.session"


@pytest.fixture(scope="module")
def dash_serve(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_dash_app(tmp_path_factory.mktemp("dash-serve")), "serve")
    try:
        yield server
    finally:
        server.stop()


def stored_session(page) -> str | None:
    return page.evaluate(f"window.localStorage.getItem({SESSION_KEY!r})")


def tables_with_the_stored_session(page) -> list[str]:
    """What the browser's stored session lists through an admin-only system query."""
    return page.evaluate("""async (key) => {
        const response = await fetch("/api/query", {method: "POST", headers: {
            "Content-Type": "application/json",
            Authorization: `Convex ${window.localStorage.getItem(key)}`},
          body: JSON.stringify({path: "_system/frontend/tables", args: {}, format: "json"})});
        return JSON.stringify(await response.json());
    }""", SESSION_KEY)


def log_in(page, key: str) -> None:
    page.get_by_test_id("admin-key").fill(key)
    page.get_by_test_id("login-submit").click()


def test_on_serve_a_wrong_key_is_refused_and_the_right_one_logs_in(browser, dash_serve,
                                                                    screenshot):
    page = open_dashboard(browser, dash_serve, logged_in=False)
    try:
        expect(page.get_by_test_id("login-form")).to_be_visible()
        expect(page.get_by_test_id("admin-key")).to_be_focused()
        expect(page.get_by_text("syncline admin-key DIR")).to_be_visible()
        screenshot(page, "login")
        page.get_by_test_id("login-submit").click()  # nothing typed
        expect(page.get_by_test_id("login-error")).to_have_text(
            "Enter the deployment's admin key.")
        log_in(page, dash_serve.admin_key[:-2] + "zz")
        expect(page.get_by_test_id("login-error")).to_contain_text(
            "That is not this deployment's admin key")
        expect(page.get_by_test_id("admin-key")).to_have_attribute("type", "password")
        assert stored_session(page) is None
        log_in(page, dash_serve.admin_key)
        expect(page.get_by_test_id("deployment-name")).to_have_text(
            "syncline-local · production")
        session = stored_session(page)
        assert session and session.startswith("session.") and dash_serve.admin_key != session
        assert dash_serve.admin_key not in page.content()  # the key is not kept or shown
        tables = tables_with_the_stored_session(page)
        assert all(name in tables for name in ("users", "tasks", "big")), tables
        page.reload()  # the session is remembered
        expect(page.get_by_test_id("deployment-name")).to_have_text(
            "syncline-local · production")
        assert page.js_errors == []
    finally:
        page.context.close()


def test_logging_out_ends_the_session_in_every_tab(browser, dash_serve):
    page = open_dashboard(browser, dash_serve, logged_in=False)
    try:
        log_in(page, dash_serve.admin_key)
        expect(page.get_by_test_id("deployment-name")).to_be_visible()
        other = page.context.new_page()
        other.goto(f"{dash_serve.url}/dashboard/#/history")
        expect(other.get_by_test_id("deployment-name")).to_be_visible()
        page.get_by_test_id("logout").click()
        expect(page.get_by_test_id("login-notice")).to_have_text("You have logged out.")
        expect(other.get_by_test_id("login-form")).to_be_visible()
        assert stored_session(page) is None
    finally:
        page.context.close()


def test_on_dev_the_printed_link_logs_in_once(browser, dash_dev):
    link = re.search(r"Dashboard:\s+(\S+)", dash_dev.output())[1]
    assert "?token=" in link
    page = open_dashboard(browser, dash_dev, logged_in=False)
    try:
        page.goto(link)
        expect(page.get_by_test_id("deployment-name")).to_have_text("syncline-local · dev")
        assert "token" not in page.url  # out of the address bar and the history
        assert stored_session(page).startswith("session.")
    finally:
        page.context.close()
    again = open_dashboard(browser, dash_dev, logged_in=False)
    try:
        again.goto(link)
        expect(again.get_by_test_id("login-notice")).to_contain_text(
            "The login link did not work. This login link has expired or was already used")
        expect(again.get_by_test_id("login-form")).to_be_visible()
        assert "token" not in again.url
    finally:
        again.context.close()


def test_a_rotated_admin_key_sends_open_dashboards_back_to_the_login(browser, tmp_path):
    server = start_server(copy_dash_app(tmp_path), "serve")
    page = None
    try:
        page = open_dashboard(browser, server, logged_in=False)
        log_in(page, server.admin_key)
        expect(page.get_by_test_id("deployment-name")).to_be_visible()
        rotated = httpx.post(f"{server.url}/dashboard/api/rotate-admin-key", timeout=30,
                             headers={"Authorization": f"Convex {server.admin_key}"})
        assert rotated.status_code == 200, rotated.text
        expect(page.get_by_test_id("login-notice")).to_have_text(
            "Your session has ended: the admin key was rotated or the session expired. "
            "Log in again.")
        assert stored_session(page) is None
        log_in(page, server.admin_key)  # the old key
        expect(page.get_by_test_id("login-error")).to_contain_text("not this deployment's")
        log_in(page, rotated.json()["adminKey"])
        expect(page.get_by_test_id("deployment-name")).to_be_visible()
    finally:
        if page is not None:
            page.context.close()
        server.stop()


ROTATE_AND_KEEP = """async (key) => {
    const response = await fetch("/dashboard/api/rotate-admin-key", {method: "POST",
        headers: {Authorization: `Convex ${window.localStorage.getItem(key)}`}});
    const body = await response.json();
    window.localStorage.setItem(key, body.session);  // what replaceSession stores
    return body.adminKey;
}"""


def test_the_tab_that_rotates_the_key_and_its_other_tabs_stay_logged_in(browser, tmp_path):
    """The server closes every admin connection on a rotation; the tab that rotated (and,
    through localStorage, its other tabs) carries on with the new session once the
    client reconnects, authenticated again: its queries answer as an admin."""
    server = start_server(copy_dash_app(tmp_path), "serve")
    page = None
    try:
        page = open_dashboard(browser, server, logged_in=False)
        log_in(page, server.admin_key)
        expect(page.get_by_test_id("deployment-name")).to_be_visible()
        other = page.context.new_page()
        other.goto(f"{server.url}/dashboard/")
        expect(other.get_by_test_id("deployment-name")).to_be_visible()
        answers: dict[object, list[str]] = {page: [], other: []}
        for tab in (page, other):  # each new connection's admin-only query results
            tab.on("websocket", lambda socket, tab=tab: socket.on(
                "framereceived", lambda payload, tab=tab: answers[tab].append(str(payload))))
        new_key = page.evaluate(ROTATE_AND_KEEP, SESSION_KEY)
        deadline = time.monotonic() + 20
        while not all(any('"instanceName":"syncline-local"' in a for a in answers[tab])
                      for tab in answers):
            assert time.monotonic() < deadline, answers
            page.wait_for_timeout(50)  # lets Playwright deliver the sockets' frames
        for tab in (page, other):
            expect(tab.get_by_test_id("deployment-name")).to_have_text(
                "syncline-local · production")
            assert tab.get_by_test_id("login-form").count() == 0
        assert as_admin_ok(server, stored_session(page))
        assert not as_admin_ok(server, server.admin_key) and as_admin_ok(server, new_key)
    finally:
        if page is not None:
            page.context.close()
        server.stop()


def as_admin_ok(server: Server, credential: str) -> bool:
    return httpx.get(f"{server.url}/dashboard/api/session", timeout=30,
                     headers={"Authorization": f"Convex {credential}"}).status_code == 200
