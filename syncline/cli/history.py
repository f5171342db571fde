"""`syncline history`: what changed in a running deployment, newest first (pushes,
environment variables, imports, admin edits; see system/history.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson

from syncline.cli.client import ClientError, admin_target, call_function, target_options

QUERY = "_system/history:list"
PAGE = 1_000  # the server's largest page


def _names(label: str, names: list[str], sign: str) -> list[str]:
    return [f"{sign}{label} {', '.join(names)}"] if names else []


def _push_summary(meta: dict[str, Any]) -> str:
    parts: list[str] = []
    fns = meta.get("functions", {})
    parts += _names("functions", fns.get("added", []), "+")
    parts += _names("functions", fns.get("removed", []), "-")
    changed = [f"{c['path']} ({', '.join(c['changes'])})" for c in fns.get("changed", [])]
    parts += _names("functions", changed, "~")
    schema = meta.get("schema", {})
    parts += _names("tables", schema.get("added", []), "+")
    parts += _names("tables", schema.get("removed", []), "-")
    parts += _names("tables", schema.get("changed", []), "~")
    indexes = meta.get("indexes", {})
    parts += _names("indexes", indexes.get("added", []), "+")
    parts += _names("indexes", indexes.get("removed", []), "-")
    crons = meta.get("crons", {})
    parts += _names("crons", crons.get("added", []), "+")
    parts += _names("crons", crons.get("deleted", []), "-")
    parts += _names("crons", crons.get("updated", []), "~")
    auth = meta.get("auth", {})
    parts += _names("auth providers", auth.get("added", []), "+")
    parts += _names("auth providers", auth.get("removed", []), "-")
    return "; ".join(parts)


def summary(event: dict[str, Any]) -> str:
    """One event's metadata in a few words."""
    action, meta = event["action"], event["metadata"]
    if action == "push_config":
        return _push_summary(meta)
    if action.endswith("_environment_variable"):
        return str(meta.get("name", ""))
    if action == "snapshot_import":
        tables = ", ".join(
            f"{t['table']} ({int(t['documents'])} documents"
            + (f", {int(t['deleted'])} replaced" if "deleted" in t else "") + ")"
            for t in meta.get("tables", []))
        return f"{meta.get('mode', '')}: {tables}"
    return " ".join(f"{k}={v}" for k, v in meta.items())


def line(event: dict[str, Any]) -> str:
    when = datetime.fromtimestamp(event["time"] / 1000, UTC)
    return (f"{when:%Y-%m-%d %H:%M:%S}Z  {event['who']:<9} {event['action']:<28} "
            f"{summary(event)}").rstrip()


@click.command("history")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True,
              help="Show at most this many events.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the events as JSON lines (time in ms since the epoch).")
@target_options
def history(limit: int, as_json: bool, url: str | None, admin_key: str | None,
            directory: Path) -> None:
    """Show the deployment's history, newest first: pushes (functions, schema, indexes,
    crons and auth that changed), environment variable changes (names only),
    imports and admin edits, each with its time and who made it."""
    target = admin_target(url, admin_key, directory, "Reading the history")
    shown = 0
    cursor: str | None = None
    while shown < limit:
        options = {"numItems": min(PAGE, limit - shown), "cursor": cursor}
        try:
            result = call_function(target, QUERY, orjson.dumps(
                {"paginationOpts": options}).decode())
        except ClientError as e:
            raise click.ClickException(str(e)) from None
        if not result.ok:
            raise click.ClickException(result.error_message)
        page = result.value
        for event in page["page"]:
            click.echo(orjson.dumps(event).decode() if as_json else line(event))
            shown += 1
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
    if shown == 0 and not as_json:
        click.echo("No events.", err=True)
