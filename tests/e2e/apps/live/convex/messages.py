from syncline import ConvexError, action, api, mutation, pagination_opts_validator, query, v


def _in(channel):
    return lambda q: q.eq("channel", channel)


@query(args={"channel": v.string()})
async def list(ctx, channel):
    """Every message of a channel, oldest first."""
    return await ctx.db.query("messages").with_index("by_channel", _in(channel)).collect()


@query(args={"channel": v.string()})
async def count(ctx, channel):
    return len(await ctx.db.query("messages").with_index("by_channel", _in(channel)).collect())


@query(args={"channel": v.string(), "paginationOpts": pagination_opts_validator})
async def page(ctx, channel, paginationOpts):
    """Messages of a channel in `rank` order, one page at a time."""
    return await (ctx.db.query("messages").with_index("by_channel_rank", _in(channel))
                  .order("asc").paginate(paginationOpts))


@mutation(args={"channel": v.string(), "author": v.string(), "body": v.string(),
                "rank": v.optional(v.float64())})
async def send(ctx, channel, author, body, rank=0.0):
    return await ctx.db.insert(
        "messages", {"channel": channel, "author": author, "body": body, "rank": rank})


@mutation(args={"channel": v.string(), "author": v.string(), "ranks": v.array(v.float64())})
async def send_many(ctx, channel, author, ranks):
    """Several messages in one transaction (one commit, so one subscription update)."""
    return [await ctx.db.insert("messages", {"channel": channel, "author": author,
                                             "body": f"{author} {i}", "rank": rank})
            for i, rank in enumerate(ranks)]


@mutation(args={"channel": v.string()})
async def fail_after_write(ctx, channel):
    await ctx.db.insert("messages", {"channel": channel, "author": "ghost",
                                     "body": "never committed", "rank": 0.0})
    raise ValueError("exploded after writing")


@mutation(args={"code": v.optional(v.string())})
async def application_error(ctx, code="NOPE"):
    raise ConvexError({"code": code, "n": 1})


@query
async def query_error(ctx):
    raise ConvexError("plain string data")


@action(args={"channel": v.string(), "body": v.string()})
async def send_via_action(ctx, channel, body):
    await ctx.run_mutation(api.messages.send,
                           {"channel": channel, "author": "action", "body": body})
    return len(await ctx.run_query(api.messages.list, {"channel": channel}))


@action
async def action_error(ctx):
    raise ConvexError({"from": "action"})
