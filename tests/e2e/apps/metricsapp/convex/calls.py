"""Functions whose calls the metrics tests count."""

import asyncio
import threading

from syncline import ConvexError, internal, internal_mutation, mutation, query, v

# How many times this process ran each `bump` call (keyed by the caller's token): a run
# after a write conflict sees the earlier ones, so the committed run reports its attempts.
# A test app only: real functions must not keep state between executions.
_RUNS: dict[str, int] = {}
_LOCK = threading.Lock()  # executions run on worker threads too


def _counter(ctx, name):
    return ctx.db.query("counters").with_index("by_name", lambda q: q.eq("name", name)).unique()


@query
async def get(ctx, name="c"):
    row = await _counter(ctx, name)
    return 0 if row is None else row["value"]


@query
async def fail(ctx):
    raise ConvexError("this query always fails")


@mutation(args={"token": v.string(), "name": v.optional(v.string())})
async def bump(ctx, token, name="c"):
    """Read, wait (so that concurrent bumps overlap and conflict), write; the attempts."""
    with _LOCK:
        attempts = _RUNS[token] = _RUNS.get(token, 0) + 1
    row = await _counter(ctx, name)
    await asyncio.sleep(0.05)
    if row is None:
        await ctx.db.insert("counters", {"name": name, "value": 1})
    else:
        await ctx.db.patch(row["_id"], {"value": row["value"] + 1})
    return attempts


@mutation(args={"count": v.number()})
async def schedule_ticks(ctx, count):
    for i in range(int(count)):
        await ctx.scheduler.run_after(0, internal.calls.tick, {"n": i})


@internal_mutation(args={"n": v.number()})
async def tick(ctx, n):
    await ctx.db.insert("ticks", {"n": n})


@query
async def ticks(ctx):
    return len(await ctx.db.query("ticks").collect())
