"""Subscribed full text searches in-process: re-run exactly when a write can change them.

A search's read set holds the keys of its terms in the search index's key space,
so a write re-runs a subscribed search when the document has (or had) one of its
terms, and never for documents without them.
"""

from __future__ import annotations

import pytest

from syncline.server.deployment import Deployment
from tests.sync.test_engine import add, mutate, session, settle, values

SCHEMA = """
from syncline import define_schema, define_table, v
schema = define_schema({
    "messages": define_table({"channel": v.string(), "body": v.string(),
                              "n": v.optional(v.float64())})
        .search_index("search_body", search_field="body", filter_fields=["channel"]),
    "other": define_table({"body": v.string()})%s,
})
"""

MESSAGES = """
from syncline import mutation, query, v

@query(args={"text": v.string()})
async def search(ctx, text):
    docs = await ctx.db.query("messages").with_search_index(
        "search_body", lambda q: q.search("body", text)).take(10)
    return [d["body"] for d in docs]

@query(args={"text": v.string(), "channel": v.string()})
async def search_in(ctx, text, channel):
    docs = await ctx.db.query("messages").with_search_index(
        "search_body", lambda q: q.search("body", text).eq("channel", channel)).take(10)
    return [d["body"] for d in docs]

@query(args={"text": v.string()})
async def count(ctx, text):
    return len(await ctx.db.query("messages").with_search_index(
        "search_body", lambda q: q.search("body", text)).collect())

@query(args={"text": v.string(), "opts": v.any()})
async def search_page(ctx, text, opts):
    return await ctx.db.query("messages").with_search_index(
        "search_body", lambda q: q.search("body", text)).paginate(opts)

@mutation(args={"channel": v.string(), "body": v.string()})
async def send(ctx, channel, body):
    return await ctx.db.insert("messages", {"channel": channel, "body": body})

@mutation(args={"id": v.id("messages"), "fields": v.any()})
async def patch(ctx, id, fields):
    await ctx.db.patch(id, fields)

@mutation(args={"id": v.id("messages")})
async def remove(ctx, id):
    await ctx.db.delete(id)

@mutation(args={"body": v.string()})
async def other(ctx, body):
    await ctx.db.insert("other", {"body": body})
"""


def write_app(root, extra_index: str = "") -> None:
    for name, text in {"schema.py": SCHEMA % extra_index, "messages.py": MESSAGES}.items():
        path = root / "app" / "convex" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
async def deployment(tmp_path):
    write_app(tmp_path)
    deployment = Deployment(tmp_path / "app", data_dir=tmp_path / "data", durability="normal")
    await deployment.push()
    deployment.sync.start()  # (connecting a session would start it; mutations come first here)
    yield deployment
    await deployment.sync.stop()
    deployment.close()


def caught_up(deployment) -> None:
    """Let tantivy take in every commit so far, so that what a search reads is only its
    terms' keys and its results (documents it must recheck are read too)."""
    db = deployment.db
    db.search.wait_applied(db.visible_ts)


async def subscribe(deployment, path, args):
    engine = deployment.sync
    s, sent = session(engine)
    await engine.modify_query_set(s, add(1, path, args, 0))
    return sent


async def send(deployment, channel, body):
    return (await mutate(deployment, "messages:send", {"channel": channel, "body": body})).value


def latest(sent):
    return values(sent)[1]


async def test_an_insert_with_the_term_reruns_the_search(deployment):
    engine = deployment.sync
    await send(deployment, "a", "hello world")
    caught_up(deployment)
    sent = await subscribe(deployment, "messages:search", {"text": "hello"})
    assert latest(sent) == ["hello world"]
    before, transitions = engine.executions, len(sent)
    await send(deployment, "a", "hello hello")
    assert engine.executions == before + 1
    assert len(sent) == transitions + 1 and sent[-1]["type"] == "Transition"
    assert latest(sent[-1:]) == ["hello hello", "hello world"]


async def test_patches_and_deletes_of_matching_documents_rerun_the_search(deployment):
    engine = deployment.sync
    first = await send(deployment, "a", "hello first")
    second = await send(deployment, "a", "goodbye second")
    caught_up(deployment)
    sent = await subscribe(deployment, "messages:search", {"text": "hello"})
    assert latest(sent) == ["hello first"]
    before = engine.executions
    # The term appears in a document's text ...
    await mutate(deployment, "messages:patch", {"id": second, "fields": {"body": "hello now"}})
    assert engine.executions == before + 1
    assert sorted(latest(sent[-1:])) == ["hello first", "hello now"]
    # ... disappears from one ...
    await mutate(deployment, "messages:patch", {"id": first, "fields": {"body": "bye first"}})
    assert engine.executions == before + 2
    assert latest(sent[-1:]) == ["hello now"]
    # ... and a matching document is deleted.
    await mutate(deployment, "messages:remove", {"id": second})
    assert engine.executions == before + 3
    assert latest(sent[-1:]) == []


