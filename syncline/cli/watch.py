"""`syncline run --watch`: subscribe to a query and print each new result until stopped.

The CLI speaks the sync protocol over a WebSocket as the official clients do (the
message codec is syncline.sync.protocol): Connect, Authenticate with the admin key
(so internal queries can be watched, and `--identity` acts as a user), then one query
in the query set. Every Transition that changes the query's result prints it: one JSON
line per result when the output is not a terminal, indented JSON on a terminal. A lost
connection is retried (the result is printed again only if it changed meanwhile).

Ctrl+C or SIGTERM ends the watch with exit status 0; SIGTERM works also when SIGINT is
ignored (a background job, `nohup`, a supervisor), and so does a closed stdout
(`| head -1`). A failing query, or a path that is not a query, ends it with status 1,
as `npx convex run --watch` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import orjson
import websockets

from syncline.cli import console
from syncline.cli.client import ClientError, Target, resolve_target
from syncline.errors import SynclineError
from syncline.sync.protocol import AddQuery, Authenticate, Connect, ModifyQuerySet
from syncline.sync.protocol import encode_client_message as encode
from syncline.values import from_json, to_export_json

SYNC_PATH = "/api/1.48.0/sync"  # the client version in the path, as the npm client 1.48
QUERY_ID = 0
MAX_RETRY_DELAY_S = 5.0
OPEN_TIMEOUT_S = 10.0
_NOT_A_QUERY = ("as Query, but it is defined as Mutation", "as Query, but it is defined as Action")


class WatchError(Exception):
    """The watch cannot go on: the message (and ConvexError data) to show."""

    def __init__(self, message: str, error_data: Any = None) -> None:
        super().__init__(message)
        self.error_data = error_data


class OutputClosed(Exception):
    """Whoever read the results went away (`| head -1`): a normal end, not a lost
    connection to retry (a BrokenPipeError is an OSError, as network errors are)."""


def parse_args(args_json: str) -> dict[str, Any]:
    try:
        args = from_json(orjson.loads(args_json))
    except (orjson.JSONDecodeError, SynclineError) as e:
        raise ClientError(f"ARGS must be a JSON object, e.g. '{{\"body\": \"hi\"}}': {e}") from None
    if not isinstance(args, dict):
        raise ClientError("ARGS must be a JSON object, e.g. '{\"body\": \"hi\"}'")
    return args


def parse_identity(identity_json: str | None, target: Target) -> dict[str, Any] | None:
    if identity_json is None:
        return None
    if not target.admin_key:
        raise ClientError("--identity needs the admin key: pass --admin-key or set "
                          "SYNCLINE_ADMIN_KEY")
    try:
        identity = orjson.loads(identity_json)
    except orjson.JSONDecodeError as e:
        raise ClientError(f"--identity must be a JSON object: {e}") from None
    if not isinstance(identity, dict):
        raise ClientError("--identity must be a JSON object, e.g. '{\"subject\": \"user-1\"}'")
    return identity


def show_result(value: Any) -> None:
    """One result: indented on a terminal, else one JSON line (flushed at once)."""
    if sys.stdout.isatty():
        console.print_json(value)
    else:
        click.echo(orjson.dumps(value).decode())


class Watcher:
    """One watched query over one (re)connected WebSocket."""

    def __init__(self, target: Target, function: str, args: dict[str, Any],
                 identity: dict[str, Any] | None, show: Callable[[Any], None]) -> None:
        self.url = target.url.replace("https://", "wss://", 1).replace("http://", "ws://", 1) \
            + SYNC_PATH
        self.target = target
        self.function = function
        self.args = args
        self.identity = identity
        self.show = show
        self.session_id = str(uuid.uuid4())
        self.connections = 0
        self.last: Any = None
        self.shown = False

    def _opening(self) -> list[str]:
        messages: list[Any] = [Connect(self.session_id, self.connections)]
        if self.target.admin_key:
            messages.append(Authenticate("Admin", self.target.admin_key, 0, self.identity))
        messages.append(ModifyQuerySet(0, 1, (AddQuery(QUERY_ID, self.function, self.args),)))
        return [orjson.dumps(encode(m)).decode() for m in messages]

    async def run(self) -> None:
        """Watch until cancelled; WatchError when the query fails or cannot be watched."""
        delay, retrying = 0.5, False
        while True:
            try:
                async with websockets.connect(self.url, open_timeout=OPEN_TIMEOUT_S,
                                              max_size=None, ping_interval=None) as ws:
                    for text in self._opening():
                        await ws.send(text)
                    if retrying:
                        console.err.print("[green]Reconnected.[/]")
                    self.connections += 1
                    delay, retrying = 0.5, False
                    await self._receive(ws)
            except (OSError, websockets.InvalidHandshake, websockets.ConnectionClosed) as e:
                if not self.connections:
                    raise WatchError(f"Could not reach the deployment at {self.target.url}: "
                                     f"{e}. Is `syncline dev` (or `serve`) running?") from None
                if not retrying:  # said once until it is back
                    console.err.print(f"[yellow]Lost the connection to {self.target.url} "
                                      f"({e}).[/] Retrying...", highlight=False)
                retrying = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY_S)

    async def _receive(self, ws: Any) -> None:
        chunks: list[str] = []
        async for frame in ws:
            message = orjson.loads(frame)
            kind = message.get("type")
            if kind == "TransitionChunk":  # a Transition too big for one frame, in parts
                chunks.append(message["chunk"])
                if len(chunks) < message["totalParts"]:
                    continue
                message, chunks = orjson.loads("".join(chunks)), []
                kind = message.get("type")
            if kind == "Transition":
                for modification in message["modifications"]:
                    if modification.get("queryId") == QUERY_ID:
                        self._update(modification)
            elif kind in ("FatalError", "AuthError"):
                raise WatchError(f"The deployment refused the watch: {message.get('error')}")
        raise websockets.ConnectionClosedOK(ws.close_rcvd, ws.close_sent)

    def _update(self, modification: dict[str, Any]) -> None:
        for line in modification.get("logLines") or ():
            console.err.print(f"[dim]{line}[/]", highlight=False)
        if modification["type"] == "QueryFailed":
            message = modification["errorMessage"]
            if any(marker in message for marker in _NOT_A_QUERY):
                message += " Only queries can be watched: call it without --watch."
            data = modification.get("errorData")
            raise WatchError(message, None if data is None else to_export_json(from_json(data)))
        if modification["type"] != "QueryUpdated":
            return
        value = to_export_json(from_json(modification["value"]))
        if self.shown and value == self.last:
            return  # the same result again (after a reconnect): nothing new to show
        self.last, self.shown = value, True
        try:
            self.show(value)
        except BrokenPipeError:
            raise OutputClosed from None


async def _until_stopped(watcher: Watcher) -> None:
    """Run the watcher until it fails, or SIGTERM / SIGINT (unless SIGINT is ignored)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signals.append(signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    watching = asyncio.create_task(watcher.run())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({watching, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        stopping.cancel()
        if not watching.done():
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
    if watching.done() and not watching.cancelled():
        watching.result()  # raises the WatchError that ended it


def watch(target: Target, function: str, args_json: str, identity_json: str | None,
          show: Callable[[Any], None] = show_result) -> None:
    """`syncline run --watch`: blocks until stopped (returns) or the query fails (raises
    WatchError); ClientError for bad arguments."""
    args = parse_args(args_json)
    identity = parse_identity(identity_json, target)
    if sys.stderr.isatty():
        console.err.print(f"[dim]Watching {function} on {target.url} (Ctrl+C to stop)...[/]",
                          highlight=False)
    asyncio.run(_until_stopped(Watcher(target, function, args, identity, show)))


def run_watch(function: str, args_json: str, url: str | None, admin_key: str | None,
              directory: Path, identity_json: str | None) -> None:
    """The `--watch` branch of `syncline run`: errors as the CLI reports them."""
    try:
        watch(resolve_target(directory, url, admin_key), function, args_json, identity_json)
    except ClientError as e:
        raise click.ClickException(str(e)) from None
    except OutputClosed:
        # Point stdout at /dev/null so the flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except WatchError as e:
        console.err.print(f"[red]{e}[/]", highlight=False)
        if e.error_data is not None:
            console.print_json(e.error_data)
        sys.exit(1)
