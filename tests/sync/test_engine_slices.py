"""A large ModifyQuerySet is worked through in slices: other sessions are not stalled by it."""

from __future__ import annotations

import asyncio

import pytest

from syncline.sync.engine import QUERY_SET_SLICE
from syncline.sync.protocol import MAX_MODIFICATIONS, AddQuery, ModifyQuerySet, RemoveQuery
from syncline.sync.session import Session
from syncline.values.timestamps import decode_ts
from tests.sync.conftest import deployed

APP = {
    "schema.py": """
from syncline import define_schema, define_table, v
schema = define_schema({
    "messages": define_table({"channel": v.string()}).index("by_channel", ["channel"]),
})
""",
    "messages.py": """
from syncline import mutation, query, v

@query(args={"channel": v.string()})
async def count(ctx, channel):
    return len(await ctx.db.query("messages")
               .with_index("by_channel", lambda q: q.eq("channel", channel)).collect())

@mutation(args={"channel": v.string()})
async def send(ctx, channel):
    return await ctx.db.insert("messages", {"channel": channel})
""",
}


@pytest.fixture
async def deployment(tmp_path):
    async with deployed(tmp_path, APP) as deployment:
        yield deployment


def session(engine, name):
    messages: list[dict] = []
    s = Session(send=messages.append, session_id=name)
    engine.connect(s)
    return s, messages


def values(transition: dict) -> dict[int, object]:
    return {m["queryId"]: m.get("value") for m in transition["modifications"]
            if m["type"] == "QueryUpdated"}


async def until(condition, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)


async def test_other_sessions_get_their_transitions_during_a_10000_query_change(deployment):
    """Issue 17 item 7: one ModifyQuerySet adding 10,000 queries held the engine for its
    whole run, so every other subscriber waited 1-2 s. Now another session's transition
    for a write made meanwhile goes out before the big change is done, and the big
    session still gets one Transition to its new version, consistent as of one ts."""
    engine = deployment.sync
    a, sent_a = session(engine, "a")
    await engine.modify_query_set(a, ModifyQuerySet(0, 1, (AddQuery(0, "messages:count",
                                                                    {"channel": "a"}),)))
    assert [values(t) for t in sent_a] == [{0: 0}]

    b, sent_b = session(engine, "b")
    others = MAX_MODIFICATIONS - 1
    big = ModifyQuerySet(0, 1, (
        *(AddQuery(i, "messages:count", {"channel": f"b{i}"}) for i in range(others)),
        AddQuery(others, "messages:count", {"channel": "a"}),  # computed last
    ))
    started = engine.executions
    modifying = asyncio.create_task(engine.modify_query_set(b, big))
    try:
        await until(lambda: engine.executions >= started + QUERY_SET_SLICE)  # under way
        write = await deployment.runner.run("messages:send", {"channel": "a"})
        assert write.ok, write.failure
        await until(lambda: len(sent_a) == 2 or modifying.done())
        # A was told of the write while B's change was still being worked on.
        assert len(sent_a) == 2 and values(sent_a[1]) == {0: 1}
        assert not modifying.done() and sent_b == []
        assert engine.executions - started < MAX_MODIFICATIONS
        await modifying
    finally:
        modifying.cancel()
    # B: exactly one Transition, to query set version 1, with every query as of one ts
    # that is past the write (the query on channel "a" shows it).
    assert len(sent_b) == 1
    transition = sent_b[0]
    assert transition["startVersion"]["querySet"] == 0
    assert transition["endVersion"]["querySet"] == 1
    assert decode_ts(transition["endVersion"]["ts"]) >= write.commit_ts
    result = values(transition)
    assert len(result) == MAX_MODIFICATIONS
    assert result[others] == 1 and all(result[i] == 0 for i in range(others))
    assert b.query_set_version == 1 and len(b.subscriptions) == MAX_MODIFICATIONS


async def test_removes_and_adds_across_slices_make_one_transition(deployment):
    """A change larger than a slice, mixing removes and adds, still ends in one
    Transition naming every removed query and every added one."""
    engine = deployment.sync
    s, sent = session(engine, "s")
    n = QUERY_SET_SLICE * 2 + 5
    await engine.modify_query_set(s, ModifyQuerySet(0, 1, tuple(
        AddQuery(i, "messages:count", {"channel": f"c{i}"}) for i in range(n))))
    assert len(sent) == 1 and len(values(sent[0])) == n
    await engine.modify_query_set(s, ModifyQuerySet(1, 2, (
        *(RemoveQuery(i) for i in range(n)),
        *(AddQuery(n + i, "messages:count", {"channel": f"d{i}"}) for i in range(n)),
    )))
    assert len(sent) == 2
    removed = [m["queryId"] for m in sent[1]["modifications"] if m["type"] == "QueryRemoved"]
    assert sorted(removed) == list(range(n))
    assert sorted(values(sent[1])) == list(range(n, 2 * n))
    assert sent[1]["startVersion"]["querySet"] == 1 and sent[1]["endVersion"]["querySet"] == 2
