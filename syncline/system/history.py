"""Deployment history (Convex's "deployment events"): an audit log of what changed.

Every configuration change is one event in the `_deployment_events` system table:
`{"seq", "action", "who", "metadata"}` plus `_creationTime` (the time, ms). Actions use
Convex's audit-log names where Convex has one (`push_config`,
`create_environment_variable`, `update_environment_variable`,
`delete_environment_variable`, `snapshot_import`, `clear_tables`) and say what they are
otherwise (`delete_tables`, `edit_documents`, `cancel_scheduled_functions`,
`rotate_admin_key`).

Why the same transaction: `record(tx, ...)` inserts the event in the transaction that
makes the change, so a crash never keeps an event for a change that was not committed
nor loses one that was. A push is the exception: its schema step runs with commits
paused (database.apply_schema), so its event is committed right after. Each push is
diffed against the state the newest recorded push stored (not against the code in
memory), so a push whose event was lost to a crash is folded into the next push's
event (a restart pushes again), and an unchanged push records nothing.

Values of environment variables are never recorded: only their names.

Reading: the system query `_system/history:list` (`{paginationOpts?}`, newest first, live
when subscribed; `syncline history` calls it) or `history_page(db)` in-process.

Retention is bounded by count and age (`SYNCLINE_HISTORY_MAX_EVENTS`, default 10,000;
`SYNCLINE_HISTORY_MAX_AGE_DAYS`, default 90): each `record` deletes, in its own
transaction, the oldest events past either bound (at most PRUNE_BATCH at a time), but
never the newest push (the baseline the next push is diffed against). Events are rare
(pushes, env changes, imports, admin edits): nothing here is on the function-call path.
"""

from __future__ import annotations

import hashlib
import os
import time
import types
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import orjson

from syncline.database import Database, Transaction
from syncline.functions import LoadedApp
from syncline.functions.errors import ArgumentValidationError
from syncline.scheduler import Crons
from syncline.schema import pagination_opts_validator, v
from syncline.system.registry import system_query

TABLE = "_deployment_events"
PUSH_CONFIG = "push_config"
CREATE_ENV = "create_environment_variable"
UPDATE_ENV = "update_environment_variable"
DELETE_ENV = "delete_environment_variable"
SNAPSHOT_IMPORT = "snapshot_import"
CLEAR_TABLES = "clear_tables"
DELETE_TABLES = "delete_tables"
EDIT_DOCUMENTS = "edit_documents"
CANCEL_SCHEDULED = "cancel_scheduled_functions"
ROTATE_ADMIN_KEY = "rotate_admin_key"  # never with the key
ENV_ACTIONS = {"created": CREATE_ENV, "updated": UPDATE_ENV, "deleted": DELETE_ENV}

DEFAULT_MAX_EVENTS = 10_000
DEFAULT_MAX_AGE_DAYS = 90.0
PRUNE_BATCH = 100
MAX_LISTED = 1_000  # names per added/removed/changed list in one event's metadata
DEFAULT_PAGE = 50
MAX_PAGE = 1_000

# Who made the change this task is making: the server sets it per admin request from
# the request's headers (see `who_from_headers`); pushes pass theirs explicitly.
ACTOR: ContextVar[str] = ContextVar("syncline_history_actor", default="admin")


class HistorySettingsError(ValueError):
    """A retention setting that is not a positive number."""


@dataclass(frozen=True)
class Retention:
    max_events: int = DEFAULT_MAX_EVENTS
    max_age_ms: float = DEFAULT_MAX_AGE_DAYS * 86_400_000

    @classmethod
    def from_env(cls) -> Retention:
        """SYNCLINE_HISTORY_MAX_EVENTS and SYNCLINE_HISTORY_MAX_AGE_DAYS, if set."""
        events = _positive("SYNCLINE_HISTORY_MAX_EVENTS", DEFAULT_MAX_EVENTS, int)
        days = _positive("SYNCLINE_HISTORY_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS, float)
        return cls(int(events), float(days) * 86_400_000)


def _positive(name: str, default: float, kind: type) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw.strip())
    except ValueError:
        value = 0
    if not value > 0:
        raise HistorySettingsError(f"{name} must be a positive number, got {raw!r}")
    return value


