"""The dashboard's Logs and Schedules system functions against a real `syncline dev`:
`_system/frontend/logs` (filters, request groups, history interleaved) and the Schedules
page's `scheduledFunctions` / `paginatedScheduledFunctions` / `cronJobs` / `cancelJob` /
`cancelAllJobs`, canceling as `syncline scheduled cancel` does."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.dashboard.conftest import copy_dash_app

from .conftest import Server, start_server

HOUR_MS = 3_600_000
API = "/api/syncline/scheduled_functions"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_dash_app(tmp_path_factory.mktemp("logsched")))
    yield server
    server.stop()


def system(server: Server, kind: str, path: str, args: dict | None = None) -> dict:
    """A system function's outcome (`status`, `value` / `errorMessage`), as the admin."""
    return server.run(kind, path, args or {}, admin=True)


def value(server: Server, kind: str, path: str, args: dict | None = None):
    result = system(server, kind, path, args)
    assert result["status"] == "success", result
    return result["value"]


def logs(server: Server, **args) -> list[dict]:
    return value(server, "query", "_system/frontend/logs", args)["entries"]


def wait_for_log(server: Server, predicate, **args) -> list[dict]:
    """The log once an entry satisfies `predicate` (executions are logged as they finish,
    after the response may have been sent)."""
    deadline = time.monotonic() + 20
    while True:
        entries = logs(server, **args)
        if any(predicate(e) for e in entries):
            return entries
        assert time.monotonic() < deadline, entries
        time.sleep(0.05)


def test_logs_entries_filters_and_request_groups(server):
    marker = f"m{time.monotonic_ns()}"
    assert server.run("action", "logsched:shout", {"text": marker})["status"] == "success"
    assert server.run("mutation", "logsched:note", {"text": marker})["status"] == "success"
    assert server.run("mutation", "logsched:fail", {"text": marker})["status"] == "error"
    entries = wait_for_log(server, lambda e: e["function"] == "logsched:fail", text=marker)
    by_function = {e["function"]: e for e in entries}
    # The action and the query it ran: one request, so one group key.
    assert set(by_function) == {"logsched:shout", "logsched:say", "logsched:note",
                                "logsched:fail"}
    shout, say = by_function["logsched:shout"], by_function["logsched:say"]
    assert shout["requestId"] == say["requestId"]
    assert shout["lines"][0]["level"] == "log"
    assert shout["lines"][0]["message"] == f"shouted {marker}"
    assert shout["kind"] == "action" and say["kind"] == "query"
    assert shout["status"] == "success" and shout["error"] is None
    assert shout["executionTimeMs"] >= 0 and shout["startedAt"] <= shout["time"]
    fail = by_function["logsched:fail"]
    assert fail["status"] == "failure" and f"broken on purpose: {marker}" in fail["error"]
    assert fail["level"] == "error"
    note = by_function["logsched:note"]
    assert [line["level"] for line in note["lines"]] == ["info", "warn", "debug"]
    assert note["level"] == "warn"
    assert [e["time"] for e in entries] == sorted(e["time"] for e in entries)  # oldest first
    assert not any(e["function"].startswith("_system/") for e in logs(server))

    group = logs(server, requestId=shout["requestId"])
    assert {e["function"] for e in group} == {"logsched:shout", "logsched:say"}
    only = logs(server, function="logsched.js:note", text=marker)  # either path form
    assert [e["function"] for e in only] == ["logsched:note"]
    warn = logs(server, levels=["warn"], text=marker)
    assert [(e["function"], [line["message"] for line in e["lines"]]) for e in warn] == [
        ("logsched:note", [f"careful with {marker}"])]
    errors = logs(server, levels=["error"], text=marker)  # a failure is an error
    assert [e["function"] for e in errors] == ["logsched:fail"]
    assert errors[0]["lines"][0]["message"] == f"about to fail: {marker}"
    failures = logs(server, status="failure", text=marker)
    assert [e["function"] for e in failures] == ["logsched:fail"]
    assert {e["function"] for e in logs(server, status="success", text=marker)} == {
        "logsched:shout", "logsched:say", "logsched:note"}
    assert logs(server, text=marker.upper(), function="logsched:say")[0]["lines"][0][
        "message"] == f"said {marker}"  # case-insensitive
    newest = value(server, "query", "_system/frontend/logs", {"limit": 1, "text": marker})
    assert [e["function"] for e in newest["entries"]] == ["logsched:fail"] and newest["more"]


