"""The History page in Chromium against a real `syncline dev`: an environment variable
set over the HTTP API appears live, with who and what, and its details expand."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import expect


def set_env(dash_dev, name: str, value: str) -> None:
    response = httpx.post(f"{dash_dev.url}/api/syncline/env", json={"name": name, "value": value},
                          headers={"Authorization": f"Convex {dash_dev.admin_key}"}, timeout=30)
    assert response.status_code == 200, response.text


def test_an_env_change_made_over_the_api_appears_live(page, dash_dev, screenshot):
    first = f"HISTORY_{time.monotonic_ns()}"
    set_env(dash_dev, first, "first-secret")
    page.get_by_test_id("nav-history").click()
    rows = page.get_by_test_id("history-row")
    created = page.locator('[data-testid="history-row"][data-action="create_environment_variable"]'
                           ).filter(has_text=first)
    expect(created).to_have_count(1)
    expect(created.get_by_test_id("history-summary")).to_have_text(
        f"Environment variable {first} created")
    expect(created.locator(".history-who")).to_have_text("cli")
    push = page.locator('[data-testid="history-row"][data-action="push_config"]')
    expect(push.first.get_by_test_id("history-summary")).to_contain_text(
        "Pushed code: functions")
    screenshot(page, "history")

    # Live: a change made while the page is open appears at the top.
    set_env(dash_dev, first, "second-secret")
    expect(rows.first.get_by_test_id("history-summary")).to_have_text(
        f"Environment variable {first} updated")
    expect(rows.first).to_have_attribute("data-action", "update_environment_variable")

    created.get_by_test_id("history-details-toggle").click()
    details = page.get_by_test_id("history-details")
    expect(details).to_contain_text(f'"name": "{first}"')
    expect(details).to_contain_text("create_environment_variable")
    assert "secret" not in page.get_by_test_id("history-list").inner_text()  # names only
    created.get_by_test_id("history-details-toggle").click()
    expect(details).to_have_count(0)
    assert page.js_errors == []


def test_older_events_load_a_page_at_a_time(page, dash_dev):
    prefix = f"MANY_{time.monotonic_ns()}_"
    for i in range(35):  # more than a page (30)
        set_env(dash_dev, f"{prefix}{i:02d}", "v")
    page.get_by_test_id("nav-history").click()
    rows = page.get_by_test_id("history-row")
    expect(rows.filter(has_text=f"{prefix}34")).to_have_count(1)
    expect(rows).to_have_count(30)
    page.get_by_test_id("load-more").click()
    expect(rows.filter(has_text=f"{prefix}00")).to_have_count(1)
    assert rows.count() > 35
