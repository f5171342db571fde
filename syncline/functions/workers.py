"""Worker threads for queries and mutations: as many as cores, more only when needed.

Python threads share one GIL, so more runnable threads than cores only adds
switching: 16 threads served about 35% fewer queries/s than 2 on a 2-core
machine. But a slow function (it may run for a second) must not hold back the
quick ones queued behind it. So the pool keeps `core` threads, and when jobs
have waited `grow_after_s` without any thread picking one up, it adds a thread,
up to `maximum`. Threads beyond `core` exit after idling for `idle_timeout_s`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any


class WorkerPool(Executor):
    def __init__(
        self, name: str, core: int, maximum: int, *, grow_after_s: float = 0.02,
        idle_timeout_s: float = 10.0,
    ) -> None:
        self._name = name
        self._core = max(1, core)
        self._maximum = max(self._core, maximum)
        self._grow_after_s = grow_after_s
        self._idle_timeout_s = idle_timeout_s
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]
                                       | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._pending = 0
        self._last_progress = time.monotonic()
        self._all_busy = threading.Event()
        self._shutdown = False
        self._monitor: threading.Thread | None = None

    @property
    def thread_count(self) -> int:
        return self._threads

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if kwargs:
            raise TypeError("WorkerPool.submit takes positional arguments only")
        future: Future[Any] = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            self._pending += 1
            self._queue.put((future, fn, args))
            # More queued jobs than idle threads: a job would wait for a thread. Core
            # threads are started at once; beyond them the monitor decides.
            if self._pending > self._idle and self._threads < self._core:
                self._spawn()
            if self._threads >= self._core:
                # Whether these threads will get to it in time is the monitor's call: an
                # idle count seen here can be stale by the time a thread takes a job.
                self._all_busy.set()
                if self._monitor is None:
                    self._monitor = threading.Thread(
                        target=self._watch, name=f"{self._name}-monitor", daemon=True)
                    self._monitor.start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            threads = self._threads
        if cancel_futures:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for _ in range(threads):
            self._queue.put(None)
        self._all_busy.set()

    # -- internals (called with the lock held where noted) ----------------------------------

    def _spawn(self) -> None:
        """Lock held."""
        self._threads += 1
        threading.Thread(target=self._work, name=f"{self._name}-{self._threads}",
                         daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            try:
                item = self._queue.get(timeout=self._idle_timeout_s)
            except queue.Empty:
                with self._lock:
                    self._idle -= 1
                    if self._threads > self._core:
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._idle -= 1
                if item is None:
                    self._threads -= 1
                    return
                self._pending -= 1
                self._last_progress = time.monotonic()
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                future.set_exception(error)
            else:
                future.set_result(result)

    def _watch(self) -> None:
        """Add a thread whenever queued jobs make no progress for `grow_after_s`.

        It watches for as long as jobs are queued, and sleeps once the queue is empty.
        """
        while True:
            self._all_busy.wait()
            time.sleep(self._grow_after_s)
            with self._lock:
                if self._shutdown:
                    return
                if self._pending == 0:
                    self._all_busy.clear()
                    continue
                stalled = time.monotonic() - self._last_progress >= self._grow_after_s
                if stalled and self._idle == 0 and self._threads < self._maximum:
                    self._spawn()
