"""File storage functions for tests/e2e/test_file_storage.py."""

import hashlib

from syncline import action, mutation, query


@mutation
async def generate_upload_url(ctx):
    return await ctx.storage.generate_upload_url()


@mutation
async def save(ctx, storage_id, name):
    return await ctx.db.insert("files", {"storageId": storage_id, "name": name})


@query
async def url(ctx, storage_id):
    return await ctx.storage.get_url(storage_id)


@query
async def metadata(ctx, storage_id):
    return await ctx.db.system.get(storage_id)


@query
async def count(ctx):
    return len(await ctx.db.system.query("_storage").collect())


@mutation
async def delete(ctx, storage_id, fail=False):
    await ctx.storage.delete(storage_id)
    if fail:
        raise RuntimeError("failing after the delete")


@action
async def roundtrip(ctx, text):
    storage_id = await ctx.storage.store(text.encode(), content_type="text/plain")
    data = await ctx.storage.get(storage_id)
    opened = await ctx.storage.open(storage_id)
    streamed = b"".join([chunk async for chunk in opened])
    return {"storageId": storage_id, "text": data.decode(), "streamed": streamed == data,
            "url": await ctx.storage.get_url(storage_id)}


@action
async def store_chunks(ctx, n):
    async def chunks():
        for i in range(int(n)):
            yield bytes([i % 256]) * 1000

    storage_id = await ctx.storage.store(chunks())
    data = await ctx.storage.get(storage_id)
    return {"storageId": storage_id, "sha256": hashlib.sha256(data).hexdigest()}


@action
async def delete_now(ctx, storage_id):
    await ctx.storage.delete(storage_id)
    return await ctx.storage.get(storage_id)
