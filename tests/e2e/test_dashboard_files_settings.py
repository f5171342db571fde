"""The system functions behind the dashboard's Files and Settings pages, against a real
`syncline dev` (and `serve`): upload through `_system/frontend/generateUploadUrl`, download
through `fileUrl`, delete through `deleteFiles`; the settings query's URLs, variables and
auth providers, and the HTTP routes the page changes them with."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from syncline.system.history import CREATE_ENV, DELETE_ENV
from tests.e2e.conftest import Server, copy_app, start_server

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db40000000049454e44ae426082")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_app("dashsettings", tmp_path_factory.mktemp("dash")))
    yield server
    server.stop()


def value(server: Server, kind: str, path: str, args: dict | None = None):
    return server.run(kind, path, args, admin=True)["value"]


def failure(server: Server, kind: str, path: str, args: dict) -> dict:
    response = server.call(f"/api/{kind}", {"path": path, "args": args, "format": "json"},
                           admin=True)
    body = response.json()
    assert body["status"] == "error", body
    return body


def upload(server: Server, data: bytes, content_type: str) -> str:
    url = value(server, "mutation", "_system/frontend/generateUploadUrl")
    assert url.startswith(f"{server.url}/api/storage/upload?token=")
    response = httpx.post(url, content=data, headers={"Content-Type": content_type}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["storageId"]


def listed(server: Server) -> dict[str, dict]:
    page = value(server, "query", "_system/frontend/files",
                 {"paginationOpts": {"cursor": None, "numItems": 100}})
    return {row["_id"]: row for row in page["page"]}


def test_upload_download_and_delete_files(server: Server) -> None:
    image = upload(server, PNG, "image/png")
    text = upload(server, b"hello dashboard", "text/plain")
    rows = listed(server)
    assert rows[image]["size"] == len(PNG) and rows[image]["contentType"] == "image/png"
    assert rows[text]["size"] == 15

    url = value(server, "query", "_system/frontend/fileUrl", {"id": image})
    assert url == f"{server.url}/api/storage/{image}"
    served = httpx.get(url, timeout=30)
    assert served.content == PNG and served.headers["content-type"] == "image/png"

    # A bad ID among good ones: a clear error, and nothing is deleted.
    bad = failure(server, "mutation", "_system/frontend/deleteFiles",
                  {"ids": [image, "not-an-id"]})
    assert bad["errorData"]["code"] == "InvalidStorageId"
    assert "'not-an-id' is not a storage ID" in bad["errorData"]["message"]
    assert image in listed(server)
    refused = server.call("/api/mutation", {"path": "_system/frontend/deleteFiles",
                                            "args": {"ids": [image]}, "format": "json"})
    assert refused.json()["status"] == "error" and image in listed(server)  # admin only

    # Deleting twice (two tabs) is no error; the second finds nothing to delete.
    assert value(server, "mutation", "_system/frontend/deleteFiles",
                 {"ids": [image, text, image]}) == {"deleted": 2}
    assert value(server, "mutation", "_system/frontend/deleteFiles",
                 {"ids": [image]}) == {"deleted": 0}
    rows = listed(server)
    assert image not in rows and text not in rows
    assert value(server, "query", "_system/frontend/fileUrl", {"id": image}) is None
    assert httpx.get(url, timeout=30).status_code == 404

    events = value(server, "query", "_system/history:list", {})["page"]
    edit = next(e for e in events if e["action"] == "edit_documents")
    assert edit["metadata"]["table"] == "_storage"
    assert edit["metadata"]["operation"] == "delete"
    assert sorted(edit["metadata"]["ids"]) == sorted([image, text])


def test_settings_urls_providers_and_variables(server: Server) -> None:
    settings = value(server, "query", "_system/frontend/settings")
    assert settings["urls"] == {"cloud": server.url, "site": server.site_url}
    assert settings["deployment"]["dev"] is True and settings["deployment"]["pause"] is None
    assert settings["authProviders"] == [
        {"type": "oidc", "domain": "https://tenant.example.com", "applicationID": "app-123"},
        {"type": "customJwt", "issuer": "https://jwt.example.com",
         "jwks": "https://jwt.example.com/.well-known/jwks.json", "algorithm": "RS256",
         "applicationID": None}]

    # The page's add, rename and remove: the route `npx convex env set` uses.
    update = "/api/update_environment_variables"
    ok = server.call(update, {"changes": [{"name": "API_TOKEN", "value": "s3cret"}]},
                     admin=True)
    assert ok.status_code == 200, ok.text
    env = value(server, "query", "_system/frontend/settings")["env"]
    assert {"name": "API_TOKEN", "value": "s3cret"} in env
    renamed = server.call(update, {"changes": [{"name": "API_TOKEN", "value": None},
                                               {"name": "API_KEY", "value": "s3cret2"}]},
                          admin=True)
    assert renamed.status_code == 200, renamed.text
    names = [row["name"] for row in value(server, "query", "_system/frontend/settings")["env"]]
    assert "API_KEY" in names and "API_TOKEN" not in names
    bad = server.call(update, {"changes": [{"name": "1BAD", "value": "x"}]}, admin=True)
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidEnvVarName"
    gone = server.call(update, {"changes": [{"name": "API_KEY", "value": None}]}, admin=True)
    assert gone.status_code == 200
    assert value(server, "query", "_system/frontend/settings")["env"] == []
    events = value(server, "query", "_system/history:list", {})["page"]
    changes = [(e["action"], e["metadata"]["name"]) for e in events
               if e["action"] in (CREATE_ENV, DELETE_ENV)]
    assert changes[:4] == [(DELETE_ENV, "API_KEY"), (CREATE_ENV, "API_KEY"),
                           (DELETE_ENV, "API_TOKEN"), (CREATE_ENV, "API_TOKEN")]
    refused = server.call("/api/query", {"path": "_system/frontend/settings", "args": {},
                                         "format": "json"})
    assert refused.json()["status"] == "error"


def test_export_reaches_completed_and_downloads(server: Server) -> None:
    value(server, "mutation", "notes:add", {"body": "exported"})
    started = httpx.post(f"{server.url}/api/export/request/zip?includeStorage=true",
                         headers={"Authorization": f"Convex {server.admin_key}"}, timeout=30)
    assert started.status_code == 200, started.text
    deadline = time.monotonic() + 60
    latest = value(server, "query", "_system/cli/exports:getLatest")
    while latest["state"] in ("requested", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.1)
        latest = value(server, "query", "_system/cli/exports:getLatest")
    assert latest["state"] == "completed", latest
    zipped = httpx.get(f"{server.url}/api/export/zip/{int(latest['start_ts'])}",
                       headers={"Authorization": f"Convex {server.admin_key}"}, timeout=30)
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        assert "notes/documents.jsonl" in archive.namelist()


def test_settings_on_serve(tmp_path: Path) -> None:
    server = start_server(copy_app("dashsettings", tmp_path), "serve")
    try:
        settings = value(server, "query", "_system/frontend/settings")
        assert settings["deployment"]["dev"] is False
        assert len(settings["authProviders"]) == 2
        bad = failure(server, "mutation", "_system/frontend/deleteFiles", {"ids": ["nope"]})
        assert bad["errorData"]["code"] == "InvalidStorageId"  # shown on serve too
    finally:
        server.stop()
