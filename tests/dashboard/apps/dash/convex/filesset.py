"""Functions the Files and Settings page tests (tests/dashboard/test_files_page.py,
test_settings_page.py) check the dashboard's work with, through the app's own API."""

import os

from syncline import action, query


@query
async def files(ctx):
    """Every stored file's ID, size and content type, as the app sees `_storage`."""
    rows = await ctx.db.system.query("_storage").collect()
    return [{"id": row["_id"], "size": row["size"], "contentType": row.get("contentType")}
            for row in rows]


@query
async def env(ctx, name):
    """An environment variable as the app's functions read it (None if unset)."""
    return os.environ.get(name)


@action
async def store(ctx, text, content_type):
    """Store a file the way an app does, for the page to show live."""
    return await ctx.storage.store(text.encode(), content_type)
