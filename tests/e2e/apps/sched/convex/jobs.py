"""Scheduled jobs for the scheduled-functions admin API tests."""

from syncline import api, internal_mutation, mutation, query, v

HOUR_MS = 3_600_000


@internal_mutation(args={"n": v.number()})
async def work(ctx, n):
    await ctx.db.insert("done", {"job": "work", "n": n})


@internal_mutation(args={"n": v.number()})
async def other(ctx, n):
    await ctx.db.insert("done", {"job": "other", "n": n})


@mutation(args={"count": v.number(), "delay": v.number(), "target": v.string()})
async def schedule(ctx, count, delay, target):
    """`count` jobs of `jobs:<target>`, the first `delay` ms from now, then 1 ms apart
    going backwards, so that creation order and scheduled order differ."""
    ref = api.jobs.work if target == "work" else api.jobs.other
    return [await ctx.scheduler.run_after(delay + (count - i), ref, {"n": i})
            for i in range(int(count))]


@query
async def done(ctx):
    return len(await ctx.db.query("done").collect())
