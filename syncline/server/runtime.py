"""Serving a deployment: the API and the HTTP actions site on their ports, in one loop.

Both uvicorn servers share the process's event loop with the function runner
and (in dev) the file watcher. Signals are handled here once, so Ctrl+C or
SIGTERM stops everything together and closes the database cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import uvicorn

from syncline.server.deployment import Deployment
from syncline.server.http_api import create_api_app
from syncline.server.site import create_site_app

T = TypeVar("T")


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run the server's main coroutine on uvloop when it is installed (it is, with
    uvicorn[standard]): its faster loop is worth 10-25% on small requests."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux and macOS
        return asyncio.run(main)
    return uvloop.run(main)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # signals are handled once for all servers by `serve_deployment`


async def serve_deployment(
    deployment: Deployment, *, host: str, port: int, site_port: int,
    on_started: Callable[[], None] | None = None,
    background: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM. `background` (the dev watcher) runs alongside."""
    servers = [
        _Server(uvicorn.Config(app, host=host, port=p, log_level="warning", access_log=False,
                               lifespan="off", ws="websockets-sansio"))
        for app, p in ((create_api_app(deployment), port), (create_site_app(deployment), site_port))
    ]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def request_stop() -> None:
        stop.set()
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_stop)
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            request_stop()
            break
        await asyncio.sleep(0.02)
    helper: asyncio.Task[None] | None = None
    if not stop.is_set():
        if on_started is not None:
            on_started()
        if background is not None:
            helper = asyncio.create_task(background())
    try:
        await asyncio.gather(*tasks)
    finally:
        if helper is not None:
            helper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await helper
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        deployment.close()
    for task in tasks:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    if not all(s.started for s in servers):
        raise OSError(f"Could not start the servers on {host}:{port} and {host}:{site_port}")

