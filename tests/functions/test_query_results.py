"""Cached results of HTTP-style queries: served again only while still exactly current."""

import pytest

from syncline.functions import UserIdentity
from tests.functions.conftest import running, write_app

APP = {
    "schema.py": """
from syncline import define_schema, define_table, v
schema = define_schema({
    "items": define_table({"n": v.float64(), "tag": v.string()}).index("by_tag", ["tag"]),
    "other": define_table({"n": v.float64()}),
})
""",
    "items.py": """
from syncline import mutation, query, v

runs = {"count": 0}

@mutation(args={"n": v.float64(), "tag": v.string()})
async def add(ctx, n, tag):
    return await ctx.db.insert("items", {"n": n, "tag": tag})

@mutation(args={"n": v.float64()})
async def add_other(ctx, n):
    return await ctx.db.insert("other", {"n": n})

@query(args={"tag": v.string()})
async def by_tag(ctx, tag):
    runs["count"] += 1
    docs = await ctx.db.query("items").with_index("by_tag", lambda q: q.eq("tag", tag)).collect()
    return sorted(d["n"] for d in docs)

@query
async def runs_so_far(ctx):
    return runs["count"]
""",
}


@pytest.fixture
def app_dir(tmp_path):
    return write_app(tmp_path, APP)


@pytest.fixture
async def runner(app_dir, db):
    async with running(app_dir, db, dev=False) as runner:  # production: results are cached
        yield runner


async def value(runner, path, args=None, **kwargs):
    kwargs.setdefault("cached", True)  # as the HTTP API calls queries
    outcome = await runner.run(path, args or {}, **kwargs)
    assert outcome.ok, outcome.failure
    return outcome.value


async def runs(runner):
    return runner.app.functions["items:by_tag"].handler.__globals__["runs"]["count"]


async def test_a_repeated_query_is_served_until_a_commit_writes_into_what_it_read(runner):
    await value(runner, "items:add", {"n": 1.0, "tag": "a"})
    assert await value(runner, "items:by_tag", {"tag": "a"}) == [1.0]
    assert await value(runner, "items:by_tag", {"tag": "a"}) == [1.0]
    assert await runs(runner) == 1  # the second call was a cache hit
    await value(runner, "items:add_other", {"n": 5.0})  # another table
    await value(runner, "items:add", {"n": 9.0, "tag": "b"})  # outside the range it read
    assert await value(runner, "items:by_tag", {"tag": "a"}) == [1.0]
    assert await runs(runner) == 1
    await value(runner, "items:add", {"n": 2.0, "tag": "a"})  # inside it: recomputed
    assert await value(runner, "items:by_tag", {"tag": "a"}) == [1.0, 2.0]
    assert await runs(runner) == 2


async def test_arguments_and_callers_have_their_own_results(runner):
    await value(runner, "items:add", {"n": 1.0, "tag": "a"})
    await value(runner, "items:by_tag", {"tag": "a"})
    await value(runner, "items:by_tag", {"tag": "b"})
    user = UserIdentity({"issuer": "https://issuer", "subject": "u1"})
    await value(runner, "items:by_tag", {"tag": "a"}, identity=user)
    assert await runs(runner) == 3
    await value(runner, "items:by_tag", {"tag": "a"}, identity=user)
    assert await runs(runner) == 3


async def test_snapshot_reads_and_a_clear_bypass_the_cache(runner, db):
    await value(runner, "items:add", {"n": 1.0, "tag": "a"})
    await value(runner, "items:by_tag", {"tag": "a"})
    await value(runner, "items:by_tag", {"tag": "a"}, snapshot_ts=db.visible_ts)
    assert await runs(runner) == 2  # a read at a given timestamp always runs
    runner.query_results.clear()  # what a push or an environment change does
    await value(runner, "items:by_tag", {"tag": "a"})
    assert await runs(runner) == 3


async def test_each_hit_has_its_own_request_id(runner):
    first = await runner.run("items:by_tag", {"tag": "a"}, cached=True)
    second = await runner.run("items:by_tag", {"tag": "a"}, cached=True)
    assert first.request_id != second.request_id and first.value == second.value


async def test_callers_that_may_modify_the_value_never_share_it(runner):
    # An action's ctx.run_query hands the value to user code, which may change it.
    await value(runner, "items:add", {"n": 1.0, "tag": "a"})
    first = await runner.run("items:by_tag", {"tag": "a"})
    first.value.append("changed by the caller")
    second = await runner.run("items:by_tag", {"tag": "a"})
    assert second.value == [1.0]
    assert await runs(runner) == 2
