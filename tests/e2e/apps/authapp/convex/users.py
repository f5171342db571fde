from syncline import (
    ConvexError,
    action,
    internal,
    internal_mutation,
    internal_query,
    mutation,
    query,
)


def _public(identity):
    return None if identity is None else dict(identity)


@query
async def me(ctx):
    """The caller's identity, as functions see it."""
    return _public(await ctx.auth.get_user_identity())


@query
async def everyone_count(ctx):
    """Reads no auth: one cached result serves every user."""
    return len(await ctx.db.query("notes").collect())


@query
async def my_notes(ctx):
    identity = await ctx.auth.get_user_identity()
    if identity is None:
        raise ConvexError({"code": "UNAUTHENTICATED"})
    notes = await ctx.db.query("notes").with_index(
        "by_owner", lambda q: q.eq("owner", identity.token_identifier)).collect()
    return [n["body"] for n in notes]


@mutation
async def add_note(ctx, body: str):
    identity = await ctx.auth.get_user_identity()
    if identity is None:
        raise ConvexError({"code": "UNAUTHENTICATED"})
    await ctx.db.insert("notes", {"owner": identity.token_identifier, "body": body})
    await ctx.scheduler.run_after(0, internal.users.record_scheduled, {})


@internal_mutation
async def record_scheduled(ctx):
    """Scheduled functions run without the scheduler's identity."""
    identity = await ctx.auth.get_user_identity()
    await ctx.db.insert("seen", {"who": None if identity is None else identity.subject,
                                 "where": "scheduled"})


@query
async def seen(ctx):
    return [{"who": s["who"], "where": s["where"]} for s in await ctx.db.query("seen").collect()]


@action
async def me_via_action(ctx):
    """Identity reaches queries an action runs."""
    own = await ctx.auth.get_user_identity()
    nested = await ctx.run_query(internal.users.secret_me, {})
    return {"action": _public(own), "query": nested}


@internal_query
async def secret_me(ctx):
    return _public(await ctx.auth.get_user_identity())
