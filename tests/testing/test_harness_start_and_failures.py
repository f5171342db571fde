"""`ConvexTest`: concurrent first calls, crons switched off, failed scheduled functions
reported (tests/testing/app)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from syncline import api
from syncline.functions import PushError
from syncline.testing import ConvexTest, ScheduledFailure

APP = Path(__file__).parent / "app" / "convex"


async def test_concurrent_first_calls_on_a_fresh_deployment_all_succeed(convex_test):
    t = convex_test(modules=APP)
    listed, sent, me = await asyncio.gather(
        t.query(api.messages.list),
        t.mutation(api.messages.send, {"author": "a", "body": "first"}),
        t.query(api.tasks.whoami))
    assert listed == [] and isinstance(sent, str) and me is None
    assert await t.query(api.messages.list) == [{"author": "a", "body": "first"}]


async def test_concurrent_first_calls_all_see_a_failed_start(tmp_path, convex_test):
    (tmp_path / "convex").mkdir()
    (tmp_path / "convex" / "broken.py").write_text("def oops(:\n")
    t = convex_test(modules=tmp_path / "convex")
    results = await asyncio.gather(t.query("broken:a"), t.mutation("broken:b"),
                                   t.query("broken:c"), return_exceptions=True)
    assert [type(r) for r in results] == [PushError] * 3
    with pytest.raises(PushError):
        await t.query("broken:a")


async def test_crons_can_be_switched_off(convex_test):
    with_crons, without = convex_test(modules=APP), convex_test(modules=APP, crons=False)
    for t in (with_crons, without):
        await t.finish_in_progress_scheduled_functions()
        t.advance(10 * 60_000)
        await t.finish_in_progress_scheduled_functions()
    assert await with_crons.query(api.jobs.ticks) >= 2
    assert await without.query(api.jobs.ticks) == 0
    # What the test schedules still runs.
    await without.mutation(api.jobs.later, {"delay_ms": 1_000})
    await without.finish_all_scheduled_functions()
    assert await without.query(api.jobs.events) == ["later"]


async def test_a_failed_scheduled_mutation_is_printed_and_kept(convex_test, capsys):
    t = convex_test(modules=APP, crons=False)
    job = await t.mutation(api.failing.schedule, {"delay_ms": 1_000, "kind": "mutation"})
    assert t.scheduled_failures == []
    t.advance(1_000)
    await t.finish_in_progress_scheduled_functions()
    [failure] = t.scheduled_failures
    assert isinstance(failure, ScheduledFailure)
    assert (failure.job_id, failure.name, failure.args) == (
        job, "failing:mutation_boom", {"why": "on purpose"})
    assert "mutation boom on purpose" in failure.error
    err = capsys.readouterr().err
    assert f"Error when running scheduled function failing:mutation_boom ({job})" in err
    await t.finish_in_progress_scheduled_functions()
    assert len(t.scheduled_failures) == 1  # reported once


async def test_a_failed_scheduled_action_is_reported_by_finish_all(convex_test, capsys):
    t = convex_test(modules=APP, crons=False)
    await t.mutation(api.failing.schedule, {"delay_ms": 60_000, "kind": "action"})
    await t.finish_all_scheduled_functions()
    assert [(f.name, "action boom on purpose" in f.error) for f in t.scheduled_failures] == [
        ("failing:action_boom", True)]
    assert "Error when running scheduled function failing:action_boom" in capsys.readouterr().err
    t.scheduled_failures.clear()  # an expected failure, asserted on


def test_synchronous_tests_see_failures_too(convex_test):
    t = convex_test(modules=APP, crons=False).sync
    t.mutation(api.failing.schedule, {"delay_ms": 0, "kind": "mutation"})
    t.finish_in_progress_scheduled_functions()
    assert [f.name for f in t.scheduled_failures] == ["failing:mutation_boom"]


async def test_a_failure_left_unchecked_is_printed_when_the_test_closes(capsys):
    t = ConvexTest(modules=APP, crons=False)
    await t.mutation(api.failing.schedule, {"delay_ms": 0, "kind": "mutation"})
    await t._backend.deployment.scheduler.idle()  # it ran; no finish_...() looked at it
    assert capsys.readouterr().err == ""
    await t.aclose()
    assert [f.name for f in t.scheduled_failures] == ["failing:mutation_boom"]
    assert "Error when running scheduled function failing:mutation_boom" in capsys.readouterr().err


def test_a_failure_left_unchecked_is_printed_by_close_outside_a_loop(capsys):
    t = ConvexTest(modules=APP, crons=False)

    async def scenario():
        await t.mutation(api.failing.schedule, {"delay_ms": 0, "kind": "mutation"})
        await t.mutation(api.failing.schedule, {"delay_ms": 0, "kind": "action"})
        await t._backend.deployment.scheduler.idle()

    asyncio.run(scenario())
    assert capsys.readouterr().err == ""
    t.close()  # what the convex_test fixture does after a test
    assert sorted(f.name for f in t.scheduled_failures) == [
        "failing:action_boom", "failing:mutation_boom"]
    assert capsys.readouterr().err.count("Error when running scheduled function") == 2
