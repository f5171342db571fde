"""The sync engine in-process: precise invalidation, sharing, consistent transitions."""

from __future__ import annotations

import asyncio
import time

import pytest

from syncline.sync.protocol import (
    AddQuery,
    Authenticate,
    ModifyQuerySet,
    MutationRequest,
    ProtocolError,
    RemoveQuery,
)
from syncline.sync.session import Session
from syncline.values.timestamps import decode_ts
from tests.sync.conftest import deployed

APP = {
    "schema.py": """
from syncline import define_schema, define_table, v
schema = define_schema({
    "messages": define_table({"channel": v.string(), "body": v.string()})
        .index("by_channel", ["channel"]).index("by_body", ["body"]),
    "other": define_table({"x": v.float64()}),
})
""",
    "messages.py": """
from syncline import mutation, query, v

@query(args={"channel": v.string()})
async def list(ctx, channel):
    return [m["body"] for m in await ctx.db.query("messages")
            .with_index("by_channel", lambda q: q.eq("channel", channel)).collect()]

@query(args={"channel": v.string()})
async def count(ctx, channel):
    return len(await ctx.db.query("messages")
               .with_index("by_channel", lambda q: q.eq("channel", channel)).collect())

@query
async def whoami(ctx):
    identity = await ctx.auth.get_user_identity()
    return None if identity is None else identity.subject

@query
async def page(ctx, opts):
    return await ctx.db.query("messages").with_index("by_body").paginate(opts)

@mutation
async def remove(ctx, body):
    doc = await ctx.db.query("messages").with_index("by_body", lambda q: q.eq("body", body)).unique()
    await ctx.db.delete(doc["_id"])

@mutation(args={"channel": v.string(), "body": v.string()})
async def send(ctx, channel, body):
    return await ctx.db.insert("messages", {"channel": channel, "body": body})

@mutation
async def other(ctx):
    await ctx.db.insert("other", {"x": 1.0})
""",
}


@pytest.fixture
async def deployment(tmp_path):
    async with deployed(tmp_path, APP) as deployment:
        yield deployment


def session(engine, name="s"):
    messages: list[dict] = []
    s = Session(send=messages.append, session_id=name)
    engine.connect(s)
    return s, messages


def add(query_id, path, args, version):
    return ModifyQuerySet(version, version + 1, (AddQuery(query_id, path, args),))


async def settle(engine):
    """Let the engine process every commit so far."""
    await engine._reach(engine.db.visible_ts)
    for _ in range(5):
        await asyncio.sleep(0)


async def mutate(deployment, path, args):
    outcome = await deployment.runner.run(path, args)
    assert outcome.ok, outcome.failure
    await settle(deployment.sync)
    return outcome


def values(messages):
    return {m["queryId"]: m.get("value") for t in messages if t["type"] == "Transition"
            for m in t["modifications"] if m["type"] == "QueryUpdated"}


async def test_subscription_gets_initial_result_and_live_updates(deployment):
    engine = deployment.sync
    s, sent = session(engine)
    await engine.modify_query_set(s, add(1, "messages:list", {"channel": "a"}, 0))
    assert sent[-1]["type"] == "Transition"
    assert sent[-1]["startVersion"]["querySet"] == 0 and sent[-1]["endVersion"]["querySet"] == 1
    assert values(sent) == {1: []}
    await mutate(deployment, "messages:send", {"channel": "a", "body": "hi"})
    assert values(sent[-1:]) == {1: ["hi"]}
    # Transitions chain: each starts where the previous ended.
    transitions = [m for m in sent if m["type"] == "Transition"]
    for before, after in zip(transitions, transitions[1:], strict=False):
        assert after["startVersion"] == before["endVersion"]


async def test_a_write_outside_the_read_set_reruns_nothing(deployment):
    engine = deployment.sync
    s, sent = session(engine)
    await engine.modify_query_set(s, add(1, "messages:list", {"channel": "a"}, 0))
    before, messages_before = engine.executions, len(sent)
    await mutate(deployment, "messages:other", {})  # another table
    await mutate(deployment, "messages:send", {"channel": "b", "body": "x"})  # other channel
    assert engine.executions == before
    assert len(sent) == messages_before
    await mutate(deployment, "messages:send", {"channel": "a", "body": "y"})
    assert engine.executions == before + 1


async def test_one_execution_per_invalidation_for_many_subscribers(deployment):
    engine = deployment.sync
    sessions = [session(engine, f"s{i}") for i in range(100)]
    for s, _ in sessions:
        await engine.modify_query_set(s, add(7, "messages:count", {"channel": "a"}, 0))
    assert engine.executions == 1
    await mutate(deployment, "messages:send", {"channel": "a", "body": "z"})
    assert engine.executions == 2
    assert all(values(sent[-1:]) == {7: 1} for _, sent in sessions)


