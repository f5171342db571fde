"""`syncline import` and `syncline export`: move data in and out of a running deployment
(docs/data-import-export.md)."""

from __future__ import annotations

from pathlib import Path

import click
import httpx
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from syncline.cli import console
from syncline.cli.client import Target, admin_target, target_options
from syncline.cli.streamed_import import streamed_import

PROGRESS_THRESHOLD = 8 * 1024 * 1024  # show a progress bar for files larger than this
_CHUNK = 1024 * 1024
_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
_FORMAT_NAMES = {"jsonl": "jsonl", "jsonLines": "jsonl", "json": "json", "jsonArray": "json",
                 "csv": "csv"}


def _fail(target: Target, response: httpx.Response) -> click.ClickException:
    try:
        message = response.json().get("message")
    except ValueError:
        message = None
    return click.ClickException(
        message or f"Unexpected response from {target.url} ({response.status_code}): "
                   f"{response.text[:500]}")


def _unreachable(target: Target, error: Exception) -> click.ClickException:
    return click.ClickException(f"Could not reach the deployment at {target.url}: {error}. "
                                "Is `syncline dev` (or `serve`) running?")


def _progress() -> Progress:
    return Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), console=console.err, transient=True)


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--table", help="Import into this table (required unless PATH is a ZIP).")
@click.option("--format", "fmt", type=click.Choice(sorted(_FORMAT_NAMES)),
              help="The file's format (default: from its extension).")
@click.option("--append", is_flag=True, help="Add to the documents already in the table(s).")
@click.option("--replace", is_flag=True, help="Replace the documents in the table(s).")
@target_options
def import_command(path: Path, table: str | None, fmt: str | None, append: bool, replace: bool,
                   url: str | None, admin_key: str | None, directory: Path) -> None:
    """Import PATH (JSONL, JSON array, CSV with a header row, or a snapshot ZIP).

    A table that already holds documents is refused unless --append or --replace is
    given. A ZIP's `_storage/` folder (from `export --include-file-storage`) restores
    file storage the same way. Each import is atomic: on any error (reported with its
    line), nothing changes.

    The progress is shown as the server reads, checks and commits the documents.
    Ctrl+C cancels the import (nothing is written) unless its commit has started; then
    the CLI says that it will still complete.
    """
    if append and replace:
        raise click.UsageError("Pass at most one of --append and --replace")
    mode = "append" if append else "replace" if replace else "create"
    is_zip = path.suffix.lower() == ".zip" and table is None
    if is_zip:
        endpoint, params = "/api/import_snapshot", {"mode": mode}
    else:
        if table is None:
            raise click.UsageError("--table is required unless PATH is a snapshot ZIP")
        fmt_name = _FORMAT_NAMES[fmt] if fmt else _FORMATS.get(path.suffix.lower())
        if fmt_name is None:
            raise click.UsageError(f"Cannot tell the format of {path.name}: pass --format")
        endpoint, params = "/api/import", {"table": table, "mode": mode, "format": fmt_name}
    target = admin_target(url, admin_key, directory, "Importing data")
    size = path.stat().st_size
    try:
        counts = streamed_import(target, path, endpoint, params, size > PROGRESS_THRESHOLD)
    except httpx.HTTPError as e:
        raise _unreachable(target, e) from None
    _print_counts(counts)


def _print_counts(counts: dict[str, int]) -> None:
    for name, count in counts.items():
        if name == "_storage":
            console.out.print(f"Imported {count} file{'s' * (count != 1)} into file storage")
        else:
            console.out.print(
                f"Imported {count} document{'s' * (count != 1)} into table {name!r}")


@click.command("export")
@click.option("--path", "out", required=True, type=click.Path(path_type=Path),
              help="Write the snapshot ZIP here (a directory: snapshot_<ts>.zip in it).")
@click.option("--include-file-storage", "include_storage", is_flag=True,
              help="Also export file storage: `_storage/documents.jsonl` and every file.")
@target_options
def export_command(out: Path, include_storage: bool, url: str | None, admin_key: str | None,
                   directory: Path) -> None:
    """Export every table, as one consistent snapshot, to a ZIP in Convex's layout.

    With --include-file-storage the ZIP also holds every stored file (as of the same
    snapshot), which `syncline import` restores."""
    target = admin_target(url, admin_key, directory, "Exporting data")
    params = {"includeStorage": "true"} if include_storage else {}
    try:
        with httpx.stream("GET", f"{target.url}/api/export", params=params,
                          headers={"Authorization": f"Convex {target.admin_key}"},
                          timeout=httpx.Timeout(10.0, read=3600.0)) as response:
            if response.status_code != 200:
                response.read()
                raise _fail(target, response)
            if out.is_dir():
                disposition = response.headers.get("content-disposition", "")
                name = disposition.partition('filename="')[2].rstrip('"') or "snapshot.zip"
                out = out / name
            total = int(response.headers.get("content-length", "0"))
            progress = _progress() if total > PROGRESS_THRESHOLD else None
            task = None if progress is None else progress.add_task("Downloading", total=total)
            if progress is not None:
                progress.start()
            try:
                with out.open("wb") as file:
                    for chunk in response.iter_bytes(_CHUNK):
                        file.write(chunk)
                        if progress is not None and task is not None:
                            progress.advance(task, len(chunk))
            finally:
                if progress is not None:
                    progress.stop()
    except httpx.HTTPError as e:
        raise _unreachable(target, e) from None
    console.out.print(f"Exported a snapshot to {out}")
