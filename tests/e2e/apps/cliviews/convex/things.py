"""A schemaless table for `syncline data --filter`."""

from syncline import Int64, mutation, v


@mutation(args={"doc": v.any()})
async def put(ctx, doc):
    return await ctx.db.insert("things", doc)


@mutation(args={})
async def put_typed(ctx):
    """Values JSON arguments cannot carry: an int64 and bytes."""
    return await ctx.db.insert("things", {"name": "typed", "n": Int64(7), "raw": b"\x01\x02"})


@mutation(args={"name": v.string(), "size": v.float64()})
async def put_big(ctx, name, size):
    """A large document in the table `big`: pages of it stop at their byte budget."""
    return await ctx.db.insert("big", {"name": name, "blob": "x" * int(size)})
