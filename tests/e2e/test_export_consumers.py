"""Issue 18 items 1-3: exported JSON as client software nobody here wrote reads it.

- whole float64s are written `1.0` in every export-JSON output (snapshot ZIPs, streaming
  export records, `format: "json"` function results), int64s as decimal strings;
- `/api/json_schemas` gives every table a top-level object schema with `properties`, a
  table declared as a union of objects included;
- every streaming export record carries `_component` and `_deleted` and validates against
  the schema a connector builds from `json_schemas`;
- the real `convex2pg` (PyPI) turns a `syncline export` ZIP into SQL that a real
  PostgreSQL loads with float columns typed as floats and every value equal;
- the real `airbyte-source-convex` (PyPI) connector's `discover` and `read` work, and each
  record it emits validates against the catalog schema it discovered.

The two PyPI tools are installed into their own venvs (tests/e2e/export_tools.py); a test
skips only when the package cannot be installed. PostgreSQL must be installed (`.ci/run`
installs it): its absence is a failure, not a skip.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import orjson
import pytest

from tests.e2e.conftest import Server, copy_app, start_server
from tests.e2e.export_tools import PostgresCluster, postgres_cluster, tool_venv

# What the airbyte connector adds to each table schema and to each record.
CONNECTOR_FIELDS = {"_ab_cdc_lsn": {"type": "number"},
                    "_ab_cdc_updated_at": {"type": "string"},
                    "_ab_cdc_deleted_at": {"anyOf": [{"type": "string"}, {"type": "null"}]}}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    s = start_server(copy_app("exportconsumers", tmp_path_factory.mktemp("consumers")))
    try:
        s.run("mutation", "data:seed")
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


def get(server: Server, endpoint: str, **params) -> httpx.Response:
    response = httpx.get(f"{server.url}/api/{endpoint}", params=params, timeout=30,
                         headers={"Authorization": f"Convex {server.admin_key}"})
    assert response.status_code == 200, response.text
    return response


def export_zip(server: Server, path: Path) -> Path:
    result = subprocess.run([sys.executable, "-m", "syncline.cli.main", "export", "--path",
                             str(path), "--dir", str(server.app_dir)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return path


def readings_from(lines: list[bytes]) -> dict[str, dict]:
    return {doc["label"]: doc for doc in map(orjson.loads, lines)}


# -- item 1: whole float64s stay floats ---------------------------------------------------------


def test_function_results_write_whole_floats_as_floats(server: Server) -> None:
    response = server.call("/api/query", {"path": "data:readings", "args": {},
                                          "format": "json"})
    text = response.text
    assert '"value":0.0' in text and '"value":1.0' in text and '"tags":[0.0,1.5]' in text
    by_label = {doc["label"]: doc for doc in response.json()["value"]}
    assert all(type(doc["value"]) is float for doc in by_label.values())
    assert by_label["r2"]["count"] == "2"  # int64: a decimal string, as Convex writes it


def test_streaming_export_records_write_whole_floats_as_floats(server: Server) -> None:
    text = get(server, "list_snapshot", tableName="readings", format="json").text
    assert '"value":2.0' in text and '"ratio":0.0' in text
    snapshot = json.loads(text)
    assert all(type(v["value"]) is float for v in snapshot["values"])
    assert {v["count"] for v in snapshot["values"]} == {"0", "1", "2", "3"}
    cursor = snapshot["snapshot"]
    server.run("mutation", "data:churn")
    deltas = get(server, "document_deltas", cursor=cursor, format="json")
    [patched] = [v for v in deltas.json()["values"] if v["_table"] == "readings"]
    assert type(patched["value"]) is float and patched["value"].is_integer()
    assert f'"value":{patched["value"]!r}' in deltas.text  # e.g. "value":10.0


def test_snapshot_zip_writes_whole_floats_and_round_trips(server: Server,
                                                          tmp_path: Path) -> None:
    path = export_zip(server, tmp_path / "snapshot.zip")
    with zipfile.ZipFile(path) as archive:
        raw = archive.read("readings/documents.jsonl")
    assert b'"value":1.0' in raw and b'"count":"1"' in raw
    exported = readings_from(raw.splitlines())
    assert all(type(doc["value"]) is float for doc in exported.values())

    # syncline export -> syncline import into a fresh deployment: floats and int64s intact.
    fresh = start_server(copy_app("exportconsumers", tmp_path / "fresh"))
    try:
        result = subprocess.run([sys.executable, "-m", "syncline.cli.main", "import",
                                 str(path), "--dir", str(fresh.app_dir)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        convex = fresh.call("/api/query", {"path": "data:readings", "args": {},
                                           "format": "convex_encoded_json"}).json()["value"]
    finally:
        fresh.stop()
    for doc in convex:
        # Wire JSON: a float64 is a plain number, an int64 an {"$integer"} wrapper.
        assert type(doc["value"]) is float and type(doc["ratio"]) is float
        assert set(doc["count"]) == {"$integer"}
        assert doc["value"] == exported[doc["label"]]["value"]
        assert doc["tags"] == exported[doc["label"]]["tags"]


# -- items 2 and 3: json_schemas and records ----------------------------------------------------


def test_every_table_schema_is_an_object_with_properties(server: Server) -> None:
    for delta in ("false", "true"):
        schemas = get(server, "json_schemas", deltaSchema=delta).json()
        assert set(schemas) == {"events", "readings"}
        for schema in schemas.values():
            assert schema["type"] == "object" and "properties" in schema
            assert "anyOf" not in schema
        events = schemas["events"]["properties"]
        assert {"kind", "x", "y", "page", "ms", "_id", "_creationTime"} <= set(events)
        assert events["kind"] == {"anyOf": [{"const": "click"}, {"const": "view"}]}


def test_delta_schema_declares_the_metadata_fields_as_convex_does(server: Server) -> None:
    schema = get(server, "json_schemas", deltaSchema="true").json()["readings"]
    properties = schema["properties"]
    assert properties["_deleted"]["type"] == "boolean"
    assert properties["_table"]["type"] == "string"
    assert properties["_component"]["type"] == "string"
    assert properties["_ts"]["type"] == "integer"
    assert not {"if", "then", "else", "maxProperties"} & set(schema)


def connector_schema(schema: dict) -> dict:
    """What airbyte-source-convex makes of a json_schemas entry (its schema rules)."""
    schema = json.loads(json.dumps(schema))
    schema["additionalProperties"] = True
    schema["properties"].update(CONNECTOR_FIELDS)
    return schema


def connector_record(record: dict) -> dict:
    """What airbyte-source-convex adds to each record it reads."""
    deleted = bool(record.get("_deleted"))
    return {**record, "_ab_cdc_lsn": record["_ts"], "_ab_cdc_updated_at": "2026-01-01T00:00:00",
            "_deleted": deleted, "_ab_cdc_deleted_at": "2026-01-01T00:00:00" if deleted else None}


def test_records_carry_component_and_deleted_and_validate(server: Server) -> None:
    schemas = get(server, "json_schemas", deltaSchema="true").json()
    snapshot = get(server, "list_snapshot").json()
    server.run("mutation", "data:churn")
    deltas = get(server, "document_deltas", cursor=snapshot["snapshot"]).json()["values"]
    assert any(v["_deleted"] for v in deltas) and not all(v["_deleted"] for v in deltas)
    for record in snapshot["values"] + deltas:
        assert record["_component"] == "" and type(record["_deleted"]) is bool
        schema = schemas[record["_table"]]
        jsonschema.validate(record, schema)
        jsonschema.validate(connector_record(record), connector_schema(schema))
    plain = get(server, "json_schemas").json()
    for record in snapshot["values"]:
        document = {k: v for k, v in record.items()
                    if k not in ("_ts", "_table", "_component", "_deleted")}
        jsonschema.validate(document, plain[record["_table"]])


# -- the real consumers -------------------------------------------------------------------------


def test_convex2pg_loads_a_syncline_export_into_postgres(
        server: Server, postgres: PostgresCluster, tmp_path: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    venv = tool_venv(tmp_path_factory, "convex2pg", "convex2pg")
    expected = {doc["label"]: doc for doc in server.run("query", "data:readings")["value"]}
    unzipped = tmp_path / "export"
    with zipfile.ZipFile(export_zip(server, tmp_path / "snapshot.zip")) as archive:
        archive.extractall(unzipped)
    out = tmp_path / "sql"
    result = subprocess.run([str(venv.bin / "convex2pg"), str(unzipped), "--output", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    database = postgres.create_database("convex2pg")
    postgres.psql(database, (out / "schema.sql").read_text())
    postgres.psql(database, (out / "data.sql").read_text())

    types = json.loads(postgres.psql(database, (
        "SELECT json_object_agg(table_name || '.' || column_name, data_type) "
        "FROM information_schema.columns WHERE table_schema = 'public'")))
    for column in ("readings.value", "readings.ratio", "events.x", "events.y", "events.ms"):
        assert types[column] == "double precision", (column, types)
    rows = json.loads(postgres.psql(database, (
        "SELECT json_agg(r) FROM (SELECT label, value, ratio, count, tags FROM readings) r")))
    assert len(rows) == len(expected)
    for row in rows:
        doc = expected[row["label"]]
        assert row["value"] == doc["value"] and row["ratio"] == doc["ratio"]
        assert row["tags"] == doc["tags"] and row["count"] == doc["count"]
    events = json.loads(postgres.psql(database, (
        "SELECT json_agg(r) FROM (SELECT kind, x, y, ms, page FROM events) r")))
    fields = ("kind", "x", "y", "ms", "page")
    # Counter: 1 (PostgreSQL's JSON of a double) and 1.0 compare and hash equal.
    assert Counter(tuple(e[f] for f in fields) for e in events) == Counter(
        tuple(e.get(f) for f in fields) for e in server.run("query", "data:events")["value"])


def run_connector(venv_bin: Path, *args: str) -> list[dict]:
    result = subprocess.run([str(venv_bin / "source-convex"), *args], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    messages = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    traces = [m for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert not traces, traces
    return messages


def test_airbyte_connector_discovers_and_reads_every_table(
        server: Server, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    venv = tool_venv(tmp_path_factory, "airbyte-source-convex", "airbyte-source-convex")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"deployment_url": server.url,
                                  "access_key": server.admin_key}))
    [catalog] = [m["catalog"] for m in run_connector(venv.bin, "discover", "--config",
                                                     str(config)) if m["type"] == "CATALOG"]
    streams = {s["name"]: s for s in catalog["streams"]}
    assert set(streams) == {"events", "readings"}
    configured = tmp_path / "catalog.json"
    configured.write_text(json.dumps({"streams": [
        {"stream": s, "sync_mode": "incremental", "destination_sync_mode": "append_dedup",
         "cursor_field": ["_ts"], "primary_key": [["_id"]]} for s in streams.values()]}))

    def read(*extra: str) -> tuple[list[dict], list[dict]]:
        messages = run_connector(venv.bin, "read", "--config", str(config), "--catalog",
                                 str(configured), *extra)
        records = [m["record"] for m in messages if m["type"] == "RECORD"]
        states = [m["state"] for m in messages if m["type"] == "STATE"]
        return records, states

    snapshot, states = read()
    assert {r["stream"] for r in snapshot} == {"events", "readings"}
    last_state = {s["stream"]["stream_descriptor"]["name"]: s for s in states}
    state = tmp_path / "state.json"
    state.write_text(json.dumps(list(last_state.values())))
    server.run("mutation", "data:churn")
    deltas, _ = read("--state", str(state))
    assert any(r["data"]["_deleted"] for r in deltas)
    assert any(not r["data"]["_deleted"] for r in deltas)
    for record in snapshot + deltas:
        schema = streams[record["stream"]]["json_schema"]
        jsonschema.Draft7Validator(schema).validate(record["data"])
    floats = [r["data"]["value"] for r in snapshot if r["stream"] == "readings"]
    assert floats and all(type(x) is float for x in floats)


def test_a_union_table_merges_its_members_fields() -> None:
    """A field two members type differently is `anyOf` both; it is required only when
    every member requires it; the schema stays a closed object with properties."""
    from syncline import v
    from syncline.server.streaming_export import table_schema

    validator = v.union(v.object({"kind": v.literal("a"), "n": v.float64(), "both": v.string()}),
                        v.object({"kind": v.literal("b"), "n": v.string(), "both": v.string(),
                                  "extra": v.optional(v.boolean())}))
    schema = table_schema("t", validator, delta=False)
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    properties = schema["properties"]
    assert properties["n"]["anyOf"][1] == {"type": "string"}
    assert properties["both"] == {"type": "string"}
    assert properties["extra"] == {"type": "boolean"}
    assert set(schema["required"]) == {"_id", "_creationTime", "kind", "n", "both"}
    jsonschema.validate({"_id": "x", "_creationTime": 1.0, "kind": "b", "n": "s", "both": ""},
                        schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"_id": "x", "_creationTime": 1.0, "kind": "a", "n": 1.0}, schema)


def test_convex_uniform_json_text_still_imports_floats_and_ints() -> None:
    """Convex's "uniform" generated_schema: its documents.jsonl writes a float64 `1.0` and
    an int64 `1`; read from the bytes, they stay a float and an Int64."""
    from syncline import Int64
    from syncline.data.generated_schema import parse_generated_schema, to_documents
    from syncline.data.jsonl import jsonl_lines

    schema = parse_generated_schema(b'"uniform"\n')
    lines = b'{"_id":"a","f":1.0,"i":1,"z":0.0,"xs":[2.0,3]}\n'
    [(_, doc)] = to_documents(list(jsonl_lines(lines)), schema)
    assert type(doc["f"]) is float and doc["f"] == 1.0 and type(doc["z"]) is float
    assert type(doc["i"]) is Int64 and doc["i"] == 1
    assert type(doc["xs"][0]) is float and type(doc["xs"][1]) is Int64
