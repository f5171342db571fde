"""The HTTP functions API against a real `syncline dev` process."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx

REQUEST_ID = re.compile(r"\[Request ID: [0-9a-f]{16}\]$")


def test_query_mutation_and_run_endpoints(dev_server):
    sent = dev_server.run("mutation", "messages:send", {"author": "ada", "body": "hi"})
    assert sent["status"] == "success" and isinstance(sent["value"], str)
    listed = dev_server.run("query", "messages:list")
    assert listed["status"] == "success"
    assert {"author": "ada", "body": "HI"}.items() <= listed["value"][0].items()
    assert listed["logLines"] == ["[LOG] listing messages"]
    run = dev_server.call("/api/run/messages/list", {"args": {}, "format": "json"}).json()
    assert run["status"] == "success" and run["value"] == listed["value"]


def test_paths_nested_modules_and_default_export(dev_server):
    assert dev_server.run("query", "admin/users:list")["value"] == ["ada", "grace"]
    assert dev_server.run("query", "greet", {"name": "x"})["value"] == "hello x"
    assert dev_server.run("query", "greet:default")["value"] == "hello world"
    run = dev_server.call("/api/run/admin/users/list", {"args": {}}).json()
    assert run["value"] == ["ada", "grace"]


def test_wrong_kind_and_unknown_function_are_function_errors(dev_server):
    wrong = dev_server.run("query", "messages:send", {"author": "a", "body": "b"})
    assert wrong["status"] == "error"
    assert "as Query, but it is defined as Mutation" in wrong["errorMessage"]
    missing = dev_server.run("query", "messages:nope")
    assert "Could not find public function for 'messages:nope'" in missing["errorMessage"]
    assert REQUEST_ID.search(missing["errorMessage"])


def test_bad_requests_are_4xx_with_code_and_message(dev_server):
    for body, code in [
        (b"{not json", "BadJsonBody"),
        (b"[1, 2]", "BadJsonBody"),
        (b'{"args": {}}', "MissingPath"),
        (b'{"path": "messages:list", "args": 5}', "InvalidArgs"),
        (b'{"path": "messages:list", "args": {}, "format": "xml"}', "InvalidFormat"),
    ]:
        response = httpx.post(f"{dev_server.url}/api/query", content=body, timeout=10)
        assert response.status_code == 400, body
        assert response.json()["code"] == code
        assert response.json()["message"]
    bad_key = dev_server.call("/api/query", {"path": "messages:list", "args": {}},
                              headers={"Authorization": "Convex wrong"})
    assert bad_key.status_code == 401


def test_oversized_bodies_are_refused_without_reading_them_whole(dev_server):
    from syncline.values.limits import MAX_ENCODED_CALL_SIZE

    def chunks():
        block = b" " * (1024 * 1024)
        for _ in range(MAX_ENCODED_CALL_SIZE // len(block) + 2):
            yield block

    response = httpx.post(f"{dev_server.url}/api/query", content=chunks(), timeout=60)
    assert response.status_code == 413
    assert response.json()["code"] == "PayloadTooLarge"


def test_argument_validation(dev_server):
    result = dev_server.run("mutation", "messages:send", {"author": 5, "body": "x"})
    assert result["status"] == "error"
    assert result["errorMessage"].startswith("ArgumentValidationError")
    assert REQUEST_ID.search(result["errorMessage"])


def test_convex_encoded_json_round_trips_int64_and_bytes(dev_server):
    body = {"path": "sandbox:echo", "format": "convex_encoded_json",
            "args": [{"value": {"big": {"$integer": "AQAAAAAAAAA="}, "raw": {"$bytes": "AAE="}}}]}
    result = dev_server.call("/api/query", body).json()
    assert result["value"] == {"big": {"$integer": "AQAAAAAAAAA="}, "raw": {"$bytes": "AAE="}}
    plain = dev_server.call("/api/query", {**body, "format": "json"}).json()
    assert plain["value"] == {"big": "1", "raw": "AAE="}


def test_internal_functions_need_the_admin_key(dev_server):
    refused = dev_server.run("mutation", "messages:internal_send", {"body": "x"})
    assert refused["status"] == "error"
    assert "Could not find public function" in refused["errorMessage"]
    allowed = dev_server.run("mutation", "messages:internal_send", {"body": "x"}, admin=True)
    assert allowed["status"] == "success"


def test_mutation_that_raises_commits_nothing(dev_server):
    before = len(dev_server.run("query", "messages:list")["value"])
    failed = dev_server.run("mutation", "messages:fail_after_write")
    assert failed["status"] == "error"
    assert "ValueError: exploded after writing" in failed["errorMessage"]
    assert 'convex/messages.py", line' in failed["errorMessage"]  # dev shows the traceback
    assert REQUEST_ID.search(failed["errorMessage"])
    assert len(dev_server.run("query", "messages:list")["value"]) == before


def test_nested_mutation_failure_rolls_back_only_its_writes(dev_server):
    before = len(dev_server.run("query", "messages:list")["value"])
    result = dev_server.run("mutation", "messages:nested")
    assert result["value"] == before + 1
    assert len(dev_server.run("query", "messages:list")["value"]) == before + 1


def test_convex_error_data_reaches_the_caller_through_nested_calls(dev_server):
    direct = dev_server.run("mutation", "messages:application_error")
    assert direct["errorData"] == {"code": "NOPE", "n": 1}
    relayed = dev_server.run("action", "messages:relay_error")
    assert relayed["errorData"] == {"relayed": {"code": "FROM_ACTION", "n": 1}}
    assert REQUEST_ID.search(relayed["errorMessage"])


def test_action_reaches_database_through_run_functions(dev_server):
    before = len(dev_server.run("query", "messages:list")["value"])
    result = dev_server.run("action", "messages:send_via_action", {"body": "from action"})
    assert result["value"] == before + 1


def test_query_cannot_write_and_unawaited_write_names_the_call(dev_server):
    query = dev_server.run("query", "messages:insert_in_query")
    assert "ctx.db.insert is not allowed in a query" in query["errorMessage"]
    lazy = dev_server.run("mutation", "messages:forgot_await")
    assert "db.insert('messages', ...)" in lazy["errorMessage"]
    assert "never awaited" in lazy["errorMessage"]


def test_determinism_guard(dev_server, tmp_path):
    first = dev_server.run("query", "sandbox:clock")["value"]
    second = dev_server.run("query", "sandbox:clock")["value"]
    assert first["same"] is True
    assert abs(first["now"] - first["time"]) < 1e-3
    assert first["random"][0] != first["random"][1]
    assert first["random"] != second["random"] and first["uuid"] != second["uuid"]
    assert dev_server.run("action", "sandbox:action_clock")["value"] == {"advanced": True}
    for kind, path, args, words in [
        ("query", "sandbox:network", {}, "socket"),
        ("mutation", "sandbox:subprocess_call", {}, "subprocess"),
        ("mutation", "sandbox:write_file", {"path": str(tmp_path / "x.txt")}, "open"),
    ]:
        result = dev_server.run(kind, path, args)
        assert result["status"] == "error", path
        assert words in result["errorMessage"] and "action" in result["errorMessage"], result
    assert not (tmp_path / "x.txt").exists()
    written = dev_server.run("action", "sandbox:action_write_file",
                             {"path": str(tmp_path / "y.txt")})
    assert written["value"] == "written" and (tmp_path / "y.txt").read_text() == "x"


def test_runaway_query_times_out_without_hanging_the_server(dev_server):
    with ThreadPoolExecutor(2) as pool:
        spinning = pool.submit(dev_server.run, "query", "sandbox:spin")
        # The server keeps answering while the runaway function burns its second.
        assert dev_server.run("query", "greet")["value"] == "hello world"
        result = spinning.result(timeout=30)
    assert result["status"] == "error"
    assert "timed out" in result["errorMessage"] and "1 second" in result["errorMessage"]
    swallowing = dev_server.run("mutation", "sandbox:spin_swallowing")
    assert "timed out" in swallowing["errorMessage"]
    assert dev_server.run("query", "greet")["value"] == "hello world"


def test_arguments_over_16_mib_are_refused(dev_server):
    big = "x" * (16 * 1024 * 1024 + 10)
    result = dev_server.run("query", "sandbox:echo", {"value": big})
    assert result["status"] == "error"
    assert "too large" in result["errorMessage"].lower() or "size" in result["errorMessage"].lower()


def test_log_lines_from_print_and_logging(dev_server):
    result = dev_server.run("query", "sandbox:logs")
    assert result["logLines"] == ["[LOG] hello from print", "[WARN] careful"]
    assert "[CONVEX Q(sandbox:logs)] [LOG] hello from print" in dev_server.output()


def test_200_concurrent_increments_end_at_exactly_200(dev_server):
    def increment(_: int) -> dict:
        return dev_server.run("mutation", "counter:increment", {"name": "race"})

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(increment, range(200)))
    assert all(r["status"] == "success" for r in results), [r for r in results if r["status"] != "success"][:1]
    assert sorted(r["value"] for r in results) == list(range(1, 201))
    assert dev_server.run("query", "counter:get", {"name": "race"})["value"] == 200


def test_version_and_instance_name(dev_server):
    assert httpx.get(f"{dev_server.url}/version").text
    assert httpx.get(f"{dev_server.url}/instance_name").text == "syncline-local"


def test_query_ts_and_query_at_ts_read_a_consistent_snapshot(dev_server):
    ts = dev_server.call("/api/query_ts", {}).json()["ts"]
    before = dev_server.run("query", "counter:get", {"name": "snap"})["value"]
    dev_server.run("mutation", "counter:increment", {"name": "snap"})
    at_ts = dev_server.call("/api/query_at_ts", {"path": "counter:get", "args": {"name": "snap"},
                                                 "ts": ts, "format": "json"}).json()
    assert at_ts["value"] == before
    assert dev_server.run("query", "counter:get", {"name": "snap"})["value"] == before + 1


def test_production_redacts_server_errors_but_keeps_application_errors(prod_server):
    failed = prod_server.run("mutation", "messages:fail_after_write")
    assert re.fullmatch(r"Server Error \[Request ID: [0-9a-f]{16}\]", failed["errorMessage"])
    assert failed["logLines"] == []
    app_error = prod_server.run("mutation", "messages:application_error")
    assert app_error["errorData"] == {"code": "NOPE", "n": 1}
    listed = prod_server.run("query", "messages:list")
    assert listed["status"] == "success" and listed["logLines"] == []
    # The full error is still logged on the server.
    assert "exploded after writing" in prod_server.output()


def test_function_calls_carry_the_cors_headers_browsers_need(dev_server):
    body = {"path": "messages:list", "args": {}, "format": "json"}
    for route in ("/api/query", "/api/function", "/api/run/messages/list", "/version"):
        method = "GET" if route == "/version" else "POST"
        with_origin = httpx.request(method, f"{dev_server.url}{route}", json=body,
                                    headers={"Origin": "https://app.example"}, timeout=10)
        assert with_origin.status_code == 200, route
        assert with_origin.headers["access-control-allow-origin"] == "*", route
        assert with_origin.headers["vary"] == "Origin", route
        plain = httpx.request(method, f"{dev_server.url}{route}", json=body, timeout=10)
        assert "access-control-allow-origin" not in plain.headers, route
        assert plain.headers["vary"] == "Origin", route
    preflight = httpx.options(f"{dev_server.url}/api/mutation", timeout=10, headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
