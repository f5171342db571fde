from syncline import Int64, query, v


@query(args={"value": v.int64()})
async def double(ctx, value):
    """int64 in, int64 out (wrapping is not needed for the values the tests use)."""
    return Int64(value * 2)


@query
async def big(ctx):
    return {"max": Int64(2**63 - 1), "min": Int64(-(2**63)), "float": 1.5}


@query
async def echo(ctx, value=None):
    return value
