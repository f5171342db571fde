"""`syncline dev` and `syncline serve`: start a deployment, serve it, and (dev) push on save."""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path

import watchfiles

from syncline.cli import console
from syncline.errors import DatabaseInUseError, DiskFullError
from syncline.functions import ExecutionRecord, PushError
from syncline.server.deployment import Deployment
from syncline.server.origins import fallback_warning, public_urls
from syncline.server.request_bodies import InvalidSettingError
from syncline.server.runtime import serve_deployment
from syncline.storage.disk_full import is_disk_full
from syncline.storage.sqlite import Durability

DEPLOYMENT_FILE = "deployment.json"
_KIND_LETTER = {"query": "Q", "mutation": "M", "action": "A", None: "?"}


def record_prefix(record: ExecutionRecord) -> str:
    """`[CONVEX M(messages:send)]`: how Convex clients label a function's output."""
    return f"[CONVEX {_KIND_LETTER[record.kind]}({record.path})]"


def print_record(record: ExecutionRecord, *, include_logs: bool) -> None:
    """Function logs and failures on the terminal, prefixed as Convex clients print them."""
    prefix = record_prefix(record)
    if include_logs:
        for line in record.log_lines:
            console.out.print(f"[dim]{prefix}[/] {line.formatted()}", highlight=False)
    if not record.success:
        console.err.print(f"[red]{prefix} {record.error}[/]", highlight=False)


async def run_deployment(
    directory: Path, *, host: str, port: int, site_port: int, data_dir: Path | None, dev: bool,
    durability: Durability = "full", cloud_origin: str | None = None,
    site_origin: str | None = None, metrics_public: bool = False,
) -> int:
    """Serve the app until stopped; the exit status. `cloud_origin`/`site_origin` (checked
    by `parse_origin`) are the public URLs handed out (server/origins.py)."""
    directory = directory.resolve()
    try:
        deployment = Deployment(
            directory, data_dir=data_dir, dev=dev, durability=durability,
            on_record=lambda r: print_record(r, include_logs=dev),
        )
    except DatabaseInUseError as e:
        console.err.print(f"[red]{e}[/]\nIs a deployment of this app already running?",
                          highlight=False)
        return 1
    except InvalidSettingError as e:
        console.err.print(f"[red]{e}[/]", highlight=False)
        return 1
    except (DiskFullError, OSError) as e:
        if not is_disk_full(e):
            raise
        message = str(e) if isinstance(e, DiskFullError) else (
            f"The disk holding {data_dir or directory / '.syncline'} is full ({e.strerror}): "
            "free some space and start again")
        console.err.print(f"[red]{message}[/]", highlight=False)
        return 1
    deployment.metrics.public = metrics_public
    if deployment.db.read_only:
        console.err.print("[yellow]The disk holding the database is full: serving reads "
                          "only; writes fail until space is freed.[/]", highlight=False)
    origins = {"cloud_origin": cloud_origin, "site_origin": site_origin}
    if (cloud_origin or port) and (site_origin or site_port):  # known before the ports are
        # bound (port 0 picks one then): module-level code of the first push sees them
        early = public_urls(host, port, site_port, **origins)
        deployment.set_urls(early.cloud, early.site)  # CONVEX_CLOUD_URL, CONVEX_SITE_URL
    if not await _push(deployment, first=True) and not dev:
        deployment.close()
        return 1
    tune_garbage_collector()
    record = directory / ".syncline" / DEPLOYMENT_FILE
    wrote_record = False
    recorded: dict[str, str] = {}

    def write_record() -> None:
        """What `syncline run` and friends read: the URLs and the current admin key."""
        nonlocal wrote_record
        try:
            record.parent.mkdir(parents=True, exist_ok=True)
            _write_private(record, json.dumps({
                **recorded, "admin_key": deployment.admin_keys.admin_key(), "pid": os.getpid(),
            }))
            wrote_record = True
        except OSError as e:  # the server runs on; `syncline run` needs --url then
            record.unlink(missing_ok=True)
            wrote_record = False
            console.err.print(f"[yellow]Could not record this deployment in {record} "
                              f"({e.strerror or e}): pass --url and --admin-key to "
                              "`syncline run`[/]", highlight=False)

    # A rotated admin key (the dashboard's settings) is recorded at once: the CLI keeps working.
    deployment.on_admin_key_rotated.append(lambda _key: write_record() if recorded else None)

    def started(api_port: int, site_port: int) -> None:
        urls = public_urls(host, api_port, site_port, **origins)
        deployment.set_urls(urls.cloud, urls.site)  # CONVEX_CLOUD_URL, CONVEX_SITE_URL
        url, site_url = urls.local_cloud, urls.local_site  # for `syncline run` here
        recorded.update(url=url, site_url=site_url)
        write_record()
        mode = "dev" if dev else "production"
        console.out.print(f"[bold green]syncline {mode} deployment[/] of {directory}")
        console.out.print(f"  API and sync:  [bold]{url}[/]", highlight=False)
        console.out.print(f"  HTTP actions:  [bold]{site_url}[/]", highlight=False)
        if urls.differ:
            console.out.print(f"  Public URLs:   [bold]{urls.cloud}[/] (API), "
                              f"[bold]{urls.site}[/] (HTTP actions)", highlight=False)
        warning = fallback_warning(host, urls, **origins)
        if warning is not None:
            console.err.print(f"[yellow]{warning}[/]", highlight=False)
        console.out.print(f"  Admin key:     {deployment.admin_keys.admin_key()}")
        console.out.print(f"  Dashboard:     [bold]{dashboard_link(deployment, url, dev)}[/]",
                          highlight=False, soft_wrap=True)
        if dev:
            console.out.print("  Watching convex/ for changes. Ctrl+C to stop.")

    async def watch() -> None:
        async for _changes in watchfiles.awatch(
            deployment.app_dir / "convex", watch_filter=watchfiles.PythonFilter(),
            debounce=300,
        ):
            await _push(deployment, first=False)

    try:
        await serve_deployment(deployment, host=host, port=port, site_port=site_port,
                               on_started=started, background=watch if dev else None)
    except OSError as e:
        console.err.print(f"[red]{e}[/]")
        return 1
    finally:
        if wrote_record:
            record.unlink(missing_ok=True)
    return 0


def dashboard_link(deployment: Deployment, url: str, dev: bool) -> str:
    """`<url>/dashboard/`; on dev with a one-time login token (valid for 10 minutes), so
    the first click logs the browser in. `syncline dashboard` makes a new link."""
    link = f"{url}/dashboard/"
    if not dev:
        return link
    token, _expires = deployment.login_tokens.issue()
    return f"{link}?token={token}"


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by this user only (it holds the admin key),
    replacing it at once: a reader sees the old record or the new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def tune_garbage_collector() -> None:
    """Keep collector pauses out of push latency: what exists after startup (modules, the
    app's code) is frozen out of collection, and young collections run less often. With
    1,000 subscribers a full collection otherwise paused the server for ~130 ms."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def _push(deployment: Deployment, *, first: bool) -> bool:
    try:
        report = await deployment.push()
    except PushError as e:
        console.err.print(f"[red]✖ Push failed[/] ({'no version is serving' if first else 'the last good version keeps serving'}):\n{e}", highlight=False)
        return False
    tables = "no schema" if report.schema_tables is None else f"{report.schema_tables} tables"
    console.out.print(f"[green]✔ Pushed[/] {report.functions} functions, {tables}")
    return True
