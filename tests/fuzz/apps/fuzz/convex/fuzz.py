"""Functions for fuzzing the HTTP API and the sync protocol: each hands its arguments to
a different part of the server (validators, index ranges, filters, pagination, writes,
error data). Nothing here loops, sleeps or touches the file system."""

from syncline import ConvexError, action, mutation, query, v
from syncline.schema.validators import pagination_opts_validator


@query
async def ping(ctx):
    return "pong"


@query
async def echo(ctx, **args):
    """No validator: the arguments are only normalized."""
    return args


@query(args={
    "s": v.optional(v.string()), "n": v.optional(v.number()), "i": v.optional(v.int64()),
    "b": v.optional(v.bytes()), "flag": v.optional(v.boolean()), "nothing": v.optional(v.null()),
    "id": v.optional(v.id("things")), "kind": v.optional(v.union(v.literal("a"), v.literal(1))),
    "list": v.optional(v.array(v.union(v.string(), v.number()))),
    "map": v.optional(v.record(v.string(), v.any())),
    "obj": v.optional(v.object({"x": v.number(), "y": v.optional(v.string())})),
    "anything": v.optional(v.any()),
})
async def typed(ctx, **args):
    return args


@query(args={"value": v.any()})
async def lookup(ctx, value):
    """The value becomes an index range bound and a filter operand."""
    by_index = await ctx.db.query("things").with_index(
        "by_value", lambda q: q.eq("value", value)).take(3)
    below = await ctx.db.query("things").filter(lambda q: q.lt(q.field("value"), value)).take(3)
    return [len(by_index), len(below)]


@query(args={"id": v.string()})
async def get(ctx, id):
    """An arbitrary string as a document id."""
    normalized = ctx.db.normalize_id("things", id)
    return None if normalized is None else await ctx.db.get(normalized)


@query(args={"paginationOpts": pagination_opts_validator})
async def page(ctx, paginationOpts):
    result = await ctx.db.query("things").paginate(paginationOpts)
    return len(result["page"])


@mutation(args={"value": v.any()})
async def store(ctx, value):
    """Stored and deleted again, so the table stays small."""
    thing = await ctx.db.insert("things", {"value": value})
    await ctx.db.delete(thing)
    return thing


@mutation
async def store_doc(ctx, doc=None):
    """An arbitrary document into a table without a validator: the document checks."""
    return await ctx.db.insert("free", doc)


@mutation
async def fail(ctx, data=None):
    raise ConvexError(data)


@action
async def echo_action(ctx, **args):
    return await ctx.run_query("fuzz:echo", args)


@mutation
async def noop(ctx):
    return "ok"


@mutation
async def fail_nested(ctx, depth=300.0):
    """ConvexError data nested past the value limits (16 levels): built by the function,
    so no argument check stops it."""
    data = None
    for _ in range(int(depth)):
        data = [data]
    raise ConvexError(data)
