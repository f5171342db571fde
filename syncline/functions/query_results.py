"""Results of recent queries called over HTTP, served again while still current.

A query is a deterministic function of the documents it read, so its result stays
valid until a commit writes into its read set: the committer's write log answers
that exactly (`Committer.unchanged_since`). Repeated calls, such as a page polling
the same query, then cost a lookup instead of an execution, as Convex caches query
results. Only queries at the latest snapshot without a pagination journal are
cached, per function object (a push makes new ones), arguments and caller identity,
and only on production deployments, where log lines are not returned to callers.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from syncline.database import Database, FrozenReadSet
from syncline.functions.call_keys import args_key, identity_key

MAX_ENTRIES = 1_000
MAX_BYTES_READ = 256 * 1024  # larger results are recomputed rather than kept
MAX_COMMITS_TO_CHECK = 1_000  # an older entry is recomputed rather than checked


@dataclass(slots=True)
class CachedResult:
    outcome: Any  # the Outcome (functions.runner), reused as is
    snapshot_ts: int
    schema_version: int
    read_set: FrozenReadSet


class QueryResults:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._entries: OrderedDict[tuple[Any, ...], CachedResult] = OrderedDict()

    @staticmethod
    def key(fn: Any, args: dict[str, Any], identity: Any) -> tuple[Any, ...]:
        return (fn, args_key(args), identity_key(identity))

    def get(self, key: tuple[Any, ...]) -> Any | None:
        """The cached outcome if no commit since it was computed wrote into what it read."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        committer = self._db.committer
        if entry.schema_version != committer.schema_version or not committer.unchanged_since(
                entry.read_set, entry.snapshot_ts, MAX_COMMITS_TO_CHECK):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.outcome

    def clear(self) -> None:
        """Forget everything (code, schema or environment variables changed)."""
        self._entries.clear()

    def put(self, key: tuple[Any, ...], outcome: Any, schema_version: int,
            bytes_read: int) -> None:
        if (outcome.failure is not None or outcome.read_set is None
                or outcome.snapshot_ts is None or bytes_read > MAX_BYTES_READ):
            return
        self._entries[key] = CachedResult(outcome, outcome.snapshot_ts, schema_version,
                                          outcome.read_set)
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
