"""The Data page's functions against a real `syncline dev` process: maintained counts
after imports and restarts, and a schema validation failure's ConvexError over HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from .conftest import Server, copy_app, start_server


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "syncline.cli.main", *args,
                           "--dir", str(server.app_dir)],
                          capture_output=True, text=True, timeout=120)


def size(server: Server, table: str) -> float:
    return server.run("query", "_system/frontend/tableSize", {"table": table},
                      admin=True)["value"]


def test_counts_after_import_replace_clear_and_restart(tmp_path: Path) -> None:
    app = copy_app("basic", tmp_path)
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_bytes(b"\n".join(orjson.dumps({"i": i}) for i in range(2_500)))
    server = start_server(app)
    try:
        assert cli(server, "import", "--table", "rows", str(jsonl)).returncode == 0
        assert size(server, "rows") == 2_500
        jsonl.write_bytes(b"\n".join(orjson.dumps({"i": i}) for i in range(40)))
        result = cli(server, "import", "--table", "rows", "--replace", str(jsonl))
        assert result.returncode == 0, result.stderr
        assert size(server, "rows") == 40
        assert cli(server, "import", "--table", "rows", "--append", str(jsonl)).returncode == 0
        assert size(server, "rows") == 80
    finally:
        server.stop()
    server = start_server(app)
    try:
        assert size(server, "rows") == 80  # counted again at open
        cleared = server.run("action", "_system/frontend/clearTable", {"table": "rows"},
                             admin=True)
        assert cleared["value"] == 80
        tables = server.run("query", "_system/frontend/tables", admin=True)["value"]
        assert {"name": "rows", "documents": 0} in tables
    finally:
        server.stop()


def test_a_validation_failure_reaches_the_client_with_its_field(tmp_path: Path) -> None:
    server = start_server(copy_app("basic", tmp_path))
    try:
        response = server.call("/api/mutation", {
            "path": "_system/frontend/addDocuments", "format": "json",
            "args": {"table": "messages", "documents": [
                {"author": "a", "body": "ok"}, {"author": "b", "body": 7}]}}, admin=True)
        body = response.json()
        assert body["status"] == "error", body
        data = body["errorData"]
        assert (data["code"], data["path"], data["documentIndex"]) == \
            ("SchemaValidation", ".body", 1)
        assert "v.string()" in data["message"]
        assert size(server, "messages") == 0
    finally:
        server.stop()
