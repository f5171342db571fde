"""Tests for the app's functions with `syncline.testing`: each test gets a fresh deployment
of ../convex on the real engine (schema, validation, transactions), in a temp folder."""

from pathlib import Path

import pytest

from syncline import ConvexError, api, internal

CONVEX = Path(__file__).resolve().parent.parent / "convex"


@pytest.fixture
def t(convex_test):
    return convex_test(modules=CONVEX)


async def test_add_toggle_and_report(t):
    task_id = await t.mutation(api.tasks.add, {"text": "write tests"})
    await t.mutation(api.tasks.toggle, {"id": task_id})
    tasks = await t.query(api.tasks.list)
    assert [(task["text"], task["is_completed"]) for task in tasks] == [("write tests", True)]
    assert await t.action(api.summary.report) == "1 of 1 tasks done"


async def test_empty_text_is_an_application_error(t):
    with pytest.raises(ConvexError) as error:
        await t.mutation(api.tasks.add, {"text": "  "})
    assert error.value.data["code"] == "EMPTY_TEXT"
    assert await t.query(api.tasks.list) == []


async def test_seed_is_internal_and_runs_once(t):
    assert await t.mutation(internal.tasks.seed) == 3
    assert await t.mutation(internal.tasks.seed) == 0
    open_tasks = await t.query(api.tasks.by_completion, {"is_completed": False})
    assert len(open_tasks) == 3


async def test_setting_up_data_directly(t):
    async def setup(ctx):
        return await ctx.db.insert("tasks", {"text": "from t.run", "is_completed": True})

    task_id = await t.run(setup)
    await t.mutation(api.tasks.remove, {"id": task_id})
    assert await t.query(api.tasks.list) == []
