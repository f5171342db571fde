"""ctx.scheduler records jobs in _scheduled_functions: with the mutation, or at once from actions."""

import pytest

from syncline.functions import FunctionRunner, load_app

APP = '''
import datetime
from syncline import action, api, internal_mutation, mutation, query

@internal_mutation
async def job(ctx, n=0):
    return n

@mutation
async def schedule(ctx, n=1):
    return await ctx.scheduler.run_after(5000, api.sched.job, {"n": n})

@mutation
async def schedule_then_fail(ctx):
    await ctx.scheduler.run_after(0, api.sched.job, {})
    raise ValueError("no")

@mutation
async def schedule_at(ctx):
    when = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    return await ctx.scheduler.run_at(when, "sched:job", {})

@mutation
async def too_many(ctx):
    for _ in range(1001):
        await ctx.scheduler.run_after(0, api.sched.job, {})

@mutation
async def forgot(ctx):
    ctx.scheduler.run_after(0, api.sched.job, {})

@mutation
async def cancel(ctx, id):
    await ctx.scheduler.cancel(id)

@action
async def from_action(ctx):
    job = await ctx.scheduler.run_after(0, api.sched.job, {"n": 7})
    raise ValueError("the action fails, the job stays")

@query
async def jobs(ctx):
    return await ctx.db.system.query("_scheduled_functions").collect()
'''


@pytest.fixture
async def runner(tmp_path, db):
    (tmp_path / "convex").mkdir()
    (tmp_path / "convex" / "sched.py").write_text(APP)
    app = load_app(tmp_path)
    runner = FunctionRunner(db, app)
    yield runner
    runner.close()
    app.unload()


async def jobs(runner):
    return (await runner.run("sched:jobs", {})).value


async def test_a_scheduled_job_is_recorded_with_the_mutation(runner):
    outcome = await runner.run("sched:schedule", {"n": 3})
    assert outcome.ok, outcome.failure
    (job,) = await jobs(runner)
    assert job["_id"] == outcome.value
    assert job["name"] == "sched:job" and job["args"] == [{"n": 3.0}]
    assert job["state"] == {"kind": "pending"}
    # Scheduled 5 s after the execution's (frozen) start.
    assert abs(job["scheduledTime"] - (job["_creationTime"] + 5000)) < 1000


async def test_a_mutation_that_schedules_then_raises_leaves_no_job(runner):
    outcome = await runner.run("sched:schedule_then_fail", {})
    assert "no" in outcome.failure.message
    assert await jobs(runner) == []


async def test_run_at_a_datetime(runner):
    await runner.run("sched:schedule_at", {})
    (job,) = await jobs(runner)
    assert job["scheduledTime"] == 1893456000000.0


async def test_limits_and_forgotten_awaits(runner):
    too_many = await runner.run("sched:too_many", {})
    assert "limit: 1000" in too_many.failure.message
    forgot = await runner.run("sched:forgot", {})
    assert "never awaited" in forgot.failure.message
    assert await jobs(runner) == []


async def test_cancel_marks_a_pending_job_canceled(runner):
    job = (await runner.run("sched:schedule", {})).value
    assert (await runner.run("sched:cancel", {"id": job})).ok
    (doc,) = await jobs(runner)
    assert doc["state"] == {"kind": "canceled"} and "completedTime" in doc
    bad = await runner.run("sched:cancel", {"id": "nope"})
    assert "not the ID of a scheduled function" in bad.failure.message


async def test_scheduling_from_an_action_takes_effect_at_once(runner):
    outcome = await runner.run("sched:from_action", {})
    assert "the action fails" in outcome.failure.message
    (job,) = await jobs(runner)
    assert job["args"] == [{"n": 7.0}]
