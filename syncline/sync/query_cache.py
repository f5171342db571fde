"""The shared query cache: one execution per (query, arguments, journal[, identity]).

Every entry holds a query's latest result and the read set of the execution
that produced it, and is current as of the sync engine's timestamp: after each
batch of commits, exactly the entries whose read set a commit touched are
re-run. Entries are shared by every subscriber with the same key, so N clients
on one query cost one execution per invalidation. A query that never read
`ctx.auth` has the same result for every caller and is shared across
identities; one that did is keyed by identity too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from syncline.database import FrozenReadSet
from syncline.database.write_log import LoggedCommit
from syncline.functions import Outcome, UserIdentity
from syncline.functions.call_keys import identity_key
from syncline.values import to_json

# Unsubscribed entries kept for a later subscriber, while still current.
MAX_IDLE_ENTRIES = 1_000

# path, args, journal, identity key (None: shared by every caller; an auth-reading
# query run without identity has ANONYMOUS_KEY, not the shared key)
QueryKey = tuple[str, bytes, str | None, str | None]


@dataclass(eq=False)
class CachedQuery:
    """One query's current result, shared by its subscribers."""

    path: str
    args: dict[str, Any]
    journal: str | None
    identity: UserIdentity | None  # the identity it runs with
    key: QueryKey
    outcome: Outcome | None = None
    result: bytes = b""  # the encoded result, to tell a changed result from a re-run
    value_json: Any = None  # the successful value as JSON, converted once for all subscribers
    version: int = 0  # bumped whenever `result` changes
    subscribers: set[Any] = field(default_factory=set)
    indexed: frozenset[int] = frozenset()  # index ids it is filed under for invalidation
    private: bool = False  # an error for one subscriber (no such public query), not cached

    @property
    def read_set(self) -> FrozenReadSet | None:
        return self.outcome.read_set if self.outcome is not None else None

    def set_outcome(self, outcome: Outcome) -> None:
        if outcome.failure is None:
            self.value_json = to_json(outcome.value)
            encoded = orjson.dumps(["ok", self.value_json, outcome.journal])
        else:
            data = outcome.failure.data
            encoded = orjson.dumps(["error", outcome.failure.message,
                                    None if data is None else repr(data), outcome.journal])
        self.outcome = outcome
        if encoded != self.result:
            self.result = encoded
            self.version += 1


class QueryCache:
    def __init__(self, max_idle: int = MAX_IDLE_ENTRIES) -> None:
        self._entries: dict[QueryKey, CachedQuery] = {}
        self._idle: OrderedDict[QueryKey, None] = OrderedDict()
        self._max_idle = max_idle
        # index id -> entries whose read set covers part of that index
        self._by_index: dict[int, set[CachedQuery]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, path: str, args: bytes, journal: str | None,
             identity: UserIdentity | None) -> CachedQuery | None:
        """The current entry for this call: a shared one if the query ignores auth."""
        shared = self._entries.get((path, args, journal, None))
        if shared is not None:
            return shared
        return self._entries.get((path, args, journal, identity_key(identity)))

    def create(self, path: str, args: dict[str, Any], encoded_args: bytes, journal: str | None,
               identity: UserIdentity | None) -> CachedQuery:
        """A new, not yet computed entry, provisionally keyed by identity."""
        key = (path, encoded_args, journal, identity_key(identity))
        return CachedQuery(path, args, journal, identity, key)

    def store(self, entry: CachedQuery) -> list[Any]:
        """File a freshly computed entry under the right key.

        Returns subscribers that can no longer share it: those of another identity,
        when a shared query started reading auth. They must be re-attached.
        """
        outcome = entry.outcome
        assert outcome is not None
        self._unindex(entry)
        if self._entries.get(entry.key) is entry:
            del self._entries[entry.key]
        path, encoded_args, journal, _ = entry.key
        ident = identity_key(entry.identity)
        entry.key = (path, encoded_args, journal, ident if outcome.used_auth else None)
        displaced = []
        if outcome.used_auth:
            displaced = [s for s in entry.subscribers if s.identity_key != ident]
            for subscriber in displaced:
                entry.subscribers.discard(subscriber)
        self._entries[entry.key] = entry
        self._index(entry)
        self._touch(entry)
        return displaced

    def subscribe(self, entry: CachedQuery, subscriber: Any) -> None:
        entry.subscribers.add(subscriber)
        self._idle.pop(entry.key, None)

    def unsubscribe(self, entry: CachedQuery, subscriber: Any) -> None:
        entry.subscribers.discard(subscriber)
        self._touch(entry)

    def invalidated_by(self, commits: Iterable[LoggedCommit]) -> list[CachedQuery]:
        """Entries whose read set a commit wrote into. Idle ones are dropped instead:
        nobody waits for them, and they are no longer current."""
        hit: set[CachedQuery] = set()
        for commit in commits:
            for index_id, key, _ in commit.touched:
                for entry in self._by_index.get(index_id, ()):
                    if entry not in hit and entry.read_set is not None and \
                            entry.read_set.contains(index_id, key):
                        hit.add(entry)
        return self._keep_subscribed(hit)

    def everything(self) -> list[CachedQuery]:
        """Every entry, for a push of new code: all results may differ now."""
        return self._keep_subscribed(set(self._entries.values()))

    def _keep_subscribed(self, entries: set[CachedQuery]) -> list[CachedQuery]:
        live = []
        for entry in entries:
            if entry.subscribers:
                live.append(entry)
            else:
                self._drop(entry)
        return live

    def _touch(self, entry: CachedQuery) -> None:
        if entry.subscribers or self._entries.get(entry.key) is not entry:
            return
        self._idle[entry.key] = None
        self._idle.move_to_end(entry.key)
        while len(self._idle) > self._max_idle:
            oldest, _ = self._idle.popitem(last=False)
            victim = self._entries.get(oldest)
            if victim is not None and not victim.subscribers:
                self._drop(victim)

    def _drop(self, entry: CachedQuery) -> None:
        self._unindex(entry)
        if self._entries.get(entry.key) is entry:
            del self._entries[entry.key]
        self._idle.pop(entry.key, None)

    def _index(self, entry: CachedQuery) -> None:
        read_set = entry.read_set
        entry.indexed = frozenset(
            index_id for index_id, _, _ in read_set.intervals()) if read_set else frozenset()
        for index_id in entry.indexed:
            self._by_index.setdefault(index_id, set()).add(entry)

    def _unindex(self, entry: CachedQuery) -> None:
        for index_id in entry.indexed:
            entries = self._by_index.get(index_id)
            if entries is not None:
                entries.discard(entry)
                if not entries:
                    del self._by_index[index_id]
        entry.indexed = frozenset()
