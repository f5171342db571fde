"""Functions for the per-connection bounds tests (tests/e2e/test_sync_bounds.py)."""

import os
import time

from syncline import action, mutation, query, v

PADDING = "x" * 200_000  # a ~200 KB result


async def _counter(ctx, name):
    return await ctx.db.query("counters").with_index(
        "by_name", lambda q: q.eq("name", name)).unique()


@query(args={"name": v.string()})
async def big(ctx, name):
    """A ~200 KB result that changes with the counter `name`."""
    row = await _counter(ctx, name)
    return {"tick": 0 if row is None else row["value"], "padding": PADDING}


@query(args={"name": v.string()})
async def get(ctx, name):
    row = await _counter(ctx, name)
    return 0 if row is None else row["value"]


@mutation(args={"name": v.string()})
async def tick(ctx, name):
    row = await _counter(ctx, name)
    if row is None:
        await ctx.db.insert("counters", {"name": name, "value": 1})
        return 1
    await ctx.db.patch(row["_id"], {"value": row["value"] + 1})
    return row["value"] + 1


@mutation(args={"data": v.bytes()})
async def size(ctx, data):
    """How many bytes arrived."""
    return len(data)


@action(args={"gate": v.string()})
async def gated(ctx, gate):
    """Wait until the file `gate` exists (at most 60 s), then fail."""
    deadline = time.monotonic() + 60
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)
    raise ValueError("the gated action failed, as it should")
