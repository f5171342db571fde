"""Queries for `syncline run --watch` (a table of their own, apart from `things`)."""

from syncline import internal_query, mutation, query, v


@mutation(args={"label": v.string()})
async def add(ctx, label):
    return await ctx.db.insert("events", {"label": label})


@query(args={})
async def labels(ctx):
    return [doc["label"] for doc in await ctx.db.query("events").order("asc").collect()]


@internal_query(args={"prefix": v.string()})
async def count_prefixed(ctx, prefix):
    return len([d for d in await ctx.db.query("events").collect()
                if d["label"].startswith(prefix)])


@query(args={})
async def broken(ctx):
    raise ValueError("this query always fails")


@query(args={})
async def whoami(ctx):
    identity = await ctx.auth.get_user_identity()
    return None if identity is None else identity["subject"]
