"""Feeds: in-memory sources that queries can depend on, as they depend on documents.

Some things a live view shows are not documents: the metrics, the function logs. A
query that reads one calls `Feeds.observe(tx, name)`, which records a point read of the
feed's key under a pseudo index (`FEED_INDEX_ID`) that no commit ever writes. When the
source changes, its owner calls `Feeds.changed(name)`; listeners (the sync engine) turn
that into an invalidation of exactly the subscriptions that observed the feed, using the
same read-set test as for commits. No polling, and nothing is written to the database.

Commits never touch the pseudo index, so a feed read never causes an OCC conflict. A
result that read a feed must not be served from a commit-validated cache: only system
functions can watch feeds, and the runner never caches those.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from syncline.database.read_set import FrozenReadSet, ReadSet
from syncline.database.write_log import LoggedCommit, WrittenDocument

# Real index ids are positive; this one names no index and is never written by a commit.
FEED_INDEX_ID = -1

FeedListener = Callable[[tuple[str, ...]], None]


def feed_key(name: str) -> bytes:
    """The key a feed is recorded under in read sets (names are prefix-free once 0-ended)."""
    return name.encode() + b"\x00"


def reads_a_feed(read_set: FrozenReadSet | None) -> bool:
    """Whether a result depends on a feed: such a result is current only while the feed
    is unchanged, which the commit log cannot tell."""
    return read_set is not None and any(
        index_id == FEED_INDEX_ID for index_id, _, _ in read_set.intervals())


class Feeds:
    """The feeds of one database: who depends on them is in read sets; who is told of
    changes registered with `add_listener`. Thread-safe: sources change on any thread."""

    def __init__(self) -> None:
        self._listeners: list[FeedListener] = []
        self._lock = threading.Lock()

    def add_listener(self, listener: FeedListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: FeedListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @staticmethod
    def observe(reads: ReadSet, name: str) -> None:
        """Record in a transaction's read set that its result depends on feed `name`."""
        if not name:
            raise ValueError("A feed needs a non-empty name")
        reads.add_point(FEED_INDEX_ID, feed_key(name))

    def changed(self, *names: str) -> None:
        """The sources behind these feeds changed: tell every listener, once for all of
        them (this runs after every function execution; listeners coalesce bursts)."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(names)

def feed_change(name: str) -> LoggedCommit:
    """A change of feed `name` in the shape of a commit, for code that matches commits
    against read sets (the sync engine's invalidation). It has no timestamp of its own."""
    return LoggedCommit(0, ((FEED_INDEX_ID, feed_key(name), 0),), (WrittenDocument("", name),))
