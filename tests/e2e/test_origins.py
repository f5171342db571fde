"""Public origins end to end (issue 18 item 8): a real `syncline serve --host 0.0.0.0`
hands out upload URLs, file URLs and CONVEX_CLOUD_URL / CONVEX_SITE_URL at the origins
it was given (flags or CONVEX_CLOUD_ORIGIN / CONVEX_SITE_ORIGIN), never at 0.0.0.0."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from .conftest import Server, copy_app, start_server

CLOUD = "https://api.example.test"
SITE = "https://site.example.test"
ORIGIN_FLAGS = ["--host", "0.0.0.0", "--cloud-origin", CLOUD, "--site-origin", SITE]


def start_with_env(tmp_path_factory, env: dict[str, str], extra: list[str],
                   mode: str = "serve") -> Server:
    """start_server with `env` added to the server's environment (and only to it)."""
    app = copy_app("origins", tmp_path_factory.mktemp("origins"))
    with pytest.MonkeyPatch.context() as patch:
        for name in ("CONVEX_CLOUD_ORIGIN", "CONVEX_SITE_ORIGIN"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        return start_server(app, mode, extra=extra)


@pytest.fixture(scope="module")
def flag_server(tmp_path_factory) -> Iterator[Server]:
    # Env vars set too: the flags win over them.
    server = start_with_env(tmp_path_factory, {"CONVEX_CLOUD_ORIGIN": "https://env.invalid",
                                               "CONVEX_SITE_ORIGIN": "https://env.invalid"},
                            ORIGIN_FLAGS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def env_server(tmp_path_factory) -> Iterator[Server]:
    server = start_with_env(tmp_path_factory, {"CONVEX_CLOUD_ORIGIN": CLOUD + "/",
                                               "CONVEX_SITE_ORIGIN": SITE},
                            ["--host", "0.0.0.0"], mode="dev")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def wildcard_server(tmp_path_factory) -> Iterator[Server]:
    server = start_with_env(tmp_path_factory, {}, ["--host", "0.0.0.0"])
    yield server
    server.stop()


def value(server: Server, kind: str, path: str, args: dict | None = None):
    result = server.run(kind, path, args)
    assert result["status"] == "success", result
    return result["value"]


def post_to_server(server: Server, public_url: str, data: bytes) -> httpx.Response:
    """POST to the real server with the path and query taken from a public URL, as a
    reverse proxy for that origin would (it forwards the Host header too)."""
    parts = urlsplit(public_url)
    return httpx.post(f"{server.url}{parts.path}?{parts.query}", content=data,
                      headers={"Content-Type": "text/plain", "Host": parts.netloc},
                      timeout=30)


def check_origins_are_used(server: Server) -> None:
    upload_url = value(server, "mutation", "files:generate_upload_url")
    assert upload_url.startswith(f"{CLOUD}/api/storage/upload?token="), upload_url
    response = post_to_server(server, upload_url, b"hello through the proxy")
    assert response.status_code == 200, response.text
    storage_id = response.json()["storageId"]

    file_url = value(server, "query", "files:url", {"storage_id": storage_id})
    assert file_url == f"{CLOUD}/api/storage/{storage_id}"
    download = httpx.get(f"{server.url}{urlsplit(file_url).path}", timeout=30)
    assert download.status_code == 200 and download.content == b"hello through the proxy"

    stored = value(server, "action", "files:store_and_url", {"text": "from an action"})
    assert stored["url"] == f"{CLOUD}/api/storage/{stored['storageId']}"
    assert stored["uploadUrl"].startswith(f"{CLOUD}/api/storage/upload?token=")
    assert post_to_server(server, stored["uploadUrl"], b"2").status_code == 200

    expected = {"CONVEX_CLOUD_URL": CLOUD, "CONVEX_SITE_URL": SITE}
    assert value(server, "query", "files:system_urls") == expected
    assert value(server, "action", "files:system_urls_in_action") == expected
    # Known before the ports are bound, so module-level code of the first push sees them.
    assert value(server, "query", "files:at_import") == expected
    assert "0.0.0.0" not in server.output()


def test_serve_on_0000_with_origin_flags_hands_out_the_origins(flag_server):
    check_origins_are_used(flag_server)
    output = flag_server.output()
    assert f"Public URLs:   {CLOUD} (API), {SITE} (HTTP actions)" in output
    assert "env.invalid" not in output  # the flags won


def test_dev_on_0000_with_origin_env_vars_hands_out_the_origins(env_server):
    check_origins_are_used(env_server)  # the env var's trailing slash is dropped


def test_without_origins_a_wildcard_host_falls_back_to_loopback_with_a_warning(
        wildcard_server):
    server = wildcard_server
    port = urlsplit(server.url).port
    site_port = urlsplit(server.site_url).port
    assert server.url == f"http://127.0.0.1:{port}"
    upload_url = value(server, "mutation", "files:generate_upload_url")
    assert upload_url.startswith(f"http://127.0.0.1:{port}/api/storage/upload?token=")
    response = httpx.post(upload_url, content=b"as handed out", timeout=30)  # usable as is
    assert response.status_code == 200, response.text
    assert value(server, "query", "files:system_urls") == {
        "CONVEX_CLOUD_URL": f"http://127.0.0.1:{port}",
        "CONVEX_SITE_URL": f"http://127.0.0.1:{site_port}"}
    output = server.output()
    assert "without a public origin" in output
    assert "--cloud-origin (or CONVEX_CLOUD_ORIGIN)" in output
    assert "--site-origin (or CONVEX_SITE_ORIGIN)" in output


@pytest.mark.parametrize("args, env, message", [
    (["--cloud-origin", "ftp://api.example.test"], {}, "--cloud-origin 'ftp://api.example.test'"
     " is not a public origin: the scheme must be http:// or https://"),
    (["--site-origin", "https://site.example.test/app"], {}, "it has a path (/app)"),
    (["--cloud-origin", "https://api.example.test?x=1"], {}, "it has a query string"),
    (["--cloud-origin", "api.example.test"], {}, "the scheme must be http:// or https://"),
    (["--cloud-origin", "http://0.0.0.0:3210"], {}, "0.0.0.0 is an address to listen on"),
    ([], {"CONVEX_SITE_ORIGIN": "https://site.example.test/x"},
     "CONVEX_SITE_ORIGIN 'https://site.example.test/x' is not a public origin: it has a path"),
], ids=["scheme", "path", "query", "no-scheme", "wildcard", "env-path"])
def test_an_invalid_origin_is_refused_before_anything_starts(tmp_path, args, env, message):
    app = copy_app("origins", tmp_path)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "syncline.cli.main", "serve", str(app), "--port", "0",
             "--site-port", "0", *args],
            env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:  # the process is killed by subprocess.run
        pytest.fail("the server started despite an invalid origin")
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in " ".join(result.stderr.split()), result.stderr
    assert not (app / ".syncline").exists()  # nothing was opened
