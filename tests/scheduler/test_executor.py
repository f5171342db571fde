"""The executor with a fake clock: due jobs run once, in their transactions, never early."""

from __future__ import annotations

import pytest

from syncline.functions import FunctionRunner, load_app
from syncline.scheduler import FakeClock, Scheduler

START = 1_800_000_000_000.0

APP = '''
from syncline import action, api, internal_mutation, mutation, query, v

@internal_mutation
async def bump(ctx, name="c"):
    row = await ctx.db.query("counters").filter(lambda q: q.eq(q.field("name"), name)).first()
    if row is None:
        await ctx.db.insert("counters", {"name": name, "n": 1})
    else:
        await ctx.db.patch(row["_id"], {"n": row["n"] + 1})

@internal_mutation
async def boom(ctx):
    await ctx.db.insert("counters", {"name": "never", "n": 1})
    raise ValueError("scheduled failure")

@mutation
async def later(ctx, delay, name="c"):
    return await ctx.scheduler.run_after(delay, api.jobs.bump, {"name": name})

@mutation
async def many(ctx, count):
    for _ in range(int(count)):
        await ctx.scheduler.run_after(0, api.jobs.bump, {"name": "many"})

@mutation
async def schedule(ctx, path, delay=0):
    return await ctx.scheduler.run_after(delay, path, {})

@mutation
async def cancel(ctx, id):
    await ctx.scheduler.cancel(id)

@action
async def act(ctx):
    await ctx.run_mutation(api.jobs.bump, {"name": "act"})
    return "done"

@action
async def spawner(ctx):
    import asyncio
    await ctx.scheduler.run_after(1000, api.jobs.bump, {"name": "child"})
    await asyncio.sleep(0.2)
    await ctx.scheduler.run_after(1000, api.jobs.bump, {"name": "child"})

@internal_mutation
async def whoami(ctx):
    identity = await ctx.auth.get_user_identity()
    await ctx.db.insert("counters", {"name": "identity", "n": 0 if identity is None else 1})

@mutation
async def schedule_whoami(ctx):
    await ctx.scheduler.run_after(0, api.jobs.whoami, {})

@query
async def count(ctx, name="c"):
    row = await ctx.db.query("counters").filter(lambda q: q.eq(q.field("name"), name)).first()
    return 0 if row is None else row["n"]

@query
async def job(ctx, id):
    return await ctx.db.system.get(id)
'''


@pytest.fixture
async def env(tmp_path, db):
    (tmp_path / "convex").mkdir()
    (tmp_path / "convex" / "jobs.py").write_text(APP)
    app = load_app(tmp_path)
    runner = FunctionRunner(db, app)
    clock = FakeClock(START)
    scheduler = Scheduler(runner, db, clock)
    scheduler.start()
    yield runner, clock, scheduler
    await scheduler.stop()
    runner.close()
    app.unload()


async def value(runner, path, args=None):
    outcome = await runner.run(path, args or {}, admin=True)
    assert outcome.ok, outcome.failure
    return outcome.value


async def test_a_job_runs_when_due_and_not_before(env):
    runner, clock, scheduler = env
    job = await value(runner, "jobs:later", {"delay": 5000})
    await scheduler.idle()
    clock.advance(4999)
    await scheduler.idle()
    assert await value(runner, "jobs:count") == 0
    assert (await value(runner, "jobs:job", {"id": job}))["state"] == {"kind": "pending"}
    clock.advance(1)
    await scheduler.idle()
    assert await value(runner, "jobs:count") == 1
    done = await value(runner, "jobs:job", {"id": job})
    assert done["state"] == {"kind": "success"} and done["completedTime"] >= START + 5000


async def test_a_thousand_jobs_due_at_once_each_run_exactly_once(env):
    runner, clock, scheduler = env
    await value(runner, "jobs:many", {"count": 1000})
    clock.advance(1)
    await scheduler.idle()
    assert await value(runner, "jobs:count", {"name": "many"}) == 1000
    assert scheduler.executed == 1000


async def test_a_canceled_job_never_runs(env):
    runner, clock, scheduler = env
    job = await value(runner, "jobs:later", {"delay": 1000})
    await value(runner, "jobs:cancel", {"id": job})
    clock.advance(2000)
    await scheduler.idle()
    assert await value(runner, "jobs:count") == 0
    assert (await value(runner, "jobs:job", {"id": job}))["state"] == {"kind": "canceled"}


async def test_a_failing_mutation_job_is_marked_failed_and_writes_nothing(env):
    runner, clock, scheduler = env
    job = await value(runner, "jobs:schedule", {"path": "jobs:boom"})
    clock.advance(1)
    await scheduler.idle()
    state = (await value(runner, "jobs:job", {"id": job}))["state"]
    assert state["kind"] == "failed" and "scheduled failure" in state["error"]
    assert await value(runner, "jobs:count", {"name": "never"}) == 0


