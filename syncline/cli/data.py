"""`syncline data`: list the tables of a running deployment, or show a table's documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import orjson
from rich.table import Table

from syncline.cli import console
from syncline.cli.client import admin_request, target_options

MAX_LIMIT = 1_000
_SYSTEM_FIELDS = ("_id", "_creationTime")


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _columns(documents: list[dict[str, Any]]) -> list[str]:
    """`_id`, `_creationTime`, then every other field in order of first appearance."""
    seen: dict[str, None] = dict.fromkeys(_SYSTEM_FIELDS)
    for doc in documents:
        seen.update(dict.fromkeys(doc))
    return list(seen)


@click.command()
@click.argument("table", required=False)
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=100, show_default=True,
              help="Show at most this many documents.")
@click.option("--order", type=click.Choice(["asc", "desc"]), default="desc", show_default=True,
              help="By creation time: desc shows the newest first.")
@click.option("--format", "output_format", type=click.Choice(["pretty", "json", "jsonl"]),
              default="pretty", show_default=True,
              help="pretty: a table; json: one JSON array; jsonl: one document per line.")
@target_options
def data(table: str | None, limit: int, order: str, output_format: str, url: str | None,
         admin_key: str | None, directory: Path) -> None:
    """List the tables of the running deployment, or show the documents of TABLE.

    Documents are shown newest first (--order asc for the oldest first), as JSON values
    (int64 as a decimal string, bytes as base64). The system tables _storage and
    _scheduled_functions can be shown too.
    """
    if table is None:
        _print_tables(url, admin_key, directory)
        return
    page = admin_request("GET", "/api/data/documents", url, admin_key, directory,
                         what="Reading data",
                         params={"table": table, "limit": str(limit), "order": order})
    documents: list[dict[str, Any]] = page["documents"]
    if output_format == "json":
        console.print_json(documents)
    elif output_format == "jsonl":
        for doc in documents:
            click.echo(orjson.dumps(doc).decode())
    elif not documents:
        console.out.print(f"There are no documents in {table}.", highlight=False)
    else:
        grid = Table(box=None, pad_edge=False)
        for column in _columns(documents):
            grid.add_column(column, overflow="fold", no_wrap=column == "_id",
                            min_width=min(len(column), 12))
        for doc in documents:
            grid.add_row(*(_cell(doc[c]) if c in doc else "" for c in _columns(documents)))
        console.out.print(grid)
    if not page["isDone"] and output_format == "pretty":
        newest = "newest" if order == "desc" else "oldest"
        console.err.print(f"[dim]Showing the {limit} {newest} documents; pass --limit for "
                          "more.[/]", highlight=False)


def _print_tables(url: str | None, admin_key: str | None, directory: Path) -> None:
    tables = admin_request("GET", "/api/data/tables", url, admin_key, directory,
                           what="Reading data")["tables"]
    if not tables:
        console.out.print("There are no tables in this deployment.")
        return
    grid = Table(box=None, pad_edge=False)
    grid.add_column("Table", overflow="fold")
    grid.add_column("Documents", justify="right", no_wrap=True)
    for info in tables:
        grid.add_row(info["name"], str(info["documents"]))
    console.out.print(grid)
