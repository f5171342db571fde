"""The dashboard's system queries (`_system/frontend/...`) in-process."""

from __future__ import annotations

import pytest

from syncline.sync.protocol import Authenticate
from tests.sync.conftest import deployed
from tests.sync.test_engine import add, mutate, session, settle, values

APP = {
    "schema.py": """
from syncline import define_schema, define_table, v
schema = define_schema({
    "messages": define_table({"body": v.string(), "n": v.float64()}).index("by_n", ["n"]),
})
""",
    "messages.py": """
from syncline import internal, internal_mutation, mutation, v

@mutation(args={"body": v.string(), "n": v.float64()})
async def send(ctx, body, n):
    return await ctx.db.insert("messages", {"body": body, "n": n})

@mutation
async def later(ctx):
    return await ctx.scheduler.run_after(60_000, internal.messages.tick, {})

@internal_mutation
async def tick(ctx):
    pass
""",
    "crons.py": """
from syncline import Crons, internal

crons = Crons()
crons.interval("every minute", internal.messages.tick, {}, seconds=60)
""",
    "http.py": """
from syncline import HttpRouter, Response, http_action

http = HttpRouter()

@http_action
async def hello(ctx, request):
    return Response("hi")

http.route(path="/hello", method="GET", handler=hello)
""",
}
PAGE = {"cursor": None, "numItems": 2}


@pytest.fixture
async def deployment(tmp_path):
    async with deployed(tmp_path, APP) as deployment:
        deployment.sync.start()
        yield deployment


async def run(deployment, path, args=None):
    outcome = await deployment.runner.run(path, args or {}, admin=True)
    assert outcome.ok, outcome.failure
    return outcome.value


async def test_tables_with_counts_are_live(deployment):
    engine = deployment.sync
    s, sent = session(engine, "admin")
    await engine.authenticate(s, Authenticate("Admin", deployment.admin_keys.admin_key(), 0))
    await mutate(deployment, "messages:send", {"body": "a", "n": 1})
    await engine.modify_query_set(s, add(1, "_system/frontend/tables", {}, 0))
    await settle(engine)
    assert values(sent)[1] == [{"name": "messages", "documents": 1}]
    await mutate(deployment, "messages:send", {"body": "b", "n": 2})
    assert values(sent)[1] == [{"name": "messages", "documents": 2}]
    assert await run(deployment, "_system/frontend/tableSize", {"table": "messages"}) == 2


async def test_a_page_in_any_index_and_order_with_a_cursor(deployment):
    for body, n in (("c", 3), ("a", 1), ("b", 2)):
        await mutate(deployment, "messages:send", {"body": body, "n": n})
    path = "_system/frontend/paginatedTableDocuments"
    first = await run(deployment, path, {"table": "messages", "index": "by_n", "order": "asc",
                                         "paginationOpts": PAGE})
    assert [d["body"] for d in first["page"]] == ["a", "b"] and not first["isDone"]
    rest = await run(deployment, path, {
        "table": "messages", "index": "by_n", "order": "asc",
        "paginationOpts": {"cursor": first["continueCursor"], "numItems": 2}})
    assert [d["body"] for d in rest["page"]] == ["c"]
    newest = await run(deployment, path, {"table": "messages", "paginationOpts": PAGE})
    assert [d["body"] for d in newest["page"]] == ["b", "a"]  # creation order, newest first
    outcome = await deployment.runner.run(path, {"table": "nope", "paginationOpts": PAGE},
                                          admin=True)
    assert "Table 'nope' not found" in outcome.failure.message


async def test_schema_and_indexes_with_backfill_state(deployment):
    await mutate(deployment, "messages:send", {"body": "a", "n": 1})
    value = await run(deployment, "_system/frontend/schema")
    assert value["schema"]["tables"][0]["tableName"] == "messages"
    indexes = {i["name"]: i for i in value["tables"][0]["indexes"]}
    assert indexes["by_n"]["fields"] == ["n"] and indexes["by_n"]["backfill"] == {"state": "done"}


async def test_scheduled_functions_and_cron_jobs(deployment):
    await mutate(deployment, "messages:later", {})
    jobs = await run(deployment, "_system/frontend/scheduledFunctions")
    assert [j["name"] for j in jobs] == ["messages:tick"]
    assert jobs[0]["state"] == {"kind": "pending"}
    crons = await run(deployment, "_system/frontend/cronJobs")
    assert [c["name"] for c in crons] == ["every minute"]
    assert crons[0]["function"] == "messages:tick" and crons[0]["nextRun"] > 0
    assert crons[0]["lastRuns"] == []


async def test_files_state_and_function_spec(deployment):
    assert (await run(deployment, "_system/frontend/files", {"paginationOpts": PAGE}))["page"] == []
    state = await run(deployment, "_system/frontend/deploymentState")
    assert state["state"] == "running" and state["functions"] == 3
    spec = await run(deployment, "_system/frontend/functionSpec")
    assert {"functionType": "HttpAction", "method": "GET", "path": "/hello"} in spec
    send = next(e for e in spec if e["identifier"] == "messages.js:send")
    assert send["args"]["value"]["n"] == {"fieldType": {"type": "number"}, "optional": False}
