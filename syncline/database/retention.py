"""The document retention window: how far back reads can go, and pruning what lies before.

Storage is multi-version, so every overwrite and deletion used to stay forever (a
200k-row import grew the file by ~150 MB that never came back). Like Convex, syncline
keeps a bounded history instead: reads at any timestamp within the window (30 days by
default, the age Convex's streaming export accepts for a snapshot) see exactly what
they saw when it was written; a read before it fails with SnapshotTooOldError
(`InvalidWindowToReadDocuments` over HTTP, as Convex answers a too-old cursor) instead
of returning wrong data.

A background thread, every `interval_s`, moves the floor (the oldest readable
timestamp) to `now - window_s`, but never past the snapshot of a transaction still in
progress, so a running query, mutation or OCC validation never loses the history it
reads. It then deletes what no read at or after the floor can reach, in bounded batches
that each run as a maintenance job between commit batches (committer.run_maintenance),
and gives freed pages back to the file system the same way. No timestamp is taken and
the schema version does not move, so nothing retries and no subscription is invalidated.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from syncline.errors import InvalidSettingError

if TYPE_CHECKING:
    from syncline.database.database import Database

_log = logging.getLogger(__name__)

ENV_WINDOW = "SYNCLINE_DOCUMENT_RETENTION_S"
DEFAULT_WINDOW_S = 30 * 24 * 60 * 60  # Convex: a snapshot "must not be older than 30 days"
# Below this a subscription re-run or a paginated export at a slightly old timestamp could
# fall out of the window between two reads.
MIN_WINDOW_S = 60.0
DEFAULT_INTERVAL_S = 60.0
# Revisions examined per maintenance job, and pages given back per job: each job holds up
# commits only for a few milliseconds.
DEFAULT_BATCH = 1_000
DEFAULT_VACUUM_PAGES = 1_024  # 4 MiB of 4 KiB pages

_SECONDS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How much history to keep and how pruning paces itself."""

    window_s: float = DEFAULT_WINDOW_S
    interval_s: float = DEFAULT_INTERVAL_S
    batch: int = DEFAULT_BATCH
    vacuum_pages: int = DEFAULT_VACUUM_PAGES
    background: bool = True  # prune on a thread every interval_s (else only when asked)

    def __post_init__(self) -> None:
        if not self.window_s >= MIN_WINDOW_S:
            raise InvalidSettingError(
                f"The document retention window must be at least {MIN_WINDOW_S:g} seconds, "
                f"got {self.window_s!r}")
        if not self.interval_s > 0 or self.batch < 1 or self.vacuum_pages < 1:
            raise InvalidSettingError("Retention pruning needs a positive interval, batch "
                                      "and vacuum page count")

    @classmethod
    def from_env(cls) -> RetentionPolicy:
        """The default policy, with the window from SYNCLINE_DOCUMENT_RETENTION_S."""
        raw = os.environ.get(ENV_WINDOW, "")
        if raw == "":
            return cls()
        if _SECONDS.fullmatch(raw) is None or float(raw) < MIN_WINDOW_S:
            raise InvalidSettingError(
                f"{ENV_WINDOW} must be a number of seconds of at least {MIN_WINDOW_S:g} "
                f"(default {DEFAULT_WINDOW_S}, 30 days), got {raw!r}")
        return cls(window_s=float(raw))


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What one pruning pass did."""

    min_snapshot_ts: int  # the floor after the pass
    revisions_examined: int
    documents_deleted: int
    index_entries_deleted: int
    pages_reclaimed: int
    batches: int


class HistoryPruner:
    """Moves the retention floor and prunes behind it; see the module docstring."""

    def __init__(self, db: Database, policy: RetentionPolicy,
                 now_ns: Callable[[], int] = time.time_ns) -> None:
        self._db = db
        self.policy = policy
        self._now_ns = now_ns
        self._stop = threading.Event()
        self._pass_lock = threading.Lock()  # one pass at a time (background or asked for)
        self._thread: threading.Thread | None = None
        self.passes = 0  # completed passes (tests and tools count them)

    def start(self) -> None:
        if self.policy.background and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="syncline-retention",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.policy.interval_s):
            try:
                self.run_pass()
            except Exception as error:  # noqa: BLE001 - a full disk, a closing database
                if self._stop.is_set():
                    return
                _log.warning("pruning old document revisions failed (retried in %g s): %s",
                             self.policy.interval_s, error)

    def run_pass(self, upto_ts: int | None = None) -> PruneReport:
        """One pass: move the floor to `upto_ts` (default: now minus the window; never
        past a running transaction's snapshot), prune up to it and reclaim the space.
        Blocks; call it from any thread but the committer's."""
        with self._pass_lock:
            target = (self._now_ns() - int(self.policy.window_s * 1e9)
                      if upto_ts is None else upto_ts)
            db = self._db
            committer = db.committer
            floor = committer.run_maintenance(
                lambda: db._advance_retention_floor(target)).result()
            examined = documents = entries = batches = 0
            keys_of = db._index_keys_of
            while not self._stop.is_set():
                progress = committer.run_maintenance(
                    lambda: db.persistence.prune_history(self.policy.batch, keys_of)).result()
                batches += 1
                examined += progress.revisions
                documents += progress.documents_deleted
                entries += progress.index_entries_deleted
                if progress.done:
                    break
            pages = 0
            while not self._stop.is_set():
                freed = committer.run_maintenance(
                    lambda: db.persistence.reclaim_space(self.policy.vacuum_pages)).result()
                pages += freed
                if freed < self.policy.vacuum_pages:
                    break
            self.passes += 1
            if documents or entries:
                _log.info("pruned %d document revisions and %d index entries older than %d; "
                          "%d pages given back", documents, entries, floor, pages)
            return PruneReport(floor, examined, documents, entries, pages, batches)