def who_from_headers(headers: Mapping[str, str]) -> str:
    """Who sent an admin request: the official CLI and syncline's CLI say so in their
    headers ('cli'); the dashboard sends Convex-Client: dashboard-...; anything else
    holding the admin key is 'admin'."""
    client = headers.get("convex-client", "")
    if client.startswith("npm-cli"):
        return "cli"
    if client.startswith("dashboard"):
        return "dashboard"
    agent = headers.get("user-agent", "")
    if agent.startswith(("python-httpx", "syncline")):
        return "cli"
    return "admin"


# ----------------------------------------------------------------------------- writing


async def record(tx: Transaction, action: str, metadata: dict[str, Any], *,
                 who: str | None = None, state: str | None = None,
                 retention: Retention | None = None) -> None:
    """Add one event to `tx` (committed with it), and drop what retention lets go."""
    newest = await tx.query(TABLE, system=True).order("desc").take(1)
    seq = newest[0]["seq"] + 1 if newest else 1
    event: dict[str, Any] = {"seq": float(seq), "action": action,
                             "who": who if who is not None else ACTOR.get(),
                             "metadata": metadata}
    if state is not None:
        event["state"] = state
    await tx.insert(TABLE, event, system=True)
    await _prune(tx, seq, retention or Retention.from_env())


async def _prune(tx: Transaction, newest_seq: int, retention: Retention) -> None:
    """Delete the oldest events past the bounds, sparing the newest push."""
    cutoff = time.time() * 1000 - retention.max_age_ms
    last_seq = newest_seq - retention.max_events
    oldest = await tx.query(TABLE, system=True).take(PRUNE_BATCH)
    baseline: str | None | bool = False  # not looked up yet
    for event in oldest:
        if event["seq"] > last_seq and event["_creationTime"] >= cutoff:
            return
        if event["action"] == PUSH_CONFIG:
            if baseline is False:
                latest = await _latest_push(tx)
                baseline = latest["_id"] if latest else None
            if event["_id"] == baseline:
                continue
        await tx.delete(event["_id"], system=True)


async def _latest_push(tx: Transaction) -> dict[str, Any] | None:
    pushes = await tx.query(TABLE, system=True).order("desc").filter(
        lambda q: q.eq(q.field("action"), PUSH_CONFIG)).take(1)
    return pushes[0] if pushes else None


def env_recorder(name: str) -> Callable[[Transaction, str], Awaitable[None]]:
    """What `EnvironmentVariables.set/remove` call inside their transaction: records the
    variable's name and what happened to it ('created', 'updated', 'deleted'), never
    its value."""
    async def on_change(tx: Transaction, change: str) -> None:
        await record(tx, ENV_ACTIONS[change], {"name": name})
    return on_change


async def record_import(tx: Transaction, counts: dict[str, int], mode: str,
                        removed: dict[str, int]) -> None:
    """An import (table file or snapshot ZIP), inside the import's own transaction."""
    tables = [{"table": name, "documents": float(count),
               **({"deleted": float(removed[name])} if name in removed else {})}
              for name, count in counts.items()]
    await record(tx, SNAPSHOT_IMPORT, {"mode": mode, "tables": tables})


async def record_admin_edit(tx: Transaction, table: str, operation: str,
                            ids: list[str]) -> None:
    """An admin's edit of documents (the dashboard's insert/patch/replace/delete), in the
    edit's transaction: the table, the operation and the IDs (at most MAX_LISTED)."""
    await record(tx, EDIT_DOCUMENTS, {"table": table, "operation": operation,
                                      "count": float(len(ids)), "ids": ids[:MAX_LISTED]})


async def record_table_change(tx: Transaction, action: str, tables: dict[str, int]) -> None:
    """`clear_tables` / `delete_tables`, with the documents each table held, in the
    transaction that clears or deletes them."""
    await record(tx, action, {"tables": [{"table": name, "documents": float(count)}
                                         for name, count in tables.items()]})


# ----------------------------------------------------------------------------- pushes


