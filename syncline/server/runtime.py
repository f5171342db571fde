"""Serving a deployment: the API and the HTTP actions site on their ports, in one loop.

Both uvicorn servers share the process's event loop with the function runner
and (in dev) the file watcher. Signals are handled here once, so Ctrl+C or
SIGTERM stops everything together and closes the database cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import uvicorn

from syncline.server.deployment import Deployment
from syncline.server.http_api import create_api_app
from syncline.server.http_protocol import bounded_protocol
from syncline.server.request_counting import counting_protocol
from syncline.server.site import create_site_app
from syncline.server.ws_protocol import SyncWebSocketProtocol
from syncline.sync.protocol import MAX_CLIENT_MESSAGE_BYTES

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


def bind(host: str, port: int) -> socket.socket:
    """Listen on host:port ourselves, so a busy port is a clear error before anything starts
    (uvicorn would exit the process from inside its task)."""
    bare = host.strip("[]")  # `--host [::1]` and `--host ::1` alike
    try:
        ipv6 = ipaddress.ip_address(bare).version == 6
    except ValueError:
        ipv6 = False  # a name (localhost) or an IPv4 address
    try:
        if ipv6:  # `::` listens on IPv4 too where the system allows it, as 0.0.0.0 does
            return socket.create_server(
                (bare, port), family=socket.AF_INET6, reuse_port=False, backlog=2048,
                dualstack_ipv6=bare == "::" and socket.has_dualstack_ipv6())
        return socket.create_server((host, port), reuse_port=False, backlog=2048)
    except OSError as e:
        raise OSError(f"Cannot listen on {host}:{port}: {e.strerror or e}. Is another "
                      "deployment running there? Choose other ports with --port and "
                      "--site-port.") from None


async def serve_deployment(
    deployment: Deployment, *, host: str, port: int, site_port: int,
    on_started: Callable[[int, int], None] | None = None,
    background: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM. `background` (the dev watcher) runs alongside.

    `on_started(api_port, site_port)` gets the bound ports (port 0 picks a free one).
    Raises OSError, having started nothing, if either port cannot be bound; the
    deployment is closed when serving ends either way.
    """
    try:
        api_socket = bind(host, port)
        try:
            site_socket = bind(host, site_port)
        except OSError:
            api_socket.close()
            raise
    except OSError:
        deployment.close()
        raise
    # The API never looks at the client's address or scheme, so it skips uvicorn's
    # X-Forwarded-* layer; HTTP actions keep it (their `request.url` follows a proxy's).
    # Both ports time out a request that stops arriving (http_protocol.py).
    site_http = bounded_protocol(deployment.body_limits.idle_timeout_s)
    api_http = counting_protocol(deployment.runner, site_http)  # see request_counting.py
    servers = [
        (_Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                ws=SyncWebSocketProtocol, ws_per_message_deflate=False,
                                ws_max_size=MAX_CLIENT_MESSAGE_BYTES,
                                proxy_headers=proxy_headers, http=http)), sock)
        for app, sock, proxy_headers, http in (
            (create_api_app(deployment), api_socket, False, api_http),
            (create_site_app(deployment), site_socket, True, site_http))
    ]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def request_stop() -> None:
        stop.set()
        deployment.function_logs.release_waiters()  # long polls must not hold up the stop
        for server, _ in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_stop)
    tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in servers]
    deployment.scheduler.start()
    deployment.crons.start()
    deployment.start_blob_sweeper()
    deployment.metrics.start()
    while not all(server.started for server, _ in servers):
        if any(t.done() for t in tasks):
            request_stop()
            break
        await asyncio.sleep(0.02)
    helper: asyncio.Task[None] | None = None
    if not stop.is_set():
        if on_started is not None:
            on_started(api_socket.getsockname()[1], site_socket.getsockname()[1])
        if background is not None:
            helper = asyncio.create_task(background())
    try:
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        if helper is not None:
            helper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await helper
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        for _, sock in servers:
            sock.close()
        await deployment.stop_blob_sweeper()
        await deployment.crons.stop()
        await deployment.scheduler.stop()
        await deployment.sync.stop()
        await deployment.metrics.stop()
        deployment.close()
    for task in tasks:
        error = task.exception()
        if error is not None:
            raise error
