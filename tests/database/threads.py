"""Run coroutines on several threads at once, each thread with its own event loop."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Awaitable, Callable


def run_on_threads(threads: int, tasks_per_thread: int,
                   make_task: Callable[[random.Random], Awaitable[object]]) -> None:
    """Start `threads` threads; each runs `tasks_per_thread` tasks made by `make_task(rng)`
    concurrently in its own loop. Re-raises the first error any thread hit."""
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)

        async def run() -> None:
            await asyncio.gather(*(make_task(rng) for _ in range(tasks_per_thread)))
        try:
            asyncio.run(run())
        except BaseException as e:  # noqa: BLE001 - reported to the test below
            errors.append(e)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    if errors:
        raise errors[0]
