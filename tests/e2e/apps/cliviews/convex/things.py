"""A schemaless table for `syncline data --filter`."""

from syncline import Int64, mutation, v


@mutation(args={"doc": v.any()})
async def put(ctx, doc):
    return await ctx.db.insert("things", doc)


@mutation(args={})
async def put_typed(ctx):
    """Values JSON arguments cannot carry: an int64 and bytes."""
    return await ctx.db.insert("things", {"name": "typed", "n": Int64(7), "raw": b"\x01\x02"})
