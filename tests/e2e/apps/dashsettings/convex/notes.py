"""A table for the snapshot export of tests/e2e/test_dashboard_files_settings.py."""

from syncline import mutation


@mutation
async def add(ctx, body):
    return await ctx.db.insert("notes", {"body": body})
