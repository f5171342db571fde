"""Tasks and their owners: what the app itself reads and writes."""

from syncline import mutation, query, v


@query(args={})
async def list(ctx):
    return await ctx.db.query("tasks").order("desc").take(100)


@mutation(args={"text": v.string(), "priority": v.optional(v.float64())})
async def add(ctx, text, priority=None):
    return await ctx.db.insert("tasks", {"text": text, "done": False,
                                         "priority": priority if priority is not None else 1.0})


@mutation(args={"id": v.id("tasks"), "done": v.boolean()})
async def set_done(ctx, id, done):
    await ctx.db.patch(id, {"done": done})


@mutation(args={"name": v.string(), "email": v.string()})
async def add_user(ctx, name, email):
    return await ctx.db.insert("users", {"name": name, "email": email})
