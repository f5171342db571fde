"""The creates measurement: one small document per mutation, as PocketBase's REST create."""

from syncline import mutation, v


@mutation(args={"n": v.float64(), "body": v.string()})
async def create(ctx, n, body):
    return await ctx.db.insert("inserts", {"body": body, "n": n})
