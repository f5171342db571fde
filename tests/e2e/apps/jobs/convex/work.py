"""Jobs for the crash test: each run leaves one row, so a double run would show."""

import asyncio

from syncline import api, internal_action, internal_mutation, mutation, query


@mutation
async def schedule(ctx, mutations, actions, delay):
    # The actions fall due first, so they hold some of the executor's slots (sleeping)
    # while the mutations stream through the others.
    for i in range(int(actions)):
        await ctx.scheduler.run_after(delay, api.work.slow_action, {"key": f"a{i}"})
    for i in range(int(mutations)):
        await ctx.scheduler.run_after(delay + 1, api.work.record, {"key": f"m{i}"})


@internal_mutation
async def record(ctx, key):
    await ctx.db.insert("runs", {"key": key})


@internal_action
async def slow_action(ctx, key):
    await ctx.run_mutation(api.work.record, {"key": key})
    await asyncio.sleep(2)


@query
async def summary(ctx):
    runs = [r["key"] for r in await ctx.db.query("runs").collect()]
    jobs = await ctx.db.system.query("_scheduled_functions").collect()
    return {"runs": runs, "states": [[j["args"][0]["key"], j["state"]["kind"]] for j in jobs]}