async def test_an_action_job_goes_through_in_progress_to_success(env):
    runner, clock, scheduler = env
    job = await value(runner, "jobs:schedule", {"path": "jobs:act"})
    clock.advance(1)
    await scheduler.idle()
    assert (await value(runner, "jobs:job", {"id": job}))["state"] == {"kind": "success"}
    assert await value(runner, "jobs:count", {"name": "act"}) == 1


async def test_canceling_a_running_action_stops_what_it_schedules(env):
    import asyncio

    runner, clock, scheduler = env
    job = await value(runner, "jobs:schedule", {"path": "jobs:spawner"})
    clock.advance(1)
    while (await value(runner, "jobs:job", {"id": job}))["state"]["kind"] != "inProgress":
        await asyncio.sleep(0.005)
    await value(runner, "jobs:cancel", {"id": job})  # while it runs
    await scheduler.idle()
    clock.advance(2000)
    await scheduler.idle()
    assert (await value(runner, "jobs:job", {"id": job}))["state"] == {"kind": "canceled"}
    assert await value(runner, "jobs:count", {"name": "child"}) == 0


async def test_unknown_functions_and_queries_fail_clearly(env):
    from syncline.functions.scheduling import SCHEDULED_FUNCTIONS, job_document

    runner, clock, scheduler = env
    # Scheduling them fails at the call (tests/functions/test_scheduling_targets.py); a job
    # recorded before a push removed its function, or changed its kind, fails when it runs.
    missing_job = job_document("jobs:nope", {}, START)
    query_job = job_document("jobs:count", {}, START)

    async def record(tx):
        return (await tx.insert(SCHEDULED_FUNCTIONS, missing_job, system=True),
                await tx.insert(SCHEDULED_FUNCTIONS, query_job, system=True))

    missing, query = await runner.db.run_transaction(record)
    clock.advance(1)
    await scheduler.idle()
    assert "Could not find" in (await value(runner, "jobs:job", {"id": missing}))["state"]["error"]
    assert "is a query" in (await value(runner, "jobs:job", {"id": query}))["state"]["error"]


async def test_jobs_survive_a_restart_and_interrupted_actions_are_not_rerun(tmp_path):
    from syncline.database import Database

    (tmp_path / "app" / "convex").mkdir(parents=True)
    (tmp_path / "app" / "convex" / "jobs.py").write_text(APP)
    path = tmp_path / "db.sqlite3"
    app = load_app(tmp_path / "app")
    with Database(path, durability="normal") as db:
        runner = FunctionRunner(db, app)
        pending = await value(runner, "jobs:later", {"delay": 10})
        running = await value(runner, "jobs:schedule", {"path": "jobs:act"})

        async def interrupt(tx):  # as if the process died mid-action
            await tx.patch(running, {"state": {"kind": "inProgress"}}, system=True)

        await db.run_transaction(interrupt)
        runner.close()
    with Database(path, durability="normal") as db:
        runner = FunctionRunner(db, app)
        clock = FakeClock(START * 2)
        scheduler = Scheduler(runner, db, clock)
        scheduler.start()
        await scheduler.idle()
        await scheduler.idle()
        assert await value(runner, "jobs:count") == 1  # the pending mutation ran
        assert await value(runner, "jobs:count", {"name": "act"}) == 0  # not re-run
        state = (await value(runner, "jobs:job", {"id": running}))["state"]
        assert state["kind"] == "failed" and "at most once" in state["error"]
        assert (await value(runner, "jobs:job", {"id": pending}))["state"]["kind"] == "success"
        await scheduler.stop()
        runner.close()
    app.unload()


async def test_scheduled_functions_run_without_the_schedulers_identity(env):
    from syncline.functions import UserIdentity

    runner, clock, scheduler = env
    user = UserIdentity({"issuer": "https://issuer", "subject": "ada"})
    assert (await runner.run("jobs:schedule_whoami", {}, identity=user)).ok
    clock.advance(1)
    await scheduler.idle()
    assert await value(runner, "jobs:count", {"name": "identity"}) == 0


async def test_finished_jobs_are_deleted_after_seven_days(env):
    runner, clock, scheduler = env
    job = await value(runner, "jobs:later", {"delay": 0})
    clock.advance(1)
    await scheduler.idle()
    assert (await value(runner, "jobs:job", {"id": job}))["state"] == {"kind": "success"}
    pending = await value(runner, "jobs:later", {"delay": 30 * 24 * 3600 * 1000})
    clock.advance(6 * 24 * 3600 * 1000)
    await scheduler.idle()
    assert await value(runner, "jobs:job", {"id": job}) is not None  # 6 days: kept
    clock.advance(2 * 24 * 3600 * 1000)
    for _ in range(50):
        await scheduler.idle()
        if await value(runner, "jobs:job", {"id": job}) is None:
            break
    assert await value(runner, "jobs:job", {"id": job}) is None  # 8 days: gone
    assert (await value(runner, "jobs:job", {"id": pending}))["state"] == {"kind": "pending"}
