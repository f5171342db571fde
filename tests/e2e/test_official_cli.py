"""The official `npx convex` CLI (npm `convex`, tests/js/node_modules) against a real
`syncline dev`: the commands that read through the `_system` functions, and the clear
errors of those syncline does not serve. Each command is checked for its output."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import JS_DIR, Server, copy_app, start_server

CLI = JS_DIR / "node_modules" / "convex" / "bin" / "main.js"
TIMEOUT = 90


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    if shutil.which("node") is None or not CLI.is_file():
        pytest.fail("node and tests/js/node_modules (npm ci --prefix tests/js) are needed")
    server = start_server(copy_app("basic", tmp_path_factory.mktemp("cli")))
    try:
        for body in ("first", "second", "third"):
            assert server.run("mutation", "messages:send",
                              {"author": "ada", "body": body})["status"] == "success"
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A folder the CLI accepts as a project: package.json and node_modules/convex."""
    folder = tmp_path_factory.mktemp("project")
    (folder / "package.json").write_text('{"name": "p", "dependencies": {"convex": "*"}}')
    (folder / "node_modules").symlink_to(JS_DIR / "node_modules")
    return folder


def cli_env(server: Server) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEX_")}
    # CI=1: no Sentry reports (no network here; a failed report would delay the exit).
    return {**env, "CONVEX_SELF_HOSTED_URL": server.url,
            "CONVEX_SELF_HOSTED_ADMIN_KEY": server.admin_key, "CI": "1"}


def npx(server: Server, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["node", str(CLI), *args], cwd=project, env=cli_env(server),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"npx convex {' '.join(args)} did not finish in {TIMEOUT} s:\n"
                    f"{e.stdout}\n{e.stderr}")


def test_run_calls_a_function(server, project):
    result = npx(server, project, "run", "messages:send", '{"author": "cli", "body": "ran"}')
    assert result.returncode == 0, result.stderr
    listed = npx(server, project, "run", "messages:list")
    assert listed.returncode == 0, listed.stderr
    assert "RAN" in [m["body"] for m in json.loads(listed.stdout)]


def test_run_of_an_unknown_function_lists_the_functions(server, project):
    result = npx(server, project, "run", "messages:nope")
    assert result.returncode == 1
    assert "Could not find function for 'messages:nope'" in result.stderr
    assert "Available functions:" in result.stderr
    assert "messages:list" in result.stderr and "counter:increment" in result.stderr
    assert "_system" not in result.stderr


def _json_values(stream, out: queue.Queue) -> None:
    """Parse the pretty-printed JSON values a `run --watch` writes, one after another."""
    buffer = ""
    for line in stream:
        buffer += line
        try:
            value = json.loads(buffer)
        except ValueError:
            continue
        out.put(value)
        buffer = ""


