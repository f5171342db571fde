from syncline import ConvexError, internal_mutation, mutation, query, v


@mutation(args={"author": v.string(), "body": v.string()})
async def send(ctx, author, body):
    if not body.strip():
        raise ConvexError({"code": "EMPTY"})
    return await ctx.db.insert("messages", {"author": author, "body": body})


@query
async def list(ctx):
    return [{"author": m["author"], "body": m["body"]}
            for m in await ctx.db.query("messages").collect()]


@internal_mutation
async def clear(ctx):
    for m in await ctx.db.query("messages").collect():
        await ctx.db.delete(m["_id"])


@query
async def crash(ctx):
    raise RuntimeError("boom")
