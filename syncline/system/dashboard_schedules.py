"""The dashboard's Schedules page: scheduled functions and cron jobs, and canceling jobs.

- `_system/frontend/scheduledFunctions` `{limit?, function?, state?}`: the newest jobs of
  `_scheduled_functions` (of one function, in one state), newest first, as a list;
- `_system/frontend/paginatedScheduledFunctions` `{paginationOpts, function?, state?}`:
  the same, a page at a time from a cursor (what the page shows; "load more" adds pages);
- `_system/frontend/cronJobs`: each cron job with its schedule as `convex/crons.py` wrote
  it (`written`), its stored form (`schedule`), next run (Unix ms) and last runs;
- `_system/frontend/cancelJob` `{id}` (mutation): cancel one unfinished job;
- `_system/frontend/cancelAllJobs` `{function?}` (action): cancel every unfinished job
  (of one function), one page per transaction (`_system/frontend/cancelJobsPage`).

Canceling is the scheduler's own `cancel_in`, and each transaction that cancels records a
`cancel_scheduled_functions` history event: exactly what `syncline scheduled cancel` /
`cancel-all` do (server/admin_api.py calls `cancel_job` and `cancel_page` from here).

`_scheduled_functions` has no index on `name` or `state`, so filtered reads scan: a page
reads at most SCAN_ROWS jobs (it may then hold fewer than asked for, and is not done),
and the list form at most LIST_SCAN, keeping every call under the read limits.
"""

from __future__ import annotations

from typing import Any

from syncline.database import Query, Transaction
from syncline.database.catalog import SYSTEM_TABLES
from syncline.errors import InvalidIdError
from syncline.functions.errors import ArgumentValidationError
from syncline.functions.references import InvalidFunctionPathError, canonical_path
from syncline.functions.scheduling import SCHEDULED_FUNCTIONS, cancel_in
from syncline.schema import pagination_opts_validator, v
from syncline.system import history
from syncline.system.registry import system_action, system_mutation, system_query
from syncline.values import decode_id

STATES = ("pending", "inProgress", "success", "failed", "canceled")
UNFINISHED = ("pending", "inProgress")
DEFAULT_JOBS = 100
MAX_JOBS = 1_000
LIST_SCAN = 10_000  # jobs the list form reads at most
SCAN_ROWS = 5_000  # jobs one page reads at most
PAGE_BYTES = 2 * 1024 * 1024  # and bytes: jobs with large arguments stay under 16 MiB
CANCEL_PAGE = 500  # jobs read per canceling transaction
LAST_RUNS = 5
CRON_SCAN = 1_000  # newest jobs searched for a cron's last runs
STATE = v.optional(v.union(*(v.literal(state) for state in STATES)))
WHO = "dashboard"


# ----------------------------------------------------------------------------- helpers


def function_filter(raw: str | None) -> str | None:
    """The canonical path of a function filter (`jobs:work`, `jobs.js:work`), or None."""
    if raw is None or raw.strip() == "":
        return None
    try:
        return canonical_path(raw.strip())
    except InvalidFunctionPathError as e:
        raise ArgumentValidationError(f"function: {e}") from None


def job_id(raw: str) -> str:
    """`raw` if it is the ID of a document of `_scheduled_functions`."""
    try:
        table_number, _ = decode_id(raw)
    except InvalidIdError:
        table_number = None
    if table_number != SYSTEM_TABLES[SCHEDULED_FUNCTIONS]:
        raise ArgumentValidationError(f"{raw!r} is not the ID of a scheduled function")
    return raw


def _filtered(query: Query, function: str | None, state: str | None) -> Query:
    if function is not None:
        query = query.filter(lambda q: q.eq(q.field("name"), function))
    if state is not None:
        query = query.filter(lambda q: q.eq(q.field("state.kind"), state))
    return query


def job_json(doc: dict[str, Any]) -> dict[str, Any]:
    """A job as the dashboard shows it: the document's fields, without internals."""
    job = {key: doc[key] for key in ("_id", "_creationTime", "name", "args", "scheduledTime",
                                      "state") if key in doc}
    for key in ("completedTime", "cron"):
        if key in doc:
            job[key] = doc[key]
    return job


# ----------------------------------------------------------------------------- reading


@system_query("_system/frontend/scheduledFunctions", args={
    "limit": v.optional(v.float64()), "function": v.optional(v.string()), "state": STATE})
async def scheduled_functions(ctx: Any, limit: float | None = None, function: str | None = None,
                              state: str | None = None) -> list[dict[str, Any]]:
    n = max(1, min(int(limit or DEFAULT_JOBS), MAX_JOBS))
    query = _filtered(ctx.db.query(SCHEDULED_FUNCTIONS).order("desc"),
                      function_filter(function), state)
    page = await query.paginate({"numItems": n, "cursor": None, "maximumRowsRead": LIST_SCAN,
                                 "maximumBytesRead": 8 * PAGE_BYTES})
    return [job_json(doc) for doc in page["page"]]


