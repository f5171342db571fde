from syncline import mutation, query


@mutation
async def send(ctx, body: str, channel: str):
    return await ctx.db.insert("messages", {"body": body, "channel": channel})


@mutation
async def edit(ctx, id: str, body: str):
    await ctx.db.patch(id, {"body": body})


@query
async def search(ctx, text: str, channel: str | None = None):
    def expression(q):
        q = q.search("body", text)
        return q if channel is None else q.eq("channel", channel)

    found = await ctx.db.query("messages").with_search_index("search_body", expression).take(10)
    return [m["body"] for m in found]
