"""Per-connection sync state.

A `Session` is one WebSocket connection's view of the world: its query set
version, identity version, the state version it was last sent, and one
`Subscription` per query. Nothing here outlives the connection: what makes a
re-sent mutation exactly-once is recorded in the database (exactly_once.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from syncline.functions import UserIdentity
from syncline.functions.call_keys import identity_key
from syncline.sync.protocol import StateVersion
from syncline.sync.query_cache import CachedQuery


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
    # A reconnect of an earlier connection of this session (Connect.connectionCount > 0):
    # only such a connection can re-send a mutation (exactly_once.py).
    resumed: bool = False
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
