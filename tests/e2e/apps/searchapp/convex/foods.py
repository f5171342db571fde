from syncline import action, internal, internal_query, mutation


@mutation
async def add(ctx, name: str, cuisine: str, embedding: list):
    return await ctx.db.insert("foods", {"name": name, "cuisine": cuisine,
                                         "embedding": embedding})


@internal_query
async def names(ctx, ids: list):
    return [(await ctx.db.get(i))["name"] for i in ids]


@action
async def similar(ctx, vector: list, cuisines: list | None = None, limit: int = 10):
    options = {"vector": vector, "limit": limit}
    if cuisines:
        options["filter"] = lambda q: q.or_(*(q.eq("cuisine", c) for c in cuisines))
    results = await ctx.vector_search("foods", "by_embedding", options)
    names = await ctx.run_query(internal.foods.names, {"ids": [r["_id"] for r in results]})
    return [{"name": n, "score": r["_score"]} for n, r in zip(names, results, strict=True)]
