"""`syncline env`: set, get, list and remove the environment variables of a running
deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
import httpx
import orjson

from syncline.cli import client, console
from syncline.cli.scheduled import _target_options

API = "/api/syncline/env"


def _request(method: str, path: str, url: str | None, admin_key: str | None, directory: Path,
             *, body: dict[str, Any] | None = None) -> Any:
    """Call the admin API; a ClickException (exit status 1) for anything but a 200."""
    try:
        target = client.resolve_target(directory, url, admin_key)
    except client.ClientError as e:
        raise click.ClickException(str(e)) from None
    if not target.admin_key:
        raise click.ClickException(
            "Managing environment variables needs the admin key: pass --admin-key or set "
            "SYNCLINE_ADMIN_KEY")
    headers = {"Authorization": f"Convex {target.admin_key}",
               "Content-Type": "application/json"}
    try:
        response = httpx.request(
            method, f"{target.url}{path}", headers=headers,
            content=None if body is None else orjson.dumps(body),
            timeout=httpx.Timeout(5.0, read=60.0))
    except httpx.HTTPError as e:
        raise click.ClickException(
            f"Could not reach the deployment at {target.url}: {e}. Is `syncline dev` (or "
            "`serve`) running?") from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code != 200 or not isinstance(data, dict):
        message = data.get("message") if isinstance(data, dict) else None
        raise click.ClickException(
            message or f"Unexpected response from {target.url} ({response.status_code}): "
                       f"{response.text[:500]}")
    return data


@click.group()
def env() -> None:
    """Set, get, list and remove the deployment's environment variables.

    Functions read them with os.environ["NAME"] or os.environ.get("NAME"); a change is
    seen by the next function call, without a restart or push.
    """


@env.command("set")
@click.argument("name")
@click.argument("value")
@_target_options
def set_command(name: str, value: str, url: str | None, admin_key: str | None,
                directory: Path) -> None:
    """Set the environment variable NAME to VALUE."""
    result = _request("POST", API, url, admin_key, directory,
                      body={"name": name, "value": value})
    console.out.print(f"{'Added' if result['created'] else 'Updated'} environment variable "
                      f"{name}", highlight=False)


@env.command("get")
@click.argument("name")
@_target_options
def get_command(name: str, url: str | None, admin_key: str | None, directory: Path) -> None:
    """Print the value of the environment variable NAME."""
    result = _request("GET", f"{API}/{quote(name, safe='')}", url, admin_key, directory)
    click.echo(result["value"])


@env.command("list")
@_target_options
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
@_target_options
def remove_command(name: str, url: str | None, admin_key: str | None,
                   directory: Path) -> None:
    """Remove the environment variable NAME."""
    _request("DELETE", f"{API}/{quote(name, safe='')}", url, admin_key, directory)
    console.out.print(f"Removed environment variable {name}", highlight=False)