@system_query("_system/frontend/paginatedScheduledFunctions", args={
    "paginationOpts": pagination_opts_validator, "function": v.optional(v.string()),
    "state": STATE})
async def paginated_scheduled_functions(ctx: Any, paginationOpts: dict[str, Any],  # noqa: N803
                                        function: str | None = None,
                                        state: str | None = None) -> dict[str, Any]:
    options = {**paginationOpts, "maximumRowsRead": SCAN_ROWS, "maximumBytesRead": PAGE_BYTES}
    query = _filtered(ctx.db.query(SCHEDULED_FUNCTIONS).order("desc"),
                      function_filter(function), state)
    page = await query.paginate(options)
    return {**page, "page": [job_json(doc) for doc in page["page"]]}


@system_query("_system/frontend/cronJobs")
async def cron_jobs(ctx: Any) -> list[dict[str, Any]]:
    recent = await ctx.db.query(SCHEDULED_FUNCTIONS).order("desc").take(CRON_SCAN)
    result = []
    for job, next_ms in sorted(ctx.deployment.crons.upcoming(), key=lambda item: item[0].name):
        runs = [job_json(doc) for doc in recent if doc.get("cron") == job.name][:LAST_RUNS]
        result.append({"name": job.name, "function": job.function_path, "args": job.args,
                       "schedule": job.schedule.to_json(), "written": job.schedule.written(),
                       "description": job.schedule.describe(), "nextRun": next_ms,
                       "lastRuns": runs})
    return result


# ----------------------------------------------------------------------------- canceling


async def cancel_job(tx: Transaction, job: str, now_ms: float, *,
                     who: str | None = None) -> bool | None:
    """Cancel job `job` in `tx`: True if canceled, False if it had finished, None if there
    is no such job. Recorded in the history when it cancels."""
    doc = await tx.get(job)
    if doc is None:
        return None
    if doc["state"]["kind"] not in UNFINISHED:
        return False
    await cancel_in(tx, job, now_ms)
    await history.record(tx, history.CANCEL_SCHEDULED, {"ids": [job]}, who=who)
    return True


async def cancel_page(tx: Transaction, function: str | None, cursor: str | None,
                      now_ms: float, *, who: str | None = None) -> tuple[int, dict[str, Any]]:
    """Cancel the unfinished jobs (of `function`) of one page of the table, in `tx`: how
    many, and the page (its `isDone` and `continueCursor` say where the next one starts).

    A job read as unfinished is canceled in the same transaction, so one that finishes
    meanwhile makes the page conflict and re-run, and is then left alone."""
    page = await tx.query(SCHEDULED_FUNCTIONS, system=True).paginate(
        {"numItems": CANCEL_PAGE, "cursor": cursor, "maximumBytesRead": PAGE_BYTES})
    count = 0
    for doc in page["page"]:
        if doc["state"]["kind"] in UNFINISHED and (function is None or doc["name"] == function):
            await cancel_in(tx, doc["_id"], now_ms)
            count += 1
    if count:
        await history.record(tx, history.CANCEL_SCHEDULED, {
            "count": float(count), **({"function": function} if function else {})}, who=who)
    return count, page


@system_mutation("_system/frontend/cancelJob", args={"id": v.string()})
async def cancel_one(ctx: Any, id: str) -> dict[str, Any]:  # noqa: A002 - Convex's name
    canceled = await cancel_job(ctx.db.transaction, job_id(id),
                                ctx.deployment.runner.now_ms(), who=WHO)
    if canceled is None:
        raise ArgumentValidationError(f"There is no scheduled function {id!r} (jobs are "
                                      "deleted 7 days after they finish)")
    return {"canceled": canceled}


@system_mutation("_system/frontend/cancelJobsPage", args={
    "function": v.optional(v.string()), "cursor": v.union(v.string(), v.null())})
async def cancel_jobs_page(ctx: Any, cursor: str | None,
                           function: str | None = None) -> dict[str, Any]:
    count, page = await cancel_page(ctx.db.transaction, function_filter(function), cursor,
                                    ctx.deployment.runner.now_ms(), who=WHO)
    return {"canceled": count, "isDone": page["isDone"], "cursor": page["continueCursor"]}


@system_action("_system/frontend/cancelAllJobs", args={"function": v.optional(v.string())})
async def cancel_all_jobs(ctx: Any, function: str | None = None) -> dict[str, Any]:
    """Every unfinished job (of `function`), a page per transaction: a table of any size
    stays under the per-transaction limits."""
    path = function_filter(function)
    args: dict[str, Any] = {} if path is None else {"function": path}
    canceled, cursor = 0, None
    while True:
        result = await ctx.run_mutation("_system/frontend/cancelJobsPage",
                                        {**args, "cursor": cursor})
        canceled += int(result["canceled"])
        if result["isDone"]:
            return {"canceled": canceled}
        cursor = result["cursor"]
