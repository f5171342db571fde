"""Authentication end to end: a real `syncline dev` process, a local OIDC identity provider,
and the official clients (PyPI `convex`, npm `convex`) presenting its tokens.

The app (tests/e2e/apps/authapp) gets an `auth_config.py` naming the local provider.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import websockets
from convex import ConvexClient, ConvexError

from tests.e2e.conftest import Server, copy_app, next_value, run_node_script, start_server
from tests.identity_provider import (
    DEFAULT_AUDIENCE,
    LocalIdentityProvider,
    new_private_key,
    tamper,
)


def write_auth_config(app: Path, idp: LocalIdentityProvider) -> None:
    (app / "convex" / "auth_config.py").write_text(
        f"providers = [{{'domain': {idp.issuer!r}, 'application_id': {DEFAULT_AUDIENCE!r}}}]\n")


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalIdentityProvider]:
    with LocalIdentityProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def server(idp, tmp_path_factory) -> Iterator[Server]:
    app = copy_app("authapp", tmp_path_factory.mktemp("auth"))
    write_auth_config(app, idp)
    server = start_server(app)
    # The server fetches the provider's keys on first use. The PyPI client blocks with the
    # GIL held, which would starve this process's identity provider thread: fetch now.
    server.run("query", "users:me", headers=bearer(idp.mint(subject="warm-up")))
    yield server
    server.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def count_notes(server: Server) -> int:
    return server.run("query", "users:everyone_count")["value"]


# -- HTTP API ------------------------------------------------------------------------------


def test_http_bearer_token_identity(server, idp):
    token = idp.mint(subject="ada", name="Ada", email="ada@example.com", email_verified=True,
                     picture="https://example.com/ada.png", org_id="org-7")
    identity = server.run("query", "users:me", headers=bearer(token))["value"]
    assert identity["tokenIdentifier"] == f"{idp.issuer}|ada"
    assert identity["subject"] == "ada" and identity["issuer"] == idp.issuer
    assert identity["name"] == "Ada" and identity["emailVerified"] is True
    assert identity["pictureUrl"] == "https://example.com/ada.png"
    assert identity["org_id"] == "org-7"
    assert "exp" not in identity and "aud" not in identity
    assert server.run("query", "users:me")["value"] is None  # no header: anonymous


@pytest.mark.parametrize("case", ["expired", "not_yet_valid", "wrong_issuer", "wrong_audience",
                                  "alg_none", "hs256_confusion", "tampered", "foreign_key",
                                  "unknown_kid", "not_a_jwt"])
def test_http_rejects_bad_tokens_without_running_the_function(server, idp, case):
    tokens = {
        "expired": lambda: idp.mint(subject="eve", now=time.time() - 7200, lifetime_s=3600),
        "not_yet_valid": lambda: idp.mint(subject="eve", nbf=int(time.time()) + 600),
        "tampered": lambda: tamper(idp.mint(subject="eve"), sub="admin"),
        "unknown_kid": lambda: idp.mint(subject="eve", kid="never-published"),
        "wrong_issuer": lambda: idp.mint(subject="eve", iss="https://evil.example.com"),
        "wrong_audience": lambda: idp.mint(subject="eve", audience="another-app"),
        "alg_none": lambda: idp.mint_unsigned(subject="eve"),
        "hs256_confusion": lambda: idp.mint_hs256_with_public_key(subject="eve"),
        "foreign_key": lambda: idp.mint(subject="eve", key=new_private_key("RS256")),
        "not_a_jwt": lambda: "not-a-jwt",
    }
    before = count_notes(server)
    response = server.call("/api/mutation", {"path": "users:add_note", "args": {"body": "x"},
                                             "format": "json"}, headers=bearer(tokens[case]()))
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "Unauthenticated"
    assert response.json()["message"].startswith("Could not authenticate")
    assert count_notes(server) == before


def test_internal_functions_refuse_user_tokens(server, idp):
    response = server.call("/api/query", {"path": "users:secret_me", "args": {}},
                           headers=bearer(idp.mint(subject="ada")))
    body = response.json()
    assert body["status"] == "error" and "Could not find public function" in body["errorMessage"]
    # The admin key may call it, acting as a user.
    acted = server.run("query", "users:secret_me", admin=True)
    assert acted["value"] is None


def test_identity_reaches_nested_calls_but_not_scheduled_functions(server, idp):
    token = idp.mint(subject="sched-user")
    result = server.run("action", "users:me_via_action", headers=bearer(token))["value"]
    assert result["action"]["subject"] == "sched-user"
    assert result["query"]["subject"] == "sched-user"
    before = len(server.run("query", "users:seen")["value"])
    server.run("mutation", "users:add_note", {"body": "hi"}, headers=bearer(token))
    deadline = time.monotonic() + 20
    while len(seen := server.run("query", "users:seen")["value"]) == before:
        assert time.monotonic() < deadline, "the scheduled mutation did not run"
        time.sleep(0.05)
    assert seen[-1] == {"who": None, "where": "scheduled"}


def test_http_actions_see_the_bearer_identity(server, idp):
    url = f"{server.site_url}/whoami"
    assert httpx.get(url).text == "anonymous"
    ok = httpx.get(url, headers=bearer(idp.mint(subject="web-user")))
    assert (ok.status_code, ok.text) == (200, "web-user")
    bad = httpx.get(url, headers=bearer(idp.mint(subject="x", audience="another-app")))
    assert bad.status_code == 401 and "audience" in bad.text
    # Another scheme is the route's business: the request runs anonymously.
    other = httpx.get(url, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert (other.status_code, other.text) == (200, "anonymous")


def test_cli_run_acts_as_an_identity(server):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "syncline.cli.main", "run", "users:me", "--dir",
         str(server.app_dir), "--identity", '{"subject": "cli-user", "issuer": "cli"}'],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    identity = json.loads(result.stdout)
    assert identity["subject"] == "cli-user" and identity["tokenIdentifier"] == "cli|cli-user"


# -- WebSocket: the PyPI client and the raw protocol ---------------------------------------


def test_pypi_client_set_auth_and_refresh_while_subscribed(server, idp):
    client = ConvexClient(server.url)
    assert client.query("users:me") is None
    client.set_auth(idp.mint(subject="pat", name="first"))
    assert client.query("users:me")["name"] == "first"
    subscription = client.subscribe("users:me")
    assert next_value(subscription)["name"] == "first"
    client.set_auth(idp.mint(subject="pat", name="second"))  # a refreshed token
    assert next_value(subscription, lambda v: v["name"] != "first")["name"] == "second"
    client.mutation("users:add_note", {"body": "from pypi"})
    assert "from pypi" in client.query("users:my_notes")
    client.clear_auth()
    assert next_value(subscription, lambda v: v is None or v["name"] != "second") is None
    with pytest.raises(ConvexError):
        client.query("users:my_notes")


def test_two_users_subscribed_to_one_query_see_their_own_results(server, idp):
    clients = {}
    for name in ("uma", "vic"):
        client = ConvexClient(server.url)
        client.set_auth(idp.mint(subject=name))
        client.mutation("users:add_note", {"body": f"note of {name}"})
        clients[name] = client
    subscriptions = {name: c.subscribe("users:my_notes") for name, c in clients.items()}
    shared = {name: c.subscribe("users:everyone_count") for name, c in clients.items()}
    for name, subscription in subscriptions.items():
        assert next_value(subscription) == [f"note of {name}"]
    counts = {name: next_value(s) for name, s in shared.items()}
    assert counts["uma"] == counts["vic"] > 0
    # A write by one user changes that user's result and the shared count.
    clients["uma"].mutation("users:add_note", {"body": "second of uma"})
    assert next_value(subscriptions["uma"], lambda v: len(v) == 2) == [
        "note of uma", "second of uma"]
    assert next_value(shared["vic"], lambda v: v != counts["vic"]) == counts["vic"] + 1
    assert clients["vic"].query("users:my_notes") == ["note of vic"]


def ws_url(server: Server) -> str:
    return server.url.replace("http://", "ws://") + "/api/1.0.0/sync"


async def receive(ws: Any, kind: str, timeout: float = 20) -> dict[str, Any]:
    async def loop() -> dict[str, Any]:
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message
    return await asyncio.wait_for(loop(), timeout)


def connect(session: str) -> str:
    return json.dumps({"type": "Connect", "sessionId": session, "connectionCount": 0,
                       "lastCloseReason": None, "clientTs": time.time() * 1000})


async def test_ws_rejected_token_gets_auth_error_and_the_connection_closes(server, idp):
    async with websockets.connect(ws_url(server)) as ws:
        await ws.send(connect("00000000-0000-4000-8000-000000000001"))
        await ws.send(json.dumps({
            "type": "Authenticate", "tokenType": "User", "baseVersion": 0,
            "value": idp.mint(subject="eve", now=time.time() - 7200, lifetime_s=3600)}))
        error = await receive(ws, "AuthError")
        assert error["authUpdateAttempted"] is True and error["baseVersion"] == 0
        assert "expired" in error["error"]
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)


async def test_ws_internal_query_fails_for_users(server, idp):
    async with websockets.connect(ws_url(server)) as ws:
        await ws.send(connect("00000000-0000-4000-8000-000000000002"))
        await ws.send(json.dumps({"type": "Authenticate", "tokenType": "User",
                                  "baseVersion": 0, "value": idp.mint(subject="ada")}))
        await ws.send(json.dumps({
            "type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1,
            "modifications": [{"type": "Add", "queryId": 0, "udfPath": "users:secret_me",
                               "args": [{}]}]}))
        transition = await receive(ws, "Transition")
        while not transition["modifications"]:
            transition = await receive(ws, "Transition")
        assert transition["modifications"][0]["type"] == "QueryFailed"


# -- the npm client --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_service(idp) -> Iterator[str]:
    """Mints tokens for the Node script: GET /token?sub=&name=&lifetime=&bad=."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            params = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            extra = {k: params[k] for k in ("name", "email") if k in params}
            lifetime = float(params.get("lifetime", "3600"))
            bad = params.get("bad")
            if bad == "signature":
                token = idp.mint(subject=params["sub"], key=new_private_key("RS256"), **extra)
            elif bad == "expired":
                token = idp.mint(subject=params["sub"], now=time.time() - 7200, **extra)
            else:
                token = idp.mint(subject=params["sub"], lifetime_s=lifetime, **extra)
            body = token.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    http_server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    host, port = http_server.server_address[:2]
    yield f"http://{host}:{port}"
    http_server.shutdown()
    http_server.server_close()


def test_official_npm_clients_authenticate(server, token_service):
    stdout = run_node_script(server, "auth_client.test.mjs", env={"TOKEN_URL": token_service})
    for check in ("refresh_while_subscribed", "rejected_token", "two_users_one_query",
                  "http_client"):
        assert f"ok {check}" in stdout, stdout
