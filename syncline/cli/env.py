"""`syncline env`: set, get, list and remove the environment variables of a running
deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from syncline.cli import console
from syncline.cli.client import admin_request, target_options

API = "/api/syncline/env"


def _request(method: str, path: str, url: str | None, admin_key: str | None, directory: Path,
             *, body: dict[str, Any] | None = None) -> Any:
    return admin_request(method, path, url, admin_key, directory, body=body,
                         what="Managing environment variables")


@click.group()
def env() -> None:
    """Set, get, list and remove the deployment's environment variables.

    Functions read them with os.environ["NAME"] or os.environ.get("NAME"); a change is
    seen by the next function call, without a restart or push.
    """


@env.command("set")
@click.argument("name")
@click.argument("value")
@target_options
def set_command(name: str, value: str, url: str | None, admin_key: str | None,
                directory: Path) -> None:
    """Set the environment variable NAME to VALUE."""
    result = _request("POST", API, url, admin_key, directory,
                      body={"name": name, "value": value})
    console.out.print(f"{'Added' if result['created'] else 'Updated'} environment variable "
                      f"{name}", highlight=False)


@env.command("get")
@click.argument("name")
@target_options
def get_command(name: str, url: str | None, admin_key: str | None, directory: Path) -> None:
    """Print the value of the environment variable NAME."""
    result = _request("GET", f"{API}/{quote(name, safe='')}", url, admin_key, directory)
    click.echo(result["value"])


@env.command("list")
@target_options
def list_command(url: str | None, admin_key: str | None, directory: Path) -> None:
    """Print every environment variable as NAME=VALUE."""
    variables = _request("GET", API, url, admin_key, directory)["variables"]
    if not variables:
        console.err.print("No environment variables.")
        return
    for name, value in variables.items():
        click.echo(f"{name}={value}")


@env.command("remove")
@click.argument("name")
@target_options
def remove_command(name: str, url: str | None, admin_key: str | None,
                   directory: Path) -> None:
    """Remove the environment variable NAME."""
    _request("DELETE", f"{API}/{quote(name, safe='')}", url, admin_key, directory)
    console.out.print(f"Removed environment variable {name}", highlight=False)
