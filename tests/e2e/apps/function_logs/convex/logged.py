from syncline import action, api, mutation, query, v


@query(args={"text": v.string()})
async def say(ctx, text):
    print(f"said {text}")
    return text


@mutation(args={"text": v.string()})
async def note(ctx, text):
    print(f"noted {text}")
    return None


@action(args={"text": v.string()})
async def shout(ctx, text):
    print(f"shouted {text}")
    return await ctx.run_query(api.logged.say, {"text": text})


@mutation
async def fail(ctx):
    raise ValueError("broken on purpose")
