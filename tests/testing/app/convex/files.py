from syncline import action, query


@action
async def save(ctx, text: str):
    return await ctx.storage.store(text.encode(), content_type="text/plain")


@query
async def url(ctx, storage_id: str):
    return await ctx.storage.get_url(storage_id)
