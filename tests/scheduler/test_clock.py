"""Clocks: FakeClock wakes sleepers in deadline order as fake time moves; RealClock
sleeps on the wall clock (this file sleeps for real about 25 ms in total)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from syncline.scheduler import Clock, ClockError, FakeClock, RealClock
from syncline.scheduler import clock as clock_module


async def _until(predicate, *, rounds: int = 100) -> None:
    """Yield to the loop until `predicate()` holds (no real sleeping)."""
    for _ in range(rounds):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


def test_both_clocks_satisfy_the_protocol():
    assert isinstance(FakeClock(), Clock)
    assert isinstance(RealClock(), Clock)


def test_fake_clock_moves_only_forward():
    clock = FakeClock(1_000.0)
    assert clock.now_ms() == 1_000.0
    clock.advance(250)
    assert clock.now_ms() == 1_250.0
    clock.advance(0)
    clock.set(2_000)
    assert clock.now_ms() == 2_000.0
    clock.set(2_000)  # staying put is fine
    with pytest.raises(ClockError, match="backward"):
        clock.advance(-1)
    with pytest.raises(ClockError, match="backward"):
        clock.set(1_999.5)
    with pytest.raises(ClockError):
        clock.advance(float("nan"))
    with pytest.raises(ClockError):
        clock.set("soon")  # type: ignore[arg-type]
    assert clock.now_ms() == 2_000.0


async def test_fake_clock_wakes_many_sleepers_in_deadline_order():
    clock = FakeClock(0.0)
    woke: list[tuple[str, float]] = []

    async def sleeper(label: str, deadline: float) -> None:
        await clock.sleep_until(deadline)
        woke.append((label, clock.now_ms()))

    deadlines = [("e", 50), ("a", 10), ("c", 30), ("b", 20), ("d", 40), ("a2", 10)]
    tasks = [asyncio.create_task(sleeper(label, d)) for label, d in deadlines]
    await _until(lambda: clock.sleeper_count == len(tasks))
    assert clock.next_deadline_ms() == 10

    clock.advance(25)
    await _until(lambda: len(woke) == 3)
    await asyncio.sleep(0)
    assert woke == [("a", 25), ("a2", 25), ("b", 25)]  # ties wake in the order they slept
    assert clock.sleeper_count == 3

    clock.set(1_000)
    await asyncio.gather(*tasks)
    assert [label for label, _ in woke] == ["a", "a2", "b", "c", "d", "e"]
    assert clock.sleeper_count == 0 and clock.next_deadline_ms() is None


async def test_fake_clock_step_by_step_with_advance_to_next():
    clock = FakeClock(100.0)
    woke: list[float] = []

    async def sleeper(deadline: float) -> None:
        await clock.sleep_until(deadline)
        woke.append(clock.now_ms())

    tasks = [asyncio.create_task(sleeper(d)) for d in (300, 200, 400)]
    await _until(lambda: clock.sleeper_count == 3)
    for expected in (200, 300, 400):
        assert clock.advance_to_next() == expected
        await _until(lambda expected=expected: woke[-1:] == [expected])
    assert clock.advance_to_next() is None
    assert clock.now_ms() == 400
    await asyncio.gather(*tasks)


async def test_fake_clock_past_deadline_returns_at_once_and_cancelled_sleepers_are_dropped():
    clock = FakeClock(500.0)
    await asyncio.wait_for(clock.sleep_until(500), timeout=1)
    await asyncio.wait_for(clock.sleep_until(10), timeout=1)

    cancelled = asyncio.create_task(clock.sleep_until(600))
    kept = asyncio.create_task(clock.sleep_until(700))
    await _until(lambda: clock.sleeper_count == 2)
    cancelled.cancel()
    await _until(cancelled.done)
    assert clock.sleeper_count == 1
    assert clock.next_deadline_ms() == 700
    clock.advance(1_000)
    await asyncio.wait_for(kept, timeout=1)
    assert cancelled.cancelled()


async def test_fake_clock_advanced_from_another_thread():
    clock = FakeClock(0.0)
    task = asyncio.create_task(clock.sleep_until(10))
    await _until(lambda: clock.sleeper_count == 1)
    await asyncio.to_thread(clock.advance, 10)
    await asyncio.wait_for(task, timeout=1)


async def test_fake_clock_wakes_a_sleeper_in_another_event_loop():
    clock = FakeClock(0.0)
    result: dict[str, object] = {}

    def other_thread() -> None:
        async def sleeper() -> None:
            await clock.sleep_until(50)
            result["now"] = clock.now_ms()
            result["thread"] = threading.current_thread().name

        asyncio.run(sleeper())

    thread = threading.Thread(target=other_thread, name="other-loop")
    thread.start()
    try:
        for _ in range(1_000):  # the other loop registers its sleeper
            if clock.sleeper_count == 1:
                break
            await asyncio.to_thread(time.sleep, 0)
        assert clock.sleeper_count == 1
        clock.advance(50)  # from this loop: the other loop must do the waking
        await asyncio.to_thread(thread.join, 5)
    finally:
        clock.set(max(clock.now_ms(), 10_000))
        thread.join(5)
    assert result == {"now": 50.0, "thread": "other-loop"}


def test_real_clock_reads_the_wall_clock():
    before = time.time() * 1000
    now = RealClock().now_ms()
    after = time.time() * 1000
    assert before <= now <= after


async def test_real_clock_sleeps_until_the_wall_time():
    clock = RealClock()
    deadline = clock.now_ms() + 20
    await clock.sleep_until(deadline)
    assert time.time() * 1000 >= deadline

    started = time.perf_counter()
    await clock.sleep_until(clock.now_ms() - 1_000)  # in the past: no sleep
    assert time.perf_counter() - started < 0.01


async def test_real_clock_rechecks_the_wall_clock_after_waking(monkeypatch):
    # The wall clock lags (as after an adjustment): after each short sleep the
    # clock is read again and the sleep resumes until the deadline is really reached.
    readings = iter([0.0, 40.0, 99.0, 100.0])
    calls: list[float] = []

    def fake_wall_ms() -> float:
        value = next(readings)
        calls.append(value)
        return value

    monkeypatch.setattr(clock_module, "_wall_ms", fake_wall_ms)
    clock = RealClock(max_sleep_ms=1)  # 1 ms real slices: ~3 ms of real sleep in all
    await clock.sleep_until(100)
    assert calls == [0.0, 40.0, 99.0, 100.0]

    with pytest.raises(ClockError):
        RealClock(max_sleep_ms=0)
