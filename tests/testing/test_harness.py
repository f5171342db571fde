"""`syncline.testing.ConvexTest` on a small app with a schema, public and internal functions,
auth, scheduling, crons, file storage and HTTP routes (tests/testing/app)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from syncline import ConvexError, api, internal
from syncline.testing import ConvexTest, FunctionError

APP = Path(__file__).parent / "app" / "convex"


@pytest.fixture
def t(convex_test):
    return convex_test(modules=APP)


async def test_queries_and_mutations_public_and_internal(t):
    await t.mutation(api.messages.send, {"author": "Sarah", "body": "Hi!"})
    await t.mutation("messages:send", {"author": "Tom", "body": "Hey!"})
    assert await t.query(api.messages.list) == [{"author": "Sarah", "body": "Hi!"},
                                                {"author": "Tom", "body": "Hey!"}]
    await t.mutation(internal.messages.clear)
    assert await t.query(api.messages.list) == []


async def test_errors_are_raised_as_in_a_deployment(t):
    with pytest.raises(ConvexError) as failure:
        await t.mutation(api.messages.send, {"author": "a", "body": "  "})
    assert failure.value.data == {"code": "EMPTY"}
    with pytest.raises(FunctionError, match="ArgumentValidationError|author"):
        await t.mutation(api.messages.send, {"body": "no author"})
    with pytest.raises(FunctionError, match="boom"):
        await t.query(api.messages.crash)
    # Nothing was written by the failed calls.
    assert await t.query(api.messages.list) == []


async def test_each_test_gets_a_fresh_database(convex_test):
    first, second = convex_test(modules=APP), convex_test(modules=APP)
    await first.mutation(api.messages.send, {"author": "a", "body": "only in first"})
    assert await second.query(api.messages.list) == []


async def test_run_sets_up_and_inspects_data(t):
    task_id = await t.run(lambda ctx: ctx.db.insert(
        "tasks", {"text": "Eat breakfast", "owner": "x", "done": False}))

    async def read(ctx):
        return await ctx.db.get(task_id)

    assert (await t.run(read))["text"] == "Eat breakfast"


async def test_the_schema_is_enforced(t):
    with pytest.raises(FunctionError, match="does not match|Validator|schema"):
        await t.run(lambda ctx: ctx.db.insert("tasks", {"text": 1}))


async def test_with_identity(t):
    sarah = t.with_identity({"name": "Sarah"})
    await sarah.mutation(api.tasks.create, {"text": "Add tests"})
    assert await sarah.query(api.tasks.mine) == ["Add tests"]
    assert await t.with_identity({"name": "Lee"}).query(api.tasks.mine) == []
    me = await sarah.query(api.tasks.whoami)
    assert me["name"] == "Sarah" and me["issuer"] == "https://convex.test"
    assert me["tokenIdentifier"] == f"{me['issuer']}|{me['subject']}"
    assert await t.query(api.tasks.whoami) is None
    with pytest.raises(ConvexError):
        await t.query(api.tasks.mine)


async def test_scheduled_functions_run_when_time_is_advanced(t):
    job = await t.mutation(api.jobs.later, {"delay_ms": 10_000})
    await t.finish_in_progress_scheduled_functions()
    assert await t.query(api.jobs.events) == []
    t.advance(5_000)
    await t.finish_in_progress_scheduled_functions()
    assert await t.query(api.jobs.events) == []
    t.advance(6_000)
    await t.finish_in_progress_scheduled_functions()
    assert await t.query(api.jobs.events) == ["later"]

    async def state(ctx):
        return (await ctx.db.system.get(job))["state"]

    assert await t.run(state) == {"kind": "success"}


async def test_finish_all_scheduled_functions_follows_chains(t):
    await t.mutation(api.jobs.chain)
    await t.finish_all_scheduled_functions()
    assert await t.query(api.jobs.events) == ["step3", "step2", "step1"]


async def test_cron_jobs_run_as_the_clock_moves(t):
    await t.finish_in_progress_scheduled_functions()  # deployed: an interval job runs at once
    first = await t.query(api.jobs.ticks)
    t.advance(5 * 60_000)
    await t.finish_in_progress_scheduled_functions()
    t.advance(5 * 60_000)
    await t.finish_in_progress_scheduled_functions()
    assert await t.query(api.jobs.ticks) == first + 2


async def test_http_actions_through_fetch(t):
    response = await t.fetch("/messages", method="POST",
                             body={"author": "web", "body": "from http"})
    assert response.status == 201 and response.json() == {"ok": True}
    assert await t.query(api.messages.list) == [{"author": "web", "body": "from http"}]
    assert (await t.with_identity({"subject": "ann"}).fetch("/whoami")).text() == "ann"
    assert (await t.fetch("/nowhere")).status == 404


async def test_file_storage(t):
    storage_id = await t.action(api.files.save, {"text": "hello file"})
    assert (await t.query(api.files.url, {"storage_id": storage_id})) is not None

    async def read(ctx):
        return await (await ctx.storage.get(storage_id)).read()

    with pytest.raises(FunctionError):
        await t.run(read)  # ctx.storage.get is an action-only API, as in Convex


@respx.mock
async def test_outbound_http_in_actions_can_be_mocked(t):
    respx.get("https://weather.example.com/paris").mock(
        return_value=httpx.Response(200, json={"forecast": "sunny"}))
    assert await t.action(api.jobs.weather, {"city": "paris"}) == "sunny"


def test_synchronous_tests(tmp_path):
    t = ConvexTest(modules=APP).sync
    try:
        t.mutation(api.messages.send, {"author": "sync", "body": "works"})
        assert t.query(api.messages.list) == [{"author": "sync", "body": "works"}]
        assert t.with_identity({"subject": "s"}).query(api.tasks.whoami)["subject"] == "s"
        t.mutation(api.jobs.later, {"delay_ms": 1_000})
        t.advance(1_001)
        t.finish_in_progress_scheduled_functions()
        assert t.query(api.jobs.events) == ["later"]
    finally:
        t.close()


async def test_overlapping_deployments_leave_the_process_environment_as_it_was():
    import os

    before = os.environ.get("CONVEX_CLOUD_URL")
    first, second = ConvexTest(modules=APP), ConvexTest(modules=APP)
    await first.query(api.messages.list)
    await second.query(api.messages.list)
    await first.aclose()  # the first to publish goes first: the second's value stays
    assert os.environ.get("CONVEX_CLOUD_URL") == "https://convex.test"
    await second.aclose()
    assert os.environ.get("CONVEX_CLOUD_URL") == before
