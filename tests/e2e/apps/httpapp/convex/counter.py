from syncline import mutation, query


@mutation
async def increment(ctx, name="c"):
    row = await ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()
    if row is None:
        await ctx.db.insert("counters", {"name": name, "value": 1})
        return 1
    await ctx.db.patch(row["_id"], {"value": row["value"] + 1})
    return row["value"] + 1


@query
async def get(ctx, name="c"):
    row = await ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()
    return 0 if row is None else row["value"]