def test_logs_interleave_history_events(server):
    marker = f"EVENT_{time.monotonic_ns()}"
    response = server.call("/api/syncline/env", {"name": marker, "value": "secret-value"},
                           admin=True)
    assert response.status_code == 200, response.text
    assert server.run("query", "logsched:say", {"text": "after"})["status"] == "success"
    entries = wait_for_log(server, lambda e: e.get("lines") and e["lines"][0]["message"]
                           == "said after", includeEvents=True)
    events = [e for e in entries if e["type"] == "event"]
    env = [e for e in events if e["metadata"].get("name") == marker]
    assert len(env) == 1 and env[0]["action"] == "create_environment_variable"
    assert "secret-value" not in str(entries)
    push = [e for e in events if e["action"] == "push_config"]
    assert push and "logsched:say" in push[0]["metadata"]["functions"]["added"]
    position = {e["id"]: i for i, e in enumerate(entries)}
    later = [e for e in entries if e.get("function") == "logsched:say"][-1]
    assert position[env[0]["id"]] < position[later["id"]]  # in time order
    # Text finds events; filters about executions leave them out.
    assert [e["metadata"]["name"] for e in logs(server, includeEvents=True, text=marker)] == [
        marker]
    assert all(e["type"] == "log"
               for e in logs(server, includeEvents=True, status="success"))
    assert all(e["type"] == "log" for e in logs(server))


@pytest.mark.parametrize(("args", "message"), [
    ({"limit": 0}, "limit must be a whole number from 1 to 1000"),
    ({"limit": 2.5}, "limit must be a whole number"),
    ({"levels": ["loud"]}, "levels"),
    ({"status": "maybe"}, "status"),
])
def test_logs_bad_arguments_are_clear_errors(server, args, message):
    result = system(server, "query", "_system/frontend/logs", args)
    assert result["status"] == "error" and message in result["errorMessage"], result


def schedule(server: Server, count: int, target: str = "work") -> list[str]:
    result = server.run("mutation", "logsched:schedule",
                        {"count": count, "delay": HOUR_MS, "target": target})
    assert result["status"] == "success", result
    return result["value"]


def api_jobs(server: Server) -> dict[str, str]:
    response = httpx.get(f"{server.url}{API}", params={"state": "all", "limit": "1000"},
                         headers={"Authorization": f"Convex {server.admin_key}"}, timeout=30)
    assert response.status_code == 200, response.text
    return {job["id"]: job["state"]["kind"] for job in response.json()["jobs"]}


def history(server: Server) -> list[dict]:
    return value(server, "query", "_system/history:list", {})["page"]


def test_scheduled_functions_filters_pages_and_cancel(server):
    work = schedule(server, 3)
    ticks = schedule(server, 2, "tick")
    listed = value(server, "query", "_system/frontend/scheduledFunctions",
                   {"function": "logsched:work", "state": "pending"})
    assert [job["_id"] for job in listed][:3] == work[::-1]  # newest first
    assert listed[0]["args"] == [{"n": 2.0}] and listed[0]["state"] == {"kind": "pending"}
    assert {job["name"] for job in listed} == {"logsched:work"}

    path = "_system/frontend/paginatedScheduledFunctions"
    first = value(server, "query", path, {"function": "logsched:tick",
                                          "paginationOpts": {"numItems": 1, "cursor": None}})
    assert [job["_id"] for job in first["page"]] == [ticks[1]] and not first["isDone"]
    rest = value(server, "query", path, {
        "function": "logsched:tick",
        "paginationOpts": {"numItems": 10, "cursor": first["continueCursor"]}})
    assert ticks[0] in [job["_id"] for job in rest["page"]]

    assert value(server, "mutation", "_system/frontend/cancelJob", {"id": work[0]}) == {
        "canceled": True}
    assert api_jobs(server)[work[0]] == "canceled"  # what `syncline scheduled list` sees
    assert history(server)[0]["action"] == "cancel_scheduled_functions"
    assert history(server)[0]["metadata"] == {"ids": [work[0]]}
    assert history(server)[0]["who"] == "dashboard"
    again = value(server, "mutation", "_system/frontend/cancelJob", {"id": work[0]})
    assert again == {"canceled": False}  # finished already: nothing to do
    canceled = value(server, "query", "_system/frontend/scheduledFunctions",
                     {"state": "canceled"})
    assert work[0] in [job["_id"] for job in canceled]

    result = value(server, "action", "_system/frontend/cancelAllJobs",
                   {"function": "logsched:work"})
    assert result == {"canceled": 2}
    states = api_jobs(server)
    assert {states[i] for i in work} == {"canceled"}
    assert {states[i] for i in ticks} == {"pending"}  # another function: left alone
    assert history(server)[0]["metadata"] == {"count": 2.0, "function": "logsched:work"}
    assert value(server, "action", "_system/frontend/cancelAllJobs", {})["canceled"] >= 2
    assert {api_jobs(server)[i] for i in ticks} == {"canceled"}


