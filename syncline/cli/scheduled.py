"""`syncline scheduled`: list and cancel the scheduled functions of a running deployment."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from syncline.cli import console
from syncline.cli.client import admin_request, target_options

API = "/api/syncline/scheduled_functions"
MAX_LIMIT = 1_000


def _request(method: str, path: str, url: str | None, admin_key: str | None, directory: Path,
             *, params: dict[str, Any] | None = None, body: dict[str, Any] | None = None) -> Any:
    return admin_request(method, path, url, admin_key, directory, params=params, body=body,
                         what="Managing scheduled functions", read_timeout=600.0)


def _utc(ms: float | None) -> str:
    if ms is None:
        return ""
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@click.group()
def scheduled() -> None:
    """List and cancel the scheduled functions of the running deployment."""


@scheduled.command("list")
@click.option("--all", "show_all", is_flag=True,
              help="Show finished jobs too (success, failed, canceled).")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=100, show_default=True,
              help="Show at most this many jobs, the soonest first.")
@target_options
def list_command(show_all: bool, limit: int, url: str | None, admin_key: str | None,
                 directory: Path) -> None:
    """List the pending and running scheduled functions, soonest first.

    With --all, finished ones (success, failed, canceled) too.
    """
    params = {"state": "all" if show_all else "pending,inProgress", "limit": str(limit)}
    jobs = _request("GET", API, url, admin_key, directory, params=params)["jobs"]
    if not jobs:
        console.out.print("No scheduled functions." if show_all
                          else "No pending scheduled functions.")
        return
    table = Table(box=None, pad_edge=False)
    table.add_column("ID", no_wrap=True, min_width=max(len(job["id"]) for job in jobs))
    table.add_column("Function", overflow="fold", min_width=12)
    table.add_column("Scheduled at (UTC)", overflow="fold", min_width=12)
    table.add_column("State", no_wrap=True, min_width=len("inProgress"))
    for job in jobs:
        table.add_row(job["id"], job["name"], _utc(job["scheduledTime"]), job["state"]["kind"])
    console.out.print(table)
    if len(jobs) == limit:
        console.err.print(f"[dim]Showing the first {limit}; pass --limit for more.[/]")


@scheduled.command()
@click.argument("job_id", metavar="ID")
@target_options
def cancel(job_id: str, url: str | None, admin_key: str | None, directory: Path) -> None:
    """Cancel the scheduled function ID, unless it has already finished."""
    result = _request("POST", f"{API}/cancel", url, admin_key, directory, body={"id": job_id})
    if result["canceled"]:
        console.out.print(f"Canceled {job_id}")
    else:
        console.out.print(f"{job_id} had already finished: nothing to cancel")


@scheduled.command("cancel-all")
@click.option("--function", "function", metavar="MODULE:FUNCTION",
              help="Cancel only the jobs of this function, e.g. emails:send.")
@target_options
def cancel_all(function: str | None, url: str | None, admin_key: str | None,
               directory: Path) -> None:
    """Cancel every unfinished scheduled function, or only those of --function."""
    body = {} if function is None else {"name": function}
    count = _request("POST", f"{API}/cancel_all", url, admin_key, directory,
                     body=body)["canceled"]
    noun = "scheduled function" if count == 1 else "scheduled functions"
    suffix = f" of {function}" if function else ""
    console.out.print(f"Canceled {count} {noun}{suffix}")
