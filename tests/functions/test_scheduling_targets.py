"""Scheduling a function that does not exist, or a query, fails at the `run_after` / `run_at`
call with Convex's message, in mutations and in actions, and records no job."""

from __future__ import annotations

import pytest

from syncline.functions import FunctionRunner, load_app

APP = '''
from syncline import action, api, internal_mutation, mutation, query

@internal_mutation
async def job(ctx):
    return None

@query
async def read(ctx):
    return 1

@mutation
async def schedule(ctx, path, at=False):
    if at:
        return await ctx.scheduler.run_at(0, path, {})
    return await ctx.scheduler.run_after(0, path, {})

@mutation
async def schedule_and_catch(ctx, path):
    try:
        await ctx.scheduler.run_after(0, path, {})
    except Exception as e:
        return str(e)
    return "scheduled"

@action
async def schedule_from_action(ctx, path):
    return await ctx.scheduler.run_after(0, path, {})

@query
async def jobs(ctx):
    return await ctx.db.system.query("_scheduled_functions").collect()
'''

MISSING_MODULE = "Attempted to schedule function at nonexistent path: nothere.py"
MISSING_FUNCTION = ("Attempted to schedule function, but no exported function nope found in "
                    "the file: sched.py. Did you forget to export it?")


@pytest.fixture
async def runner(tmp_path, db):
    (tmp_path / "convex").mkdir()
    (tmp_path / "convex" / "sched.py").write_text(APP)
    app = load_app(tmp_path)
    runner = FunctionRunner(db, app)
    yield runner
    runner.close()
    app.unload()


async def failure(runner, path, args):
    outcome = await runner.run(path, args, admin=True)
    assert not outcome.ok, outcome.value
    return outcome.failure.message


@pytest.mark.parametrize("caller", ["sched:schedule", "sched:schedule_from_action"])
async def test_a_nonexistent_module_or_function_fails_at_the_call(runner, caller):
    assert MISSING_MODULE in await failure(runner, caller, {"path": "nothere:job"})
    assert MISSING_FUNCTION in await failure(runner, caller, {"path": "sched:nope"})
    assert (await runner.run("sched:jobs", {})).value == []


async def test_run_at_checks_the_target_too(runner):
    message = await failure(runner, "sched:schedule", {"path": "sched:nope", "at": True})
    assert MISSING_FUNCTION in message


@pytest.mark.parametrize("caller", ["sched:schedule", "sched:schedule_from_action"])
async def test_scheduling_a_query_fails_at_the_call(runner, caller):
    message = await failure(runner, caller, {"path": "sched:read"})
    assert "it is a query: only mutations and actions can be scheduled" in message
    assert (await runner.run("sched:jobs", {})).value == []


async def test_the_error_is_raised_where_the_function_can_catch_it(runner):
    outcome = await runner.run("sched:schedule_and_catch", {"path": "sched:nope"})
    assert outcome.value == MISSING_FUNCTION


async def test_mutations_and_actions_still_schedule(runner):
    assert (await runner.run("sched:schedule", {"path": "sched:job"})).ok
    assert (await runner.run("sched:schedule_from_action", {"path": "sched:job"})).ok
    assert len((await runner.run("sched:jobs", {})).value) == 2
