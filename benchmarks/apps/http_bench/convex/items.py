"""The two functions the HTTP API benchmark calls: one insert, one point read."""

from syncline import mutation, query, v


@mutation(args={"n": v.float64(), "body": v.string()})
async def insert(ctx, n, body):
    return await ctx.db.insert("items", {"n": n, "body": body})


@query(args={"id": v.id("items")})
async def get(ctx, id):
    return await ctx.db.get(id)
