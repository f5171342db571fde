"""Notes for tests/e2e/test_disk_full.py: `padding` makes a write larger than a full
disk can take, whatever room SQLite's log file has left."""

from syncline import mutation, query


@mutation
async def add(ctx, body: str, padding_bytes: int = 0):
    return await ctx.db.insert("notes", {"body": body, "padding": "p" * int(padding_bytes)})


@query
async def bodies(ctx):
    return sorted(n["body"] for n in await ctx.db.query("notes").collect())


@query
async def ids(ctx):
    return sorted(n["_id"] for n in await ctx.db.query("notes").collect())


@query
async def search(ctx, text: str):
    found = await ctx.db.query("notes").with_search_index(
        "by_body", lambda q: q.search("body", text)).collect()
    return sorted(n["body"] for n in found)


@mutation
async def upload_url(ctx):
    return await ctx.storage.generate_upload_url()


@query
async def file_count(ctx):
    return len(await ctx.db.system.query("_storage").collect())
