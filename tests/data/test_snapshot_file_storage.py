"""Snapshot ZIPs with file storage: `_storage/documents.jsonl` plus each file's bytes."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

import orjson
import pytest

from syncline.data.snapshot_zip import export_snapshot_zip, import_snapshot, read_snapshot_zip
from syncline.database import Database
from syncline.database.catalog import SYSTEM_TABLES
from syncline.errors import DataImportError
from syncline.functions.file_storage import FileStorage
from syncline.schema import define_schema, define_table, v
from syncline.server.import_export_api import DeploymentFiles
from syncline.storage.blobs import LocalBlobStore
from syncline.values import decode_id, encode_id, new_internal_id

STORAGE = SYSTEM_TABLES["_storage"]
CONVEX_STORAGE = 531  # a Convex deployment's `_storage` table number (system range)


def file_storage(db: Database, root: Path) -> FileStorage:
    return FileStorage(db, LocalBlobStore(root), signer=None,  # type: ignore[arg-type]
                       base_url=lambda: "http://127.0.0.1:1")


async def rows(db: Database, table: str) -> list[dict]:
    async def fn(tx):
        info = db.tables.get(table)
        return [] if info is None else list(tx.table_documents(info))
    return await db.read(fn)


async def contents(files: FileStorage, document: dict) -> bytes:
    return b"".join([chunk async for chunk in files.open_blob(document)])


def blob_keys(files: FileStorage) -> set[str]:
    return set(files.blobs.keys())


@pytest.fixture
def source(db: Database, tmp_path: Path) -> FileStorage:
    return file_storage(db, tmp_path / "source-files")


@pytest.fixture
def fresh(tmp_path: Path):
    database = Database(tmp_path / "fresh.sqlite3", durability="normal")
    yield database, file_storage(database, tmp_path / "fresh-files")
    database.close()


async def fill(db: Database, files: FileStorage) -> list[str]:
    ids = [await files.store(b"hello, world", "text/plain"),
           await files.store(bytes(range(256)) * 1000, "image/png"),
           await files.store(b"")]  # no content type, empty

    async def save(tx):
        for n, storage_id in enumerate(ids):
            await tx.insert("uploads", {"file": storage_id, "n": float(n)})
    await db.run_transaction(save)
    return ids


async def test_export_without_and_with_file_storage(db, source, tmp_path) -> None:
    ids = await fill(db, source)
    plain = tmp_path / "plain.zip"
    await export_snapshot_zip(db, str(plain))
    with zipfile.ZipFile(plain) as archive:
        assert not [n for n in archive.namelist() if n.startswith("_storage")]
        assert "uploads/documents.jsonl" in archive.namelist()

    full = tmp_path / "full.zip"
    await export_snapshot_zip(db, str(full), files=DeploymentFiles(source))
    stored = {d["_id"]: d for d in await rows(db, "_storage")}
    with zipfile.ZipFile(full) as archive:
        names = archive.namelist()
        lines = [orjson.loads(x) for x in archive.read("_storage/documents.jsonl").splitlines()]
        assert [line["_id"] for line in lines] == ids
        for line in lines:
            row = stored[line["_id"]]
            assert set(line) <= {"_id", "_creationTime", "sha256", "size", "contentType"}
            assert line["_creationTime"] == row["_creationTime"]
            assert line["size"] == row["size"]
            # base64 in the ZIP, as Convex writes it; hex in the `_storage` document.
            assert base64.b64decode(line["sha256"]).hex() == row["sha256"]
            assert line.get("contentType") == row.get("contentType")
        assert f"_storage/{ids[0]}.txt" in names
        assert f"_storage/{ids[1]}.png" in names
        assert f"_storage/{ids[2]}" in names
        assert archive.read(f"_storage/{ids[1]}.png") == bytes(range(256)) * 1000
        assert "blobKey" not in archive.read("_storage/documents.jsonl").decode()


async def test_round_trip_into_a_fresh_database(db, source, fresh, tmp_path) -> None:
    ids = await fill(db, source)
    path = tmp_path / "full.zip"
    await export_snapshot_zip(db, str(path), files=DeploymentFiles(source))
    target, target_files = fresh
    snapshot = read_snapshot_zip(str(path))
    assert snapshot.renamed_storage_ids == {}
    counts = await import_snapshot(target, snapshot, "create", files=DeploymentFiles(target_files))
    assert counts == {"_storage": 3, "uploads": 3}
    before = {d["_id"]: d for d in await rows(db, "_storage")}
    after = {d["_id"]: d for d in await rows(target, "_storage")}
    assert list(after) == ids
    for storage_id in ids:
        old, new = before[storage_id], after[storage_id]
        assert {k: x for k, x in old.items() if k != "blobKey"} == \
            {k: x for k, x in new.items() if k != "blobKey"}
        assert await contents(target_files, new) == await contents(source, old)
    assert [d["file"] for d in await rows(target, "uploads")] == ids


def convex_zip(files: dict[str, bytes], *, lines: list[dict] | None = None,
               user_docs: list[dict] | None = None, extensions: dict[str, str] | None = None,
               ) -> io.BytesIO:
    """A ZIP as a Convex export with `--include-file-storage` lays it out."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.md", "# Welcome to your Convex snapshot export!\n")
        archive.writestr("_tables/documents.jsonl", '{"name":"uploads","id":10001}\n')
        archive.writestr("uploads/generated_schema.jsonl", '"uniform"\n')
        archive.writestr("uploads/documents.jsonl", b"".join(
            orjson.dumps(d) + b"\n" for d in user_docs or []))
        if lines is None:
            lines = [{"_id": storage_id, "_creationTime": 1700000000000.0 + n,
                      "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
                      "size": len(data), "contentType": "text/plain" if n == 0 else None,
                      "internalId": "fd6d4d1c-3d0e-4a38-9b55-4a5d4a2c0d67"}
                     for n, (storage_id, data) in enumerate(files.items())]
        archive.writestr("_storage/documents.jsonl", b"".join(
            orjson.dumps(line) + b"\n" for line in lines))
        for storage_id, data in files.items():
            archive.writestr(f"_storage/{storage_id}{(extensions or {}).get(storage_id, '')}",
                             data)
    buffer.seek(0)
    return buffer