async def test_unrelated_writes_do_not_rerun_the_search(deployment):
    engine = deployment.sync
    kept = await send(deployment, "a", "hello there")
    unrelated = await send(deployment, "a", "goodbye there")
    caught_up(deployment)
    sent = await subscribe(deployment, "messages:search", {"text": "hello"})
    before, transitions = engine.executions, len(sent)
    await send(deployment, "a", "nothing to see")  # same table, none of the terms
    await send(deployment, "b", "shell hell helo")  # neither the word nor a prefix of it
    await mutate(deployment, "messages:patch", {"id": unrelated, "fields": {"n": 3.0}})
    await mutate(deployment, "messages:patch", {"id": unrelated, "fields": {"body": "bye"}})
    await mutate(deployment, "messages:remove", {"id": unrelated})
    await mutate(deployment, "messages:other", {"body": "hello"})  # another table
    assert engine.executions == before
    assert len(sent) == transitions
    await mutate(deployment, "messages:patch", {"id": kept, "fields": {"body": "hello again"}})
    assert engine.executions == before + 1
    assert latest(sent[-1:]) == ["hello again"]


async def test_a_document_in_another_filter_value_does_not_rerun_the_search(deployment):
    engine = deployment.sync
    await send(deployment, "a", "hello world")
    caught_up(deployment)
    sent = await subscribe(deployment, "messages:search_in",
                           {"text": "hello world", "channel": "a"})
    assert latest(sent) == ["hello world"]
    before = engine.executions
    await send(deployment, "b", "hello there")  # has the exact term, but channel b
    await send(deployment, "b", "hello")
    assert engine.executions == before
    await send(deployment, "a", "hello there")
    assert engine.executions == before + 1
    assert sorted(latest(sent[-1:])) == ["hello there", "hello world"]


async def test_a_prefix_term_in_another_filter_value_does_not_rerun_the_search(deployment):
    engine = deployment.sync
    await send(deployment, "a", "hello world")
    caught_up(deployment)
    sent = await subscribe(deployment, "messages:search_in", {"text": "hello", "channel": "a"})
    assert latest(sent) == ["hello world"]
    before = engine.executions
    await send(deployment, "b", "hello there")
    assert engine.executions == before


async def test_a_prefix_search_reruns_on_a_new_word_with_that_prefix(deployment):
    engine = deployment.sync
    await send(deployment, "a", "help wanted")
    caught_up(deployment)
    sent = await subscribe(deployment, "messages:search", {"text": "hel"})
    assert latest(sent) == ["help wanted"]
    before = engine.executions
    await send(deployment, "a", "he said")  # shorter than the prefix: no
    await send(deployment, "a", "shell")  # contains it, but not as a prefix: no
    assert engine.executions == before
    await send(deployment, "a", "a helicopter")
    assert engine.executions == before + 1
    assert sorted(latest(sent[-1:])) == ["a helicopter", "help wanted"]
    # Earlier terms are exact: a new word merely starting with them does not matter.
    exact = await subscribe(deployment, "messages:search", {"text": "help zzz"})
    assert latest(exact) == ["help wanted"]
    before = engine.executions
    await send(deployment, "a", "helpful")
    assert engine.executions == before + 1  # only the "hel" subscription
    assert latest(exact) == ["help wanted"]


async def test_a_subscribed_search_sees_a_burst_of_writes(deployment):
    engine = deployment.sync
    sent = await subscribe(deployment, "messages:count", {"text": "burst"})
    assert latest(sent) == 0
    for i in range(20):  # faster than the index refreshes: still every one
        await deployment.runner.run("messages:send", {"channel": "a", "body": f"burst {i}"})
        await deployment.runner.run("messages:send", {"channel": "a", "body": f"other {i}"})
    await settle(engine)
    assert latest(sent) == 20


async def test_a_paginated_search_subscription_updates(deployment):
    for i in range(5):
        await send(deployment, "a", f"page item{i}")
    caught_up(deployment)
    sent = await subscribe(deployment, "messages:search_page",
                           {"text": "page", "opts": {"numItems": 3, "cursor": None}})
    first = latest(sent)
    assert len(first["page"]) == 3 and first["isDone"] is False
    await send(deployment, "a", "page page page")  # the best match now
    page = latest(sent[-1:])
    assert page["page"][0]["body"] == "page page page"


async def test_searches_stay_reactive_across_a_schema_push(deployment, tmp_path):
    """A push re-creates the search index catalog; subscriptions keep working."""
    engine = deployment.sync
    await send(deployment, "a", "hello one")
    sent = await subscribe(deployment, "messages:search", {"text": "hello"})
    write_app(tmp_path, '.index("by_body", ["body"])')
    await deployment.push()
    await mutate(deployment, "messages:other", {"body": "moves the engine past the push"})
    assert latest(sent) == ["hello one"]
    caught_up(deployment)
    before = engine.executions
    await send(deployment, "a", "nothing here")
    assert engine.executions == before
    await send(deployment, "a", "hello two")
    assert engine.executions == before + 1
    assert sorted(latest(sent[-1:])) == ["hello one", "hello two"]
