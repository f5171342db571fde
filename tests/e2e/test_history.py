"""Deployment history against real servers: it survives a restart, and `syncline history`
lists a push, an env change and an import in order (issue 19, done-when)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx

from .conftest import Server, copy_app, start_server

SECRET = "do-not-record-me-42"


def admin(server: Server, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Convex {server.admin_key}", **extra}


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYNCLINE_URL": server.url, "SYNCLINE_ADMIN_KEY": server.admin_key}
    return subprocess.run([sys.executable, "-m", "syncline.cli.main", *args],
                          capture_output=True, text=True, env=env, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_history_survives_a_restart_and_lists_push_env_import_in_order(tmp_path):
    app = copy_app("basic", tmp_path)
    server = start_server(app)
    try:
        # The official CLI's header, and a client saying nothing about itself.
        response = httpx.post(f"{server.url}/api/syncline/env", timeout=30,
                              json={"name": "TOKEN", "value": SECRET},
                              headers=admin(server, **{"Convex-Client": "npm-cli-1.48.0"}))
        assert response.status_code == 200, response.text
        response = httpx.post(f"{server.url}/api/import?table=things&format=jsonl",
                              content=b'{"n": 1}\n{"n": 2}\n', timeout=30,
                              headers=admin(server, **{"User-Agent": "curl/8.5"}))
        assert response.status_code == 200, response.text
    finally:
        server.stop()

    server = start_server(app, "serve")  # a restart pushes the same code again
    try:
        result = cli(server, "history", "--json")
        assert result.returncode == 0, result.stderr
        events = [json.loads(line) for line in result.stdout.splitlines()]
        assert [(e["action"], e["who"]) for e in events] == [
            ("snapshot_import", "admin"),
            ("create_environment_variable", "cli"),
            ("push_config", "cli"),
        ]
        assert [e["seq"] for e in events] == [3, 2, 1]
        assert events[0]["metadata"] == {
            "mode": "create", "tables": [{"table": "things", "documents": 2.0}]}
        assert events[1]["metadata"] == {"name": "TOKEN"}
        assert "messages:list" in events[2]["metadata"]["functions"]["added"]
        assert SECRET not in result.stdout

        readable = cli(server, "history", "--limit", "2")
        assert readable.returncode == 0, readable.stderr
        lines = readable.stdout.splitlines()
        assert len(lines) == 2
        assert "snapshot_import" in lines[0] and "things (2 documents)" in lines[0]
        assert "create_environment_variable" in lines[1] and "TOKEN" in lines[1]

        # The system query itself: admin only, live-pageable like any paginated query.
        refused = server.call("/api/query", {"path": "_system/history:list", "args": {}})
        assert refused.json()["status"] == "error", refused.text
        assert "push_config" not in refused.text
        page = server.run("query", "_system/history:list",
                          {"paginationOpts": {"numItems": 2, "cursor": None}}, admin=True)
        assert page["status"] == "success", page
        assert [e["action"] for e in page["value"]["page"]] == [
            "snapshot_import", "create_environment_variable"]
        assert page["value"]["isDone"] is False
        rest = server.run("query", "_system/history:list", {"paginationOpts": {
            "numItems": 2, "cursor": page["value"]["continueCursor"]}}, admin=True)
        assert [e["action"] for e in rest["value"]["page"]] == ["push_config"]
        bad = server.run("query", "_system/history:list",
                         {"paginationOpts": {"numItems": 0, "cursor": None}}, admin=True)
        assert bad["status"] == "error" and "from 1 to 1000" in bad["errorMessage"]
    finally:
        server.stop()


def test_dev_push_on_save_is_recorded(tmp_path):
    app = copy_app("basic", tmp_path)
    server = start_server(app)
    try:
        (app / "convex" / "extra.py").write_text(
            "from syncline import query\n\n@query\nasync def ping(ctx):\n    return 'pong'\n")
        newest: dict = {}
        for _ in range(300):  # the watcher pushes soon after the save
            result = cli(server, "history", "--json", "--limit", "1")
            assert result.returncode == 0, result.stderr
            newest = json.loads(result.stdout.splitlines()[0])
            if newest["seq"] == 2:
                break
            time.sleep(0.1)
        assert newest["seq"] == 2, server.output()
        assert newest["metadata"]["functions"] == {
            "added": ["extra:ping"], "removed": [], "changed": []}
    finally:
        server.stop()
