"""`syncline import` / `syncline export` and their admin API, against real server processes."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import orjson

from syncline.values import decode_id, encode_id, new_internal_id

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


def export(server: Server, path: Path, *flags: str) -> Path:
    result = cli(server, "export", "--path", str(path), *flags)
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
            [{"n": "int64", "raw": "bytes"}]]

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


# ----------------------------------------------------------------------------- file storage

FILES_SCHEMA = """from syncline import define_schema, define_table, v

schema = define_schema({
    "files": define_table({"storageId": v.id("_storage"), "name": v.string()}),
})
"""
SNAP_MODULE = """from syncline import action, query


@action
async def read(ctx, storage_id):
    data = await ctx.storage.get(storage_id)
    return None if data is None else data.hex()


@query
async def listing(ctx):
    return await ctx.db.query("files").collect()
"""


def files_app(tmp_path: Path) -> Path:
    """The file storage test app, with a schema (`v.id("_storage")`) and a reader action."""
    app = copy_app("files", tmp_path)
    (app / "convex" / "schema.py").write_text(FILES_SCHEMA)
    (app / "convex" / "snap.py").write_text(SNAP_MODULE)
    return app


def value(server: Server, kind: str, path: str, args: dict | None = None):
    result = server.run(kind, path, args)
    assert result["status"] == "success", result
    return result["value"]


def upload(server: Server, data: bytes, content_type: str | None) -> str:
    url = value(server, "mutation", "files:generate_upload_url")
    headers = {"Content-Type": content_type} if content_type else {}
    response = httpx.post(url, content=data, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["storageId"]


def check_served(server: Server, storage_id: str, data: bytes) -> None:
    """`get_url` serves the bytes and `ctx.storage.get` reads them."""
    url = value(server, "query", "files:url", {"storage_id": storage_id})
    assert url == f"{server.url}/api/storage/{storage_id}"
    download = httpx.get(url, timeout=60)
    assert download.status_code == 200 and download.content == data
    assert value(server, "action", "snap:read", {"storage_id": storage_id}) == data.hex()


def test_file_storage_round_trip_and_convex_zips(tmp_path: Path) -> None:
    server = start_server(files_app(tmp_path / "source"))
    fresh = None
    try:
        blobs = {"pic": (bytes(range(256)) * 4096, "image/png"),
                 "note": (b"hello, file storage", "text/plain"),
                 "raw": (b"\x00\x01\x02", None)}
        ids = {}
        for name, (data, content_type) in blobs.items():
            ids[name] = upload(server, data, content_type)
            value(server, "mutation", "files:save", {"storage_id": ids[name], "name": name})

        # Without the flag, as Convex: no `_storage/` at all.
        with zipfile.ZipFile(export(server, tmp_path / "plain.zip")) as archive:
            assert not [n for n in archive.namelist() if n.startswith("_storage")]
        snapshot = export(server, tmp_path / "full.zip", "--include-file-storage")
        with zipfile.ZipFile(snapshot) as archive:
            names = set(archive.namelist())
            lines = [orjson.loads(x)
                     for x in archive.read("_storage/documents.jsonl").splitlines()]
        assert {f"_storage/{ids['pic']}.png", f"_storage/{ids['note']}.txt",
                f"_storage/{ids['raw']}"} <= names
        assert sorted(line["_id"] for line in lines) == sorted(ids.values())
        for line in lines:
            name = next(n for n, i in ids.items() if i == line["_id"])
            data, content_type = blobs[name]
            assert base64.b64decode(line["sha256"]) == hashlib.sha256(data).digest()
            assert line["size"] == len(data) and line.get("contentType") == content_type
        # The admin route: a bad flag is a 400.
        bad = httpx.get(f"{server.url}/api/export", params={"includeStorage": "maybe"},
                        headers={"Authorization": f"Convex {server.admin_key}"}, timeout=10)
        assert bad.status_code == 400 and bad.json()["code"] == "InvalidArgument"

        # Into a fresh deployment: same IDs, metadata and bytes, served by get_url.
        fresh = start_server(files_app(tmp_path / "fresh"))
        result = cli(fresh, "import", str(snapshot))
        assert result.returncode == 0, result.stderr
        assert "Imported 3 files into file storage" in result.stdout
        assert "Imported 3 documents into table 'files'" in result.stdout
        for name, (data, _content_type) in blobs.items():
            check_served(fresh, ids[name], data)
            before, after = (
                {k: x for k, x in value(s, "query", "files:metadata", {"storage_id": ids[name]})
                 .items() if k != "blobKey"} for s in (server, fresh))
            assert after == before and set(after) >= {"_id", "_creationTime", "sha256", "size"}
        assert value(fresh, "query", "snap:listing") == value(server, "query", "snap:listing")

        # A second import of it is refused: file storage is not empty.
        refused = cli(fresh, "import", str(snapshot))
        assert refused.returncode == 1 and "File storage already holds 3 files" in refused.stderr

        # A ZIP laid out by a Convex export: its storage IDs carry Convex's `_storage`
        # table number; they get ours (same internal ID) and the references follow.
        convex_id = encode_id(530, new_internal_id())
        ours = encode_id(decode_id(ids["pic"])[0], decode_id(convex_id)[1])
        file_doc = encode_id(10001, new_internal_id())
        data = b"%PDF-1.4 from convex"
        convex = tmp_path / "convex.zip"
        with zipfile.ZipFile(convex, "w") as archive:
            archive.writestr("_tables/documents.jsonl", '{"name":"files","id":10001}\n')
            archive.writestr("files/generated_schema.jsonl", '"uniform"\n')
            archive.writestr("files/documents.jsonl", orjson.dumps(
                {"_id": file_doc, "_creationTime": 1700000000000.0, "storageId": convex_id,
                 "name": "doc"}) + b"\n")
            archive.writestr("_storage/documents.jsonl", orjson.dumps(
                {"_id": convex_id, "_creationTime": 1699999999999.5,
                 "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
                 "size": len(data), "contentType": "application/pdf",
                 "internalId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}) + b"\n")
            archive.writestr(f"_storage/{convex_id}.pdf", data)
        result = cli(fresh, "import", "--replace", str(convex))
        assert result.returncode == 0, result.stderr
        check_served(fresh, ours, data)
        meta = value(fresh, "query", "files:metadata", {"storage_id": ours})
        assert meta["_creationTime"] == 1699999999999.5
        assert meta["contentType"] == "application/pdf" and meta["size"] == len(data)
        assert meta["sha256"] == hashlib.sha256(data).hexdigest()
        [row] = value(fresh, "query", "snap:listing")
        assert row["_id"] == file_doc and row["storageId"] == ours
        assert value(fresh, "query", "files:count") == 1  # --replace replaced the files
        assert value(fresh, "query", "files:url", {"storage_id": ids["pic"]}) is None

        # A file whose bytes do not match its sha256: refused, and nothing changes.
        tampered = tmp_path / "tampered.zip"
        with zipfile.ZipFile(snapshot) as source, zipfile.ZipFile(tampered, "w") as out:
            for name in source.namelist():
                content = source.read(name)
                out.writestr(name, content + b"!" if name.startswith(
                    f"_storage/{ids['note']}") else content)
        result = cli(fresh, "import", "--replace", str(tampered))
        assert result.returncode == 1 and "does not match its `sha256`" in result.stderr
        assert value(fresh, "query", "files:count") == 1
        check_served(fresh, ours, data)
        assert [r["_id"] for r in value(fresh, "query", "snap:listing")] == [file_doc]
    finally:
        server.stop()
        if fresh is not None:
            fresh.stop()
