"""Deployment environment variables: the admin API and `syncline env`, against a real server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from .conftest import Server, copy_app, start_server

API = "/api/syncline/env"


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    server = start_server(copy_app("envapp", tmp_path))
    yield server
    server.stop()


def admin(server: Server) -> dict[str, str]:
    return {"Authorization": f"Convex {server.admin_key}"}


def set_var(server: Server, name, value, **kw) -> httpx.Response:
    return httpx.post(f"{server.url}{API}", json={"name": name, "value": value},
                      headers=kw.get("headers", admin(server)), timeout=30)


def read(server: Server, name: str, kind: str = "query", path: str = "settings:get"):
    result = server.run(kind, path, {"name": name})
    assert result["status"] == "success", result
    return result["value"]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("SYNCLINE_URL", "CONVEX_URL", "SYNCLINE_ADMIN_KEY", "CONVEX_ADMIN_KEY")}
    return subprocess.run([sys.executable, "-m", "syncline.cli.main", "env", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={**clean, "COLUMNS": "100"})


def test_admin_api_set_get_list_remove(server):
    assert read(server, "GREETING") is None
    response = set_var(server, "GREETING", "hello")
    assert response.status_code == 200, response.text
    assert response.json() == {"name": "GREETING", "created": True}
    # The next call sees it, in every kind of function, without a restart or push.
    assert read(server, "GREETING") == "hello"
    assert read(server, "GREETING", "mutation", "settings:read_in_mutation") == "hello"
    assert read(server, "GREETING", "action", "settings:read_in_action") == "hello"

    assert set_var(server, "GREETING", "bonjour").json() == {"name": "GREETING",
                                                             "created": False}
    assert read(server, "GREETING") == "bonjour"
    set_var(server, "OTHER", "x")

    listed = httpx.get(f"{server.url}{API}", headers=admin(server))
    assert listed.status_code == 200
    assert listed.json() == {"variables": {"GREETING": "bonjour", "OTHER": "x"}}
    one = httpx.get(f"{server.url}{API}/GREETING", headers=admin(server))
    assert one.json() == {"name": "GREETING", "value": "bonjour"}
    missing = httpx.get(f"{server.url}{API}/NOPE", headers=admin(server))
    assert missing.status_code == 404
    assert missing.json()["code"] == "NotFound"

    removed = httpx.delete(f"{server.url}{API}/GREETING", headers=admin(server))
    assert removed.status_code == 200
    assert read(server, "GREETING") is None
    again = httpx.delete(f"{server.url}{API}/GREETING", headers=admin(server))
    assert again.status_code == 404
    assert httpx.get(f"{server.url}{API}", headers=admin(server)).json() == {
        "variables": {"OTHER": "x"}}


def test_validation_errors(server):
    cases = [
        ("1BAD", "x", "InvalidEnvVarName"),
        ("HAS-DASH", "x", "InvalidEnvVarName"),
        ("A" * 41, "x", "InvalidEnvVarName"),
        (None, "x", "InvalidEnvVarName"),
        ("BIG", "x" * (8 * 1024 + 1), "InvalidEnvVarValue"),
        ("NUMBER", 3, "InvalidEnvVarValue"),
        ("CONVEX_SITE_URL", "x", "ReservedEnvVarName"),
    ]
    for name, value, code in cases:
        response = set_var(server, name, value)
        assert response.status_code == 400, (name, response.text)
        assert response.json()["code"] == code
        assert response.json()["message"]
    assert set_var(server, "A" * 40, "x" * (8 * 1024)).status_code == 200
    bad_json = httpx.post(f"{server.url}{API}", content=b"[1]", headers=admin(server))
    assert bad_json.status_code == 400

    for i in range(99):
        assert set_var(server, f"VAR_{i}", str(i)).status_code == 200
    too_many = set_var(server, "VAR_100", "x")
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "TooManyEnvVars"
    assert "at most 100" in too_many.json()["message"]
    assert set_var(server, "VAR_0", "updated").status_code == 200  # updating still works
    assert len(httpx.get(f"{server.url}{API}", headers=admin(server)).json()["variables"]) == 100


def test_admin_key_required(server):
    for headers in ({}, {"Authorization": "Convex not-the-key"}):
        assert set_var(server, "X", "y", headers=headers).status_code == 401
        assert httpx.get(f"{server.url}{API}", headers=headers).status_code == 401
        assert httpx.get(f"{server.url}{API}/X", headers=headers).status_code == 401
        assert httpx.delete(f"{server.url}{API}/X", headers=headers).status_code == 401
    assert read(server, "X") is None


def test_system_urls_are_set(server):
    assert read(server, "CONVEX_CLOUD_URL") == server.url
    assert read(server, "CONVEX_SITE_URL") == server.site_url
    assert read(server, "CONVEX_SITE_URL", "action", "settings:read_in_action") == \
        server.site_url
    one = httpx.get(f"{server.url}{API}/CONVEX_CLOUD_URL", headers=admin(server))
    assert one.json() == {"name": "CONVEX_CLOUD_URL", "value": server.url}
    assert httpx.get(f"{server.url}{API}", headers=admin(server)).json() == {"variables": {}}
    assert httpx.delete(f"{server.url}{API}/CONVEX_CLOUD_URL",
                        headers=admin(server)).status_code == 400


def test_cli(server):
    app = str(server.app_dir)
    empty = cli("list", "--dir", app)
    assert empty.returncode == 0, empty.stderr
    assert "No environment variables." in empty.stderr

    done = cli("set", "API_KEY", "secret value", "--dir", app)
    assert done.returncode == 0, done.stderr
    assert "Added environment variable API_KEY" in done.stdout
    assert read(server, "API_KEY") == "secret value"
    assert "Updated" in cli("set", "API_KEY", "v2", "--dir", app).stdout
    assert read(server, "API_KEY") == "v2"

    got = cli("get", "API_KEY", "--dir", app)
    assert got.returncode == 0 and got.stdout == "v2\n"
    # --url and --admin-key instead of the recorded deployment
    elsewhere = cli("set", "SECOND", "2", "--url", server.url, "--admin-key", server.admin_key,
                    cwd=server.app_dir.parent)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert cli("list", "--dir", app).stdout == "API_KEY=v2\nSECOND=2\n"

    bad = cli("set", "9LIVES", "x", "--dir", app)
    assert bad.returncode == 1
    assert "Invalid environment variable name" in bad.stderr
    wrong_key = cli("list", "--url", server.url, "--admin-key", "wrong", cwd=server.app_dir)
    assert wrong_key.returncode == 1 and "admin key" in wrong_key.stderr

    assert cli("remove", "API_KEY", "--dir", app).returncode == 0
    assert read(server, "API_KEY") is None
    missing = cli("get", "API_KEY", "--dir", app)
    assert missing.returncode == 1
    assert "no environment variable API_KEY" in missing.stderr
    assert cli("remove", "API_KEY", "--dir", app).returncode == 1


def test_variables_survive_a_restart_and_module_level_code_sees_them(tmp_path):
    app = copy_app("envapp", tmp_path)
    server = start_server(app)
    try:
        assert server.run("query", "settings:at_import")["value"] is None
        assert set_var(server, "AT_IMPORT", "stored").status_code == 200
        assert set_var(server, "KEPT", "yes").status_code == 200
        # Module-level code ran at push time, before the variable existed.
        assert server.run("query", "settings:at_import")["value"] is None
    finally:
        assert server.stop() == 0
    again = start_server(app, "serve")
    try:
        assert read(again, "KEPT") == "yes"
        assert again.run("query", "settings:at_import")["value"] == "stored"
        assert read(again, "CONVEX_CLOUD_URL") == again.url
    finally:
        again.stop()


async def test_a_change_refreshes_subscribed_queries(server):
    import asyncio

    from .test_sync_protocol import add, connect_message, receive, ws_url

    async with websockets.connect(ws_url(server)) as ws:
        await ws.send(connect_message("env-1"))
        await ws.send(add(0, "settings:get", {"name": "LIVE"}))
        assert (await receive(ws, "Transition"))["modifications"][0]["value"] is None
        await asyncio.to_thread(set_var, server, "LIVE", "now")
        update = await receive(ws, "Transition", timeout=20)
        assert update["modifications"][0]["value"] == "now"
        await asyncio.to_thread(
            httpx.delete, f"{server.url}{API}/LIVE", headers=admin(server))
        update = await receive(ws, "Transition", timeout=20)
        assert update["modifications"][0]["value"] is None
