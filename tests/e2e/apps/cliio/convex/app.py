"""Functions for tests/e2e/test_official_cli_write.py: what the official CLI changed."""

import os

from syncline import action, query


@query
async def env(ctx, name):
    return os.environ.get(name)


@query
async def documents(ctx, table):
    return await ctx.db.query(table).collect()


@query
async def files(ctx):
    return await ctx.db.system.query("_storage").collect()


@action
async def store(ctx, text):
    return await ctx.storage.store(text.encode(), content_type="text/plain")
