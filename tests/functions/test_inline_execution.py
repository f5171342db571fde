"""Inline execution: quick functions run on the caller's thread, and stay correct when they
suspend, turn slow, or run away there."""

import asyncio
import threading

import pytest

from syncline.functions.placement import INLINE_MAX_S, REPROMOTE_AFTER
from tests.functions.conftest import running, write_app

APP = {
    "schema.py": """
from syncline import define_schema, define_table, v
schema = define_schema({"items": define_table({"n": v.float64()})})
""",
    "items.py": """
import asyncio
import threading
import time
from syncline import mutation, query, v

@mutation(args={"n": v.float64()})
async def add(ctx, n):
    return await ctx.db.insert("items", {"n": n})

@query
async def thread_name(ctx):
    return threading.current_thread().name

@mutation(args={"n": v.float64(), "gather": v.boolean()})
async def add_maybe_gathering(ctx, n, gather):
    # Writes first, then (sometimes) suspends: an inline run that suspends is thrown
    # away and run again on a worker, so the write must land exactly once.
    await ctx.db.insert("items", {"n": n})
    if gather:
        await asyncio.gather(ctx.db.query("items").collect(), asyncio.sleep(0))
    print("done", n)
    return threading.current_thread().name

@query(args={"spin_s": v.float64()})
async def spin(ctx, spin_s):
    # Burns spin_s of this thread's CPU time, which is what placement measures: a spin on
    # the wall clock gets only part of a core on a busy machine and may stay under the
    # limits (time.time is frozen inside queries; thread_time runs).
    end = time.thread_time() + spin_s
    while time.thread_time() < end:
        pass
    return threading.current_thread().name

@query(args={"forever": v.boolean()})
async def maybe_forever(ctx, forever):
    while forever:
        pass
    return threading.current_thread().name

@query
async def count(ctx):
    return len(await ctx.db.query("items").collect())
""",
}


@pytest.fixture
def app_dir(tmp_path):
    return write_app(tmp_path, APP)


@pytest.fixture
async def runner(app_dir, db):
    async with running(app_dir, db, dev=True) as runner:
        yield runner


async def value(runner, path, args=None):
    outcome = await runner.run(path, args or {})
    assert outcome.ok, outcome.failure
    return outcome.value


async def test_a_quick_function_moves_from_the_pool_to_the_callers_thread(runner):
    here = threading.current_thread().name
    first = await value(runner, "items:thread_name")
    assert first != here  # first run: on a worker, where it showed itself quick
    assert [await value(runner, "items:thread_name") for _ in range(3)] == [here] * 3


async def test_an_inline_run_that_suspends_is_rerun_on_a_worker_with_one_write(runner):
    here = threading.current_thread().name
    for i in range(3):  # promote it
        await value(runner, "items:add_maybe_gathering", {"n": float(i), "gather": False})
    assert await value(runner, "items:add_maybe_gathering",
                       {"n": 3.0, "gather": False}) == here
    outcome = await runner.run("items:add_maybe_gathering", {"n": 4.0, "gather": True})
    assert outcome.ok, outcome.failure
    assert outcome.value != here  # ran again on a worker
    assert [line.message for line in outcome.log_lines] == ["done 4.0"]  # one run's logs
    assert await value(runner, "items:count") == 5  # the discarded inline write is gone
    # It suspended once: it stays on the workers, even when it would not suspend.
    assert await value(runner, "items:add_maybe_gathering",
                       {"n": 5.0, "gather": False}) != here
    assert await value(runner, "items:count") == 6


async def test_a_function_that_turns_slow_goes_back_to_the_pool(runner):
    here = threading.current_thread().name
    # Promoted by its first quick run on the pool (a first run that happened to take a
    # GC pause over INLINE_FAST_S only delays that).
    quick = [await value(runner, "items:spin", {"spin_s": 0.0}) for _ in range(5)]
    assert quick[0] != here and quick[-1] == here
    slow = INLINE_MAX_S * 1.5  # one inline run over INLINE_MAX_S of CPU time
    assert await value(runner, "items:spin", {"spin_s": slow}) == here
    assert await value(runner, "items:spin", {"spin_s": 0.0}) != here  # then the pool
    # Quick again on the pool, REPROMOTE_AFTER times in a row: back inline.
    names = [await value(runner, "items:spin", {"spin_s": 0.0})
             for _ in range(3 * REPROMOTE_AFTER)]
    assert here in names and names.index(here) >= REPROMOTE_AFTER - 1
    assert names[-1] == here


async def test_a_runaway_inline_run_is_interrupted_and_the_loop_lives_on(runner):
    here = threading.current_thread().name
    await value(runner, "items:maybe_forever", {"forever": False})
    assert await value(runner, "items:maybe_forever", {"forever": False}) == here
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.05)
    outcome = await runner.run("items:maybe_forever", {"forever": True})
    assert "timed out" in outcome.failure.message
    before = ticks
    await asyncio.sleep(0.1)
    assert ticks > before  # the event loop is still serving other work
    ticker.cancel()
    assert await value(runner, "items:maybe_forever", {"forever": False}) != here


async def test_inline_can_be_switched_off(runner):
    runner.inline_enabled = False
    here = threading.current_thread().name
    names = {await value(runner, "items:thread_name") for _ in range(3)}
    assert here not in names