async def test_all_queries_of_a_client_move_to_one_timestamp(deployment):
    engine = deployment.sync
    s, sent = session(engine)
    await engine.modify_query_set(s, ModifyQuerySet(0, 1, (
        AddQuery(1, "messages:list", {"channel": "a"}),
        AddQuery(2, "messages:count", {"channel": "a"}))))
    for i in range(5):
        await deployment.runner.run("messages:send", {"channel": "a", "body": str(i)})
    await settle(engine)
    # Replaying the transitions, the list and its count never disagree.
    state: dict[int, object] = {}
    for transition in (m for m in sent if m["type"] == "Transition"):
        for m in transition["modifications"]:
            state[m["queryId"]] = m["value"]
        assert len(state[1]) == state[2]
    assert state[2] == 5


async def test_identity_keys_only_queries_that_read_auth(deployment):
    engine = deployment.sync
    admin_key = deployment.admin_keys.admin_key()
    ada, ada_sent = session(engine, "ada")
    bob, bob_sent = session(engine, "bob")
    for s, subject in ((ada, "ada"), (bob, "bob")):
        await engine.authenticate(s, Authenticate("Admin", admin_key, 0, {"subject": subject,
                                                                          "issuer": "test"}))
        await engine.modify_query_set(s, ModifyQuerySet(0, 1, (
            AddQuery(1, "messages:whoami", {}), AddQuery(2, "messages:count", {"channel": "a"}))))
    assert values(ada_sent)[1] == "ada" and values(bob_sent)[1] == "bob"
    assert values(ada_sent)[2] == 0 and values(bob_sent)[2] == 0
    assert engine.executions == 3  # whoami twice (per identity), count once (shared)
    assert ada_sent[-1]["endVersion"]["identity"] == 1


async def test_an_anonymous_result_of_an_auth_reading_query_is_never_shared(deployment):
    """Anonymous callers have an identity key of their own, not the shared one: otherwise
    a user would be served the anonymous result (or the reverse)."""
    engine = deployment.sync
    anon, anon_sent = session(engine, "anon")
    await engine.modify_query_set(anon, add(1, "messages:whoami", {}, 0))
    assert values(anon_sent) == {1: None}
    ada, ada_sent = session(engine, "ada")
    await engine.authenticate(ada, Authenticate(
        "Admin", deployment.admin_keys.admin_key(), 0, {"subject": "ada", "issuer": "t"}))
    await engine.modify_query_set(ada, add(1, "messages:whoami", {}, 0))
    assert values(ada_sent) == {1: "ada"}
    # And signing out gets the anonymous result, not ada's.
    await engine.authenticate(ada, Authenticate("None", None, 1))
    assert values(ada_sent[-1:]) == {1: None}


def closable_session(engine, name):
    sent: list[dict] = []
    closed: list[str] = []
    s = Session(send=sent.append, close=closed.append, session_id=name)
    engine.connect(s)
    return s, sent, closed


async def test_rejected_credentials_get_auth_error_and_close(deployment):
    engine = deployment.sync
    s, sent, closed = closable_session(engine, "bad")
    await engine.modify_query_set(s, add(1, "messages:whoami", {}, 0))
    await engine.authenticate(s, Authenticate("Admin", "not-the-key", 0))
    assert sent[-1] == {"type": "AuthError", "error": "The admin key is not valid for this "
                        "deployment", "baseVersion": 0, "authUpdateAttempted": True}
    assert closed and s.identity is None and s.identity_version == 0


async def test_an_expiring_token_ends_the_session_when_it_expires(deployment):
    from syncline.functions import Credentials, UserIdentity

    async def short_lived(token_type, value, impersonating):
        identity = UserIdentity({"subject": value, "issuer": "t"})
        return Credentials(identity, expires_at=time.time() + 0.3)

    engine = deployment.sync
    engine._authenticate = short_lived
    s, sent, closed = closable_session(engine, "expiring")
    await engine.authenticate(s, Authenticate("User", "ada", 0))
    await engine.modify_query_set(s, add(1, "messages:whoami", {}, 0))
    assert values(sent) == {1: "ada"} and not closed
    # A refreshed token replaces the timer: the first expiry no longer applies.
    await engine.authenticate(s, Authenticate("User", "ada", 1))
    await asyncio.sleep(0.15)
    assert not closed
    await asyncio.sleep(0.5)
    assert sent[-1]["type"] == "AuthError" and sent[-1]["authUpdateAttempted"] is False
    assert sent[-1]["baseVersion"] == 2 and "expired" in sent[-1]["error"]
    assert closed


