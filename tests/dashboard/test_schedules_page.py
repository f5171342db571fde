"""The Schedules page in Chromium against a real `syncline dev`: scheduled functions
filtered by function and state, canceled one at a time and all at once (seen through the
HTTP API `syncline scheduled` uses), and cron jobs with the schedule as written."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

HOUR_MS = 3_600_000
API = "/api/syncline/scheduled_functions"


def schedule(dash_dev, count: int, target: str = "work") -> list[str]:
    result = dash_dev.run("mutation", "logsched:schedule",
                          {"count": count, "delay": HOUR_MS, "target": target})
    assert result["status"] == "success", result
    return result["value"]


def states(dash_dev) -> dict[str, str]:
    response = httpx.get(f"{dash_dev.url}{API}", params={"state": "all", "limit": "1000"},
                         headers={"Authorization": f"Convex {dash_dev.admin_key}"}, timeout=30)
    assert response.status_code == 200, response.text
    return {job["id"]: job["state"]["kind"] for job in response.json()["jobs"]}


def row(page, job_id: str):
    return page.locator(f'[data-testid="job-row"][data-id="{job_id}"]')


def test_cancel_one_and_all_scheduled_functions(page, dash_dev, screenshot):
    work = schedule(dash_dev, 3)
    ticks = schedule(dash_dev, 2, "tick")
    page.get_by_test_id("nav-schedules").click()
    for job in work + ticks:
        expect(row(page, job).get_by_test_id("job-state")).to_have_text("pending")
    expect(row(page, work[2])).to_contain_text("logsched:work")
    expect(row(page, work[2]).locator(".job-args")).to_have_text('{"n":2}')
    screenshot(page, "schedules")

    page.get_by_test_id("jobs-function-filter").fill("logsched:work")
    expect(row(page, ticks[0])).to_have_count(0)
    expect(row(page, work[0])).to_have_count(1)
    page.get_by_test_id("jobs-state-filter").select_option("pending")

    row(page, work[0]).get_by_test_id("job-cancel").click()
    expect(row(page, work[0])).to_have_count(0)  # no longer pending
    assert states(dash_dev)[work[0]] == "canceled"  # as `syncline scheduled list` sees it
    page.get_by_test_id("jobs-state-filter").select_option("canceled")
    expect(row(page, work[0]).get_by_test_id("job-state")).to_have_text("canceled")
    expect(row(page, work[0]).get_by_test_id("job-cancel")).to_have_count(0)

    # Cancel all of one function, after a confirmation.
    page.get_by_test_id("jobs-state-filter").select_option("")
    page.get_by_test_id("cancel-all").click()
    expect(page.get_by_test_id("cancel-all-text")).to_contain_text("logsched:work")
    page.get_by_role("button", name="Keep them").click()
    expect(page.get_by_test_id("modal")).to_have_count(0)
    assert states(dash_dev)[work[1]] == "pending"
    page.get_by_test_id("cancel-all").click()
    page.get_by_test_id("cancel-all-confirm").click()
    for job in work:
        expect(row(page, job).get_by_test_id("job-state")).to_have_text("canceled")
    current = states(dash_dev)
    assert {current[job] for job in work} == {"canceled"}
    assert {current[job] for job in ticks} == {"pending"}  # another function: untouched
    assert page.js_errors == []


def test_cron_jobs_show_the_schedule_as_written_and_their_runs(page, dash_dev, screenshot):
    page.get_by_test_id("nav-schedules").click()
    page.get_by_test_id("tab-crons").click()
    crons = page.get_by_test_id("cron-row")
    expect(crons).to_have_count(4)
    written = {
        "every five minutes": "interval(minutes=5)",
        "first of the month": 'cron("0 16 1 * *")',
        "digest": "daily(hour_utc=17, minute_utc=30)",
        "report": 'weekly(day_of_week="tuesday", hour_utc=9, minute_utc=0)',
    }
    for name, text in written.items():
        cron = page.locator(f'[data-testid="cron-row"][data-name="{name}"]')
        expect(cron.get_by_test_id("cron-written")).to_have_text(text)
        expect(cron).to_contain_text("logsched:tick")
    five = page.locator('[data-testid="cron-row"][data-name="every five minutes"]')
    expect(five.get_by_test_id("cron-run").first).to_contain_text("success")  # ran at deploy
    expect(five).to_contain_text("in 5 min")
    screenshot(page, "schedules-crons")
    assert page.js_errors == []
