from syncline import mutation, query, v


async def _row(ctx, name):
    return await ctx.db.query("counters").with_index(
        "by_name", lambda q: q.eq("name", name)).unique()


@query(args={"name": v.string()})
async def get(ctx, name):
    row = await _row(ctx, name)
    return 0 if row is None else row["value"]


@mutation(args={"name": v.string()})
async def increment(ctx, name):
    row = await _row(ctx, name)
    if row is None:
        await ctx.db.insert("counters", {"name": name, "value": 1})
        return 1
    await ctx.db.patch(row["_id"], {"value": row["value"] + 1})
    return row["value"] + 1


@mutation(args={"name": v.string(), "value": v.float64()})
async def set(ctx, name, value):
    row = await _row(ctx, name)
    if row is None:
        await ctx.db.insert("counters", {"name": name, "value": value})
    else:
        await ctx.db.patch(row["_id"], {"value": value})
    return value