def _digest(value: Any) -> str:
    data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _source_digest(handler: Any) -> str | None:
    """A digest of what the handler does: its bytecode, names and constants, nested
    functions included, but not its line numbers, so moving it or editing a comment is
    no change. (Reading the source text costs ~0.3 ms a function, this ~20 µs.)"""
    code = getattr(handler, "__code__", None)
    if code is None:
        return None
    digest = hashlib.blake2b(digest_size=8)
    _feed_code(digest, code)
    return digest.hexdigest()


def _feed_code(digest: Any, code: types.CodeType) -> None:
    digest.update(code.co_code)
    digest.update(repr((code.co_names, code.co_varnames, code.co_freevars,
                        code.co_argcount, code.co_kwonlyargcount, code.co_flags)).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed_code(digest, const)
        elif isinstance(const, frozenset):  # its repr's order varies between processes
            digest.update(repr(sorted(map(repr, const))).encode())
        else:
            digest.update(repr((type(const).__name__, const)).encode())


def push_state(app: LoadedApp, crons: Crons | None, auth: list[Any]) -> dict[str, Any]:
    """What a push diff compares, small enough to keep in the push's event: per function
    its kind, visibility and digests of its args/returns validators and its source; the
    schema's tables and indexes; the cron jobs; the auth providers."""
    functions = {}
    for path, fn in app.functions.items():
        functions[path] = {
            "kind": fn.kind, "visibility": fn.visibility,
            "args": _digest(fn.args.to_json()) if fn.args is not None else None,
            "returns": _digest(fn.returns.to_json()) if fn.returns is not None else None,
            "source": _source_digest(fn.handler),
        }
    tables: dict[str, str] = {}
    indexes: dict[str, str] = {}
    if app.schema is not None:
        for table in app.schema.to_json()["tables"]:
            name = table["tableName"]
            tables[name] = _digest(table["documentType"])
            for kind in ("indexes", "searchIndexes", "vectorIndexes"):
                for index in table[kind]:
                    indexes[f"{name}.{index['indexDescriptor']}"] = _digest([kind, index])
    jobs = {job.name: _digest(job.to_json()) for job in crons.jobs()} if crons else {}
    providers = sorted({_provider_name(p) for p in auth})
    return {"functions": functions, "tables": tables, "indexes": indexes, "crons": jobs,
            "auth": providers}


def _provider_name(provider: Any) -> str:
    issuer = getattr(provider, "issuer", "")
    application = getattr(provider, "application_id", None)
    return f"{issuer} ({application})" if application else str(issuer)


def _listed(names: list[str]) -> list[str]:
    return sorted(names)[:MAX_LISTED]


def _added_removed(before: Mapping[str, Any], after: Mapping[str, Any],
                   removed_key: str = "removed") -> dict[str, Any]:
    return {"added": _listed([k for k in after if k not in before]),
            removed_key: _listed([k for k in before if k not in after])}


def push_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any] | None:
    """The push_config metadata for going from state `before` to `after`, or None when
    nothing changed. Function changes name the aspects that changed."""
    old_fns, new_fns = before.get("functions", {}), after["functions"]
    changed = [{"path": path, "changes": [k for k in ("kind", "visibility", "args",
                                                      "returns", "source")
                                          if old_fns[path].get(k) != spec[k]]}
               for path, spec in sorted(new_fns.items()) if path in old_fns]
    functions = {**_added_removed(old_fns, new_fns),
                 "changed": [c for c in changed if c["changes"]][:MAX_LISTED]}
    old_tables, new_tables = before.get("tables", {}), after["tables"]
    schema = {**_added_removed(old_tables, new_tables),
              "changed": _listed([t for t, d in new_tables.items()
                                  if t in old_tables and old_tables[t] != d])}
    old_indexes, new_indexes = before.get("indexes", {}), after["indexes"]
    indexes = _added_removed(old_indexes, new_indexes)
    for name, digest in new_indexes.items():  # a changed definition: dropped and rebuilt
        if name in old_indexes and old_indexes[name] != digest:
            indexes["added"].append(name)
            indexes["removed"].append(name)
    old_crons, new_crons = before.get("crons", {}), after["crons"]
    crons = {**_added_removed(old_crons, new_crons, "deleted"),
             "updated": _listed([n for n, d in new_crons.items()
                                 if n in old_crons and old_crons[n] != d])}
    auth = _added_removed(before.get("auth", []), after["auth"])
    metadata = {"functions": functions, "schema": schema, "indexes": indexes,
                "crons": crons, "auth": auth}
    if not any(names for part in metadata.values() for names in part.values()):
        return None
    metadata["functionCount"] = float(len(new_fns))
    return metadata


