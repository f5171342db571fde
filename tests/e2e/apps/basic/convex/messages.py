import contextlib

from syncline import ConvexError, action, api, internal, internal_mutation, mutation, query, v

from .helpers import shout


@query(args={})
async def list(ctx):
    print("listing messages")
    return await ctx.db.query("messages").order("desc").take(50)


@mutation(args={"author": v.string(), "body": v.string()})
async def send(ctx, author, body):
    return await ctx.db.insert("messages", {"author": author, "body": shout(body)})


@mutation
async def fail_after_write(ctx):
    await ctx.db.insert("messages", {"author": "ghost", "body": "never committed"})
    raise ValueError("exploded after writing")


@mutation
async def application_error(ctx, code="NOPE"):
    raise ConvexError({"code": code, "n": 1})


@mutation
async def nested(ctx):
    """A failing sub-mutation rolls back only its own writes."""
    await ctx.db.insert("messages", {"author": "outer", "body": "kept"})
    with contextlib.suppress(ValueError):
        await ctx.run_mutation(api.messages.fail_after_write, {})
    return len(await ctx.run_query(api.messages.list, {}))


@internal_mutation(args={"body": v.string()})
async def internal_send(ctx, body):
    return await ctx.db.insert("messages", {"author": "internal", "body": body})


@action(args={"body": v.string()})
async def send_via_action(ctx, body):
    await ctx.run_mutation(internal.messages.internal_send, {"body": body})
    return len(await ctx.run_query(api.messages.list, {}))


@action
async def relay_error(ctx):
    """A ConvexError crosses run_mutation with its data."""
    try:
        await ctx.run_mutation(api.messages.application_error, {"code": "FROM_ACTION"})
    except ConvexError as e:
        raise ConvexError({"relayed": e.data}) from None


@query
async def insert_in_query(ctx):
    await ctx.db.insert("messages", {"author": "q", "body": "nope"})


@mutation
async def forgot_await(ctx):
    ctx.db.insert("messages", {"author": "lazy", "body": "never awaited"})