async def test_convex_storage_ids_take_our_storage_table_number(fresh) -> None:
    target, target_files = fresh
    await target.apply_schema(define_schema({
        "uploads": define_table({"file": v.id("_storage"), "files": v.array(v.id("_storage"))}),
    }))
    convex_ids = [encode_id(CONVEX_STORAGE, new_internal_id()) for _ in range(2)]
    data = {convex_ids[0]: b"first file", convex_ids[1]: b"\x00" * 70_000}
    upload_id = encode_id(10001, new_internal_id())
    buffer = convex_zip(data, extensions={convex_ids[0]: ".txt"}, user_docs=[
        {"_id": upload_id, "_creationTime": 1700000000100.0, "file": convex_ids[0],
         "files": convex_ids}])
    snapshot = read_snapshot_zip(buffer)
    ours = {c: encode_id(STORAGE, decode_id(c)[1]) for c in convex_ids}
    assert snapshot.renamed_storage_ids == ours
    counts = await import_snapshot(target, snapshot, files=DeploymentFiles(target_files))
    assert counts == {"_storage": 2, "uploads": 1}
    stored = await rows(target, "_storage")
    assert [d["_id"] for d in stored] == [ours[c] for c in convex_ids]
    assert stored[0]["_creationTime"] == 1700000000000.0
    assert stored[0]["contentType"] == "text/plain" and "contentType" not in stored[1]
    assert stored[0]["sha256"] == hashlib.sha256(b"first file").hexdigest()
    assert await contents(target_files, stored[1]) == b"\x00" * 70_000
    # The references followed the files (and satisfy `v.id("_storage")`).
    [upload] = await rows(target, "uploads")
    assert upload["_id"] == upload_id
    assert upload["file"] == ours[convex_ids[0]]
    assert upload["files"] == [ours[c] for c in convex_ids]
    assert (await target_files.metadata(ours[convex_ids[0]]))["size"] == len(b"first file")


