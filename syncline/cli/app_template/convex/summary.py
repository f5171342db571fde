"""An action: it may call out to the network, and reaches the database through run_*."""

from syncline import action, api


@action(args={})
async def report(ctx):
    tasks = await ctx.run_query(api.tasks.list, {})
    done = sum(1 for task in tasks if task["is_completed"])
    return f"{done} of {len(tasks)} tasks done"
