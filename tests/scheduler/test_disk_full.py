"""Scheduled functions due while the disk is full (a real tmpfs filled to the last block):
they are not marked failed, since nothing of them ran or was written; they run, exactly
once, as soon as there is room."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from syncline.database import Database
from syncline.functions import FunctionRunner, load_app
from syncline.scheduler import FakeClock, Scheduler
from syncline.scheduler.executor import DISK_FULL_RETRY_MS
from tests.small_disk import fill, free, small_tmpfs

START = 1_800_000_000_000.0

APP = '''
import os
from syncline import action, api, internal_mutation, mutation, query

@internal_mutation
async def big(ctx, name):
    # More than the full disk can take, whatever room SQLite's log file has left.
    await ctx.db.insert("rows", {"name": name, "blob": os.urandom(300_000).hex()})

@action
async def act(ctx):
    await ctx.run_mutation(api.jobs.big, {"name": "from action"})

@mutation
async def schedule(ctx, path, args):
    return await ctx.scheduler.run_after(1000, path, args)

@query
async def names(ctx):
    return sorted(r["name"] for r in await ctx.db.query("rows").collect())

@query
async def job(ctx, id):
    return await ctx.db.system.get(id)
'''


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[Any, ...]]:
    (tmp_path / "app" / "convex").mkdir(parents=True)
    (tmp_path / "app" / "convex" / "jobs.py").write_text(APP)
    with small_tmpfs(tmp_path / "disk", 2048) as disk:
        db = Database(disk / "db.sqlite3", durability="normal")
        app = load_app(tmp_path / "app")
        runner = FunctionRunner(db, app)
        clock = FakeClock(START)
        scheduler = Scheduler(runner, db, clock)
        scheduler.start()
        try:
            yield runner, clock, scheduler, disk
        finally:
            free(disk)
            await scheduler.stop()
            runner.close()
            app.unload()
            db.close()


async def value(runner: FunctionRunner, path: str, args: dict | None = None) -> Any:
    outcome = await runner.run(path, args or {}, admin=True)
    assert outcome.ok, outcome.failure
    return outcome.value


async def test_jobs_due_on_a_full_disk_wait_for_room_then_run_exactly_once(env) -> None:
    runner, clock, scheduler, disk = env
    mutation_job = await value(runner, "jobs:schedule",
                               {"path": "jobs:big", "args": {"name": "scheduled"}})
    action_job = await value(runner, "jobs:schedule", {"path": "jobs:act", "args": {}})
    fill(disk)
    for _ in range(3):  # due, and tried again, while the disk stays full
        clock.advance(DISK_FULL_RETRY_MS)
        await scheduler.idle()
    assert scheduler.executed >= 4
    for job in (mutation_job, action_job):  # reads go on
        assert (await value(runner, "jobs:job", {"id": job}))["state"] == {"kind": "pending"}
    assert await value(runner, "jobs:names") == []
    free(disk)
    clock.advance(DISK_FULL_RETRY_MS)
    await scheduler.idle()
    for job in (mutation_job, action_job):
        assert (await value(runner, "jobs:job", {"id": job}))["state"] == {"kind": "success"}
    assert await value(runner, "jobs:names") == ["from action", "scheduled"]