async def test_a_sha256_mismatch_imports_nothing(fresh) -> None:
    target, target_files = fresh
    ids = [encode_id(STORAGE, new_internal_id()) for _ in range(3)]
    data = dict(zip(ids, [b"one", b"two", b"three"], strict=True))
    buffer = convex_zip(data, user_docs=[{"_id": encode_id(10001, new_internal_id()),
                                          "_creationTime": 1.0e12, "file": ids[0]}])
    with zipfile.ZipFile(buffer) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    entries[f"_storage/{ids[1]}"] = b"TWO"  # tampered with after the export
    tampered = io.BytesIO()
    with zipfile.ZipFile(tampered, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    tampered.seek(0)
    with pytest.raises(DataImportError, match=rf"_storage/{ids[1]}.*does not match its "
                                              r"`sha256`.*Nothing was imported"):
        await import_snapshot(target, read_snapshot_zip(tampered),
                              files=DeploymentFiles(target_files))
    assert await rows(target, "_storage") == []
    assert await rows(target, "uploads") == []
    assert blob_keys(target_files) == set()  # the bytes stored so far were removed

    # A wrong size is refused the same way.
    lines = [{"_id": ids[0], "_creationTime": 1.0e12, "size": 4}]
    with pytest.raises(DataImportError, match="does not match its `size`"):
        await import_snapshot(target, read_snapshot_zip(convex_zip(
            {ids[0]: b"one"}, lines=lines)), files=DeploymentFiles(target_files))
    assert blob_keys(target_files) == set()


async def test_a_failing_table_imports_no_file(fresh) -> None:
    target, target_files = fresh
    await target.apply_schema(define_schema({"uploads": define_table({"n": v.float64()})}))
    storage_id = encode_id(STORAGE, new_internal_id())
    buffer = convex_zip({storage_id: b"bytes"}, user_docs=[
        {"_id": encode_id(10001, new_internal_id()), "_creationTime": 1.0e12, "n": "x"}])
    with pytest.raises(DataImportError, match="Table 'uploads'"):
        await import_snapshot(target, read_snapshot_zip(buffer),
                              files=DeploymentFiles(target_files))
    assert await rows(target, "_storage") == []
    assert blob_keys(target_files) == set()


async def test_files_and_listing_must_agree(fresh) -> None:
    target, target_files = fresh
    ids = [encode_id(STORAGE, new_internal_id()) for _ in range(2)]
    # Listed but missing from the ZIP: refused.
    listed = [{"_id": ids[0], "_creationTime": 1.0e12}, {"_id": ids[1], "_creationTime": 1.0e12}]
    with pytest.raises(DataImportError, match=rf"file '{ids[1]}' has no `_storage/{ids[1]}`"):
        read_snapshot_zip(convex_zip({ids[0]: b"a"}, lines=listed))
    # A file the listing leaves out is still imported, as Convex does (new creation time).
    snapshot = read_snapshot_zip(convex_zip({ids[0]: b"a", ids[1]: b"b"}, lines=listed[:1]))
    await import_snapshot(target, snapshot, files=DeploymentFiles(target_files))
    stored = await rows(target, "_storage")
    assert sorted(d["_id"] for d in stored) == sorted(ids)
    # Entries that are not named by a storage ID are refused.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("_storage/documents.jsonl", "")
        archive.writestr("_storage/not-an-id.png", b"x")
    buffer.seek(0)
    with pytest.raises(DataImportError, match="Unexpected entry '_storage/not-an-id.png'"):
        read_snapshot_zip(buffer)
    with pytest.raises(DataImportError, match="`sha256` must be a SHA-256 digest"):
        read_snapshot_zip(convex_zip({ids[0]: b"a"}, lines=[{"_id": ids[0], "sha256": "xyz"}]))


async def test_modes_apply_to_file_storage(db, source, tmp_path) -> None:
    await fill(db, source)
    first = await rows(db, "_storage")
    keys_before = blob_keys(source)
    other = encode_id(STORAGE, new_internal_id())
    files = DeploymentFiles(source)

    def snapshot():
        return read_snapshot_zip(convex_zip({other: b"other"}))

    with pytest.raises(DataImportError, match="File storage already holds 3 files.*--append"):
        await import_snapshot(db, snapshot(), "create", files=files)
    assert blob_keys(source) == keys_before
    await import_snapshot(db, snapshot(), "append", files=files)
    assert sorted(d["_id"] for d in await rows(db, "_storage")) == \
        sorted([d["_id"] for d in first] + [other])
    with pytest.raises(DataImportError, match="already exists"):
        await import_snapshot(db, snapshot(), "append", files=files)
    await import_snapshot(db, snapshot(), "replace", files=files)
    [only] = await rows(db, "_storage")
    assert only["_id"] == other and await contents(source, only) == b"other"
    assert blob_keys(source) == {only["blobKey"]}  # the replaced files' bytes are gone
    # An empty `_storage/documents.jsonl` names file storage too: --replace empties it.
    await import_snapshot(db, read_snapshot_zip(convex_zip({})), "replace", files=files)
    assert await rows(db, "_storage") == []
    # A ZIP without `_storage/` leaves file storage alone.
    plain = tmp_path / "plain.zip"
    await import_snapshot(db, read_snapshot_zip(convex_zip({other: b"x"})), files=files)
    await export_snapshot_zip(db, str(plain))
    await import_snapshot(db, read_snapshot_zip(str(plain)), "replace", files=files)
    assert [d["_id"] for d in await rows(db, "_storage")] == [other]


async def test_a_zip_with_files_needs_file_storage(fresh) -> None:
    target, _files = fresh
    storage_id = encode_id(STORAGE, new_internal_id())
    with pytest.raises(DataImportError, match="no file storage"):
        await import_snapshot(target, read_snapshot_zip(convex_zip({storage_id: b"x"})))
