"""The Logs page in Chromium against a real `syncline dev`: executions called over HTTP
appear live, filters, a request's executions together, deployment events interleaved,
pause / resume / clear, and the tail that follows only while scrolled to the bottom."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import expect


def marker(prefix: str) -> str:
    return f"{prefix}{time.monotonic_ns()}"


def entries(page, function: str | None = None, text: str | None = None):
    locator = page.get_by_test_id("log-entry")
    if function is not None:
        locator = page.locator(f'[data-testid="log-entry"][data-function="{function}"]')
    return locator.filter(has_text=text) if text is not None else locator


def open_logs(page, dash_dev):
    page.get_by_test_id("nav-logs").click()
    expect(page.get_by_test_id("logs-list")).to_be_visible()
    expect(page.get_by_test_id("logs-live-state")).to_have_text("Live")


def test_a_call_over_http_appears_live_and_the_filters_narrow_it(page, dash_dev, screenshot):
    open_logs(page, dash_dev)
    m = marker("hello")
    dash_dev.run("query", "logsched:say", {"text": m})
    said = entries(page, "logsched:say", m)
    expect(said).to_have_count(1)
    expect(said.locator(".log-message")).to_have_text(f"said {m}")
    expect(said.get_by_test_id("log-status")).to_have_text("success")
    dash_dev.run("mutation", "logsched:note", {"text": m})
    assert dash_dev.run("mutation", "logsched:fail", {"text": m})["status"] == "error"
    expect(entries(page, "logsched:fail", m).get_by_test_id("log-error")).to_contain_text(
        f"broken on purpose: {m}")
    expect(entries(page, text=m)).to_have_count(3)
    screenshot(page, "logs")

    page.get_by_test_id("logs-text-filter").fill(m)  # only this test's executions
    page.get_by_test_id("logs-function-filter").fill("logsched:note")
    expect(entries(page)).to_have_count(1)
    expect(entries(page, "logsched:note")).to_have_count(1)
    page.get_by_test_id("logs-function-filter").fill("")

    page.get_by_test_id("logs-level-warn").check()  # warn lines only
    expect(entries(page)).to_have_count(1)
    expect(page.get_by_test_id("log-line")).to_have_count(1)
    expect(page.locator('[data-testid="log-line"][data-level="warn"] .log-message')).to_have_text(
        f"careful with {m}")
    page.get_by_test_id("logs-level-error").check()  # and errors: the failure too
    expect(entries(page)).to_have_count(2)
    expect(entries(page, "logsched:fail").locator(".log-line:not(.log-error) .log-message")
           ).to_have_text(f"about to fail: {m}")
    page.get_by_test_id("logs-level-warn").uncheck()
    page.get_by_test_id("logs-level-error").uncheck()

    page.get_by_test_id("logs-status-filter").select_option("failure")
    expect(entries(page)).to_have_count(1)
    expect(entries(page, "logsched:fail")).to_have_count(1)
    page.get_by_test_id("logs-status-filter").select_option("success")
    expect(entries(page)).to_have_count(2)
    expect(entries(page, "logsched:fail")).to_have_count(0)

    # Clicking a function name filters by it.
    page.get_by_test_id("logs-status-filter").select_option("")
    entries(page, "logsched:say").get_by_test_id("log-function").click()
    expect(page.get_by_test_id("logs-function-filter")).to_have_value("logsched:say")
    expect(entries(page)).to_have_count(1)
    assert page.js_errors == []


def test_clicking_a_request_id_shows_all_its_executions_together(page, dash_dev):
    open_logs(page, dash_dev)
    m = marker("shout")
    dash_dev.run("action", "logsched:shout", {"text": m})  # the action runs a query
    dash_dev.run("query", "logsched:say", {"text": "another request"})
    action = entries(page, "logsched:shout", m)
    expect(action).to_have_count(1)
    request = action.get_attribute("data-request")
    action.get_by_test_id("log-request").click()
    expect(page.get_by_test_id("logs-request-banner")).to_contain_text(request)
    expect(page.get_by_test_id("logs-request-filter")).to_have_value(request)
    expect(entries(page)).to_have_count(2)
    expect(page.locator(f'[data-testid="log-entry"][data-request="{request}"]')).to_have_count(2)
    expect(entries(page, "logsched:say").locator(".log-message")).to_have_text(f"said {m}")
    page.get_by_test_id("logs-request-banner").get_by_role("button").click()
    expect(entries(page, text="another request")).to_have_count(1)


def test_deployment_events_are_interleaved(page, dash_dev):
    open_logs(page, dash_dev)
    name = marker("LOGS_EVENT_")
    response = httpx.post(f"{dash_dev.url}/api/syncline/env", json={"name": name, "value": "x"},
                          headers={"Authorization": f"Convex {dash_dev.admin_key}"}, timeout=30)
    assert response.status_code == 200, response.text
    event = page.locator('[data-testid="log-event"]').filter(has_text=name)
    expect(event).to_contain_text(f"Environment variable {name} created")
    expect(event.locator(".log-event-badge")).to_have_text("Env variable created")
    expect(event.locator(".log-event-who")).to_have_text("by cli")  # httpx: a CLI-like client
    expect(page.locator('[data-testid="log-event"][data-action="push_config"]').first
           ).to_contain_text("Pushed code")
    page.get_by_test_id("logs-events-toggle").uncheck()
    expect(page.get_by_test_id("log-event")).to_have_count(0)


def test_pause_resume_and_clear(page, dash_dev):
    open_logs(page, dash_dev)
    m = marker("paused")
    page.get_by_test_id("logs-pause").click()
    expect(page.get_by_test_id("logs-live-state")).to_contain_text("Paused")
    dash_dev.run("query", "logsched:say", {"text": m})
    expect(page.get_by_test_id("logs-live-state")).to_have_text("Paused · 1 new")
    expect(entries(page, text=m)).to_have_count(0)
    page.get_by_test_id("logs-pause").click()  # resume
    expect(entries(page, text=m)).to_have_count(1)
    page.get_by_test_id("logs-clear").click()
    expect(entries(page)).to_have_count(0)
    expect(page.get_by_test_id("empty")).to_be_visible()
    after = marker("after-clear")
    dash_dev.run("query", "logsched:say", {"text": after})
    expect(entries(page)).to_have_count(1)
    expect(entries(page, text=after)).to_have_count(1)


def at_bottom(page) -> bool:
    return page.get_by_test_id("logs-list").evaluate(
        "el => el.scrollTop + el.clientHeight >= el.scrollHeight - 8")


def test_the_tail_follows_new_lines_until_the_user_scrolls_away(page, dash_dev):
    open_logs(page, dash_dev)
    m = marker("scroll")
    for i in range(40):
        dash_dev.run("query", "logsched:say", {"text": f"{m}-{i}"})
    expect(entries(page, text=f"{m}-39")).to_be_visible()  # scrolled into view
    assert at_bottom(page)
    page.get_by_test_id("logs-list").evaluate("el => { el.scrollTop = 0; }")
    expect(page.get_by_test_id("logs-jump")).to_be_visible()
    dash_dev.run("query", "logsched:say", {"text": f"{m}-late"})
    expect(page.get_by_test_id("logs-jump")).to_have_text("New entries below ↓")
    expect(entries(page, text=f"{m}-late")).not_to_be_in_viewport()
    assert page.get_by_test_id("logs-list").evaluate("el => el.scrollTop") == 0
    page.get_by_test_id("logs-jump").click()
    expect(entries(page, text=f"{m}-late")).to_be_in_viewport()
    expect(page.get_by_test_id("logs-jump")).to_have_count(0)
