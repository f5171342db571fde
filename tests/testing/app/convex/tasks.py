from syncline import ConvexError, mutation, query, v


async def _me(ctx):
    identity = await ctx.auth.get_user_identity()
    if identity is None:
        raise ConvexError({"code": "UNAUTHENTICATED"})
    return identity


@mutation(args={"text": v.string()})
async def create(ctx, text):
    me = await _me(ctx)
    return await ctx.db.insert("tasks", {"text": text, "owner": me.token_identifier,
                                         "done": False})


@query
async def mine(ctx):
    me = await _me(ctx)
    tasks = await ctx.db.query("tasks").with_index(
        "by_owner", lambda q: q.eq("owner", me.token_identifier)).collect()
    return [t["text"] for t in tasks]


@query
async def whoami(ctx):
    identity = await ctx.auth.get_user_identity()
    return None if identity is None else dict(identity)
