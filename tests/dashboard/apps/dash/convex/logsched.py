"""Functions whose logs, jobs and crons the dashboard's Logs and Schedules pages show."""

import logging

from syncline import action, api, internal_mutation, mutation, query, v


@query(args={"text": v.string()})
async def say(ctx, text):
    print(f"said {text}")
    return text


@mutation(args={"text": v.string()})
async def note(ctx, text):
    logging.info("noted %s", text)
    logging.warning("careful with %s", text)
    logging.debug("debugging %s", text)
    return None


@action(args={"text": v.string()})
async def shout(ctx, text):
    print(f"shouted {text}")
    return await ctx.run_query(api.logsched.say, {"text": text})


@mutation(args={"text": v.string()})
async def fail(ctx, text):
    logging.error("about to fail: %s", text)
    raise ValueError(f"broken on purpose: {text}")


@internal_mutation(args={"n": v.number()})
async def work(ctx, n):
    print(f"working {n}")


@internal_mutation
async def tick(ctx):
    print("tick")


@mutation(args={"count": v.number(), "delay": v.number(), "target": v.string()})
async def schedule(ctx, count, delay, target):
    """`count` jobs of `logsched:<target>` (`work` or `tick`), `delay` ms from now."""
    if target == "work":
        return [await ctx.scheduler.run_after(delay, api.logsched.work, {"n": i})
                for i in range(int(count))]
    return [await ctx.scheduler.run_after(delay, api.logsched.tick, {})
            for _ in range(int(count))]
