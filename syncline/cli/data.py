"""`syncline data`: list the tables of a running deployment, or show a table's documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import orjson
from rich.table import Table

from syncline.cli import console
from syncline.cli.client import admin_request, target_options
from syncline.cli.data_filter import parse_filter

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
@click.option("--filter", "filters", multiple=True, metavar="'FIELD OP VALUE'",
              help="Only documents where FIELD (a.b for nested) compares to VALUE by OP: eq, "
                   "neq, gt, gte, lt, lte (or = != > >= < <=), or 'is TYPE' / 'is not TYPE'. "
                   "VALUE is JSON where it parses, else a string. Repeat to AND filters.")
@target_options
def data(table: str | None, limit: int, order: str, output_format: str,
         filters: tuple[str, ...], url: str | None, admin_key: str | None,
         directory: Path) -> None:
    """List the tables of the running deployment, or show the documents of TABLE.

    Documents are shown newest first (--order asc for the oldest first), as JSON values
    (int64 as a decimal string, bytes as base64). The system tables _storage and
    _scheduled_functions can be shown too. --filter is the dashboard's filter language,
    applied by the deployment: e.g. --filter 'age gte 18' --filter 'author.name eq "Ada"'.
    """
    if table is None:
        if filters:
            raise click.UsageError("--filter needs a TABLE to filter")
        _print_tables(url, admin_key, directory)
        return
    conditions = [parse_filter(text) for text in filters]
    params = {"table": table, "order": order}
    if conditions:
        params["filters"] = orjson.dumps(conditions).decode()
    documents: list[dict[str, Any]] = []
    while True:  # a filtered page can stop short of the limit: read on until it is met
        page = admin_request("GET", "/api/data/documents", url, admin_key, directory,
                             what="Reading data",
                             params={**params, "limit": str(limit - len(documents))})
        documents += page["documents"]
        if page["isDone"] or len(documents) >= limit:
            break
        params["cursor"] = page["cursor"]
    if output_format == "json":
        console.print_json(documents)
    elif output_format == "jsonl":
        for doc in documents:
            click.echo(orjson.dumps(doc).decode())
    elif not documents:
        matching = " matching the filters" if conditions else ""
        console.out.print(f"There are no documents in {table}{matching}.", highlight=False)
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
        matching = " matching" if conditions else ""
        console.err.print(f"[dim]Showing the {limit} {newest}{matching} documents; pass "
                          "--limit for more.[/]", highlight=False)


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
