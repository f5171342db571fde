"""The fan-out measurement: a writer appends numbered records, every subscriber watches
the newest one (PocketBase's realtime pushes each created record the same way)."""

from syncline import mutation, query, v


@mutation(args={"seq": v.float64(), "body": v.string()})
async def send(ctx, seq, body):
    return await ctx.db.insert("feed", {"body": body, "seq": seq})


@query(args={})
async def latest(ctx):
    return await ctx.db.query("feed").order("desc").first()
