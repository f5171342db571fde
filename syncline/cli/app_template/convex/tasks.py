"""Task functions. Call them as "tasks:list", "tasks:add", ... from any client."""

from syncline import ConvexError, internal_mutation, mutation, query, v


@query(args={})
async def list(ctx):
    """Every task, newest first."""
    return await ctx.db.query("tasks").order("desc").collect()


@query(args={"is_completed": v.boolean()})
async def by_completion(ctx, is_completed):
    return await (ctx.db.query("tasks")
                  .with_index("by_completion", lambda q: q.eq("is_completed", is_completed))
                  .collect())


@mutation(args={"text": v.string()})
async def add(ctx, text):
    text = text.strip()
    if not text:
        raise ConvexError({"code": "EMPTY_TEXT", "message": "A task needs some text"})
    print(f"adding task {text!r}")
    return await ctx.db.insert("tasks", {"text": text, "is_completed": False})


@mutation(args={"id": v.id("tasks")})
async def toggle(ctx, id):
    task = await ctx.db.get(id)
    if task is None:
        raise ConvexError({"code": "NOT_FOUND", "id": id})
    await ctx.db.patch(id, {"is_completed": not task["is_completed"]})


@mutation(args={"id": v.id("tasks")})
async def remove(ctx, id):
    await ctx.db.delete(id)


@internal_mutation(args={})
async def seed(ctx):
    """Add sample tasks if there are none (internal: needs the admin key)."""
    if await ctx.db.query("tasks").first() is not None:
        return 0
    for text in ("Buy groceries", "Go for a swim", "Integrate syncline"):
        await ctx.db.insert("tasks", {"text": text, "is_completed": False})
    return 3