def test_run_watch_prints_each_new_result(server, project):
    process = subprocess.Popen(
        ["node", str(CLI), "run", "--watch", "counter:get"], cwd=project, env=cli_env(server),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        results: queue.Queue = queue.Queue()
        threading.Thread(target=_json_values, args=(process.stdout, results),
                         daemon=True).start()
        first = results.get(timeout=TIMEOUT)
        assert server.run("mutation", "counter:increment", {})["status"] == "success"
        second = results.get(timeout=TIMEOUT)
        assert second != first
        assert server.run("query", "counter:get", {})["value"] == second
    finally:
        process.kill()
        process.wait()


def test_data_lists_the_tables(server, project):
    result = npx(server, project, "data")
    assert result.returncode == 0, result.stderr
    assert "messages" in result.stdout.split()


def test_data_of_a_table_with_limit_order_and_format(server, project):
    oldest = npx(server, project, "data", "messages", "--limit", "1", "--order", "asc",
                 "--format", "jsonl")
    assert oldest.returncode == 0, oldest.stderr
    lines = oldest.stdout.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["body"] == "FIRST"
    newest = npx(server, project, "data", "messages", "--limit", "2", "--format", "json")
    documents = json.loads(newest.stdout)
    assert len(documents) == 2 and documents[0]["_creationTime"] > documents[1]["_creationTime"]
    pretty = npx(server, project, "data", "messages", "--limit", "1", "--order", "asc")
    assert "FIRST" in pretty.stdout and "_id" in pretty.stdout
    assert "Showing the 1 oldest created document" in pretty.stderr
    missing = npx(server, project, "data", "nosuch")
    assert "There are no documents in this table." in missing.stderr


def test_env_list_and_get(server, project):
    response = httpx.post(f"{server.url}/api/syncline/env", json={"name": "GREETING",
                          "value": "hello world"},
                          headers={"Authorization": f"Convex {server.admin_key}"})
    assert response.status_code == 200, response.text
    listed = npx(server, project, "env", "list")
    assert listed.returncode == 0, listed.stderr
    assert "GREETING=hello world" in listed.stdout
    got = npx(server, project, "env", "get", "GREETING")
    assert got.returncode == 0 and got.stdout.strip() == "hello world"
    missing = npx(server, project, "env", "get", "NOPE")
    assert 'Environment variable "NOPE" not found' in missing.stderr  # (the CLI exits 0)


def test_function_spec(server, project):
    result = npx(server, project, "function-spec")
    assert result.returncode == 0, result.stderr
    spec = json.loads(result.stdout)
    assert spec["url"] == server.url
    send = next(f for f in spec["functions"] if f["identifier"] == "messages.js:send")
    assert send["functionType"] == "Mutation" and send["visibility"] == {"kind": "public"}
    assert send["args"]["value"]["author"] == {"fieldType": {"type": "string"},
                                               "optional": False}
    internal = next(f for f in spec["functions"] if f["identifier"] == "messages.js:internal_send")
    assert internal["visibility"] == {"kind": "internal"}


@pytest.mark.parametrize("command", [["deploy", "-y"], ["dev", "--once"]])
def test_dev_and_deploy_say_to_use_syncline(server, project, command):
    result = npx(server, project, *command)  # fails fast: no 30 s of retries, no hang
    assert "npx convex dev` and `npx convex deploy` push TypeScript" in result.stderr
    assert "syncline dev" in result.stderr and "syncline serve" in result.stderr
    if command[0] == "deploy":
        assert result.returncode == 1


def test_unknown_api_routes_answer_json_errors(server):
    headers = {"Authorization": f"Convex {server.admin_key}"}
    response = httpx.get(f"{server.url}/api/no_such_route", headers=headers)
    assert response.status_code == 400 and response.json()["code"] == "UnknownRoute"
    push = httpx.post(f"{server.url}/api/deploy2/start_push", headers=headers, json={})
    assert push.status_code == 403 and push.json()["code"] == "PushNotSupported"
    wrong_method = httpx.get(f"{server.url}/api/query")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "MethodNotAllowed"
    assert wrong_method.headers["allow"] == "POST"


def test_system_functions_need_the_admin_key_over_http(server):
    for endpoint, body in (("/api/query", {"path": "_system/cli/tables", "args": {}}),
                           ("/api/run/_system/cli/tables/default", {"args": {}})):
        anonymous = httpx.post(f"{server.url}{endpoint}", json=body).json()
        assert anonymous["status"] == "error" and "Unauthorized" in anonymous["errorMessage"]
        admin = httpx.post(f"{server.url}{endpoint}", json=body,
                           headers={"Authorization": f"Convex {server.admin_key}"}).json()
        assert admin["status"] == "success", admin
        assert {"name": "messages"} in admin["value"]["page"]


def syncline(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCLINE_", "CONVEX_"))}
    return subprocess.run([sys.executable, "-m", "syncline.cli.main", *args, "--url",
                           server.url, "--admin-key", server.admin_key],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          env={**env, "COLUMNS": "200"})


def test_syncline_function_spec_and_functions(server, tmp_path):
    result = syncline(server, "function-spec")
    assert result.returncode == 0, result.stderr
    spec = json.loads(result.stdout)
    assert spec["url"] == server.url
    assert any(f["identifier"] == "messages.js:list" for f in spec["functions"])
    target = tmp_path / "spec.json"
    written = syncline(server, "function-spec", "--file", str(target))
    assert written.returncode == 0 and json.loads(target.read_text()) == spec
    listed = syncline(server, "functions")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split()[1:4] for line in listed.stdout.splitlines()
            if line.strip()}
    assert rows["messages:send"][:2] == ["mutation", "public"]
    assert rows["messages:internal_send"][:2] == ["mutation", "internal"]
    assert "{author: string, body: string}" in listed.stdout
