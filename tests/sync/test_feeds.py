"""Feeds: queries over in-memory sources (metrics, logs) are live without polling."""

from __future__ import annotations

import asyncio

import pytest

from syncline.database.feeds import FEED_INDEX_ID, Feeds, reads_a_feed
from syncline.database.read_set import ReadSet
from syncline.sync.engine import FEED_INTERVAL_S
from syncline.sync.protocol import Authenticate
from tests.sync.conftest import deployed
from tests.sync.test_engine import add, mutate, session, settle, values

APP = {
    "schema.py": """
from syncline import define_schema, define_table, v
schema = define_schema({"messages": define_table({"body": v.string()})})
""",
    "messages.py": """
from syncline import mutation, query, v

@mutation(args={"body": v.string()})
async def send(ctx, body):
    return await ctx.db.insert("messages", {"body": body})

@query
async def count(ctx):
    return len(await ctx.db.query("messages").collect())
""",
}
INVOCATIONS = "_system/metrics:function"


@pytest.fixture(params=[True, False], ids=["dev", "prod"])
async def deployment(tmp_path, request):
    async with deployed(tmp_path, APP) as deployment:
        deployment.dev = request.param
        deployment.sync.start()
        yield deployment


async def admin_session(deployment):
    engine = deployment.sync
    s, sent = session(engine, "admin")
    await engine.authenticate(s, Authenticate("Admin", deployment.admin_keys.admin_key(), 0))
    return s, sent


async def wait_for(predicate, timeout: float = 20.0) -> None:
    """Wait until `predicate()` holds (a bound for a broken engine, not a timing claim)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_query_watching_a_feed_reruns_when_the_feed_changes(deployment):
    s, sent = await admin_session(deployment)
    await mutate(deployment, "messages:send", {"body": "a"})
    await deployment.sync.modify_query_set(s, add(1, INVOCATIONS, {"path": "messages:send"}, 0))
    await settle(deployment.sync)
    assert values(sent)[1]["invocations"] == 1
    for body in "bcd":
        await mutate(deployment, "messages:send", {"body": body})
    await wait_for(lambda: values(sent)[1]["invocations"] == 4)


async def test_a_feed_change_reruns_only_its_watchers_and_system_calls_do_not_signal(
        deployment):
    s, sent = await admin_session(deployment)
    engine = deployment.sync
    await engine.modify_query_set(s, add(1, INVOCATIONS, {"path": "messages:count"}, 0))
    await engine.modify_query_set(s, add(2, "messages:count", {}, 1))
    await settle(engine)
    assert values(sent) == {1: None, 2: 0}
    before = engine.executions
    deployment.db.feeds.changed("metrics")
    await wait_for(lambda: engine.executions == before + 1)
    # The metrics query re-ran, the document query did not; and that re-run (a system
    # function's execution) signalled nothing, so nothing runs again.
    await asyncio.sleep(FEED_INTERVAL_S * 4)
    assert engine.executions == before + 1


async def test_a_burst_of_changes_costs_one_rerun_per_interval(deployment):
    s, _ = await admin_session(deployment)
    engine = deployment.sync
    await engine.modify_query_set(s, add(1, INVOCATIONS, {"path": "messages:count"}, 0))
    await settle(engine)
    before = engine.executions
    for _ in range(1_000):
        deployment.db.feeds.changed("metrics")
    await wait_for(lambda: engine.executions > before)
    await asyncio.sleep(FEED_INTERVAL_S * 4)
    assert engine.executions == before + 1


async def test_a_result_that_read_a_feed_is_never_served_from_the_query_cache(deployment):
    async def invocations() -> int:
        outcome = await deployment.runner.run(INVOCATIONS, {"path": "messages:count"},
                                              admin=True, cached=True)
        assert outcome.ok, outcome.failure
        return 0 if outcome.value is None else outcome.value["invocations"]

    first = await invocations()
    assert (await deployment.runner.run("messages:count", {})).ok
    assert await invocations() == first + 1  # no commit happened, yet the answer moved


def test_feed_reads_are_pseudo_index_points_that_no_commit_writes():
    reads = ReadSet()
    Feeds.observe(reads, "logs")
    frozen = reads.freeze()
    assert reads_a_feed(frozen)
    assert [index_id for index_id, _, _ in frozen.intervals()] == [FEED_INDEX_ID]
    assert not reads_a_feed(ReadSet().freeze())
    with pytest.raises(ValueError, match="non-empty name"):
        Feeds.observe(reads, "")
