"""Preloading and reading `items`, the records both peers serve for the read measurements.

`newest` without `before` is the 50 newest records by creation time (PocketBase:
`sort=-created`); with `before` it is the 50 with the largest `n` below it, through
the `by_n` index (PocketBase: `filter=n<before&sort=-n`, on an index over `n`).
"""

from syncline import mutation, query, v

PAGE = 50


@mutation(args={"start": v.float64(), "count": v.float64(), "body": v.string()})
async def preload(ctx, start, count, body):
    """`count` records numbered from `start`, in one transaction; returns their ids."""
    return [await ctx.db.insert("items", {"body": body, "n": start + i})
            for i in range(int(count))]


@query(args={"id": v.id("items")})
async def get(ctx, id):
    return await ctx.db.get(id)


@query(args={"before": v.optional(v.float64())})
async def newest(ctx, before=None):
    if before is None:
        return await ctx.db.query("items").order("desc").take(PAGE)
    return await (ctx.db.query("items")
                  .with_index("by_n", lambda q: q.lt("n", before))
                  .order("desc")
                  .take(PAGE))
