from syncline import mutation, v


@mutation(args={"table": v.union(v.literal("big"), v.literal("small")), "marker": v.string()})
async def write(ctx, table, marker):
    """One document written as an app would, for the write-to-view latency."""
    return await ctx.db.insert(table, {"n": -1.0, "group": "bench", "marker": marker})
