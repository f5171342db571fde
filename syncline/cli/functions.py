"""`syncline functions` and `syncline function-spec`: what a running deployment serves.

Both read the system query `_system/cli/modules:apiSpec` (syncline/system/) with the
admin key. `function-spec` prints `{"url", "functions"}` exactly as `npx convex
function-spec` does (or writes it to a file with `--file`); `functions` lists the same
as a table: path, kind, visibility, arguments; then the HTTP routes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
import orjson
from rich.table import Table

from syncline.cli import console
from syncline.cli.client import ClientError, admin_target, call_function, target_options


def _system_query(path: str, url: str | None, admin_key: str | None, directory: Path) -> Any:
    target = admin_target(url, admin_key, directory, "Reading the function spec")
    try:
        result = call_function(target, path, "{}")
    except ClientError as e:
        raise click.ClickException(str(e)) from None
    if not result.ok:
        raise click.ClickException(result.error_message)
    return result.value


def read_spec(url: str | None, admin_key: str | None, directory: Path) -> dict[str, Any]:
    return {"url": _system_query("_system/cli/convexUrl:cloudUrl", url, admin_key, directory),
            "functions": _system_query("_system/cli/modules:apiSpec", url, admin_key,
                                       directory)}


@click.command("function-spec")
@click.option("--file", "file", is_flag=False, flag_value="", default=None, metavar="[PATH]",
              help="Write the spec to PATH (default: function_spec_<ms>.json) instead of "
                   "printing it.")
@target_options
def function_spec_command(file: str | None, url: str | None, admin_key: str | None,
                          directory: Path) -> None:
    """Print the function spec of the running deployment as JSON: every function's path,
    kind, visibility, args and returns validators, and the HTTP routes."""
    text = orjson.dumps(read_spec(url, admin_key, directory), option=orjson.OPT_INDENT_2)
    if file is None:
        click.echo(text.decode())
        return
    path = Path(file or f"function_spec_{int(time.time() * 1000)}.json")
    try:
        path.write_bytes(text + b"\n")
    except OSError as e:
        raise click.ClickException(f"Cannot write {path}: {e.strerror or e}") from None
    console.out.print(f"Wrote function spec to {path}", highlight=False)


def describe(validator: dict[str, Any] | None) -> str:
    """A short, readable form of a validator's JSON: `{body: string, n?: number}`."""
    if validator is None:
        return "any"
    kind = validator.get("type")
    if kind == "object":
        fields = validator.get("value", {})
        return "{" + ", ".join(
            f"{name}{'?' if field.get('optional') else ''}: {describe(field.get('fieldType'))}"
            for name, field in fields.items()) + "}"
    if kind == "id":
        return f"id<{validator.get('tableName')}>"
    if kind == "array":
        return f"{describe(validator.get('value'))}[]"
    if kind == "union":
        return " | ".join(describe(member) for member in validator.get("value", []))
    if kind == "literal":
        return orjson.dumps(validator.get("value")).decode()
    if kind == "record":
        return f"record<{describe(validator.get('keys'))}, {describe(validator.get('values'))}>"
    return str(kind)


@click.command("functions")
@target_options
def functions_command(url: str | None, admin_key: str | None, directory: Path) -> None:
    """List the functions and HTTP routes of the running deployment."""
    spec = _system_query("_system/cli/modules:apiSpec", url, admin_key, directory)
    functions = [entry for entry in spec if entry["functionType"] != "HttpAction"]
    routes = [entry for entry in spec if entry["functionType"] == "HttpAction"]
    if not functions and not routes:
        console.out.print("The deployment has no functions.")
        return
    grid = Table(box=None, pad_edge=False)
    for column in ("Function", "Kind", "Visibility", "Args", "Returns"):
        grid.add_column(column, overflow="fold")
    for entry in functions:
        module, _, name = entry["identifier"].partition(":")
        grid.add_row(f"{module.removesuffix('.js')}:{name}", entry["functionType"].lower(),
                     entry["visibility"]["kind"], describe(entry["args"]),
                     describe(entry["returns"]))
    console.out.print(grid)
    if routes:
        console.out.print()
        http = Table(box=None, pad_edge=False)
        http.add_column("HTTP route")
        http.add_column("Method")
        for route in routes:
            http.add_row(route["path"], route["method"])
        console.out.print(http)
