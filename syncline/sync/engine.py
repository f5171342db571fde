"""The sync engine: keeps every subscribed query current and moves clients between snapshots.

All state changes go through one asyncio lock, in the server's event loop:

- after each batch of commits (heard from the committer), the cache entries
  whose read sets the commits touched are re-run at the batch's timestamp, and
  every session whose results changed gets one `Transition` that moves all its
  queries to that timestamp together;
- `ModifyQuerySet` and `Authenticate` compute the new or re-keyed queries at
  the engine's current timestamp and answer with a `Transition`;
- a mutation's response is sent only once the engine has reached its commit
  timestamp, after the transition that shows its writes.

Because every cache entry is current as of `self.ts`, a session can always be
moved to `self.ts` with only the entries that changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from syncline.database import Database
from syncline.database.feeds import feed_change
from syncline.database.write_log import LoggedCommit
from syncline.errors import AuthenticationError
from syncline.functions import Credentials, FunctionRunner, Outcome, function_path
from syncline.functions.call_keys import args_key
from syncline.functions.references import InvalidFunctionPathError
from syncline.sync import protocol
from syncline.sync.exactly_once import prune_forever, recorded_response
from syncline.sync.protocol import (
    ActionRequest,
    Authenticate,
    ModifyQuerySet,
    MutationRequest,
    ProtocolError,
    StateVersion,
)
from syncline.sync.query_cache import CachedQuery, QueryCache
from syncline.sync.session import RememberedMutation, Session, Subscription
from syncline.values import UNDEFINED

# Checks an Authenticate message's token: (token type, value, impersonated identity) ->
# Credentials, raising AuthenticationError (the auth layer provides it).
Authenticator = Callable[[str, str | None, dict[str, Any] | None], Awaitable[Credentials]]

# Query set modifications applied (and new queries computed) per hold of the engine lock:
# a ModifyQuerySet of 10,000 queries keeps other sessions waiting one slice at a time.
QUERY_SET_SLICE = 64
# A feed's subscribers re-run at most this often, however fast it changes (0.25 s: live
# enough for a log tail or a chart, cheap under thousands of calls per second).
FEED_INTERVAL_S = 0.25


class SyncEngine:
    def __init__(self, runner: FunctionRunner, db: Database, *, dev: bool,
                 authenticate: Authenticator) -> None:
        self.runner = runner
        self.db = db
        self.dev = dev
        self.cache = QueryCache()
        self.sessions: set[Session] = set()
        self.ts = db.visible_ts
        self.executions = 0  # query executions for subscriptions (tests count them)
        self._authenticate = authenticate
        self._lock = asyncio.Lock()
        self._commits: list[LoggedCommit] = []
        self._commits_lock = threading.Lock()
        self._reload = False
        self._wakeup = asyncio.Event()
        self._reached = asyncio.Condition()
        self._running_mutations: dict[tuple[str, int], asyncio.Future[RememberedMutation]] = {}
        # Sessions in the middle of a ModifyQuerySet: their transitions wait for its end.
        self._modifying: set[Session] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._prune_task: asyncio.Task[None] | None = None
        db.add_commit_listener(self._on_commit)
        # Feeds (database/feeds.py) that changed since the last advance, and whether a
        # delayed wake is armed for them: bursts of changes cost one re-run per interval.
        self._changed_feeds: set[str] = set()
        self._feed_wake_armed = False
        db.feeds.add_listener(self._on_feed)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start following commits, in the running loop (idempotent)."""
        if self._task is not None:
            return
        with self._commits_lock:  # commits from here on are followed; earlier ones are in ts
            self.ts = self.db.visible_ts
            self._loop = asyncio.get_running_loop()
        self._reload = False  # nothing is cached yet, so a push before now changes nothing
        self._task = self._loop.create_task(self._run(), name="syncline-sync")
        self._prune_task = self._loop.create_task(prune_forever(self.db),
                                                  name="syncline-applied-requests")

    async def stop(self) -> None:
        for task in (self._task, self._prune_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def code_pushed(self) -> None:
        """New code is live: every result may differ, so every subscribed query re-runs."""
        self._reload = True
        self._wake()

    def _on_commit(self, commit: LoggedCommit) -> None:
        """Runs on the committer's thread, after the commit is durable and visible."""
        with self._commits_lock:
            if self._loop is None:
                # Not started (no sync client yet): nothing is cached, and start() reads
                # from the newest snapshot. Keeping the commit would keep it for good.
                return
            self._commits.append(commit)
        self._wake()

    def _on_feed(self, names: tuple[str, ...]) -> None:
        """Feeds changed (any thread): re-run their subscribers within FEED_INTERVAL_S."""
        with self._commits_lock:
            loop = self._loop
            if loop is None:
                return
            self._changed_feeds.update(names)
            if self._feed_wake_armed:
                return
            self._feed_wake_armed = True
        if loop.is_closed():
            return
        loop.call_soon_threadsafe(loop.call_later, FEED_INTERVAL_S, self._feed_due)

    def _feed_due(self) -> None:
        with self._commits_lock:
            self._feed_wake_armed = False
        self._wakeup.set()

    def _wake(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if asyncio._get_running_loop() is loop:  # a commit written inline, on the loop
            self._wakeup.set()
        else:
            loop.call_soon_threadsafe(self._wakeup.set)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            async with self._lock:
                await self._advance()

    async def _advance(self) -> None:
        with self._commits_lock:
            commits, self._commits = self._commits, []
            feeds = set() if self._feed_wake_armed else self._changed_feeds
            if feeds:
                self._changed_feeds = set()
        reload, self._reload = self._reload, False
        if not commits and not reload and not feeds:
            return
        target = max([self.ts, *(c.ts for c in commits)])
        stale = self.cache.everything() if reload else self.cache.invalidated_by(
            [*commits, *(feed_change(name) for name in feeds)])
        await self._compute(stale, target)
        if reload:  # a function that did not exist (or was internal) may exist now
            private = [s for session in self.sessions for s in session.subscriptions.values()
                       if s.entry is not None and s.entry.private]
            for subscription in private:
                subscription.entry = None
            await asyncio.gather(*(self._attach(s, target) for s in private))
        self.ts = target
        for session in list(self.sessions):
            self._flush(session)
        async with self._reached:
            self._reached.notify_all()

    # -- computing queries -----------------------------------------------------------------

    async def _compute(self, entries: Iterable[CachedQuery], ts: int) -> None:
        """Run entries at `ts` (concurrently), refile them, re-attach displaced subscribers."""
        entries = list(entries)
        if not entries:
            return
        outcomes = await asyncio.gather(*(self._execute(e, ts) for e in entries))
        displaced: list[Subscription] = []
        for entry, outcome in zip(entries, outcomes, strict=True):
            entry.set_outcome(outcome)
            displaced += self.cache.store(entry)
        for subscription in displaced:
            subscription.entry = None
            await self._attach(subscription, ts)

    async def _execute(self, entry: CachedQuery, ts: int) -> Outcome:
        self.executions += 1
        # A re-run follows the journal of the previous run (where its page ended), so the
        # result stays contiguous with the client's other pages.
        journal = entry.outcome.journal if entry.outcome is not None else entry.journal
        return await self.runner.run(
            entry.path, entry.args, expected_kind="query", identity=entry.identity, admin=True,
            snapshot_ts=ts, journal=journal,
        )

    async def _attach(self, subscription: Subscription, ts: int) -> None:
        """Point a subscription at the cache entry for its call, computing it if needed."""
        if not self._may_subscribe(subscription):
            # Unknown, not a query, or internal without the admin key: a private entry
            # holding the error, re-checked when new code is pushed.
            entry = self.cache.create(subscription.path, subscription.args,
                                      subscription.encoded_args, subscription.journal,
                                      subscription.identity)
            entry.private = True
            entry.set_outcome(await self.runner.run(
                subscription.path, subscription.args, expected_kind="query",
                identity=subscription.identity, admin=subscription.session.admin))
            subscription.entry = entry
            return
        entry = self.cache.find(subscription.path, subscription.encoded_args,
                                subscription.journal, subscription.identity)
        if entry is None:
            entry = self.cache.create(subscription.path, subscription.args,
                                      subscription.encoded_args, subscription.journal,
                                      subscription.identity)
            self.cache.subscribe(entry, subscription)
            await self._compute([entry], ts)
            if subscription not in entry.subscribers:
                return  # displaced to another identity's entry and attached there
        else:
            self.cache.subscribe(entry, subscription)
            if self.runner.metrics is not None:  # answered by a live result: a cache hit
                self.runner.metrics.cache_hit(subscription.path, executed=False)
        subscription.entry = entry

    def _may_subscribe(self, subscription: Subscription) -> bool:
        fn = self.runner.lookup(subscription.path)
        return fn is not None and fn.kind == "query" and (
            fn.visibility == "public" or subscription.session.admin)

    # -- client requests -------------------------------------------------------------------

    def connect(self, session: Session) -> None:
        self.start()
        self.sessions.add(session)

    async def disconnect(self, session: Session) -> None:
        session.closed = True
        if session.expiry is not None:
            session.expiry.cancel()
        async with self._lock:
            self.sessions.discard(session)
            for subscription in session.subscriptions.values():
                if subscription.entry is not None:
                    self.cache.unsubscribe(subscription.entry, subscription)
            session.subscriptions.clear()

    async def modify_query_set(self, session: Session, message: ModifyQuerySet) -> None:
        """Apply a query set change and answer with one Transition to the new version.

        The work (up to 10,000 queries to compute) is done QUERY_SET_SLICE modifications
        at a time, each slice under the lock and yielding to the loop between them, so
        that other sessions' transitions go out meanwhile. The session's own transitions
        are held until the end: the new queries attached in earlier slices are kept
        current by `_advance` like any others, so at the end every query is current as
        of `self.ts` and one Transition moves the client to the new version there.
        """
        modifications = message.modifications
        async with self._lock:
            _check_base_version("ModifyQuerySet", message.base_version,
                                session.query_set_version, "query set")
        self._modifying.add(session)
        try:
            for start in range(0, len(modifications), QUERY_SET_SLICE):
                if start:
                    await asyncio.sleep(0)  # let the engine and other sessions run
                async with self._lock:
                    if session.closed:
                        return
                    added = self._modify(session,
                                         modifications[start:start + QUERY_SET_SLICE])
                    await asyncio.gather(*(self._attach(s, self.ts) for s in added))
            async with self._lock:
                session.query_set_version = message.new_version
                self._modifying.discard(session)
                self._flush(session)
        finally:
            self._modifying.discard(session)

    def _modify(self, session: Session,
                modifications: Iterable[protocol.QuerySetModification]) -> list[Subscription]:
        """Apply adds and removes to the session's query set; the added subscriptions
        (not yet attached to cache entries)."""
        added: list[Subscription] = []
        for modification in modifications:
            if isinstance(modification, protocol.RemoveQuery):
                subscription = session.subscriptions.pop(modification.query_id, None)
                if subscription is None:
                    raise ProtocolError(
                        f"Remove of query {modification.query_id}, which is not in the "
                        "query set")
                if subscription.entry is not None:
                    self.cache.unsubscribe(subscription.entry, subscription)
                session.removed.append(modification.query_id)
                continue
            if modification.query_id in session.subscriptions:
                raise ProtocolError(f"Add of query {modification.query_id}, which is "
                                    "already in the query set")
            try:
                path = function_path(modification.udf_path)
            except InvalidFunctionPathError:
                path = modification.udf_path  # answered with a QueryFailed by _attach
            subscription = Subscription(
                session, modification.query_id, path, modification.args,
                args_key(modification.args), modification.journal)
            session.subscriptions[modification.query_id] = subscription
            added.append(subscription)
        return added

    async def authenticate(self, session: Session, message: Authenticate) -> None:
        """Switch the session's identity; its queries re-run as the new caller.

        A token that fails verification gets an `AuthError` and the connection is closed,
        as Convex does: the client reconnects with a fresh token and its query set.
        """
        _check_base_version("Authenticate", message.base_version, session.identity_version,
                            "identity")
        try:  # verification may fetch keys: outside the engine lock
            credentials = await self._authenticate(
                message.token_type, message.value, message.impersonating)
        except AuthenticationError as e:
            session.send(protocol.auth_error(str(e), session.identity_version, True))
            session.close(f"AuthError: {e}")
            return
        async with self._lock:
            if session.closed:
                return
            session.identity, session.admin = credentials.identity, credentials.admin
            session.identity_version = message.base_version + 1
            self._watch_expiry(session, credentials.expires_at)
            for subscription in session.subscriptions.values():
                if subscription.entry is not None:
                    self.cache.unsubscribe(subscription.entry, subscription)
                    subscription.entry = None
            await asyncio.gather(*(self._attach(s, self.ts)
                                   for s in session.subscriptions.values()))
            self._flush(session)

    def _watch_expiry(self, session: Session, expires_at: float | None) -> None:
        """When the user token expires, say so (`authUpdateAttempted: false`) and close.

        The official clients refresh tokens before they expire, so this only catches a
        client that stopped refreshing; it must not keep acting as that user.
        """
        if session.expiry is not None:
            session.expiry.cancel()
            session.expiry = None
        if expires_at is None:
            return
        version = session.identity_version

        def expire() -> None:
            session.expiry = None
            if session.closed or session.identity_version != version:
                return
            session.send(protocol.auth_error(
                "The authentication token expired; the client must authenticate again with "
                "a fresh token", version, False))
            session.close("AuthError: the authentication token expired")

        delay = max(0.0, expires_at - time.time())
        session.expiry = asyncio.get_running_loop().call_later(delay, expire)

    def revoke_admin_sessions(self, reason: str) -> int:
        """Tell every session authenticated as an admin that its credential stopped
        working (the admin key was rotated) and close it: it must not keep admin access
        it could not get again. The number closed."""
        revoked = [s for s in self.sessions if s.admin and not s.closed]
        for session in revoked:
            session.send(protocol.auth_error(reason, session.identity_version, False))
            session.close(f"AuthError: {reason}")
        return len(revoked)

    async def mutation(self, session: Session, message: MutationRequest,
                       caller: Credentials | None = None) -> None:
        """Run (or recall) one mutation; the caller runs a session's mutations in order.

        `caller` is who the session was when the request arrived (default: who it is
        now): a mutation queued behind others runs as the identity it was sent with.
        """
        if caller is None:
            caller = Credentials(session.identity, session.admin)
        # The official clients resolve a mutation at the first transition past its commit
        # that arrives *after* its response, so this session's transitions are held until
        # the response is out: response first, then the transition that shows the writes.
        session.mutation_in_flight = True
        try:
            remembered = await self._run_once(session, message, caller)
            if remembered.ts is not None:
                await self._reach(remembered.ts)
            if not session.closed:
                session.send(remembered.response)
        finally:
            session.mutation_in_flight = False
        async with self._lock:
            if remembered.ts is not None:
                session.must_reach_ts = max(session.must_reach_ts, remembered.ts)
            # Always a transition after a response, even an empty one or after a failure:
            # clients settle a mutation (success or error) on the next transition.
            self._flush(session, force=True)

    async def _run_once(self, session: Session, message: MutationRequest,
                        caller: Credentials) -> RememberedMutation:
        """The mutation's response, running it only if no commit recorded this (session,
        request) as applied (exactly_once.py). Only a resumed session (a reconnect) can
        re-send a request, so only its requests are looked up.

        A re-sent request that arrives while the first copy is still running (the client
        reconnected mid-commit) waits for that copy instead of running again. The run is
        shielded from its connection closing, so its commit is never left half-way.
        """
        session_id = session.session_id
        key = (session_id, message.request_id)
        running = self._running_mutations.get(key)
        if running is None:
            if session.resumed:
                recorded = recorded_response(self.db, session_id, message.request_id)
                if recorded is not None:
                    return recorded
            running = asyncio.ensure_future(self._execute_mutation(session_id, message, caller))
            self._running_mutations[key] = running
            running.add_done_callback(lambda _: self._running_mutations.pop(key, None))
        return await asyncio.shield(running)

    async def _execute_mutation(self, session_id: str, message: MutationRequest,
                                caller: Credentials) -> RememberedMutation:
        outcome = await self.runner.run(
            message.udf_path, message.args, expected_kind="mutation",
            identity=caller.identity, admin=caller.admin,
            applied_request=(session_id, message.request_id))
        return RememberedMutation(self._mutation_response(message, outcome),
                                  outcome.commit_ts if outcome.ok else None)

    async def action(self, session: Session, message: ActionRequest) -> None:
        outcome = await self.runner.run(
            message.udf_path, message.args, expected_kind="action",
            identity=session.identity, admin=session.admin)
        log_lines = self._log_lines(outcome)
        if outcome.failure is None:
            response = protocol.action_response_success(
                message.request_id, outcome.value, log_lines)
        else:
            response = protocol.action_response_failure(
                message.request_id, outcome.failure.message, log_lines, outcome.failure.data)
        if not session.closed:
            session.send(response)

    def _mutation_response(self, message: MutationRequest, outcome: Outcome) -> dict[str, Any]:
        log_lines = self._log_lines(outcome)
        if outcome.failure is None:
            assert outcome.commit_ts is not None
            return protocol.mutation_response_success(
                message.request_id, outcome.value, outcome.commit_ts, log_lines)
        return protocol.mutation_response_failure(
            message.request_id, outcome.failure.message, log_lines, outcome.failure.data)

    def _log_lines(self, outcome: Outcome) -> list[str]:
        return [line.formatted() for line in outcome.log_lines] if self.dev else []

    async def _reach(self, ts: int) -> None:
        """Wait until the engine has processed the commit at `ts`."""
        async with self._reached:
            while self.ts < ts:
                self._wake()
                await self._reached.wait()

    # -- transitions -----------------------------------------------------------------------

    def _flush(self, session: Session, *, force: bool = False) -> None:
        """Send `session` one Transition to the engine's timestamp, if anything changed
        (or always, with `force`)."""
        if session.closed or session.mutation_in_flight or session in self._modifying:
            return
        modifications: list[dict[str, Any]] = []
        for query_id in session.removed:
            modifications.append(protocol.query_removed(query_id))
        session.removed.clear()
        for subscription in session.subscriptions.values():
            entry = subscription.entry
            if entry is None or entry.outcome is None:
                continue
            if subscription.sent == (entry, entry.version):
                continue
            subscription.sent = (entry, entry.version)
            modifications.append(self._modification(subscription.query_id, entry))
        end = StateVersion(session.query_set_version, self.ts, session.identity_version)
        start = session.sent
        versions_moved = (start.query_set, start.identity) != (end.query_set, end.identity)
        waiting = session.must_reach_ts > start.ts
        if not modifications and not versions_moved and not waiting and not force:
            return
        session.sent = end
        session.send(protocol.transition(start, end, modifications))

    def _modification(self, query_id: int, entry: CachedQuery) -> dict[str, Any]:
        outcome = entry.outcome
        assert outcome is not None
        log_lines = self._log_lines(outcome)
        if outcome.failure is None:
            return protocol.query_updated(query_id, None, log_lines, outcome.journal,
                                          value_json=entry.value_json)
        data = outcome.failure.data
        return protocol.query_failed(query_id, outcome.failure.message, log_lines,
                                     data if data is not UNDEFINED else UNDEFINED,
                                     outcome.journal)


def _check_base_version(message: str, given: int, current: int, what: str) -> None:
    if given != current:
        raise ProtocolError(f"{message} baseVersion {given} does not match the server's "
                            f"{what} version {current}")
