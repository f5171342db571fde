from syncline import mutation, query, v


@mutation(args={"writer": v.string(), "seq": v.float64()})
async def write(ctx, writer, seq):
    """Three writes that must land together: two entries and the writer's running total."""
    await ctx.db.insert("entries", {"writer": writer, "seq": seq, "part": 0.0})
    await ctx.db.insert("entries", {"writer": writer, "seq": seq, "part": 1.0})
    total = await ctx.db.query("totals").with_index(
        "by_writer", lambda q: q.eq("writer", writer)).unique()
    if total is None:
        await ctx.db.insert("totals", {"writer": writer, "count": 1.0})
        return 1
    await ctx.db.patch(total["_id"], {"count": total["count"] + 1})
    return total["count"] + 1


@query(args={"writer": v.string(), "after": v.float64()})
async def entries(ctx, writer, after):
    rows = await ctx.db.query("entries").with_index(
        "by_writer", lambda q: q.eq("writer", writer).gt("seq", after)).take(2000)
    return [[row["seq"], row["part"]] for row in rows]


@query(args={"writer": v.string()})
async def total(ctx, writer):
    row = await ctx.db.query("totals").with_index(
        "by_writer", lambda q: q.eq("writer", writer)).unique()
    return 0 if row is None else row["count"]
