from syncline import query


@query
async def list(ctx):
    return ["ada", "grace"]
