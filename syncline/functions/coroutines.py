"""Running a handler's coroutine on a worker thread, cheaply.

Handlers almost never really suspend: syncline's database calls complete
without yielding to an event loop. Such a coroutine is driven directly with
`send`, skipping the loop's task and selector machinery, which was a third of
a query's cost. Only when it does suspend (`asyncio.gather`, a timer) does the
rest of it continue as a task on the thread's event loop. While it is driven
directly the loop is marked as running, so asyncio calls inside the handler
find it and schedule onto it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any


class Resume:
    """Awaitable that continues a coroutine already driven up to its first suspension."""

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self._coro, self._pending
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()  # we are being closed (the loop is going away): close it too
                raise
            except BaseException as error:  # noqa: BLE001 - forwarded into the coroutine
                try:
                    pending = coro.throw(error)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    pending = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


class Suspended(BaseException):  # noqa: N818 - a signal to the runner, not an error
    """The handler suspended while driven inline, where nothing can resume it."""


def run_inline(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run `coro` to completion on the calling thread, which is already running an event
    loop (the server's), without giving that loop control.

    Raises `Suspended`, after closing the coroutine and cancelling what it waited on, if
    the handler suspends: the caller discards the attempt and runs it again on a worker.
    """
    try:
        pending = coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    if isinstance(pending, asyncio.Future):
        pending.cancel()  # e.g. a gather's children, never started: they are dropped
    raise Suspended()


def run_coroutine(
    coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop,
    guard: Callable[[Awaitable[Any]], Coroutine[Any, Any, Any]],
) -> Any:
    """Run `coro` to completion on this thread and return its result.

    If it suspends, the remainder runs on `loop` as `guard(remainder)`, so the
    caller can bound how long it may wait.
    """
    asyncio._set_running_loop(loop)
    try:
        pending = coro.send(None)
    except StopIteration as stop:
        return stop.value
    finally:
        asyncio._set_running_loop(None)
    return loop.run_until_complete(guard(Resume(coro, pending)))
