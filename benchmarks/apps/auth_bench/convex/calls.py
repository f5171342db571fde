from syncline import query


@query
async def ping(ctx):
    """Reads nothing: the cost of a call itself."""
    return 1


@query
async def whoami(ctx):
    """Reads the identity (so its result is per user)."""
    identity = await ctx.auth.get_user_identity()
    return "anonymous" if identity is None else identity.subject
