"""Seeding and churn for the export-consumer tests (convex2pg, Airbyte)."""

from syncline import Int64, mutation, query


@mutation(args={})
async def seed(ctx):
    """Floats that are whole (0.0, 1.0, 2.0) first, so a consumer that types a column
    from its first value sees a whole float."""
    for i in range(4):
        await ctx.db.insert("readings", {
            "label": f"r{i}", "value": float(i), "ratio": [0.0, 1.5, 2.5, 3.5][i],
            "count": Int64(i), "tags": [float(i), 1.5],
        })
    await ctx.db.insert("events", {"kind": "click", "x": 1.0, "y": 2.5})
    await ctx.db.insert("events", {"kind": "view", "page": "/home", "ms": 3.0})
    await ctx.db.insert("events", {"kind": "view", "page": "/about"})
    await ctx.db.insert("events", {"kind": "view", "page": "/tmp"})  # churn deletes it


@mutation(args={})
async def churn(ctx):
    """A patch, an insert and a deletion (of the "/tmp" view that seed or the previous
    churn inserted, so the other seeded documents stay), for document_deltas."""
    first = await ctx.db.query("readings").first()
    await ctx.db.patch(first["_id"], {"value": first["value"] + 10.0})
    await ctx.db.insert("events", {"kind": "click", "x": 4.0, "y": 0.0})
    views = await ctx.db.query("events").filter(lambda q: q.eq(q.field("page"), "/tmp")).collect()
    for view in views:
        await ctx.db.delete(view["_id"])
    await ctx.db.insert("events", {"kind": "view", "page": "/tmp"})


@query(args={})
async def readings(ctx):
    return await ctx.db.query("readings").collect()


@query(args={})
async def events(ctx):
    return await ctx.db.query("events").collect()
