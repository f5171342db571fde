"""The upload-then-confirm import routes and the export routes, driven over HTTP against
a real `syncline dev`: bad requests get a JSON `{code, message}` the CLI prints, and
write nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import Server, copy_app, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_app("cliio", tmp_path_factory.mktemp("cliproto")))
    try:
        yield server
    finally:
        server.stop()


def post(server: Server, path: str, **kw) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", timeout=30,
                      headers={"Authorization": f"Convex {server.admin_key}"}, **kw)


def upload(server: Server, parts: list[bytes]) -> tuple[str, list[str]]:
    token = post(server, "/api/import/start_upload").json()["uploadToken"]
    tokens = []
    for number, part in enumerate(parts, 1):
        response = post(server, f"/api/import/upload_part?uploadToken={token}"
                                f"&partNumber={number}", content=part)
        assert response.status_code == 200, response.text
        tokens.append(response.json())
    return token, tokens


def finish(server: Server, token: str, tokens: list[str], **spec) -> httpx.Response:
    return post(server, "/api/import/finish_upload",
                json={"import": spec, "uploadToken": token, "partTokens": tokens})


def perform_when_ready(server: Server, import_id: str) -> httpx.Response:
    """perform_import, once the upload has been read (it answers ImportNotWaiting
    while the job is still `uploaded`)."""
    for _ in range(200):
        response = post(server, "/api/perform_import", json={"importId": import_id})
        if response.status_code != 400 or "is uploaded" not in response.text:
            return response
        time.sleep(0.05)
    pytest.fail("the upload was never read")


def documents(server: Server, table: str) -> list[dict]:
    return server.run("query", "app:documents", {"table": table})["value"]


def test_routes_need_the_admin_key(server: Server) -> None:
    for path in ("/api/import/start_upload", "/api/export/request/zip",
                 "/api/update_environment_variables", "/api/perform_import"):
        response = httpx.post(f"{server.url}{path}", json={}, timeout=30)
        assert response.status_code in (401, 403), (path, response.text)
        assert "code" in response.json()


def test_parts_are_joined_in_token_order(server: Server) -> None:
    token, tokens = upload(server, [b'{"n": 1}\n{"n"', b': 2}\n'])
    response = finish(server, token, tokens, tableName="joined", mode="requireEmpty",
                      format="jsonLines")
    assert response.status_code == 200, response.text
    assert perform_when_ready(server, response.json()["importId"]).status_code == 200
    for _ in range(200):
        if len(documents(server, "joined")) == 2:
            break
        time.sleep(0.05)
    assert sorted(doc["n"] for doc in documents(server, "joined")) == [1, 2]


def test_a_tampered_part_token_is_refused(server: Server) -> None:
    token, tokens = upload(server, [b'{"n": 1}\n'])
    number, _, _digest = tokens[0].partition(":")
    response = finish(server, token, [f"{number}:{'0' * 64}"], tableName="tampered",
                      mode="requireEmpty", format="jsonLines")
    assert response.status_code == 400
    assert "does not match its token" in response.json()["message"]
    # The upload is gone: it cannot be finished twice.
    again = finish(server, token, tokens, tableName="tampered", mode="requireEmpty",
                   format="jsonLines")
    assert again.status_code == 404 and again.json()["code"] == "InvalidUploadToken"


@pytest.mark.parametrize(("spec", "code"), [
    ({"tableName": "t", "mode": "requireEmpty", "format": "yaml"}, "InvalidArgument"),
    ({"tableName": "t", "mode": "merge", "format": "csv"}, "InvalidArgument"),
    ({"mode": "requireEmpty", "format": "csv"}, "InvalidArgument"),
    ({"tableName": "t", "mode": "requireEmpty", "format": "zip"}, "InvalidArgument"),
    ({"tableName": "t", "mode": "append", "format": "csv", "componentPath": "c"},
     "ComponentsNotSupported"),
])
def test_bad_import_specs_are_refused(server: Server, spec: dict, code: str) -> None:
    token, tokens = upload(server, [b"n\n1\n"])
    response = finish(server, token, tokens, **spec)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_bad_upload_tokens_and_part_numbers(server: Server) -> None:
    bad = post(server, "/api/import/upload_part?uploadToken=../../etc&partNumber=1",
               content=b"x")
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidUploadToken"
    token = post(server, "/api/import/start_upload").json()["uploadToken"]
    for number in ("0", "10001", "x"):
        response = post(server, f"/api/import/upload_part?uploadToken={token}"
                                f"&partNumber={number}", content=b"x")
        assert response.status_code == 400, number


def test_perform_needs_a_known_waiting_import(server: Server) -> None:
    unknown = post(server, "/api/perform_import", json={"importId": "nope"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "ImportNotFound"
    token, tokens = upload(server, [b'{"n": 1}\n'])
    import_id = finish(server, token, tokens, tableName="once", mode="requireEmpty",
                       format="jsonLines").json()["importId"]
    assert perform_when_ready(server, import_id).status_code == 200
    twice = post(server, "/api/perform_import", json={"importId": import_id})
    assert twice.status_code == 400 and twice.json()["code"] == "ImportNotWaiting"


def test_cancel_before_confirmation_writes_nothing(server: Server) -> None:
    token, tokens = upload(server, [b'{"n": 1}\n'])
    import_id = finish(server, token, tokens, tableName="cancelled", mode="requireEmpty",
                       format="jsonLines").json()["importId"]
    assert post(server, "/api/cancel_import", json={"importId": import_id}).status_code == 200
    late = post(server, "/api/perform_import", json={"importId": import_id})
    assert late.status_code == 400 and late.json()["code"] == "ImportNotWaiting"
    assert documents(server, "cancelled") == []


def test_one_export_at_a_time_and_unknown_downloads(server: Server) -> None:
    assert post(server, "/api/export/request/zip?includeStorage=maybe").status_code == 400
    missing = httpx.get(f"{server.url}/api/export/zip/12345", timeout=30,
                        headers={"Authorization": f"Convex {server.admin_key}"})
    assert missing.status_code == 404 and missing.json()["code"] == "ExportNotFound"


def test_an_upload_is_bounded_across_its_parts(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SYNCLINE_MAX_IMPORT_SIZE", "100")
    small = start_server(copy_app("cliio", tmp_path))
    try:
        token = post(small, "/api/import/start_upload").json()["uploadToken"]
        part = f"/api/import/upload_part?uploadToken={token}&partNumber="
        assert post(small, part + "1", content=b"x" * 60).status_code == 200
        assert post(small, part + "1", content=b"y" * 60).status_code == 200  # a retry
        too_much = post(small, part + "2", content=b"z" * 60)
        assert too_much.status_code == 413
        assert too_much.json()["code"] == "PayloadTooLarge"
        assert post(small, part + "2", content=b"z" * 40).status_code == 200
    finally:
        small.stop()