async def record_push(db: Database, state: dict[str, Any], *, who: str) -> bool:
    """Record a push whose code and schema are live: diffed against the newest recorded
    push, in one transaction (so two pushes never diff against the same baseline).
    Returns False when nothing changed (nothing is recorded)."""
    state_json = orjson.dumps(state, option=orjson.OPT_SORT_KEYS).decode()

    async def write(tx: Transaction) -> bool:
        latest = await _latest_push(tx)
        before = orjson.loads(latest["state"]) if latest is not None else {}
        metadata = push_diff(before, state)
        if metadata is None:
            return False
        await record(tx, PUSH_CONFIG, metadata, who=who, state=state_json)
        return True

    return await db.run_transaction(write)


# ----------------------------------------------------------------------------- reading


def event_json(event: dict[str, Any]) -> dict[str, Any]:
    """An event as the system query and the CLI show it (without the push baseline)."""
    return {"id": event["_id"], "seq": int(event["seq"]), "time": event["_creationTime"],
            "action": event["action"], "who": event["who"], "metadata": event["metadata"]}


async def list_events(tx: Transaction, *, cursor: str | None = None,
                      limit: int = DEFAULT_PAGE,
                      options: dict[str, Any] | None = None) -> dict[str, Any]:
    """One page of events, newest first: Convex's PaginationResult (`page`, `isDone`,
    `continueCursor`, `splitCursor`, `pageStatus`). `options` (a query's
    `paginationOpts`) takes the place of `cursor` and `limit`."""
    if options is None:
        options = {"numItems": limit, "cursor": cursor}
    limit = options.get("numItems")  # type: ignore[assignment]
    if (not isinstance(limit, int | float) or isinstance(limit, bool)
            or limit != int(limit) or not 1 <= limit <= MAX_PAGE):
        raise ValueError(f"The page size must be a whole number from 1 to {MAX_PAGE}")
    page = await tx.query(TABLE, system=True).order("desc").paginate(
        {**options, "numItems": int(limit)})
    return {**page, "page": [event_json(e) for e in page["page"]]}


async def history_page(db: Database, *, cursor: str | None = None,
                       limit: int = DEFAULT_PAGE) -> dict[str, Any]:
    """`list_events` in a read-only transaction of its own (the plain Python API)."""
    return await db.read(lambda tx: list_events(tx, cursor=cursor, limit=limit))


class ActorMiddleware:
    """ASGI middleware: sets ACTOR, for the request's task, to who sent it (one header
    read per request, and only on the admin routes Starlette serves: function calls
    take the server's shortcut around it)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
                   if k in (b"convex-client", b"user-agent")}
        token = ACTOR.set(who_from_headers(headers))
        try:
            await self.app(scope, receive, send)
        finally:
            ACTOR.reset(token)


# ----------------------------------------------------------------------------- system query

PAGINATION = pagination_opts_validator  # `paginationOpts`, as app queries take it


@system_query("_system/history:list", args={"paginationOpts": v.optional(PAGINATION)})
async def list_history(ctx: Any, paginationOpts: dict[str, Any] | None = None,  # noqa: N803
                       ) -> dict[str, Any]:
    """The deployment's history, newest first, a page at a time (DEFAULT_PAGE events
    without `paginationOpts`). Live when subscribed: it reads the events table."""
    options = paginationOpts or {"numItems": DEFAULT_PAGE, "cursor": None}
    try:
        return await list_events(ctx.db.transaction, options=options)
    except ValueError as e:
        raise ArgumentValidationError(f"paginationOpts: {e}") from None
