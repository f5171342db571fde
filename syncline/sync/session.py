"""Per-connection sync state, and the per-session record that makes mutations exactly-once.

A `Session` is one WebSocket connection's view of the world: its query set
version, identity version, the state version it was last sent, and one
`Subscription` per query. A `MutationLog` outlives connections: it is keyed by
the client's session id, so a mutation the client re-sends after a reconnect is
answered from the log instead of running twice.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from syncline.functions import UserIdentity
from syncline.functions.call_keys import identity_key
from syncline.sync.protocol import StateVersion
from syncline.sync.query_cache import CachedQuery

MAX_REMEMBERED_MUTATIONS = 1_000  # per session id
MAX_REMEMBERED_SESSIONS = 10_000
SESSION_MEMORY_S = 15 * 60  # how long a disconnected session's mutations are remembered


@dataclass(eq=False)
class Subscription:
    session: Session
    query_id: int
    path: str
    args: dict[str, Any]
    encoded_args: bytes
    journal: str | None
    entry: CachedQuery | None = None
    sent: tuple[CachedQuery, int] | None = None  # (entry, version) last sent to the client

    @property
    def identity_key(self) -> str:
        return identity_key(self.session.identity)

    @property
    def identity(self) -> UserIdentity | None:
        return self.session.identity


@dataclass(eq=False)
class Session:
    """One connection's query set and what it has been sent."""

    send: Callable[[dict[str, Any]], None]
    close: Callable[[str], None] = lambda reason: None  # end the connection, saying why
    session_id: str = ""
    query_set_version: int = 0
    identity_version: int = 0
    identity: UserIdentity | None = None
    admin: bool = False
    sent: StateVersion = field(default_factory=lambda: StateVersion(0, 0, 0))
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    removed: list[int] = field(default_factory=list)  # removed since the last transition
    must_reach_ts: int = 0  # a mutation's commit the client waits to see
    mutation_in_flight: bool = False  # transitions wait until its response is sent
    closed: bool = False
    expiry: asyncio.TimerHandle | None = None  # fires when the user token expires


@dataclass
class RememberedMutation:
    response: dict[str, Any]
    ts: int | None  # commit timestamp of a successful mutation


class MutationLog:
    """Responses of recent mutations by (session id, request id)."""

    def __init__(self) -> None:
        self._sessions: OrderedDict[str, OrderedDict[int, RememberedMutation]] = OrderedDict()
        self._seen: dict[str, float] = {}

    def get(self, session_id: str, request_id: int) -> RememberedMutation | None:
        mutations = self._sessions.get(session_id)
        return None if mutations is None else mutations.get(request_id)

    def remember(self, session_id: str, request_id: int, mutation: RememberedMutation) -> None:
        mutations = self._sessions.get(session_id)
        if mutations is None:
            mutations = self._sessions[session_id] = OrderedDict()
        mutations[request_id] = mutation
        while len(mutations) > MAX_REMEMBERED_MUTATIONS:
            mutations.popitem(last=False)
        self.touch(session_id)

    def touch(self, session_id: str) -> None:
        now = time.monotonic()
        self._seen[session_id] = now
        if session_id in self._sessions:
            self._sessions.move_to_end(session_id)
        while self._sessions:
            oldest = next(iter(self._sessions))
            if (len(self._sessions) <= MAX_REMEMBERED_SESSIONS
                    and now - self._seen.get(oldest, now) < SESSION_MEMORY_S):
                break
            self._sessions.popitem(last=False)
            self._seen.pop(oldest, None)
