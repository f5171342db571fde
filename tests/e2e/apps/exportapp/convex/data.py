"""Mutations the streaming export test drives: bulk inserts and a random churn step."""

import random

from syncline import Int64, mutation, query, v


@mutation(args={"count": v.float64(), "prefix": v.string()})
async def seed(ctx, count, prefix):
    ids = []
    for i in range(int(count)):
        ids.append(await ctx.db.insert("items", {
            "name": f"{prefix}{i}", "n": float(i), "big": Int64(2**40 + i),
            "blob": bytes([i % 256]) * 3, "kind": "a" if i % 2 else "b",
        }))
        if i % 5 == 0:
            await ctx.db.insert("notes", {"text": f"note {i}", "item": ids[-1]})
    return len(ids)


@mutation(args={"seed": v.float64()})
async def churn(ctx, seed):
    """Insert, patch and delete a few random documents in one commit."""
    rng = random.Random(seed)
    items = await ctx.db.query("items").take(200)
    await ctx.db.insert("items", {"name": f"new{seed}", "n": rng.random()})
    for row in rng.sample(items, min(3, len(items))):
        await ctx.db.patch(row["_id"], {"n": rng.random() * 100, "kind": "a"})
    for row in rng.sample(items, min(2, len(items))):
        await ctx.db.delete(row["_id"])
    notes = await ctx.db.query("notes").take(50)
    if notes and rng.random() < 0.5:
        await ctx.db.delete(rng.choice(notes)["_id"])
    else:
        await ctx.db.insert("notes", {"text": f"churn {seed}"})


@query(args={})
async def everything(ctx):
    items = await ctx.db.query("items").collect()
    notes = await ctx.db.query("notes").collect()
    return {"items": items, "notes": notes}
