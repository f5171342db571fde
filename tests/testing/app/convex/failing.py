"""Scheduled functions that fail: the harness reports them (tests/testing/test_harness_start_and_failures.py)."""

from syncline import internal, internal_action, internal_mutation, mutation


@mutation
async def schedule(ctx, delay_ms: float, kind: str):
    target = internal.failing.mutation_boom if kind == "mutation" else internal.failing.action_boom
    return await ctx.scheduler.run_after(delay_ms, target, {"why": "on purpose"})


@internal_mutation
async def mutation_boom(ctx, why: str):
    raise RuntimeError(f"mutation boom {why}")


@internal_action
async def action_boom(ctx, why: str):
    raise ValueError(f"action boom {why}")
