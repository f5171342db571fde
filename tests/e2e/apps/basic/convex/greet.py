from syncline import query


@query
async def default(ctx, name="world"):
    """Callable as "greet" or "greet:default"."""
    return f"hello {name}"
