"""What the scheduler lag benchmark calls.

- `schedule` schedules `count` runs of `work` (job numbers `first`..), all due at
  `due` (Unix ms); at most 1,000 per call, the per-execution limit.
- `work` is the job: it inserts a row with its due time and `started`, the wall
  clock at the start of its execution (inside a mutation `time.time()` is frozen
  there, like `Date.now()` in Convex). The benchmark also calls it over HTTP as
  the baseline.
- `rows` pages through a run's rows, oldest first, from a `_creationTime` on
  (the benchmark polls the newest ones, and reads them all at the end).
- `job_states` pages through `_scheduled_functions` and counts one run's jobs
  by state, with a few of the failed jobs' errors.
"""

import time

from syncline import internal, internal_mutation, internal_query, v


@internal_mutation(args={"run": v.string(), "due": v.float64(), "first": v.float64(),
                         "count": v.float64()})
async def schedule(ctx, run, due, first, count):
    for i in range(int(first), int(first) + int(count)):
        await ctx.scheduler.run_at(due, internal.jobs.work,
                                   {"run": run, "due": due, "i": float(i)})
    return time.time() * 1000.0


@internal_mutation(args={"run": v.string(), "due": v.float64(), "i": v.float64()})
async def work(ctx, run, due, i):
    await ctx.db.insert("runs", {"run": run, "i": i, "due": due,
                                 "started": time.time() * 1000.0})


@internal_query(args={"run": v.string(), "since": v.float64(),
                      "cursor": v.union(v.string(), v.null()), "numItems": v.float64()})
async def rows(ctx, run, since, cursor, numItems):
    page = await (ctx.db.query("runs")
                  .with_index("by_run", lambda q: q.eq("run", run).gte("_creationTime", since))
                  .paginate({"numItems": int(numItems), "cursor": cursor}))
    return {
        "rows": [[row["i"], row["due"], row["started"], row["_creationTime"]]
                 for row in page["page"]],
        "isDone": page["isDone"],
        "continueCursor": page["continueCursor"],
    }


@internal_query(args={"run": v.string(), "cursor": v.union(v.string(), v.null()),
                      "numItems": v.float64()})
async def job_states(ctx, run, cursor, numItems):
    page = await (ctx.db.system.query("_scheduled_functions")
                  .paginate({"numItems": int(numItems), "cursor": cursor}))
    counts = {}
    errors = []
    for job in page["page"]:
        args = job["args"][0] if job["args"] else {}
        if job["name"] != "jobs:work" or args.get("run") != run:
            continue
        kind = job["state"]["kind"]
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "failed" and len(errors) < 5:
            errors.append(str(job["state"].get("error"))[:200])
    return {"counts": counts, "errors": errors, "isDone": page["isDone"],
            "continueCursor": page["continueCursor"]}
