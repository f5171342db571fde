"""The write log: the index keys each recent commit touched, for OCC validation.

A transaction that read at snapshot S may commit only if no commit after S
wrote a key inside its read set. The log keeps recent commits in memory; a
transaction older than the log's horizon is told to retry rather than risk
missing a conflict.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from syncline.database.read_set import FrozenReadSet

# How many commits the log remembers at least. A transaction whose snapshot has
# fallen out of the log gets a (retryable) conflict.
DEFAULT_RETAINED_COMMITS = 20_000
# ... and at most this many touched keys in all (a text-search-indexed document touches one
# key per distinct word), so bulk writes cannot make the log hold gigabytes.
DEFAULT_RETAINED_KEYS = 1_000_000


@dataclass(frozen=True, slots=True)
class WrittenDocument:
    table: str
    document_id: str


@dataclass(frozen=True, slots=True)
class LoggedCommit:
    """Keys touched by one commit: `(index_id, key, i)` where i indexes `documents`."""

    ts: int
    touched: tuple[tuple[int, bytes, int], ...]
    documents: tuple[WrittenDocument, ...]


@dataclass(frozen=True, slots=True)
class Conflict:
    ts: int
    document: WrittenDocument | None


class WriteLog:
    """Not thread-safe by itself: the committer calls it under its lock."""

    def __init__(self, horizon_ts: int, retained: int = DEFAULT_RETAINED_COMMITS,
                 retained_keys: int = DEFAULT_RETAINED_KEYS) -> None:
        self._commits: deque[LoggedCommit] = deque()
        self._horizon = horizon_ts  # commits at or before this ts are not in the log
        self._retained = retained
        self._retained_keys = retained_keys
        self._keys = 0

    def append(self, commit: LoggedCommit) -> None:
        self._commits.append(commit)
        self._keys += len(commit.touched)
        while len(self._commits) > self._retained or (
                self._keys > self._retained_keys and len(self._commits) > 1):
            oldest = self._commits.popleft()
            self._keys -= len(oldest.touched)
            self._horizon = oldest.ts

    def forget_through(self, ts: int) -> None:
        """Forget every commit up to `ts` (a data import's, which touches a key per
        document and index): transactions that read before it get a retryable conflict
        instead of the log holding its keys until later commits push them out."""
        while self._commits and self._commits[0].ts <= ts:
            self._keys -= len(self._commits.popleft().touched)
        self._horizon = max(self._horizon, ts)

    def remove(self, timestamps: set[int]) -> None:
        """Forget commits whose batch failed to persist; they never happened."""
        self._commits = deque(c for c in self._commits if c.ts not in timestamps)
        self._keys = sum(len(c.touched) for c in self._commits)

    def find_conflict(self, read_set: FrozenReadSet, snapshot_ts: int,
                      max_commits: int | None = None) -> Conflict | None:
        """The newest commit after `snapshot_ts` that wrote into `read_set`, if any.
        With `max_commits`, more commits than that after the snapshot count as a
        conflict (with no document), as a snapshot older than the log does."""
        if snapshot_ts < self._horizon:
            return Conflict(self._horizon, None)
        if not read_set:
            return None
        contains = read_set.contains
        for checked, commit in enumerate(reversed(self._commits)):
            if commit.ts <= snapshot_ts:
                break
            if max_commits is not None and checked >= max_commits:
                return Conflict(commit.ts, None)
            for index_id, key, i in commit.touched:
                if contains(index_id, key):
                    return Conflict(commit.ts, commit.documents[i])
        return None
