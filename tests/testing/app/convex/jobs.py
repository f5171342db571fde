import httpx

from syncline import action, internal, internal_action, internal_mutation, mutation, query


@mutation
async def later(ctx, delay_ms: float):
    return await ctx.scheduler.run_after(delay_ms, internal.jobs.record, {"kind": "later"})


@internal_mutation
async def record(ctx, kind: str):
    await ctx.db.insert("events", {"kind": kind, "at": __import__("time").time() * 1000})


@mutation
async def chain(ctx):
    await ctx.scheduler.run_after(1_000, internal.jobs.step, {"n": 3})


@internal_action
async def step(ctx, n: float):
    await ctx.run_mutation(internal.jobs.record, {"kind": f"step{int(n)}"})
    if n > 1:
        await ctx.scheduler.run_after(60_000, internal.jobs.step, {"n": n - 1})


@query
async def events(ctx):
    """Everything but the cron job's ticks."""
    return [e["kind"] for e in await ctx.db.query("events").collect() if e["kind"] != "tick"]


@query
async def ticks(ctx):
    return len([e for e in await ctx.db.query("events").collect() if e["kind"] == "tick"])


@action
async def weather(ctx, city: str):
    async with httpx.AsyncClient() as client:
        response = await client.get(f"https://weather.example.com/{city}")
    return response.json()["forecast"]
