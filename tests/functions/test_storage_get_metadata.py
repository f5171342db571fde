"""`ctx.storage.get_metadata(id)` (Convex's deprecated `storage.getMetadata`) in queries,
mutations and actions: Convex's `FileMetadata` shape, or None for a missing file."""

from __future__ import annotations

import hashlib

import pytest

from syncline.functions import FunctionRunner, load_app
from syncline.functions.file_storage import FileStorage
from syncline.storage.blobs import LocalBlobStore
from syncline.values import encode_id
from syncline.values.ids import new_internal_id

APP = '''
from syncline import action, mutation, query

@action
async def store(ctx, text, content_type=None):
    return await ctx.storage.store(text.encode(), content_type=content_type)

@query
async def in_query(ctx, id):
    return await ctx.storage.get_metadata(id)

@mutation
async def in_mutation(ctx, id):
    return await ctx.storage.getMetadata(id)

@action
async def in_action(ctx, id):
    return await ctx.storage.get_metadata(id)

@mutation
async def delete(ctx, id):
    await ctx.storage.delete(id)
'''

CALLERS = [("query", "files:in_query"), ("mutation", "files:in_mutation"),
           ("action", "files:in_action")]


@pytest.fixture
async def runner(tmp_path, db):
    (tmp_path / "convex").mkdir()
    (tmp_path / "convex" / "files.py").write_text(APP)
    app = load_app(tmp_path)
    runner = FunctionRunner(db, app)
    runner.files = FileStorage(db, LocalBlobStore(tmp_path / "blobs"), signer=None,  # type: ignore[arg-type]
                               base_url=lambda: "http://127.0.0.1:1")
    yield runner
    runner.close()
    app.unload()


async def value(runner, path, args):
    outcome = await runner.run(path, args)
    assert outcome.ok, outcome.failure
    return outcome.value


@pytest.mark.parametrize(("kind", "path"), CALLERS)
async def test_get_metadata_returns_convex_file_metadata(runner, kind, path):
    storage_id = await value(runner, "files:store", {"text": "hello", "content_type": "text/plain"})
    meta = await value(runner, path, {"id": storage_id})
    assert meta == {"storageId": storage_id, "sha256": hashlib.sha256(b"hello").hexdigest(),
                    "size": 5, "contentType": "text/plain"}

    untyped = await value(runner, "files:store", {"text": ""})
    meta = await value(runner, path, {"id": untyped})
    assert meta["contentType"] is None and meta["size"] == 0


@pytest.mark.parametrize(("kind", "path"), CALLERS)
async def test_get_metadata_of_a_missing_file_is_none(runner, kind, path):
    storage_id = await value(runner, "files:store", {"text": "bye"})
    await value(runner, "files:delete", {"id": storage_id})
    assert await value(runner, path, {"id": storage_id}) is None


@pytest.mark.parametrize(("kind", "path"), CALLERS)
async def test_get_metadata_rejects_an_id_of_another_table(runner, kind, path):
    outcome = await runner.run(path, {"id": encode_id(10001, new_internal_id())})
    assert not outcome.ok and "is not a storage ID" in outcome.failure.message
