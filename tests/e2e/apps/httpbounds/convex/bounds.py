"""Functions for tests/e2e/test_http_bounds.py."""

from syncline import mutation, query


@mutation
async def generate_upload_url(ctx):
    return await ctx.storage.generate_upload_url()


@query
async def stored_files(ctx):
    return len(await ctx.db.system.query("_storage").collect())


@query
async def size(ctx, pad):
    return len(pad)
