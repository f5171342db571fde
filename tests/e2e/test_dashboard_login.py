"""Dashboard login against real servers: one-time links, admin keys, sessions, rotation
(server/dashboard/login.py, auth/dashboard_sessions.py), and the CLI's side of it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import websockets

from syncline.auth.dashboard_sessions import issue_session
from syncline.auth.signed_urls import read_instance_secret
from tests.e2e.conftest import Server, copy_app, start_server
from tests.e2e.test_sync_protocol import add, connect_message, receive, ws_url

SESSION = "/dashboard/api/session"


def login(server: Server, body: dict) -> httpx.Response:
    return httpx.post(f"{server.url}{SESSION}", json=body, timeout=30)


def login_link(server: Server, credential: str | None = None) -> str:
    response = httpx.post(f"{server.url}/dashboard/api/login-link", timeout=30,
                          headers={"Authorization": f"Convex {credential or server.admin_key}"})
    assert response.status_code == 200, response.text
    return response.json()["url"]


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def as_admin(server: Server, credential: str) -> httpx.Response:
    """An admin-only HTTP endpoint, called with `credential`."""
    return httpx.get(f"{server.url}/api/v1/get_canonical_urls", timeout=30,
                     headers={"Authorization": f"Convex {credential}"})


def session_check(server: Server, credential: str) -> httpx.Response:
    return httpx.get(f"{server.url}{SESSION}", timeout=30,
                     headers={"Authorization": f"Convex {credential}"})


async def sync_tables(server: Server, credential: str) -> dict:
    """Authenticate over the sync protocol as an admin with `credential` and subscribe to
    an admin-only system query: its first query result (or the AuthError)."""
    async with websockets.connect(ws_url(server)) as ws:
        await ws.send(connect_message(f"dash-{time.monotonic_ns()}"))
        await ws.send(json.dumps({"type": "Authenticate", "tokenType": "Admin",
                                  "value": credential, "baseVersion": 0}))
        await ws.send(add(0, "_system/frontend/tables", {}))
        async with asyncio.timeout(20):
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "AuthError":
                    return message
                if message["type"] == "Transition" and message["modifications"]:
                    return message["modifications"][0]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "syncline.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "80"})


def wait_for_line(server: Server, pattern: str) -> re.Match[str]:
    deadline = time.monotonic() + 20
    while (match := re.search(pattern, server.output())) is None:
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    return match


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(copy_app("basic", tmp_path_factory.mktemp("dash-login")))
    yield server
    server.stop()


def test_a_login_link_logs_in_once(server):
    link = login_link(server)
    assert link.startswith(f"{server.url}/dashboard/?token=")
    first = login(server, {"token": token_of(link)})
    assert first.status_code == 200, first.text
    session, expires = first.json()["session"], first.json()["expiresAt"]
    assert 29 * 86_400_000 < expires - time.time() * 1000 <= 30 * 86_400_000
    again = login(server, {"token": token_of(link)})
    assert again.status_code == 401
    assert again.json()["code"] == "InvalidLoginToken"
    assert "already used" in again.json()["message"]
    assert as_admin(server, session).status_code == 200


def test_the_admin_key_logs_in_and_a_wrong_one_is_refused(server):
    wrong = login(server, {"adminKey": server.admin_key[:-1] + "x"})
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "InvalidAdminKey"
    assert "syncline admin-key" in wrong.json()["message"]
    assert login(server, {"adminKey": ""}).json()["message"] == "Enter the deployment's admin key."
    right = login(server, {"adminKey": f" {server.admin_key}\n"})  # pasted with a newline
    assert right.status_code == 200, right.text
    # A session is an admin credential, but not exchanged for a newer session.
    assert login(server, {"adminKey": right.json()["session"]}).status_code == 401
    for body in ({}, {"token": 1}, {"token": "a", "adminKey": "b"}):
        refused = login(server, body)
        assert refused.status_code == 400 and refused.json()["code"] == "BadLoginRequest"
    assert httpx.post(f"{server.url}{SESSION}", content=b"[", timeout=30).status_code == 400
    # Neither a login link nor a rotation without the admin key.
    for path in ("/dashboard/api/login-link", "/dashboard/api/rotate-admin-key"):
        response = httpx.post(f"{server.url}{path}", timeout=30,
                              headers={"Authorization": "Convex nope"})
        assert response.status_code == 401 and response.json()["code"] == "Unauthorized"


async def test_a_session_is_an_admin_over_http_and_sync(server):
    session = login(server, {"adminKey": server.admin_key}).json()["session"]
    assert as_admin(server, session).status_code == 200
    assert session_check(server, session).json()["kind"] == "session"
    assert session_check(server, server.admin_key).json() == {"kind": "adminKey",
                                                              "expiresAt": None}
    # Acting as a user, as the dashboard's function runner does.
    identity = "eyJzdWJqZWN0IjogImFkYSJ9"  # base64 of {"subject": "ada"}
    response = httpx.post(f"{server.url}/api/function", timeout=30, json={
        "path": "messages:internal_send", "args": {"body": "hi"}, "format": "json"},
        headers={"Authorization": f"Convex {session}:{identity}"})
    assert response.json()["status"] == "success", response.text
    result = await sync_tables(server, session)
    assert result["type"] == "QueryUpdated", result
    assert "messages" in json.dumps(result["value"])
    refused = await sync_tables(server, "session.1.2.3")
    assert refused["type"] == "AuthError"


async def test_an_expired_or_forged_session_is_refused(server):
    secret = read_instance_secret(server.app_dir / ".syncline")
    expired = issue_session(secret, ttl_s=-1).token
    forged = issue_session(b"x" * 32).token
    for credential in (expired, forged):
        assert as_admin(server, credential).status_code == 401
        check = session_check(server, credential)
        assert check.status_code == 401 and check.json()["code"] == "SessionEnded"
        assert (await sync_tables(server, credential))["type"] == "AuthError"
    # A sync connection authenticated with a session is closed when the session expires.
    soon = issue_session(secret, ttl_s=5).token
    async with websockets.connect(ws_url(server)) as ws:
        await ws.send(connect_message("expiring"))
        await ws.send(json.dumps({"type": "Authenticate", "tokenType": "Admin",
                                  "value": soon, "baseVersion": 0}))
        await receive(ws, "Transition")
        error = await receive(ws, "AuthError", timeout=20)
        assert "expired" in error["error"]


def test_syncline_dashboard_prints_a_working_link(server):
    result = cli("dashboard", str(server.app_dir), "--no-open")
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip()
    assert link.startswith(f"{server.url}/dashboard/?token="), result.stdout
    assert login(server, {"token": token_of(link)}).status_code == 200
    refused = cli("dashboard", str(server.app_dir), "--no-open", "--admin-key", "wrong")
    assert refused.returncode == 1 and "admin key" in refused.stderr


def test_syncline_dev_prints_a_link_that_logs_in(server):
    link = wait_for_line(server, r"Dashboard:\s+(\S+)")[1]
    assert link.startswith(f"{server.url}/dashboard/?token=")
    assert login(server, {"token": token_of(link)}).status_code == 200


def test_syncline_serve_prints_the_plain_link(tmp_path):
    server = start_server(copy_app("basic", tmp_path), "serve")
    try:
        assert wait_for_line(server, r"Dashboard:\s+(\S+)")[1] == f"{server.url}/dashboard/"
    finally:
        server.stop()


async def test_sessions_survive_a_restart_and_rotation_revokes_key_and_sessions(tmp_path):
    app = copy_app("basic", tmp_path)
    server = start_server(app)
    try:
        session = login(server, {"adminKey": server.admin_key}).json()["session"]
        server.stop()
        server = start_server(app)
        assert as_admin(server, session).status_code == 200  # stateless: still valid
        old_key, pending = server.admin_key, token_of(login_link(server))

        async with websockets.connect(ws_url(server)) as ws:  # an open admin connection
            await ws.send(connect_message("before-rotation"))
            await ws.send(json.dumps({"type": "Authenticate", "tokenType": "Admin",
                                      "value": session, "baseVersion": 0}))
            await receive(ws, "Transition")
            rotated = httpx.post(f"{server.url}/dashboard/api/rotate-admin-key", timeout=30,
                                 headers={"Authorization": f"Convex {session}",
                                          "Convex-Client": "dashboard-0.1"})
            assert rotated.status_code == 200, rotated.text
            error = await receive(ws, "AuthError")
            assert "rotated" in error["error"]
        new_key, new_session = rotated.json()["adminKey"], rotated.json()["session"]

        assert new_key != old_key
        for revoked in (old_key, session):
            assert as_admin(server, revoked).status_code == 401
            assert (await sync_tables(server, revoked))["type"] == "AuthError"
        assert login(server, {"token": pending}).status_code == 401
        assert login(server, {"adminKey": old_key}).status_code == 401
        assert as_admin(server, new_key).status_code == 200
        assert as_admin(server, new_session).status_code == 200
        # The CLI keeps working: the record, `syncline admin-key` and `syncline run`.
        record = app / ".syncline" / "deployment.json"
        assert json.loads(record.read_text())["admin_key"] == new_key
        assert stat.S_IMODE(record.stat().st_mode) == 0o600
        assert cli("admin-key", str(app)).stdout.strip() == new_key
        run = cli("run", "messages:internal_send", '{"body": "after"}', "--dir", str(app))
        assert run.returncode == 0, run.stderr
        secret = app / ".syncline" / "instance_secret"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        # The history says so, without the key.
        history = server.run("query", "_system/history:list", {}, admin=False,
                             headers={"Authorization": f"Convex {new_key}"})["value"]
        event = history["page"][0]
        assert event["action"] == "rotate_admin_key" and event["who"] == "dashboard"
        assert new_key not in json.dumps(history) and old_key not in json.dumps(history)
        # After a restart too: the new key, the new session; the old ones stay revoked.
        server.stop()
        server = start_server(app)
        assert server.admin_key == new_key
        assert as_admin(server, new_session).status_code == 200
        assert as_admin(server, session).status_code == 401
    finally:
        server.stop()


def test_rotation_revokes_upload_urls_as_a_restart_would(tmp_path):
    server = start_server(copy_app("files", tmp_path))
    try:
        before = server.run("mutation", "files:generate_upload_url", admin=True)["value"]
        rotated = httpx.post(f"{server.url}/dashboard/api/rotate-admin-key", timeout=30,
                             headers={"Authorization": f"Convex {server.admin_key}"})
        assert rotated.status_code == 200, rotated.text
        assert httpx.post(before, content=b"x", timeout=30).status_code == 401
        after = server.run("mutation", "files:generate_upload_url")["value"]
        assert httpx.post(after, content=b"x", timeout=30).status_code == 200
    finally:
        server.stop()
