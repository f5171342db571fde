"""Cron jobs from convex/crons.py, driven by a fake clock through a real deployment."""

from __future__ import annotations

import asyncio

import pytest

from syncline.functions import PushError
from syncline.scheduler import FakeClock
from syncline.server.deployment import Deployment

# 2030-01-01T00:00:00Z
START = 1_893_456_000_000.0

JOBS = '''
import time
from syncline import action, api, internal_action, internal_mutation, query

@internal_mutation
async def tick(ctx, name):
    row = await ctx.db.query("ticks").filter(lambda q: q.eq(q.field("name"), name)).first()
    if row is None:
        await ctx.db.insert("ticks", {"name": name, "n": 1, "at": [time.time() * 1000]})
    else:
        await ctx.db.patch(row["_id"], {"n": row["n"] + 1, "at": row["at"] + [time.time() * 1000]})

@internal_action
async def slow(ctx):
    import asyncio
    await asyncio.sleep(0.3)
    await ctx.run_mutation(api.jobs.tick, {"name": "slow"})

@query
async def ticks(ctx, name):
    row = await ctx.db.query("ticks").filter(lambda q: q.eq(q.field("name"), name)).first()
    return None if row is None else row
'''

CRONS = '''
from syncline import Crons, internal

crons = Crons()
crons.interval("every ten seconds", internal.jobs.tick, {"name": "interval"}, seconds=10)
crons.cron("top of the hour", "0 * * * *", internal.jobs.tick, {"name": "hourly"})
crons.daily("daily at 17:30", internal.jobs.tick, {"name": "daily"}, hour_utc=17, minute_utc=30)
'''


@pytest.fixture
async def deployment(tmp_path):
    app = tmp_path / "app" / "convex"
    app.mkdir(parents=True)
    (app / "jobs.py").write_text(JOBS)
    (app / "crons.py").write_text(CRONS)
    clock = FakeClock(START)
    deployment = Deployment(tmp_path / "app", data_dir=tmp_path / "data", clock=clock,
                            durability="normal")
    await deployment.push()
    deployment.scheduler.start()
    deployment.crons.start()
    yield deployment, clock
    await deployment.crons.stop()
    await deployment.scheduler.stop()
    deployment.close()


async def settle(deployment):
    for _ in range(3):
        await deployment.crons.idle()
        await deployment.scheduler.idle()


async def ticks(deployment, name):
    outcome = await deployment.runner.run("jobs:ticks", {"name": name})
    return outcome.value


async def test_interval_and_cron_schedules_fire_in_utc(deployment):
    deployment, clock = deployment
    await settle(deployment)
    assert (await ticks(deployment, "interval"))["n"] == 1  # first run at deploy time
    for _ in range(6):
        clock.advance(10_000)
        await settle(deployment)
    assert (await ticks(deployment, "interval"))["n"] == 7
    assert await ticks(deployment, "hourly") is None
    clock.set(START + 3_600_000)  # 01:00 UTC
    await settle(deployment)
    hourly = await ticks(deployment, "hourly")
    assert hourly["n"] == 1 and hourly["at"] == [START + 3_600_000]
    clock.set(START + (17 * 60 + 30) * 60_000)  # 17:30 UTC
    await settle(deployment)
    daily = await ticks(deployment, "daily")
    assert daily["n"] == 1 and daily["at"] == [START + (17 * 60 + 30) * 60_000]
    # The hours in between were missed in one jump: they are skipped, not run late.
    assert (await ticks(deployment, "hourly"))["n"] == 2


async def test_a_push_replaces_the_cron_set(deployment):
    deployment, clock = deployment
    (deployment.app_dir / "convex" / "crons.py").write_text(
        "from syncline import Crons, internal\ncrons = Crons()\n"
        "crons.interval('other', internal.jobs.tick, {'name': 'other'}, minutes=1)\n")
    await deployment.push()
    assert deployment.crons.job_names == ["other"]
    await settle(deployment)  # its first run, at push time
    clock.advance(60_000)
    await settle(deployment)
    assert (await ticks(deployment, "other"))["n"] == 2


async def test_a_job_rewritten_in_other_units_keeps_its_runs_and_shows_the_new_form(deployment):
    deployment, clock = deployment
    await settle(deployment)
    before = {job.name: next_ms for job, next_ms in deployment.crons.upcoming()}
    (deployment.app_dir / "convex" / "crons.py").write_text(CRONS.replace(
        "seconds=10", "minutes=1").replace("0 * * * *", "0  *  * * *"))
    await deployment.push()  # a different interval: a new job
    (deployment.app_dir / "convex" / "crons.py").write_text(CRONS.replace(
        "seconds=10", "seconds=60"))
    await deployment.push()  # the same job as minutes=1, written differently
    jobs = {job.name: (job.schedule.written(), next_ms)
            for job, next_ms in deployment.crons.upcoming()}
    assert jobs["every ten seconds"][0] == "interval(seconds=60)"
    assert jobs["top of the hour"] == ('cron("0 * * * *")', before["top of the hour"])


async def test_one_run_at_a_time(deployment):
    deployment, clock = deployment
    (deployment.app_dir / "convex" / "crons.py").write_text(
        "from syncline import Crons, internal\ncrons = Crons()\n"
        "crons.interval('slow', internal.jobs.slow, {}, seconds=1)\n")
    await deployment.push()
    await deployment.crons.idle()

    async def states(tx):
        jobs = await tx.query("_scheduled_functions", system=True).collect()
        return [j["state"]["kind"] for j in jobs if j.get("cron") == "slow"]

    while await deployment.db.read(states) != ["inProgress"]:  # the first run (0.3 s) started
        await asyncio.sleep(0.005)
    clock.advance(1000)  # the next run falls due while the first still runs
    await settle(deployment)
    assert [name for name, _ in deployment.crons.skipped] == ["slow"]


async def test_bad_crons_are_refused_at_push(deployment):
    deployment, _ = deployment
    crons = deployment.app_dir / "convex" / "crons.py"
    for text, message in [
        ("crons = 5\n", r"must define `crons = Crons\(\)`"),
        ("from syncline import Crons, api\ncrons = Crons()\n"
         "crons.interval('x', api.jobs.nope, {}, seconds=5)\n", "does not exist"),
        ("from syncline import Crons, api\ncrons = Crons()\n"
         "crons.interval('x', api.jobs.ticks, {}, seconds=5)\n", "a query"),
    ]:
        crons.write_text(text)
        with pytest.raises(PushError, match=message):
            await deployment.push()
    assert len(deployment.crons.job_names) == 3  # the last good set stays
