"""Execution limits: 1 s of user code for queries and mutations, 10 minutes for actions.

A watchdog thread checks running executions every few milliseconds. When one
overruns, it raises `FunctionTimeoutError` inside the executing thread with
`PyThreadState_SetAsyncExc`, which interrupts a runaway Python loop at its next
bytecode. Database time is excluded from the query/mutation budget, as the
Convex limits page says. The error derives from BaseException so an
`except Exception:` in user code cannot swallow it; it is raised again every
budget period if user code swallows it anyway.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

QUERY_MUTATION_USER_TIME_S = 1.0
ACTION_TIME_S = 600.0
_TICK_S = 0.01


class FunctionTimeoutError(BaseException):
    """A function ran past its execution-time limit."""


@dataclass(eq=False)
class Deadline:
    """One running execution the watchdog guards."""

    thread_id: int
    budget_s: float
    excluded_s: Callable[[], float]  # time that does not count (database calls)
    description: str
    started: float = field(default_factory=time.monotonic)
    fired_at: float | None = None

    def used(self) -> float:
        return time.monotonic() - self.started - self.excluded_s()

    def remaining(self) -> float:
        return self.budget_s - self.used()

    def message(self) -> str:
        return f"{self.description} timed out: {_limit_text(self.budget_s)}"


def _limit_text(budget_s: float) -> str:
    if budget_s >= 60:
        return f"the limit is {budget_s / 60:g} minutes of execution time"
    return (f"the limit is {budget_s:g} second of user code execution time for queries and "
            "mutations (database time not included)")


class Watchdog:
    """Interrupts executions that run past their deadline. One per process is enough."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[Deadline] = set()
        self._thread: threading.Thread | None = None

    def start(self, deadline: Deadline) -> Deadline:
        with self._lock:
            self._running.add(deadline)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="syncline-watchdog", daemon=True)
                self._thread.start()
        return deadline

    def finish(self, deadline: Deadline) -> None:
        """Stop guarding `deadline` and drop an interrupt that has not landed yet.

        Must run on the execution's own thread. Retried if the interrupt lands
        while we are here, so the registration is always removed.
        """
        while True:
            try:
                with self._lock:
                    self._running.discard(deadline)
                    if deadline.fired_at is not None:
                        _set_async_exc(deadline.thread_id, None)
                return
            except FunctionTimeoutError:
                continue

    def _watch(self) -> None:
        while True:
            time.sleep(_TICK_S)
            with self._lock:
                for deadline in self._running:
                    if deadline.remaining() > 0:
                        continue
                    now = time.monotonic()
                    if deadline.fired_at is None or now - deadline.fired_at > deadline.budget_s:
                        deadline.fired_at = now
                        _set_async_exc(deadline.thread_id, FunctionTimeoutError)


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
    )


watchdog = Watchdog()
