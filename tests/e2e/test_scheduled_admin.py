"""The scheduled-functions admin API and `syncline scheduled`, against a real server process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from syncline.server import admin_api
from syncline.system import dashboard_schedules as schedules
from syncline.values import encode_id, new_internal_id

from .conftest import Server, copy_app, start_server

API = "/api/syncline/scheduled_functions"
HOUR_MS = 3_600_000


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    server = start_server(copy_app("sched", tmp_path))
    yield server
    server.stop()


def schedule(server: Server, count: int, *, target: str = "work",
             delay: int = HOUR_MS) -> list[str]:
    result = server.run("mutation", "jobs:schedule",
                        {"count": count, "delay": delay, "target": target})
    assert result["status"] == "success", result
    return result["value"]


def admin_headers(server: Server) -> dict[str, str]:
    return {"Authorization": f"Convex {server.admin_key}"}


def list_jobs(server: Server, **params) -> list[dict]:
    response = httpx.get(f"{server.url}{API}", params=params, headers=admin_headers(server),
                         timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["jobs"]


def post(server: Server, endpoint: str, body: dict, *, admin: bool = True) -> httpx.Response:
    return server.call(f"{API}/{endpoint}", body, admin=admin)


def wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_list_shows_unfinished_jobs_in_scheduled_time_order(server):
    before = time.time() * 1000
    ids = schedule(server, 3)  # scheduled in the reverse of their creation order
    jobs = list_jobs(server)
    assert [job["id"] for job in jobs] == ids[::-1]
    first = jobs[-1]
    assert first["name"] == "jobs:work"
    assert first["args"] == [{"n": 0}]
    assert first["state"] == {"kind": "pending"}
    assert first["completedTime"] is None
    assert before + HOUR_MS < first["scheduledTime"] < time.time() * 1000 + HOUR_MS + 10
    assert [j["scheduledTime"] for j in jobs] == sorted(j["scheduledTime"] for j in jobs)

    assert [job["id"] for job in list_jobs(server, limit=2)] == ids[:0:-1]
    assert len(list_jobs(server, state="pending")) == 3
    assert list_jobs(server, state="canceled") == []
    assert len(list_jobs(server, state="all")) == 3

    for params, code in [({"limit": "0"}, "InvalidLimit"), ({"limit": "1001"}, "InvalidLimit"),
                         ({"limit": "x"}, "InvalidLimit"), ({"state": "done"}, "InvalidState")]:
        response = httpx.get(f"{server.url}{API}", params=params,
                             headers=admin_headers(server), timeout=30)
        assert response.status_code == 400, params
        assert response.json()["code"] == code
        assert response.json()["message"]


def test_cancel_one_job(server):
    ids = schedule(server, 2)
    assert post(server, "cancel", {"id": ids[0]}).json() == {"canceled": True}
    assert [job["id"] for job in list_jobs(server)] == [ids[1]]
    by_id = {job["id"]: job for job in list_jobs(server, state="all")}
    assert by_id[ids[0]]["state"] == {"kind": "canceled"}
    assert isinstance(by_id[ids[0]]["completedTime"], float)
    assert by_id[ids[1]]["state"] == {"kind": "pending"}
    assert [job["id"] for job in list_jobs(server, state="canceled")] == [ids[0]]
    # Canceling again changes nothing.
    assert post(server, "cancel", {"id": ids[0]}).json() == {"canceled": False}

    for body in [{}, {"id": 5}, {"id": "nope"}, {"id": encode_id(10001, new_internal_id())}]:
        response = post(server, "cancel", body)
        assert response.status_code == 400, body
        assert response.json()["code"] == "InvalidId"
    missing = post(server, "cancel", {"id": encode_id(1, new_internal_id())})
    assert missing.status_code == 404 and missing.json()["code"] == "NotFound"
    bad_json = httpx.post(f"{server.url}{API}/cancel", content=b"{nope",
                          headers=admin_headers(server), timeout=30)
    assert bad_json.status_code == 400 and bad_json.json()["code"] == "BadJsonBody"


def test_finished_jobs_are_left_alone(server):
    [job_id] = schedule(server, 1, delay=0)
    wait_for(lambda: server.run("query", "jobs:done")["value"] == 1)
    [job] = list_jobs(server, state="all")
    assert job["state"] == {"kind": "success"}
    assert list_jobs(server) == []
    assert post(server, "cancel", {"id": job_id}).json() == {"canceled": False}
    assert post(server, "cancel_all", {}).json() == {"canceled": 0}
    assert list_jobs(server, state="all")[0]["state"] == {"kind": "success"}


def test_cancel_all_filtered_and_unfiltered(server):
    work = schedule(server, 3)
    other = schedule(server, 2, target="other")
    assert post(server, "cancel_all", {"name": "jobs:other"}).json() == {"canceled": 2}
    assert sorted(j["id"] for j in list_jobs(server)) == sorted(work)
    # Paths are canonicalized: `.py` is dropped, and nothing is left to cancel.
    assert post(server, "cancel_all", {"name": "jobs.py:other"}).json() == {"canceled": 0}
    assert post(server, "cancel_all", {"name": "jobs:nothing"}).json() == {"canceled": 0}
    assert sorted(j["id"] for j in list_jobs(server, state="canceled")) == sorted(other)
    # No body at all: everything unfinished.
    response = httpx.post(f"{server.url}{API}/cancel_all", headers=admin_headers(server),
                          timeout=30)
    assert response.json() == {"canceled": 3}
    assert list_jobs(server) == []
    assert len(list_jobs(server, state="canceled")) == 5
    assert post(server, "cancel_all", {}).json() == {"canceled": 0}
    for name in [5, "", "a:b:c"]:
        response = post(server, "cancel_all", {"name": name})
        assert response.status_code == 400, name
        assert response.json()["code"] == "InvalidFunctionPath"


def test_many_jobs_are_read_and_canceled_page_by_page(server):
    total = admin_api.LIST_PAGE + 200  # more than one page of each kind
    assert total > 2 * schedules.CANCEL_PAGE
    work = schedule(server, 600)
    # Created last (in the last page of the table) but due first.
    other = schedule(server, total - 600, target="other", delay=HOUR_MS - 60_000)
    jobs = list_jobs(server, limit=1000)
    assert len(jobs) == 1000
    assert [j["id"] for j in jobs[:len(other)]] == other[::-1]
    assert [j["id"] for j in jobs[len(other):]] == work[::-1][:1000 - len(other)]
    assert post(server, "cancel_all", {"name": "jobs:other"}).json() == {"canceled": len(other)}
    assert post(server, "cancel_all", {}).json() == {"canceled": 600}
    assert list_jobs(server) == []
    assert len(list_jobs(server, state="canceled", limit=1000)) == 1000


def test_admin_key_is_required(server):
    schedule(server, 1)
    wrong = {"Authorization": "Convex not-the-key"}
    for headers in [{}, wrong]:
        listed = httpx.get(f"{server.url}{API}", headers=headers, timeout=30)
        canceled = httpx.post(f"{server.url}{API}/cancel", json={"id": "x"}, headers=headers,
                              timeout=30)
        all_canceled = httpx.post(f"{server.url}{API}/cancel_all", json={}, headers=headers,
                                  timeout=30)
        for response in (listed, canceled, all_canceled):
            assert response.status_code == 401
            assert response.json()["code"] == "Unauthorized"
            assert response.json()["message"]
    assert len(list_jobs(server)) == 1


def cli(*args: str, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("SYNCLINE_URL", "CONVEX_URL", "SYNCLINE_ADMIN_KEY", "CONVEX_ADMIN_KEY")}
    return subprocess.run([sys.executable, "-m", "syncline.cli.main", "scheduled", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={**clean, "COLUMNS": "100", **(env or {})})


def test_cli_commands(server, tmp_path):
    app = str(server.app_dir)
    empty = cli("list", "--dir", app)
    assert empty.returncode == 0, empty.stderr
    assert "No pending scheduled functions." in empty.stdout

    ids = schedule(server, 3)
    other = schedule(server, 2, target="other", delay=HOUR_MS - 60_000)
    listed = cli("list", "--dir", app)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert "ID" in lines[0] and "Function" in lines[0] and "State" in lines[0]
    rows = [line.split() for line in lines[1:]]
    # Soonest first.
    assert [row[0] for row in rows] == other[::-1] + ids[::-1]
    assert rows[0][1:] == ["jobs:other", rows[0][2], "pending"]
    assert rows[0][2].endswith("Z") and "T" in rows[0][2]

    limited = cli("list", "--limit", "2", "--dir", app)
    assert len(limited.stdout.splitlines()) == 3
    assert "--limit" in limited.stderr

    canceled = cli("cancel", ids[0], "--dir", app)
    assert canceled.returncode == 0, canceled.stderr
    assert f"Canceled {ids[0]}" in canceled.stdout
    again = cli("cancel", ids[0], "--dir", app)
    assert again.returncode == 0 and "already finished" in again.stdout
    assert ids[0] not in cli("list", "--dir", app).stdout
    everything = cli("list", "--all", "--dir", app).stdout
    assert any(ids[0] in line and "canceled" in line for line in everything.splitlines())

    malformed = cli("cancel", "nope", "--dir", app)
    assert malformed.returncode == 1
    assert "is not the ID of a scheduled function" in malformed.stderr

    filtered = cli("cancel-all", "--function", "jobs:other", "--dir", app)
    assert filtered.returncode == 0, filtered.stderr
    assert "Canceled 2 scheduled functions of jobs:other" in filtered.stdout
    # Explicit options and the environment work as for `syncline run`.
    rest = cli("cancel-all", "--url", server.url, "--admin-key", server.admin_key,
               cwd=tmp_path)
    assert "Canceled 2 scheduled functions" in rest.stdout, rest.stderr
    by_env = cli("list", env={"SYNCLINE_URL": server.url,
                              "SYNCLINE_ADMIN_KEY": server.admin_key}, cwd=tmp_path)
    assert by_env.returncode == 0 and "No pending scheduled functions." in by_env.stdout


def test_cli_errors(server, tmp_path):
    nowhere = cli("list", "--dir", str(tmp_path))
    assert nowhere.returncode == 1
    assert "No running deployment found" in nowhere.stderr

    unreachable = cli("list", "--url", "http://127.0.0.1:9", "--admin-key", "k",
                      "--dir", str(tmp_path))
    assert unreachable.returncode == 1
    assert "Could not reach the deployment at http://127.0.0.1:9" in unreachable.stderr

    wrong_key = cli("cancel-all", "--url", server.url, "--admin-key", "wrong",
                    "--dir", str(tmp_path))
    assert wrong_key.returncode == 1
    assert "admin key" in wrong_key.stderr

    no_key = cli("list", "--url", server.url, "--dir", str(tmp_path))
    assert no_key.returncode == 1
    assert "--admin-key" in no_key.stderr
