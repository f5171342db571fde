"""Exactly-once mutations over the sync protocol, across reconnects and crashes.

An official client that loses its connection re-sends, on reconnect, every
mutation it has no response for, under the same session id and request id. The
server may have committed such a mutation just before the connection (or the
whole server) died. So a successful mutation's commit also records (session id,
request id, return value) in storage, in the same atomic write as its documents
(`Transaction.record_applied_request`): a re-sent copy finds the record and is
answered from it, with the original commit timestamp, instead of running again.

The official clients count their connections in `Connect.connectionCount`, from 0,
under one session id: a session's first connection cannot re-send anything, so only
the mutations of a resumed session (a count above 0) are looked up.

A failed mutation commits nothing and records nothing; its re-sent copy runs
again, which nobody can tell apart from its first run (the client never saw the
failure). Neither can it for a mutation that wrote nothing.

Records are kept for `RETENTION_S`: clients re-send only on reconnect, so a
record matters for as long as a client may stay away and come back with the
request still pending. A background task forgets older ones.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from syncline.database import Database
from syncline.sync import protocol
from syncline.sync.session import RememberedMutation
from syncline.values import unpack

RETENTION_S = 24 * 60 * 60
PRUNE_INTERVAL_S = 60.0

_log = logging.getLogger(__name__)


def recorded_response(db: Database, session_id: str, request_id: int,
                      ) -> RememberedMutation | None:
    """The response of a mutation that a commit recorded as applied, if any."""
    recorded = db.applied_request(session_id, request_id)
    if recorded is None:
        return None
    ts, result = recorded
    response = protocol.mutation_response_success(request_id, unpack(result), ts, [])
    return RememberedMutation(response, ts)


async def prune_forever(db: Database, *, retention_s: float = RETENTION_S,
                        interval_s: float = PRUNE_INTERVAL_S,
                        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                        now_ns: Callable[[], int] = time.time_ns) -> None:
    """Forget applied requests older than `retention_s`, every `interval_s`."""
    while True:
        before_ts = now_ns() - int(retention_s * 1e9)
        try:
            await db.prune_applied_requests(before_ts)
        except Exception as e:  # e.g. a full disk: retried next time
            _log.warning("could not forget old applied requests: %s", e)
        await sleep(interval_s)
