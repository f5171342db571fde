"""The streaming export API against a real server: a connector-style client walks a
snapshot and then the deltas while writes keep landing, and ends with the exact state."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import jsonschema
import pytest

from tests.e2e.conftest import Server, copy_app, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    s = start_server(copy_app("exportapp", tmp_path_factory.mktemp("export")))
    yield s
    s.stop()


def get(server: Server, endpoint: str, *, admin: bool = True, **params) -> httpx.Response:
    headers = {"Authorization": f"Convex {server.admin_key}"} if admin else {}
    return httpx.get(f"{server.url}/api/{endpoint}", params=params, headers=headers, timeout=30)


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def list_full_snapshot(server: Server, pages: list | None = None,
                       **params) -> tuple[list[dict], int]:
    """The doc's pseudocode, with every page checked."""
    snapshot_values: list[dict] = []
    snapshot = cursor = None
    while True:
        query = dict(params)
        if cursor is not None:
            query.update(cursor=cursor, snapshot=snapshot)
        result = ok(get(server, "list_snapshot", **query))
        assert len(result["values"]) <= 1000
        assert isinstance(result["snapshot"], int) and isinstance(result["cursor"], str)
        if snapshot is not None:
            assert result["snapshot"] == snapshot
        if pages is not None:
            pages.append(result)
        snapshot_values.extend(result["values"])
        cursor, snapshot = result["cursor"], result["snapshot"]
        if not result["hasMore"]:
            break
    return snapshot_values, snapshot


def delta_sync(server: Server, delta_cursor: int, pages: list | None = None,
               **params) -> tuple[list[dict], int]:
    delta_values: list[dict] = []
    cursor = delta_cursor
    while True:
        result = ok(get(server, "document_deltas", cursor=cursor, **params))
        assert isinstance(result["cursor"], int) and result["cursor"] >= cursor
        assert all(cursor < v["_ts"] <= result["cursor"] for v in result["values"])
        if result["hasMore"]:
            assert result["values"] and result["values"][-1]["_ts"] == result["cursor"]
        if pages is not None:
            pages.append(result)
        delta_values.extend(result["values"])
        cursor = result["cursor"]
        if not result["hasMore"]:
            break
    return delta_values, cursor


def apply(state: dict[str, dict], values: list[dict]) -> None:
    for value in values:
        if value.get("_deleted"):
            state.pop(value["_id"], None)
        else:
            state[value["_id"]] = value


def strip(value: dict) -> dict:
    return {k: x for k, x in value.items() if k not in ("_ts", "_table", "_component", "_deleted")}


def current_state(server: Server) -> dict[str, dict]:
    result = server.run("query", "data:everything", admin=True)["value"]
    return {doc["_id"]: doc for doc in result["items"] + result["notes"]}


class Churn(threading.Thread):
    """Keeps inserting, patching and deleting until stopped."""

    def __init__(self, server: Server, start: int) -> None:
        super().__init__(daemon=True)
        self.server, self.n, self.stopped = server, start, threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.server.run("mutation", "data:churn", {"seed": self.n})
            self.n += 1

    def stop(self) -> None:
        self.stopped.set()
        self.join(30)