async def test_bad_versions_and_unknown_queries(deployment):
    engine = deployment.sync
    s, sent = session(engine)
    with pytest.raises(ProtocolError, match="baseVersion 3"):
        await engine.modify_query_set(s, add(1, "messages:list", {"channel": "a"}, 3))
    with pytest.raises(ProtocolError, match="not in the query set"):
        await engine.modify_query_set(s, ModifyQuerySet(0, 1, (RemoveQuery(9),)))
    await engine.modify_query_set(s, add(1, "messages:nope", {}, 0))
    failed = [m for m in sent[-1]["modifications"] if m["type"] == "QueryFailed"]
    assert "Could not find public function" in failed[0]["errorMessage"]


async def test_mutation_response_comes_before_the_transition_showing_it(deployment):
    engine = deployment.sync
    s, sent = session(engine)
    await engine.modify_query_set(s, add(1, "messages:count", {"channel": "a"}, 0))
    await engine.mutation(s, MutationRequest(0, "messages:send", {"channel": "a", "body": "q"}))
    response = next(i for i, m in enumerate(sent) if m["type"] == "MutationResponse")
    commit_ts = decode_ts(sent[response]["ts"])
    later = [m for m in sent[response + 1:] if m["type"] == "Transition"]
    assert later and decode_ts(later[-1]["endVersion"]["ts"]) >= commit_ts
    assert values(later) == {1: 1}
    # Replaying the same request id (a reconnect) answers from the log: it ran once.
    again, again_sent = session(engine, "s")
    again.resumed = True  # a reconnect of session "s"
    await engine.mutation(again, MutationRequest(0, "messages:send",
                                                 {"channel": "a", "body": "q"}))
    assert [m for m in again_sent if m["type"] == "MutationResponse"][0]["ts"] == \
        sent[response]["ts"]
    count = await deployment.runner.run("messages:count", {"channel": "a"})
    assert count.value == 1


async def test_paginated_pages_stay_gapless_under_inserts(deployment):
    engine = deployment.sync
    for i in range(6):
        await deployment.runner.run("messages:send", {"channel": "p", "body": f"m{i}"})
    s, sent = session(engine)
    await engine.modify_query_set(s, add(1, "messages:page", {"opts": {"numItems": 3,
                                                                       "cursor": None}}, 0))
    first = next(m for m in sent[-1]["modifications"] if m["queryId"] == 1)
    assert first["journal"] is not None
    cursor = first["value"]["continueCursor"]
    await engine.modify_query_set(s, add(2, "messages:page", {"opts": {"numItems": 3,
                                                                       "cursor": cursor}}, 1))
    # An insert between the pages' boundary and a delete inside the first page: each page
    # keeps its end (the journal), so together they still cover everything exactly once.
    await mutate(deployment, "messages:send", {"channel": "p", "body": "m25"})
    await mutate(deployment, "messages:remove", {"body": "m1"})
    state: dict[int, list] = {}
    for transition in (m for m in sent if m["type"] == "Transition"):
        for m in transition["modifications"]:
            state[m["queryId"]] = [d["body"] for d in m["value"]["page"]]
    assert state[1] == ["m0", "m2"]
    assert state[2] == ["m25", "m3", "m4", "m5"]


async def test_the_last_page_grows_and_stays_done(deployment):
    engine = deployment.sync
    for body in ("a1", "a2"):
        await deployment.runner.run("messages:send", {"channel": "q", "body": body})
    s, sent = session(engine)
    await engine.modify_query_set(s, add(1, "messages:page", {"opts": {"numItems": 5,
                                                                       "cursor": None}}, 0))
    for i in range(3, 9):
        await deployment.runner.run("messages:send", {"channel": "q", "body": f"a{i}"})
    await settle(engine)
    last = [m for t in sent if t["type"] == "Transition" for m in t["modifications"]][-1]
    assert [d["body"] for d in last["value"]["page"]] == [f"a{i}" for i in range(1, 9)]
    assert last["value"]["isDone"] is True


async def test_every_mutation_response_is_followed_by_a_transition(deployment):
    engine = deployment.sync
    s, sent = session(engine)
    await engine.modify_query_set(s, add(1, "messages:count", {"channel": "z"}, 0))
    await engine.mutation(s, MutationRequest(0, "messages:nope", {}))  # fails
    kinds = [m["type"] for m in sent]
    assert kinds[-2:] == ["MutationResponse", "Transition"]
