"""Functions the Functions and Health pages' browser tests run."""

from syncline import (
    ConvexError,
    action,
    internal_query,
    mutation,
    pagination_opts_validator,
    query,
    v,
)


@query(args={"text": v.string(), "count": v.float64(), "loud": v.boolean(),
             "color": v.union(v.literal("red"), v.literal("blue")),
             "note": v.optional(v.string()), "tags": v.array(v.string())})
async def describe(ctx, text, count, loud, color, tags, note=None):
    """Echoes its arguments as one sentence, so a test sees each form field arrive."""
    words = f"{text} x{count:g} in {color}" + (f" [{', '.join(tags)}]" if tags else "")
    if note is not None:
        words += f" ({note})"
    return words.upper() if loud else words


@query(args={})
async def open_tasks(ctx):
    """How many tasks are not done: live in the runner as tasks are added."""
    return len(await ctx.db.query("tasks").with_index("by_done", lambda q: q.eq("done", False))
               .collect())


@query(args={"paginationOpts": pagination_opts_validator})
async def tasks_page(ctx, paginationOpts):  # noqa: N803
    return await ctx.db.query("tasks").order("asc").paginate(paginationOpts)


@query(args={})
async def whoami(ctx):
    identity = await ctx.auth.get_user_identity()
    if identity is None:
        return "anonymous"
    return f"{identity.name} <{identity.email}> ({identity.subject})"


@mutation(args={"reason": v.string()})
async def refuse(ctx, reason):
    raise ConvexError({"code": "REFUSED", "message": f"refused: {reason}"})


@internal_query(args={})
async def secret(ctx):
    return 42


@action(args={"n": v.int64()})
async def double(ctx, n):
    return n * 2
