"""A service that runs one coroutine as a task in the server's event loop."""

from __future__ import annotations

import asyncio
import contextlib


class BackgroundService:
    """Started once in the running loop (later starts do nothing), stopped by cancelling.

    Subclasses implement `_main`; `_loop` is the loop they run in, for waking them from
    other threads with `call_soon_threadsafe`.
    """

    task_name = "syncline-background"

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._task = self._loop.create_task(self._main(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _main(self) -> None:
        raise NotImplementedError
