"""The dashboard's Logs page: `_system/frontend/logs`, the function log filtered, live.

`{function?, levels?, status?, text?, requestId?, limit?, includeEvents?}` answers
`{"entries": [...], "more": bool}`: the newest `limit` (default DEFAULT_LIMIT, at most
MAX_LIMIT) matching entries, oldest first, `more` saying older ones matched too. An entry
is one finished execution (`type` "log"):

    {"type": "log", "id", "seq", "time" (ms, when it finished: the log's order),
     "startedAt", "function", "kind", "status" ("success" | "failure"), "error",
     "executionTimeMs", "requestId" (the group key: every execution of one request,
     an action and the functions it ran, shares it), "level" (the highest level of its
     lines; "error" for a failure), "lines": [{"level", "message", "time"}]}

Filters: `function` the exact path (`messages:send`, `messages.js:send`, `GET /hello`);
`levels` ("log", "info", "warn", "error", "debug") keeps only the lines of those levels,
and executions left with none are dropped, except failures when "error" is asked for;
`status`; `text` a case-insensitive substring of the path, a line, the error or the
request ID; `requestId` one request. `_system/` functions (the dashboard's own queries)
are never shown.

`includeEvents` interleaves the deployment's history (system/history.py: pushes, env
changes, imports, admin edits) as entries `{"type": "event", "id", "time", "action",
"who", "metadata"}`, unless a function, status, level or request filter is set (they are
about executions); `text` applies to them too. History is a table, so reading it makes
the query re-run when an event is added; the function log is in memory, and the query
watches its feed ("logs"), so it re-runs when an execution is logged.
"""

from __future__ import annotations

from typing import Any

import orjson

from syncline.functions.errors import ArgumentValidationError
from syncline.functions.references import InvalidFunctionPathError, canonical_path
from syncline.functions.runner import SYSTEM_PREFIX, ExecutionRecord
from syncline.schema import v
from syncline.system import history
from syncline.system.live_feeds import LOGS_FEED
from syncline.system.registry import system_query

DEFAULT_LIMIT = 200
MAX_LIMIT = 1_000
LEVELS = ("log", "info", "warn", "error", "debug")
_RANK = {"debug": 0, "log": 1, "info": 2, "warn": 3, "error": 4}


def _limit(raw: float | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if raw != int(raw) or not 1 <= raw <= MAX_LIMIT:
        raise ArgumentValidationError(f"limit must be a whole number from 1 to {MAX_LIMIT}, "
                                      f"got {raw!r}")
    return int(raw)


def _paths(function: str | None) -> frozenset[str] | None:
    """The paths an execution of `function` is logged under."""
    if function is None or function.strip() == "":
        return None
    raw = function.strip()
    try:
        return frozenset({raw, canonical_path(raw)})
    except InvalidFunctionPathError:
        return frozenset({raw})  # an HTTP action ("GET /hello") or a path never called


def entry_json(seq: int, ts_ms: float, record: ExecutionRecord,
               levels: frozenset[str] | None = None) -> dict[str, Any] | None:
    """One execution as the page shows it, its lines cut to `levels`; None when `levels`
    leaves nothing of it."""
    lines = [{"level": line.level.lower(), "message": line.message, "time": line.timestamp_ms}
             for line in record.log_lines]
    failed = not record.success
    if levels is not None:
        lines = [line for line in lines if line["level"] in levels]
        if not lines and not (failed and "error" in levels):
            return None
    level = "error" if failed else max((line["level"] for line in lines),
                                       key=lambda name: _RANK.get(name, 1), default="log")
    return {"type": "log", "id": f"log-{seq}", "seq": seq, "time": ts_ms,
            "startedAt": record.started_ms, "function": record.path,
            "kind": record.kind or "unknown", "status": "failure" if failed else "success",
            "error": record.error, "executionTimeMs": record.duration_ms,
            "requestId": record.request_id, "level": level, "lines": lines}


def _has_text(record: ExecutionRecord, needle: str) -> bool:
    if needle in record.path.lower() or needle in record.request_id.lower():
        return True
    if record.error is not None and needle in record.error.lower():
        return True
    return any(needle in line.message.lower() for line in record.log_lines)


def event_entry(event: dict[str, Any]) -> dict[str, Any]:
    """A history event (history.event_json) as a log entry."""
    return {"type": "event", "id": f"event-{event['id']}", "time": event["time"],
            "action": event["action"], "who": event["who"], "metadata": event["metadata"]}


def _event_has_text(event: dict[str, Any], needle: str) -> bool:
    text = f"{event['action']} {event['who']} ".lower()
    return needle in text or needle in orjson.dumps(event["metadata"]).decode().lower()


@system_query("_system/frontend/logs", args={
    "function": v.optional(v.string()),
    "levels": v.optional(v.array(v.union(*(v.literal(level) for level in LEVELS)))),
    "status": v.optional(v.union(v.literal("success"), v.literal("failure"))),
    "text": v.optional(v.string()),
    "requestId": v.optional(v.string()),
    "limit": v.optional(v.float64()),
    "includeEvents": v.optional(v.boolean()),
})
async def logs(ctx: Any, function: str | None = None, levels: list[str] | None = None,
               status: str | None = None, text: str | None = None,
               requestId: str | None = None, limit: float | None = None,  # noqa: N803
               includeEvents: bool | None = None) -> dict[str, Any]:  # noqa: N803
    count = _limit(limit)
    ctx.watch(LOGS_FEED)  # re-run when an execution is logged
    paths = _paths(function)
    wanted = frozenset(levels) if levels else None
    success = None if status is None else status == "success"
    needle = (text or "").strip().lower()
    request = (requestId or "").strip() or None
    entries: list[dict[str, Any]] = []
    more = False
    for seq, ts_ms, record in reversed(ctx.deployment.function_logs.rows()):
        if (record.path.startswith(SYSTEM_PREFIX)
                or (paths is not None and record.path not in paths)
                or (success is not None and record.success != success)
                or (request is not None and record.request_id != request)
                or (needle and not _has_text(record, needle))):
            continue
        entry = entry_json(seq, ts_ms, record, wanted)
        if entry is None:
            continue
        if len(entries) == count:
            more = True
            break
        entries.append(entry)
    if includeEvents and paths is None and success is None and request is None \
            and wanted is None:
        events = await history.list_events(ctx.db.transaction, limit=count)
        matching = [event_entry(e) for e in events["page"]
                    if not needle or _event_has_text(e, needle)]
        if entries and more:  # only events as recent as the oldest execution shown
            oldest = entries[-1]["time"]
            matching = [e for e in matching if e["time"] >= oldest]
        entries = sorted(entries + matching, key=lambda e: e["time"], reverse=True)
        more = more or len(entries) > count or not events["isDone"]
        entries = entries[:count]
    entries.reverse()
    return {"entries": entries, "more": more}
