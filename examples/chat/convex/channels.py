"""Channels: created on first use, looked up by name."""

from syncline import ConvexError, mutation, query, v


@query(args={})
async def list(ctx):
    return await ctx.db.query("channels").with_index("by_name").collect()


@mutation(args={"name": v.string()}, returns=v.id("channels"))
async def create(ctx, name):
    name = name.strip().lower()
    if not name.isidentifier():
        raise ConvexError({"code": "BAD_NAME", "message": "Use letters, digits and underscores"})
    existing = await (ctx.db.query("channels")
                      .with_index("by_name", lambda q: q.eq("name", name))
                      .unique())
    if existing is not None:
        return existing["_id"]
    return await ctx.db.insert("channels", {"name": name})
