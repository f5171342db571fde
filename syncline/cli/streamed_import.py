"""`syncline import`: upload the file, then follow the server's progress events
(documents read, validated and buffered; then the commit) until the outcome.

Ctrl+C (SIGINT) during the upload stops it: the server writes nothing. After the upload
it asks the server to cancel the import, which succeeds until the commit has started
(then nothing is written); once the commit has started the CLI says that the import
will still commit and waits for it. A second Ctrl+C stops waiting (the import still
commits). The handler is installed explicitly, so this works even when the CLI was
started with SIGINT ignored (by a script or a test runner in the background).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx
import orjson
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn

from syncline.cli import console
from syncline.cli.client import Target

NDJSON = "application/x-ndjson"
_CHUNK = 1024 * 1024
EXIT_INTERRUPTED = 130


class _Interrupted(Exception):  # noqa: N818 - raised out of the SIGINT handler
    """Ctrl+C during the upload: the server never began the import."""


@dataclass
class _State:
    """What the SIGINT handler needs to know about the import in flight."""

    target: Target
    uploaded: bool = False
    import_id: str | None = None
    cancel_requested: bool = False
    cancelled: bool = False
    committing: bool = False


class _Display:
    """A progress bar on a terminal; plain lines otherwise (logs, CI, tests)."""

    def __init__(self, size: int, show_upload: bool) -> None:
        self.live = console.err.is_terminal
        self.shown = False
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._size = size
        self._phase = "uploading"
        if show_upload and self.live:
            self._start("Uploading", size)

    def _start(self, description: str, total: int | None) -> None:
        """A new bar; `total` None: one that pulses, for work of unknown length."""
        if self._progress is None:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TaskProgressColumn(), console=console.err,
                                      transient=True)
            self._progress.start()
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(
            description, total=None if total is None else max(total, 1))
        self.shown = True

    def uploaded(self, n: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)

    def event(self, event: dict[str, Any]) -> None:
        phase, documents = event.get("phase"), event.get("documents", 0)
        if phase == "importing" and documents:
            of = event.get("documentsTotal") or 0
            done, total = ((documents, of) if of
                           else (event.get("bytesRead", 0), event.get("bytesTotal") or self._size))
            total = max(total, 1)
            text = (f"Importing: {documents} of {of} documents checked" if of
                    else f"Importing: {documents} documents read and checked")
            if not self.live:
                console.err.print(f"{text} ({100 * done // total}%)" if of
                                  else f"{text} ({100 * done // total}% of the file)")
                self.shown = True
                return
            if self._phase != "importing":
                self._start(text, total)
                self._phase = "importing"
            assert self._progress is not None and self._task is not None
            self._progress.update(self._task, description=text, completed=done)
        elif phase == "committing" and self.shown:
            text = f"Committing {documents} documents"
            if self.live:
                self._start(text, None)
            else:
                console.err.print(f"{text}...")
            self._phase = "committing"

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _upload(path: Path, state: _State, display: _Display) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            display.uploaded(len(chunk))
            yield chunk
    state.uploaded = True


def _cancel(state: _State) -> None:
    """Ask the server to cancel (its stream then ends with "cancelled"), or say that the
    import will still commit if its commit has started."""
    assert state.import_id is not None
    try:
        answer = httpx.post(f"{state.target.url}/api/import/cancel",
                            params={"importId": state.import_id},
                            headers={"Authorization": f"Convex {state.target.admin_key}"},
                            timeout=30).json()
    except (httpx.HTTPError, ValueError) as e:
        console.err.print(f"Could not cancel the import ({e}); it may still commit.")
        return
    if answer.get("cancelled"):
        state.cancelled = True  # the stream ends with the server's "cancelled"
        return
    state.committing = True
    console.err.print("Too late to cancel: the import is being committed and will complete. "
                      "Waiting for it (Ctrl+C again to stop waiting; it still commits).")


def streamed_import(target: Target, path: Path, endpoint: str, params: dict[str, str],
                    show_upload: bool) -> dict[str, int]:
    """Run the import; returns documents per table, or raises ClickException / exits."""
    state = _State(target)
    display = _Display(path.stat().st_size, show_upload)

    def on_sigint(_signum: int, _frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second one: stop
        if not state.uploaded:
            raise _Interrupted
        if state.import_id is None:
            state.cancel_requested = True  # asked as soon as the server names the import
            return
        _cancel(state)

    previous = signal.signal(signal.SIGINT, on_sigint)
    outcome: dict[str, Any] | None = None
    try:
        with httpx.stream(
                "POST", f"{target.url}{endpoint}", params=params,
                content=_upload(path, state, display),
                headers={"Authorization": f"Convex {target.admin_key}", "Accept": NDJSON,
                         "Content-Length": str(path.stat().st_size)},
                timeout=httpx.Timeout(10.0, read=3600.0)) as response:
            if response.status_code != 200:
                response.read()
                outcome = _error_of(response)
            elif NDJSON not in response.headers.get("content-type", ""):
                # A server that does not stream progress answers with the counts.
                outcome = {"phase": "committed", **orjson.loads(response.read())}
            else:
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    event = orjson.loads(line)
                    if "importId" in event:
                        state.import_id = event["importId"]
                        if state.cancel_requested:
                            _cancel(state)
                    display.event(event)
                    if event.get("phase") in ("committed", "failed", "cancelled"):
                        outcome = event
    except _Interrupted:  # during the upload: the server never began the import
        display.stop()
        console.err.print("Import cancelled: nothing was written.")
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:  # a second Ctrl+C
        display.stop()
        console.err.print(
            "Stopped waiting: the import was cancelled; nothing will be written."
            if state.cancelled else
            "Stopped waiting: the import is being committed and will complete.")
        sys.exit(EXIT_INTERRUPTED)
    finally:
        display.stop()
        signal.signal(signal.SIGINT, previous)
    if outcome is None:
        raise click.ClickException(f"The deployment at {target.url} ended the import "
                                   "without saying how it went")
    if outcome.get("phase") == "cancelled":
        console.err.print("Import cancelled: nothing was written.")
        sys.exit(EXIT_INTERRUPTED)
    if outcome.get("phase") != "committed":
        raise click.ClickException(outcome.get("message") or "The import failed")
    return dict(outcome["tables"])


def _error_of(response: httpx.Response) -> dict[str, Any]:
    try:
        message = response.json().get("message")
    except ValueError:
        message = None
    return {"phase": "failed", "message": message or f"Unexpected response from the "
            f"deployment ({response.status_code}): {response.text[:500]}"}
