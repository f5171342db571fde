"""The CLI's HTTP client for a running deployment (`syncline run`)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx
import orjson

from syncline.cli.deploy import DEPLOYMENT_FILE


class ClientError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    url: str
    admin_key: str | None


@dataclass(frozen=True)
class CallResult:
    ok: bool
    value: Any
    error_message: str
    error_data: Any
    log_lines: list[str]


def resolve_target(directory: Path, url: str | None, admin_key: str | None) -> Target:
    """Explicit options win; otherwise what `syncline dev/serve` recorded in the app folder."""
    if url is None or admin_key is None:
        recorded = directory / ".syncline" / DEPLOYMENT_FILE
        if recorded.exists():
            info = json.loads(recorded.read_text())
            url = url or info.get("url")
            admin_key = admin_key or info.get("admin_key")
    if url is None:
        raise ClientError(
            f"No running deployment found for {directory.resolve()}: start one with "
            "`syncline dev`, or pass --url and --admin-key"
        )
    return Target(url.rstrip("/"), admin_key)


def call_function(target: Target, function: str, args_json: str,
                  identity_json: str | None = None) -> CallResult:
    """Call any function with the admin key, optionally acting as a user identity."""
    try:
        args = orjson.loads(args_json)
    except orjson.JSONDecodeError as e:
        raise ClientError(f"ARGS must be a JSON object, e.g. '{{\"body\": \"hi\"}}': {e}") from None
    if not isinstance(args, dict):
        raise ClientError("ARGS must be a JSON object, e.g. '{\"body\": \"hi\"}'")
    headers = {"Content-Type": "application/json"}
    if target.admin_key:
        headers["Authorization"] = f"Convex {target.admin_key}"
    if identity_json is not None:
        if not target.admin_key:
            raise ClientError("--identity needs the admin key: pass --admin-key or set "
                              "SYNCLINE_ADMIN_KEY")
        headers["Authorization"] += ":" + _encoded_identity(identity_json)
    body = {"path": function, "args": args, "format": "json"}
    try:
        response = httpx.post(f"{target.url}/api/function", content=orjson.dumps(body),
                              headers=headers, timeout=httpx.Timeout(5.0, read=660.0))
    except httpx.HTTPError as e:
        raise ClientError(f"Could not reach the deployment at {target.url}: {e}") from None
    try:
        data = response.json()
    except ValueError:
        raise ClientError(f"Unexpected response ({response.status_code}): {response.text}") from None
    if response.status_code != 200:
        raise ClientError(data.get("message", response.text))
    return CallResult(
        data.get("status") == "success", data.get("value"), data.get("errorMessage", ""),
        data.get("errorData"), list(data.get("logLines", [])),
    )


def _encoded_identity(identity_json: str) -> str:
    """The identity to act as, in the `Convex <key>:<base64 JSON>` form clients send."""
    try:
        identity = orjson.loads(identity_json)
    except orjson.JSONDecodeError as e:
        raise ClientError(f"--identity must be a JSON object, e.g. "
                          f"'{{\"subject\": \"user-1\", \"name\": \"Ada\"}}': {e}") from None
    if not isinstance(identity, dict):
        raise ClientError("--identity must be a JSON object, e.g. '{\"subject\": \"user-1\"}'")
    return base64.b64encode(orjson.dumps(identity)).decode()


def admin_target(url: str | None, admin_key: str | None, directory: Path, what: str) -> Target:
    """The deployment to call, with its admin key; a ClickException saying what is missing."""
    try:
        target = resolve_target(directory, url, admin_key)
    except ClientError as e:
        raise click.ClickException(str(e)) from None
    if not target.admin_key:
        raise click.ClickException(
            f"{what} needs the admin key: pass --admin-key or set SYNCLINE_ADMIN_KEY")
    return target


def admin_request(
    method: str, path: str, url: str | None, admin_key: str | None, directory: Path, *,
    what: str, params: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
    read_timeout: float = 60.0,
) -> Any:
    """Call the deployment's admin API; a ClickException (exit status 1) for anything but a
    200, carrying the server's message."""
    target = admin_target(url, admin_key, directory, what)
    headers = {"Authorization": f"Convex {target.admin_key}",
               "Content-Type": "application/json"}
    try:
        response = httpx.request(
            method, f"{target.url}{path}", params=params, headers=headers,
            content=None if body is None else orjson.dumps(body),
            timeout=httpx.Timeout(5.0, read=read_timeout))
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


def target_options(fn):  # type: ignore[no-untyped-def]
    """The options `syncline run` uses to find the deployment."""
    fn = click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
                      default=".", show_default=True,
                      help="The app folder of the running deployment.")(fn)
    fn = click.option("--admin-key", envvar=["SYNCLINE_ADMIN_KEY", "CONVEX_ADMIN_KEY"],
                      help="Admin key (default: the one recorded in DIR/.syncline).")(fn)
    fn = click.option("--url", envvar=["SYNCLINE_URL", "CONVEX_URL"],
                      help="Deployment URL (default: the one `syncline dev` recorded in "
                           "DIR/.syncline).")(fn)
    return fn
