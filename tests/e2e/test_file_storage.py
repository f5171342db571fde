"""File storage end to end: upload URLs, uploads, downloads with ranges, deletes, actions."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import httpx
import pytest

from syncline.auth.signed_urls import UrlSigner, read_instance_secret

from .conftest import copy_app, run_node_script, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = start_server(copy_app("files", tmp_path_factory.mktemp("files")))
    yield running
    running.stop()


def value(server, kind, path, args=None):
    result = server.run(kind, path, args)
    assert result["status"] == "success", result
    return result["value"]


def upload(server, data, content_type="application/octet-stream") -> str:
    url = value(server, "mutation", "files:generate_upload_url")
    response = httpx.post(url, content=data, headers={"Content-Type": content_type}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["storageId"]


def test_upload_save_get_url_and_download(server):
    data = os.urandom(3 * 1024 * 1024 + 17)
    url = value(server, "mutation", "files:generate_upload_url")
    assert url.startswith(f"{server.url}/api/storage/upload?token=")
    response = httpx.post(url, content=data, headers={"Content-Type": "image/png"}, timeout=60)
    assert response.status_code == 200, response.text
    storage_id = response.json()["storageId"]
    value(server, "mutation", "files:save", {"storage_id": storage_id, "name": "pic"})

    file_url = value(server, "query", "files:url", {"storage_id": storage_id})
    assert file_url == f"{server.url}/api/storage/{storage_id}"
    download = httpx.get(file_url, timeout=60)
    assert download.status_code == 200
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-length"] == str(len(data))
    assert download.headers["accept-ranges"] == "bytes"
    assert hashlib.sha256(download.content).digest() == hashlib.sha256(data).digest()

    meta = value(server, "query", "files:metadata", {"storage_id": storage_id})
    assert meta["size"] == len(data)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["contentType"] == "image/png"
    assert meta["_id"] == storage_id


def test_unknown_and_invalid_ids(server):
    storage_id = upload(server, b"short-lived")
    value(server, "mutation", "files:delete", {"storage_id": storage_id})
    assert value(server, "query", "files:url", {"storage_id": storage_id}) is None
    assert httpx.get(f"{server.url}/api/storage/{storage_id}").status_code == 404
    assert httpx.get(f"{server.url}/api/storage/nonsense").status_code == 404


def test_tampered_and_expired_tokens_are_refused(server):
    url = value(server, "mutation", "files:generate_upload_url")
    base, token = url.split("?token=")
    expires, nonce, signature = token.split(".")
    tampered = f"{base}?token={int(expires) + 3600}.{nonce}.{signature}"
    response = httpx.post(tampered, content=b"x")
    assert response.status_code == 401
    assert response.json()["code"] == "InvalidStorageToken"
    assert httpx.post(base, content=b"x").status_code == 401

    secret = read_instance_secret(server.app_dir / ".syncline")
    expired = UrlSigner(secret, "storage upload").sign(-1)
    response = httpx.post(f"{base}?token={expired}", content=b"x")
    assert response.status_code == 403
    assert response.json()["code"] == "StorageTokenExpired"
    assert "expired" in response.json()["message"]


def test_range_requests(server):
    data = bytes(range(256)) * 40  # 10240 bytes
    storage_id = upload(server, data)
    url = f"{server.url}/api/storage/{storage_id}"
    for header, start, end in (("bytes=10-19", 10, 20), ("bytes=10000-", 10000, 10240),
                               ("bytes=-5", 10235, 10240), ("bytes=10230-99999", 10230, 10240)):
        response = httpx.get(url, headers={"Range": header})
        assert response.status_code == 206, header
        assert response.content == data[start:end], header
        assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{len(data)}"
        assert response.headers["content-length"] == str(end - start)
    response = httpx.get(url, headers={"Range": "bytes=20000-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(data)}"


def test_delete_is_transactional(server):
    storage_id = upload(server, b"keep me")
    failed = server.run("mutation", "files:delete", {"storage_id": storage_id, "fail": True})
    assert failed["status"] == "error"
    assert httpx.get(f"{server.url}/api/storage/{storage_id}").content == b"keep me"
    value(server, "mutation", "files:delete", {"storage_id": storage_id})
    assert httpx.get(f"{server.url}/api/storage/{storage_id}").status_code == 404
    assert value(server, "query", "files:metadata", {"storage_id": storage_id}) is None


def test_actions_store_get_and_delete(server):
    result = value(server, "action", "files:roundtrip", {"text": "hello files"})
    assert result["text"] == "hello files" and result["streamed"]
    download = httpx.get(result["url"])
    assert download.content == b"hello files"
    assert download.headers["content-type"].startswith("text/plain")
    meta = value(server, "query", "files:metadata", {"storage_id": result["storageId"]})
    assert meta["size"] == 11 and meta["contentType"] == "text/plain"

    chunked = value(server, "action", "files:store_chunks", {"n": 3000})
    expected = b"".join(bytes([i % 256]) * 1000 for i in range(3000))
    assert chunked["sha256"] == hashlib.sha256(expected).hexdigest()
    meta = value(server, "query", "files:metadata", {"storage_id": chunked["storageId"]})
    assert "contentType" not in meta

    assert value(server, "action", "files:delete_now",
                 {"storage_id": chunked["storageId"]}) is None


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_200_mib_upload_streams(server):
    chunk = os.urandom(1 << 20)
    total = 200
    digest = hashlib.sha256()
    for _ in range(total):
        digest.update(chunk)

    def body():
        for _ in range(total):
            yield chunk

    pid = server.process.pid
    before = _rss_kib(pid)
    peak = before
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        storage_id = upload(server, body())
    finally:
        done.set()
        sampler.join()
    assert (peak - before) < 100 * 1024, f"server RSS grew by {(peak - before) // 1024} MiB"
    meta = value(server, "query", "files:metadata", {"storage_id": storage_id})
    assert meta["size"] == total << 20
    assert meta["sha256"] == digest.hexdigest()

    got = hashlib.sha256()
    with httpx.stream("GET", f"{server.url}/api/storage/{storage_id}", timeout=120) as response:
        assert response.status_code == 200
        for part in response.iter_bytes():
            got.update(part)
    assert got.hexdigest() == digest.hexdigest()


def test_upload_flow_from_node_with_the_official_client(tmp_path):
    server = start_server(copy_app("files", tmp_path))
    try:
        stdout = run_node_script(server, "file_upload.test.mjs")
        assert "all checks passed" in stdout, stdout
    finally:
        server.stop()