def test_snapshot_then_deltas_reconstruct_the_exact_state(server: Server) -> None:
    for batch in range(3):
        server.run("mutation", "data:seed", {"count": 500, "prefix": f"s{batch}-"})
    churn = Churn(server, 0)
    churn.start()
    try:
        pages: list[dict] = []
        snapshot_values, delta_cursor = list_full_snapshot(server, pages)
        assert len(pages) >= 2  # 1,500+ items and their notes: several pages
        assert all(len(p["values"]) == 1000 for p in pages[:-1])
        ids = [v["_id"] for v in snapshot_values]
        assert len(ids) == len(set(ids))
        assert {v["_table"] for v in snapshot_values} == {"items", "notes"}
        assert all(v["_ts"] <= delta_cursor for v in snapshot_values)
        # The walk took a while and writes kept landing, yet the snapshot is as of its ts.
        assert churn.n > 0
        # One big commit of 600 items + 120 notes, then more churn, while syncing deltas.
        server.run("mutation", "data:seed", {"count": 600, "prefix": "late-"})
        state: dict[str, dict] = {}
        apply(state, snapshot_values)
        delta_values, delta_cursor = delta_sync(server, delta_cursor)
        apply(state, delta_values)
    finally:
        churn.stop()
    # Writes stopped: one more delta sync reaches the final state.
    delta_pages: list[dict] = []
    more, final_cursor = delta_sync(server, delta_cursor, delta_pages)
    apply(state, more)
    assert final_cursor >= delta_cursor
    assert any(v.get("_deleted") for v in delta_values + more)
    expected = current_state(server)
    assert {k: strip(x) for k, x in state.items()} == expected
    # Caught up: an empty page at the same cursor.
    caught_up = ok(get(server, "document_deltas", cursor=final_cursor))
    assert caught_up == {"values": [], "hasMore": False, "cursor": final_cursor}


def test_delta_pages_never_split_a_commit(server: Server) -> None:
    start = ok(get(server, "list_snapshot", tableName="notes"))["snapshot"]
    server.run("mutation", "data:seed", {"count": 1200, "prefix": "bulk-"})  # 1,440 writes
    server.run("mutation", "data:churn", {"seed": 1000})
    pages: list[dict] = []
    values, _ = delta_sync(server, start, pages)
    assert len(pages[0]["values"]) == 1440  # the whole commit in one page
    assert len({v["_ts"] for v in pages[0]["values"]}) == 1
    assert pages[0]["hasMore"] is True
    assert all(v["_ts"] > pages[0]["cursor"] for p in pages[1:] for v in p["values"])
    order = [(v["_ts"], v["_table"] == "notes") for v in values]
    assert order == sorted(order)  # by ts, then table (items before notes)


def test_every_route_needs_the_admin_key(server: Server) -> None:
    for endpoint, params in [("json_schemas", {}), ("list_snapshot", {}),
                             ("document_deltas", {"cursor": 0})]:
        response = get(server, endpoint, admin=False, **params)
        assert response.status_code == 401, endpoint
        assert response.json()["code"] == "Unauthorized"
        bad = httpx.get(f"{server.url}/api/{endpoint}", params=params, timeout=30,
                        headers={"Authorization": "Convex not-the-key"})
        assert bad.status_code == 401


def test_table_name_filter(server: Server) -> None:
    server.run("mutation", "data:seed", {"count": 10, "prefix": "f-"})
    notes, snapshot = list_full_snapshot(server, tableName="notes")
    assert notes and {v["_table"] for v in notes} == {"notes"}
    everything, _ = list_full_snapshot(server, snapshot=snapshot)
    assert notes == [v for v in everything if v["_table"] == "notes"]
    deltas, _ = delta_sync(server, 0, tableName="notes")
    assert deltas and {v["_table"] for v in deltas} == {"notes"}
    # A valid name that is not a table (yet) is empty, not an error.
    empty = ok(get(server, "list_snapshot", tableName="nosuchtable"))
    assert empty["values"] == [] and empty["hasMore"] is False
    none = ok(get(server, "document_deltas", cursor=0, tableName="nosuchtable"))
    assert none["values"] == [] and none["hasMore"] is False
    for bad in ("_storage", "not a name"):
        response = get(server, "list_snapshot", tableName=bad)
        assert response.status_code == 400
        assert response.json()["code"] == "InvalidTableName"


