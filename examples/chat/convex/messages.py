"""Messages: the newest 50 per channel, sent by name or through an action."""

from syncline import ConvexError, action, api, mutation, query, v


@query(args={"channel": v.id("channels")})
async def list(ctx, channel):
    return await (ctx.db.query("messages")
                  .with_index("by_channel", lambda q: q.eq("channel", channel))
                  .order("desc")
                  .take(50))


@mutation(args={"channel": v.string(), "author": v.string(), "body": v.string()})
async def send(ctx, channel, author, body):
    """Post to a channel by name, creating the channel if needed (one transaction)."""
    if not body.strip():
        raise ConvexError({"code": "EMPTY", "message": "Say something"})
    channel_id = await ctx.run_mutation(api.channels.create, {"name": channel})
    print(f"{author} in #{channel}: {body}")
    return await ctx.db.insert("messages",
                               {"channel": channel_id, "author": author, "body": body})


@query(args={"channel": v.string()})
async def by_channel_name(ctx, channel):
    found = await (ctx.db.query("channels")
                   .with_index("by_name", lambda q: q.eq("name", channel.lower()))
                   .unique())
    if found is None:
        return []
    return await ctx.run_query(api.messages.list, {"channel": found["_id"]})


@action(args={"channel": v.string(), "count": v.float64()})
async def post_many(ctx, channel, count):
    """An action: runs outside any transaction and calls mutations one by one."""
    for i in range(int(count)):
        await ctx.run_mutation(api.messages.send,
                               {"channel": channel, "author": "bot", "body": f"message {i}"})
    return len(await ctx.run_query(api.messages.by_channel_name, {"channel": channel}))
