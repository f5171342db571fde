"""Where a query or mutation runs: inline on the caller's thread, or on the worker pool.

Handing a call to a worker thread and back costs about 85 µs on a small VM, several
times what a typical query costs, so quick functions run inline, on the server's
event loop. Every function starts on the pool; a run there that took under
INLINE_FAST_S without suspending moves it inline. It goes back to the pool when its
inline runs average over INLINE_SLOW_S (a moving average, so one GC pause does not
move it) or one takes INLINE_MAX_S, and returns inline after REPROMOTE_AFTER quick
pool runs in a row. One that suspends (awaits something other than the database)
stays on the pool for good.

Times are the executing thread's CPU time: wall time would also count waiting for
the GIL while other threads run, and demote quick functions just because the
server is busy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INLINE_FAST_S = 0.002
INLINE_SLOW_S = 0.005
INLINE_MAX_S = 0.050
REPROMOTE_AFTER = 20
_AVERAGE_WEIGHT = 0.1


@dataclass(slots=True)
class _State:
    inline: bool = False
    average: float = 0.0  # of its inline runs, CPU seconds
    pool_only: bool = False  # it suspended
    demoted: bool = False  # it was inline and turned slow
    quick_pool_runs: int = 0  # in a row, since it last left the inline path


class Placement:
    """Per function (any hashable, e.g. a RegisteredFunction): whether to run it inline."""

    def __init__(self) -> None:
        self._states: dict[Any, _State] = {}

    def inline(self, fn: Any) -> bool:
        state = self._states.get(fn)
        return state is not None and state.inline

    def after_pool_run(self, fn: Any, cpu_s: float, suspended: bool) -> None:
        state = self._states.setdefault(fn, _State())
        if suspended:
            state.pool_only, state.inline = True, False
            return
        if state.pool_only or state.inline:
            return
        if cpu_s >= INLINE_FAST_S:
            state.quick_pool_runs = 0
            return
        state.quick_pool_runs += 1
        if not state.demoted or state.quick_pool_runs >= REPROMOTE_AFTER:
            state.inline, state.average, state.quick_pool_runs = True, cpu_s, 0

    def after_inline_run(self, fn: Any, cpu_s: float, suspended: bool) -> None:
        state = self._states.setdefault(fn, _State())
        if suspended:
            state.pool_only, state.inline = True, False
            return
        state.average += (cpu_s - state.average) * _AVERAGE_WEIGHT
        if state.average > INLINE_SLOW_S or cpu_s > INLINE_MAX_S:
            state.inline, state.demoted, state.quick_pool_runs = False, True, 0
