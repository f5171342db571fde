"""The document retention window over a real server: a deployment whose history was
pruned answers reads inside the window exactly and refuses older ones, on every API that
names a timestamp, with Convex's `InvalidWindowToReadDocuments`; a bad window setting
stops the server with a clear message."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from syncline.database import Database
from syncline.database.retention import RetentionPolicy
from syncline.values.timestamps import encode_ts
from tests.e2e.conftest import Server, copy_app, start_server


def prepare(app_dir: Path) -> dict[str, int]:
    """Write history into the app's database, prune it up to `floor`, and close it."""
    db = Database(app_dir / ".syncline" / "db.sqlite3",
                  retention=RetentionPolicy(background=False))

    async def build() -> dict[str, int]:
        async def insert(tx):
            return [await tx.insert("items", {"name": f"i{i}", "n": float(i)})
                    for i in range(30)]
        ids = await db.run_transaction(insert)
        old = db.visible_ts

        async def patch(tx, value: float):
            for doc_id in ids:
                await tx.patch(doc_id, {"n": value})
        await db.run_transaction(lambda tx: patch(tx, 1.5))
        floor = db.visible_ts
        await db.run_transaction(lambda tx: patch(tx, 2.5))
        await db.prune_history(floor)
        assert db.min_snapshot_ts == floor
        return {"old": old, "floor": floor, "latest": db.visible_ts}

    try:
        return asyncio.run(build())
    finally:
        db.close()


@pytest.fixture(scope="module")
def pruned(tmp_path_factory) -> Iterator[tuple[Server, dict[str, int]]]:
    app_dir = copy_app("exportapp", tmp_path_factory.mktemp("retention"))
    times = prepare(app_dir)
    server = start_server(app_dir)
    yield server, times
    server.stop()


def get(server: Server, endpoint: str, **params) -> httpx.Response:
    return httpx.get(f"{server.url}/api/{endpoint}", params=params, timeout=30,
                     headers={"Authorization": f"Convex {server.admin_key}"})


def refused(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "InvalidWindowToReadDocuments"
    assert "older than the database's retention window" in body["message"]
    return body["message"]


def test_streaming_export_refuses_a_cursor_or_snapshot_before_the_window(pruned) -> None:
    server, times = pruned
    message = refused(get(server, "document_deltas", cursor=str(times["old"])))
    assert "full sync" in message
    refused(get(server, "document_deltas", cursor=str(times["floor"] - 1), tableName="items"))
    refused(get(server, "list_snapshot", snapshot=str(times["old"])))

    # From the floor on, the change log and snapshots are whole.
    deltas = get(server, "document_deltas", cursor=str(times["floor"]))
    assert deltas.status_code == 200, deltas.text
    values = deltas.json()["values"]
    assert len(values) == 30 and {v["n"] for v in values} == {2.5}
    snapshot = get(server, "list_snapshot", snapshot=str(times["floor"]), tableName="items")
    assert snapshot.status_code == 200, snapshot.text
    assert {v["n"] for v in snapshot.json()["values"]} == {1.5}
    assert len(snapshot.json()["values"]) == 30


def test_query_at_a_timestamp_before_the_window_is_refused(pruned) -> None:
    server, times = pruned
    body = {"path": "data:everything", "args": {}, "format": "json"}
    refused(server.call("/api/query_at_ts", {**body, "ts": encode_ts(times["old"])}))
    at_floor = server.call("/api/query_at_ts", {**body, "ts": encode_ts(times["floor"])})
    assert at_floor.status_code == 200, at_floor.text
    assert {i["n"] for i in at_floor.json()["value"]["items"]} == {1.5}
    latest = server.run("query", "data:everything")["value"]["items"]
    assert {i["n"] for i in latest} == {2.5}


def test_a_bad_retention_setting_stops_the_server_with_a_clear_message(
    tmp_path, monkeypatch,
) -> None:
    app_dir = copy_app("exportapp", tmp_path)
    monkeypatch.setenv("SYNCLINE_DOCUMENT_RETENTION_S", "5")  # the server inherits it
    server = start_server(app_dir, expect_ready=False)
    try:
        assert server.process.wait(timeout=60) == 1
        assert "SYNCLINE_DOCUMENT_RETENTION_S must be a number of seconds of at least 60" \
            in server.output()
        assert "Traceback" not in server.output()
    finally:
        server.stop()
