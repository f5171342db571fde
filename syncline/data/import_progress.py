"""How far an import has come, and whether it may still be cancelled.

The import runs in a worker thread (table_import.py); whoever started it (the HTTP API)
watches it through an ImportProgress and may cancel it. Cancelling and starting the
commit are decided under one lock, so "cancelled" always means nothing was committed
and a refused cancel always means the import commits (unless it fails).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from syncline.errors import DataImportError

# A progress event at least every this many documents.
PROGRESS_EVERY = 5_000

Phase = str  # "importing" | "committing" | "committed" | "cancelled" | "failed"
Listener = Callable[[dict[str, Any]], None]


class ImportCancelledError(DataImportError):
    """The import was cancelled before its commit: nothing was written."""


class ImportProgress:
    """Counters of one import, shared between its worker thread and its watcher."""

    def __init__(self, listener: Listener | None = None, *, bytes_total: int = 0) -> None:
        self._lock = threading.Lock()
        self._listener = listener
        self._cancelled = False
        self.phase: Phase = "importing"
        self.documents = 0  # read, validated and buffered (the commit writes them)
        self.documents_total = 0  # 0: not known in advance (a table file is streamed)
        self.bytes_read = 0
        self.bytes_total = bytes_total
        self._reported = 0

    def event(self) -> dict[str, Any]:
        """The current state as a JSON-able progress event."""
        return {"phase": self.phase, "documents": self.documents,
                "documentsTotal": self.documents_total, "bytesRead": self.bytes_read,
                "bytesTotal": self.bytes_total}

    def _emit(self) -> None:
        if self._listener is not None:
            self._listener(self.event())

    def restart(self) -> None:
        """A retry (after a write conflict) reads the rows again."""
        self.check()
        self.documents = self._reported = 0

    def advance(self, documents: int = 1, bytes_read: int | None = None) -> None:
        """Count documents; raises ImportCancelledError once the import is cancelled."""
        self.documents += documents
        if bytes_read is not None:
            self.bytes_read = bytes_read
        if self.documents - self._reported >= PROGRESS_EVERY:
            self._reported = self.documents
            self.check()
            self._emit()

    def check(self) -> None:
        if self._cancelled:
            raise ImportCancelledError("The import was cancelled: nothing was written")

    def start_commit(self) -> None:
        """The point of no return: from here on, cancel() refuses."""
        with self._lock:
            self.check()
            self.phase = "committing"
        self._emit()

    def finish(self, phase: Phase) -> None:
        with self._lock:
            self.phase = phase
        self._emit()

    def cancel(self) -> bool:
        """Cancel unless the commit has started; True if nothing will be written."""
        with self._lock:
            if self.phase in ("committing", "committed"):
                return False
            self._cancelled = True
            return True

    @property
    def cancelled(self) -> bool:
        return self._cancelled