@pytest.mark.parametrize(("kind", "path", "args", "message"), [
    ("mutation", "_system/frontend/cancelJob", {"id": "nope"},
     "'nope' is not the ID of a scheduled function"),
    ("query", "_system/frontend/scheduledFunctions", {"function": "a:b:c"},
     "Invalid function path"),
    ("query", "_system/frontend/scheduledFunctions", {"state": "done"}, "state"),
    ("action", "_system/frontend/cancelAllJobs", {"function": ""}, None),
])
def test_schedules_bad_arguments(server, kind, path, args, message):
    result = system(server, kind, path, args)
    if message is None:  # an empty function filter is no filter
        assert result["status"] == "success", result
        return
    assert result["status"] == "error" and message in result["errorMessage"], result


def test_cancel_job_refuses_an_id_of_another_table(server):
    event = history(server)[-1]["id"]  # a `_deployment_events` document
    result = system(server, "mutation", "_system/frontend/cancelJob", {"id": event})
    assert result["status"] == "error", result
    assert "is not the ID of a scheduled function" in result["errorMessage"]


def test_cron_jobs_show_the_schedule_as_written(server):
    crons = {c["name"]: c for c in value(server, "query", "_system/frontend/cronJobs")}
    assert {name: c["written"] for name, c in crons.items()} == {
        "every five minutes": "interval(minutes=5)",
        "first of the month": 'cron("0 16 1 * *")',
        "digest": "daily(hour_utc=17, minute_utc=30)",
        "report": 'weekly(day_of_week="tuesday", hour_utc=9, minute_utc=0)',
    }
    five = crons["every five minutes"]
    assert five["schedule"] == {"type": "interval", "seconds": 300}
    assert five["function"] == "logsched:tick"
    assert five["nextRun"] > 0 and isinstance(five["lastRuns"], list)
    # An interval job runs when deployed: its first run is among its last runs.
    deadline = time.monotonic() + 20
    while not five["lastRuns"]:
        assert time.monotonic() < deadline, five
        time.sleep(0.1)
        five = next(c for c in value(server, "query", "_system/frontend/cronJobs")
                    if c["name"] == "every five minutes")
    assert five["lastRuns"][0]["cron"] == "every five minutes"


async def test_logs_query_is_live_over_the_sync_protocol(server):
    """A subscribed `_system/frontend/logs` gets a new execution without polling: the
    query watches the `logs` feed."""
    from .test_sync_protocol import add, connect_message, receive, ws_url

    marker = f"live{time.monotonic_ns()}"
    async with websockets.connect(ws_url(server)) as ws:
        await ws.send(connect_message("logs-live"))
        await ws.send(json.dumps({"type": "Authenticate", "tokenType": "Admin",
                                  "value": server.admin_key, "baseVersion": 0}))
        await receive(ws, "Transition")
        await ws.send(add(0, "_system/frontend/logs", {"text": marker}))
        first = await receive(ws, "Transition")
        assert first["modifications"][0]["value"] == {"entries": [], "more": False}
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{server.url}/api/query", json={
                "path": "logsched:say", "args": {"text": marker}, "format": "json"})
            assert response.status_code == 200, response.text
        update = await receive(ws, "Transition", timeout=20)
        entries = update["modifications"][0]["value"]["entries"]
        assert [(e["function"], e["lines"][0]["message"]) for e in entries] == [
            ("logsched:say", f"said {marker}")]
