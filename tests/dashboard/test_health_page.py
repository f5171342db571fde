"""The Health page in Chromium against a real `syncline dev`: current values and charts over
the last hour move as the app is called over HTTP; the insights name the functions."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_calls_move_the_current_values_live(page, dash_dev):
    page.get_by_test_id("nav-health").click()
    calls = page.get_by_test_id("health-invocations")
    expect(calls).to_have_text(re.compile(r"^\d+$"))
    before = int(calls.inner_text())
    for _ in range(4):
        assert dash_dev.run("query", "funchealth:whoami")["status"] == "success"
    expect(calls).to_have_text(str(before + 4))  # no reload: the query watches the metrics
    assert dash_dev.run("mutation", "funchealth:refuse", {"reason": "x"})["status"] == "error"
    expect(calls).to_have_text(str(before + 5))
    expect(page.get_by_test_id("health-failure-rate")).not_to_have_text("0.0%")
    expect(page.get_by_test_id("health-sessions")).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(page.get_by_test_id("health-charts").locator(".chart")).to_have_count(7)
    assert page.js_errors == []


def test_insights_name_the_functions_and_link_to_them(page, dash_dev, screenshot):
    for i in range(30):
        dash_dev.run("mutation", "tasks:add", {"text": f"insight {i}", "priority": float(i)})
    assert dash_dev.run("query", "funchealth:open_tasks")["value"] >= 30
    assert dash_dev.run("query", "funchealth:whoami")["status"] == "success"
    assert dash_dev.run("mutation", "funchealth:refuse", {"reason": "y"})["status"] == "error"
    page.get_by_test_id("nav-health").click()
    read = page.get_by_test_id("insights-documentsRead")
    expect(read.get_by_test_id("insight-function").first).to_have_text("funchealth:open_tasks")
    written = page.get_by_test_id("insights-documentsWritten")
    # (the app's cron job, logsched:tick, may write more per call: listed, not first)
    expect(written.get_by_test_id("insight-function").filter(has_text="tasks:add")).to_have_count(1)
    errors = page.get_by_test_id("insights-errors")
    expect(errors.get_by_test_id("insight-function").first).to_have_text("funchealth:refuse")
    expect(page.get_by_test_id("insights-near-limits")).to_contain_text("funchealth:open_tasks")
    screenshot(page, "health")
    read.get_by_test_id("insight-function").first.click()
    expect(page.get_by_test_id("fn-path")).to_have_text("funchealth:open_tasks")
    expect(page.get_by_test_id("fn-hour-invocations")).to_have_text(re.compile(r"^[1-9]\d*$"))
    assert page.js_errors == []
