"""Upload URLs, file URLs and the system URLs, for tests/e2e/test_origins.py."""

import os

from syncline import action, mutation, query

# Module-level code of the first push: sees the URLs when they are known before listening.
AT_IMPORT = {name: os.environ.get(name) for name in ("CONVEX_CLOUD_URL", "CONVEX_SITE_URL")}


@mutation
async def generate_upload_url(ctx):
    return await ctx.storage.generate_upload_url()


@query
async def url(ctx, storage_id):
    return await ctx.storage.get_url(storage_id)


@action
async def store_and_url(ctx, text):
    storage_id = await ctx.storage.store(text.encode(), content_type="text/plain")
    return {"storageId": storage_id, "url": await ctx.storage.get_url(storage_id),
            "uploadUrl": await ctx.storage.generate_upload_url()}


@query
async def system_urls(ctx):
    return {name: os.environ.get(name) for name in ("CONVEX_CLOUD_URL", "CONVEX_SITE_URL")}


@action
async def system_urls_in_action(ctx):
    return {name: os.environ.get(name) for name in ("CONVEX_CLOUD_URL", "CONVEX_SITE_URL")}


@query
async def at_import(ctx):
    return AT_IMPORT
