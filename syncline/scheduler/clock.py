"""Clocks: where the scheduler and the cron loop get "now" and how they wait.

Everything that runs functions later (scheduled functions, cron jobs) asks a
`Clock` for the current time and sleeps through it instead of calling
`time.time()` / `asyncio.sleep()` directly. Production uses `RealClock`; tests
and the test harness use `FakeClock`, whose time only moves when told to, so a
test can check "the daily job runs at 17:30 UTC" or "a function scheduled in
three days runs" instantly and deterministically, without real sleeps.

Times are Unix epoch milliseconds (UTC) as floats, like Convex's `Date.now()`
and `_creationTime`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import threading
import time
from typing import Protocol, runtime_checkable

from syncline.errors import SynclineError

__all__ = ["Clock", "ClockError", "FakeClock", "RealClock"]


class ClockError(SynclineError, ValueError):
    """A FakeClock was asked to move backward (or to a time that is not a number)."""


@runtime_checkable
class Clock(Protocol):
    """A source of the current time that can also wait until a given time."""

    def now_ms(self) -> float:
        """The current time in Unix epoch milliseconds (UTC)."""
        ...

    async def sleep_until(self, ms: float) -> None:
        """Return once `now_ms() >= ms` (at once if that time has passed)."""
        ...


def _wall_ms() -> float:
    return time.time() * 1000.0


class RealClock:
    """The wall clock.

    `sleep_until` sleeps on asyncio's monotonic timer in slices of at most
    `max_sleep_ms` and re-reads the wall clock after every wake-up, so the
    deadline is met in wall-clock terms even when the wall clock is adjusted
    (NTP, manual changes) or the machine was suspended during a long wait.
    """

    __slots__ = ("_max_sleep_ms",)

    def __init__(self, *, max_sleep_ms: float = 60_000.0) -> None:
        if not max_sleep_ms > 0:
            raise ClockError(f"max_sleep_ms must be positive, got {max_sleep_ms!r}")
        self._max_sleep_ms = float(max_sleep_ms)

    def now_ms(self) -> float:
        return _wall_ms()

    async def sleep_until(self, ms: float) -> None:
        while True:
            remaining = ms - _wall_ms()
            if not remaining > 0:  # also stops on NaN rather than sleeping forever
                return
            await asyncio.sleep(min(remaining, self._max_sleep_ms) / 1000.0)

    def __repr__(self) -> str:
        return "RealClock()"


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class FakeClock:
    """A clock for tests and the test harness: time moves only on `advance` / `set`.

    Any number of tasks may be blocked in `sleep_until`, on one event loop or on
    several. When the fake time reaches a sleeper's deadline its future is
    resolved in the sleeper's own loop (directly when `advance` runs in that
    loop, through `call_soon_threadsafe` otherwise), and sleepers are resolved in
    order of their deadlines (ties: the order they started sleeping), so the
    woken tasks resume in that order. `advance` itself does not yield: a test
    calls it and then awaits (for example `asyncio.sleep(0)`) to let the woken
    tasks run.
    """

    def __init__(self, start_ms: float = 0.0) -> None:
        self._now = _checked_time(start_ms, "start_ms")
        self._lock = threading.Lock()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now_ms(self) -> float:
        return self._now

    async def sleep_until(self, ms: float) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if ms <= self._now:
                return
            fut: asyncio.Future[None] = loop.create_future()
            heapq.heappush(self._sleepers, (ms, next(self._seq), fut))
        # A cancelled sleeper leaves its done future in the heap; it is dropped
        # when the time passes it (or ignored by `sleeper_count`).
        await fut

    def advance(self, ms: float) -> None:
        """Move the time forward by `ms` (>= 0) and wake every sleeper now due."""
        ms = _checked_time(ms, "advance")
        if ms < 0:
            raise ClockError(f"FakeClock cannot move backward: advance({ms!r})")
        self._move_to(self._now + ms)

    def set(self, ms: float) -> None:
        """Move the time to `ms`, which must not be earlier than `now_ms()`."""
        ms = _checked_time(ms, "set")
        if ms < self._now:
            raise ClockError(
                f"FakeClock cannot move backward: set({ms!r}) is before now ({self._now!r})"
            )
        self._move_to(ms)

    def advance_to_next(self) -> float | None:
        """Jump to the earliest pending deadline (waking its sleepers) and return it,
        or return None without moving when nobody is sleeping."""
        deadline = self.next_deadline_ms()
        if deadline is not None:
            self._move_to(max(deadline, self._now))
        return deadline

    def next_deadline_ms(self) -> float | None:
        """The earliest deadline among tasks still sleeping, or None."""
        with self._lock:
            self._drop_done()
            return self._sleepers[0][0] if self._sleepers else None

    @property
    def sleeper_count(self) -> int:
        """How many tasks are blocked in `sleep_until` (lets a test wait for them)."""
        with self._lock:
            return sum(1 for _, _, fut in self._sleepers if not fut.done())

    def _drop_done(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)

    def _move_to(self, ms: float) -> None:
        due: list[asyncio.Future[None]] = []
        with self._lock:
            self._now = ms
            while self._sleepers and self._sleepers[0][0] <= ms:
                due.append(heapq.heappop(self._sleepers)[2])
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for fut in due:
            loop = fut.get_loop()
            if loop is current:
                _resolve(fut)
            else:
                # RuntimeError: that loop is closed, nobody is left to wake.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_resolve, fut)

    def __repr__(self) -> str:
        return f"FakeClock(now_ms={self._now!r})"


def _checked_time(ms: float, what: str) -> float:
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or math.isnan(ms):
        raise ClockError(f"{what}: expected a number of milliseconds, got {ms!r}")
    return float(ms)
