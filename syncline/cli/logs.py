"""`syncline logs`: tail the function logs of a running deployment."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import orjson

from syncline.cli import console
from syncline.cli.client import admin_request, target_options
from syncline.cli.deploy import print_record, record_prefix
from syncline.functions import ExecutionRecord
from syncline.functions.logs import LogLine

POLL_INTERVAL_S = 0.5
MAX_HISTORY = 10_000


@contextlib.contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """SIGTERM ends the tail as Ctrl+C does (exit status 0). A process started with SIGINT
    ignored (`nohup`, a background job, a supervisor, a test runner without a terminal)
    never sees Ctrl+C, and SIGTERM is what supervisors and `kill` send."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _record(raw: dict[str, Any]) -> ExecutionRecord:
    return ExecutionRecord(
        raw["requestId"], raw["path"], raw["kind"], raw["timestamp"], raw["durationMs"],
        raw["success"], raw["error"],
        tuple(LogLine(line["level"], line["message"], line["timestamp"])
              for line in raw["logLines"]),
    )


def _show(raw: dict[str, Any], *, success: bool, jsonl: bool) -> None:
    if raw["success"] and not success and not raw["logLines"]:
        return
    if jsonl:
        click.echo(orjson.dumps(raw).decode())
        return
    record = _record(raw)
    print_record(record, include_logs=True)  # log lines and failures, as `syncline dev`
    if record.success and success:
        prefix = record_prefix(record)
        console.out.print(f"[dim]{prefix}[/] Function executed in "
                          f"{max(1, round(record.duration_ms))} ms "
                          f"[dim]\\[Request ID: {record.request_id}][/]", highlight=False)


@click.command()
@click.option("--history", type=click.IntRange(0, MAX_HISTORY), default=0, show_default=True,
              metavar="N", help="First show the last N executions.")
@click.option("--success", is_flag=True,
              help="Also show successful executions that logged nothing.")
@click.option("--once", is_flag=True,
              help="Print what is there (with --history) and exit instead of tailing.")
@click.option("--jsonl", is_flag=True, help="One JSON object per execution.")
@target_options
def logs(history: int, success: bool, once: bool, jsonl: bool, url: str | None,
         admin_key: str | None, directory: Path) -> None:
    """Tail the function logs of the running deployment until Ctrl+C (or SIGTERM).

    Shows each execution's log lines (print and logging output) and every failure with
    its error and request ID, prefixed like `syncline dev` prints them.
    """
    def fetch(params: dict[str, str]) -> dict[str, Any]:
        return admin_request("GET", "/api/logs", url, admin_key, directory,
                             what="Reading logs", params=params)

    with _stopped_by_sigterm():
        _tail(fetch, history=history, success=success, once=once, jsonl=jsonl)


def _tail(fetch: Callable[[dict[str, str]], dict[str, Any]], *, history: int, success: bool, once: bool, jsonl: bool) -> None:
    try:
        page = fetch({"history": str(history)})
        for raw in page["records"]:
            _show(raw, success=success, jsonl=jsonl)
        if once:
            return
        cursor = page["cursor"]
        unreachable = False
        while True:
            time.sleep(POLL_INTERVAL_S)
            try:
                page = fetch({"after": str(cursor)})
            except click.ClickException as e:
                if not unreachable:
                    console.err.print(f"[yellow]{e.message}[/] Retrying...", highlight=False)
                    unreachable = True
                continue
            if unreachable:
                console.err.print("[green]Reconnected.[/]")
                unreachable = False
            for raw in page["records"]:
                _show(raw, success=success, jsonl=jsonl)
            cursor = page["cursor"]
    except KeyboardInterrupt:
        pass
