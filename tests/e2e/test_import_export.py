"""`syncline import` / `syncline export` and their admin API, against real server processes."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import orjson

from syncline.values import encode_id, new_internal_id

from .conftest import Server, copy_app, start_server


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "syncline.cli.main", *args,
                           "--dir", str(server.app_dir)],
                          capture_output=True, text=True, timeout=120)


def table(server: Server, name: str) -> list[dict]:
    with zipfile.ZipFile(export(server, server.app_dir.parent / "check.zip")) as archive:
        if f"{name}/documents.jsonl" not in archive.namelist():
            return []
        lines = archive.read(f"{name}/documents.jsonl").splitlines()
    return [orjson.loads(line) for line in lines]


def export(server: Server, path: Path) -> Path:
    result = cli(server, "export", "--path", str(path))
    assert result.returncode == 0, result.stderr
    return path


def test_table_imports_round_trip_and_errors(tmp_path: Path) -> None:
    server = start_server(copy_app("basic", tmp_path))
    fresh = None
    try:
        jsonl = tmp_path / "messages.jsonl"
        jsonl.write_text('{"author": "ann", "body": "hi"}\n{"author": "bob", "body": "yo"}\n')
        result = cli(server, "import", "--table", "messages", str(jsonl))
        assert result.returncode == 0, result.stderr
        assert "Imported 2 documents into table 'messages'" in result.stdout
        # A non-empty table is refused without a flag; --append adds, --replace replaces.
        refused = cli(server, "import", "--table", "messages", str(jsonl))
        assert refused.returncode == 1 and "--append" in refused.stderr
        csv = tmp_path / "more.csv"
        csv.write_text("author,body\ncy,hello\n")
        assert cli(server, "import", "--table", "messages", "--append", str(csv)).returncode == 0
        assert sorted(d["author"] for d in table(server, "messages")) == ["ann", "bob", "cy"]
        array = tmp_path / "counters.json"
        array.write_text('[{"name": "a", "value": 1}, {"name": "b", "value": 2.5}]')
        assert cli(server, "import", "--table", "counters", str(array)).returncode == 0
        # Wrong types for the schema: refused with the line, and nothing changes.
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"author": "x", "body": "ok"}\n{"author": 5, "body": "no"}\n')
        result = cli(server, "import", "--table", "messages", "--replace", str(bad))
        assert result.returncode == 1 and "line 2" in result.stderr
        malformed = tmp_path / "malformed.jsonl"
        malformed.write_text('{"author": "x", "body": "ok"}\n{"author": \n')
        result = cli(server, "import", "--table", "messages", "--replace", str(malformed))
        assert result.returncode == 1 and "line 2: not valid JSON" in result.stderr
        assert len(table(server, "messages")) == 3
        replaced = cli(server, "import", "--table", "messages", "--replace", str(jsonl))
        assert replaced.returncode == 0, replaced.stderr
        assert sorted(d["author"] for d in table(server, "messages")) == ["ann", "bob"]

        # Export, then import into a fresh deployment: equal document for document.
        snapshot = export(server, tmp_path / "snapshot.zip")
        fresh = start_server(copy_app("basic", tmp_path / "fresh"))
        result = cli(fresh, "import", str(snapshot))
        assert result.returncode == 0, result.stderr
        for name in ("messages", "counters"):
            assert table(fresh, name) == table(server, name)
        # A second import of the same snapshot is refused (tables not empty).
        assert cli(fresh, "import", str(snapshot)).returncode == 1
        # The API needs the admin key.
        assert httpx.get(f"{server.url}/api/export", timeout=10).status_code == 401
        assert httpx.post(f"{server.url}/api/import?table=messages", content=b"",
                          timeout=10).status_code == 401
        assert httpx.post(f"{server.url}/api/import_snapshot", content=b"",
                          timeout=10).status_code == 401
    finally:
        server.stop()
        if fresh is not None:
            fresh.stop()


def test_convex_layout_zip_keeps_ids(tmp_path: Path) -> None:
    server = start_server(copy_app("basic", tmp_path))
    try:
        # Convex-format IDs carrying Convex's table numbers, as a Convex export holds them.
        ids = [encode_id(10042, new_internal_id()) for _ in range(2)]
        counter_id = encode_id(10043, new_internal_id())
        snapshot = tmp_path / "convex.zip"
        with zipfile.ZipFile(snapshot, "w") as archive:
            archive.writestr("README.md", "snapshot")
            archive.writestr("_tables/documents.jsonl",
                             '{"name": "notes", "id": 10042}\n'
                             '{"name": "tallies", "id": 10043}\n'
                             '{"name": "blobs", "id": 10044}\n')
            archive.writestr("_storage/documents.jsonl", "")
            archive.writestr("notes/documents.jsonl", "".join(
                orjson.dumps({"_id": i, "_creationTime": 1700000000000.0 + n,
                              "author": "a", "body": str(n)}).decode() + "\n"
                for n, i in enumerate(ids)))
            archive.writestr("tallies/documents.jsonl", orjson.dumps(
                {"_id": counter_id, "_creationTime": 1700000000500.25, "name": "c",
                 "value": 3}).decode() + "\n")
            archive.writestr("blobs/documents.jsonl", orjson.dumps(
                {"_id": encode_id(10044, new_internal_id()), "_creationTime": 1700000000600.0,
                 "n": "12", "raw": "AP8="}).decode() + "\n")
            archive.writestr("blobs/generated_schema.jsonl",
                             '"{_creationTime: normalfloat64, _id: id<blobs>, n: int64, '
                             'raw: bytes}"\n')
        result = cli(server, "import", str(snapshot))
        assert result.returncode == 0, result.stderr
        notes = table(server, "notes")
        assert [d["_id"] for d in notes] == ids
        assert [d["_creationTime"] for d in notes] == [1700000000000, 1700000000001]
        assert table(server, "tallies")[0]["_id"] == counter_id
        # int64 and bytes came back typed: the export writes their generated_schema.
        with zipfile.ZipFile(export(server, tmp_path / "again.zip")) as archive:
            contexts = archive.read("blobs/generated_schema.jsonl").splitlines()[1:]
        assert [list(orjson.loads(c).values()) for c in contexts] == [
            [{"Object": {"n": "Int64", "raw": "Bytes"}}]]

        # A table the schema declares but that never held a document takes the IDs'
        # table number, so the IDs are kept there too.
        kept_id = encode_id(10050, new_internal_id())
        renumbered = tmp_path / "renumbered.zip"
        with zipfile.ZipFile(renumbered, "w") as archive:
            archive.writestr("_tables/documents.jsonl", '{"name": "messages", "id": 10050}\n')
            archive.writestr("messages/documents.jsonl", orjson.dumps(
                {"_id": kept_id, "_creationTime": 1.0e12,
                 "author": "a", "body": "b"}).decode() + "\n")
        result = cli(server, "import", str(renumbered))
        assert result.returncode == 0, result.stderr
        assert [d["_id"] for d in table(server, "messages")] == [kept_id]

        # Once a table has held documents, IDs carrying another number are refused.
        clash = tmp_path / "clash.zip"
        with zipfile.ZipFile(clash, "w") as archive:
            archive.writestr("_tables/documents.jsonl", '{"name": "messages", "id": 10051}\n')
            archive.writestr("messages/documents.jsonl", orjson.dumps(
                {"_id": encode_id(10051, new_internal_id()), "_creationTime": 1.0e12,
                 "author": "a", "body": "c"}).decode() + "\n")
        result = cli(server, "import", "--append", str(clash))
        assert result.returncode == 1 and "Cannot keep the IDs" in result.stderr
        assert "has held documents" in result.stderr

        # An unknown table in the ZIP is refused clearly.
        unknown = tmp_path / "unknown.zip"
        with zipfile.ZipFile(unknown, "w") as archive:
            archive.writestr("_tables/documents.jsonl", '{"name": "messages", "id": 10042}\n')
            archive.writestr("ghosts/documents.jsonl", '{"x": 1}\n')
        result = cli(server, "import", "--append", str(unknown))
        assert result.returncode == 1 and "Unknown table 'ghosts'" in result.stderr
    finally:
        server.stop()