def test_json_schemas_describe_the_exported_values(server: Server) -> None:
    server.run("mutation", "data:seed", {"count": 5, "prefix": "js-"})
    schemas = ok(get(server, "json_schemas"))
    assert set(schemas) == {"items", "notes"}
    items = schemas["items"]
    assert items["type"] == "object"
    assert set(items["required"]) == {"_id", "_creationTime", "name", "n"}
    assert items["properties"]["_id"]["$description"] == "Id(items)"
    assert items["properties"]["big"]["type"] == "string"
    assert "$description" in items["properties"]["big"]
    assert schemas["notes"]["properties"]["item"]["$description"] == "Id(items)"
    assert "_ts" not in items["properties"]
    snapshot_values, snapshot = list_full_snapshot(server)
    for value in snapshot_values:
        doc = strip(value)
        jsonschema.validate(doc, schemas[value["_table"]])

    delta = ok(get(server, "json_schemas", deltaSchema="true"))
    assert {"_ts", "_table", "_deleted"} <= set(delta["items"]["properties"])
    server.run("mutation", "data:churn", {"seed": 2000})
    deltas, _ = delta_sync(server, 0)
    assert any(v.get("_deleted") for v in deltas)
    for value in snapshot_values + deltas:
        jsonschema.validate(value, delta[value["_table"]])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"_id": "x", "_ts": 1, "_table": "items"}, delta["items"])


@pytest.mark.parametrize(("endpoint", "params", "code"), [
    ("list_snapshot", {"snapshot": "abc"}, "InvalidSnapshot"),
    ("list_snapshot", {"snapshot": "-1"}, "InvalidSnapshot"),
    ("list_snapshot", {"snapshot": str(2**62)}, "InvalidSnapshot"),
    ("list_snapshot", {"cursor": "!!not-a-cursor!!"}, "InvalidCursor"),
    ("list_snapshot", {"format": "convex_encoded_json"}, "InvalidFormat"),
    ("document_deltas", {}, "MissingCursor"),
    ("document_deltas", {"cursor": "soon"}, "InvalidCursor"),
    ("document_deltas", {"cursor": str(2**62)}, "InvalidCursor"),
    ("json_schemas", {"deltaSchema": "maybe"}, "InvalidParameter"),
    ("json_schemas", {"format": "csv"}, "InvalidFormat"),
])
def test_bad_parameters_are_400(server: Server, endpoint: str, params: dict, code: str) -> None:
    response = get(server, endpoint, **params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == code and body["message"]


def test_a_cursor_belongs_to_its_snapshot(server: Server) -> None:
    server.run("mutation", "data:seed", {"count": 3, "prefix": "c-"})
    first = ok(get(server, "list_snapshot"))
    server.run("mutation", "data:seed", {"count": 1, "prefix": "c2-"})
    # The cursor carries its snapshot: without `snapshot` the walk stays consistent.
    again = ok(get(server, "list_snapshot", cursor=first["cursor"]))
    assert again["snapshot"] == first["snapshot"]
    response = get(server, "list_snapshot", cursor=first["cursor"],
                   snapshot=first["snapshot"] - 1)
    assert response.status_code == 400 and response.json()["code"] == "InvalidCursor"
    # An old snapshot is still readable: every revision is kept.
    old = ok(get(server, "list_snapshot", snapshot=1))
    assert old["snapshot"] == 1


def test_deltas_leave_system_tables_out(server: Server) -> None:
    """Env changes, scheduled jobs and history are system-table writes: not exported."""
    _, snapshot = list_full_snapshot(server)
    headers = {"Authorization": f"Convex {server.admin_key}"}
    response = httpx.post(f"{server.url}/api/syncline/env", headers=headers, timeout=30,
                          json={"name": "DELTA_SECRET", "value": "not-for-connectors"})
    assert response.status_code == 200, response.text
    server.run("mutation", "data:seed", {"count": 1, "prefix": "after-env-"})
    deltas, _ = delta_sync(server, snapshot)
    assert deltas, "the seeded document is a delta"
    assert {value["_table"] for value in deltas} <= {"items", "notes"}
    assert "not-for-connectors" not in str(deltas)
