"""Text and vector search end to end: a real `syncline dev` process, its HTTP API, and a live
search subscription through the official PyPI client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from convex import ConvexClient

from tests.e2e.conftest import Server, copy_app, next_value, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_app("searchapp", tmp_path_factory.mktemp("search")))
    yield server
    server.stop()


def search(server: Server, text: str, channel: str | None = None) -> list[str]:
    args: dict[str, Any] = {"text": text}
    if channel is not None:
        args["channel"] = channel
    return server.run("query", "messages:search", args)["value"]


def test_search_over_http_sees_every_commit_at_once(server):
    server.run("mutation", "messages:send", {"body": "hello world", "channel": "a"})
    server.run("mutation", "messages:send", {"body": "hello there, hello!", "channel": "b"})
    server.run("mutation", "messages:send", {"body": "help wanted", "channel": "a"})
    assert search(server, "hello") == ["hello there, hello!", "hello world"]
    assert set(search(server, "hel")) == {"hello world", "hello there, hello!", "help wanted"}
    assert search(server, "hel", "a") == ["help wanted", "hello world"] or \
        set(search(server, "hel", "a")) == {"help wanted", "hello world"}
    assert search(server, "nothing") == []


def test_a_subscribed_search_updates_live(server):
    client = ConvexClient(server.url)
    subscription = client.subscribe("messages:search", {"text": "zebra"})
    assert next_value(subscription) == []
    message_id = server.run("mutation", "messages:send",
                            {"body": "a zebra crossing", "channel": "c"})["value"]
    assert next_value(subscription, lambda v: v != []) == ["a zebra crossing"]
    server.run("mutation", "messages:edit", {"id": message_id, "body": "a horse crossing"})
    assert next_value(subscription, lambda v: v != ["a zebra crossing"]) == []


def test_vector_search_in_an_action(server):
    foods = [("croissant", "french", [1.0, 0.0, 0.0, 0.0]),
             ("baguette", "french", [0.9, 0.1, 0.0, 0.0]),
             ("rendang", "indonesian", [0.0, 1.0, 0.0, 0.0]),
             ("satay", "indonesian", [0.1, 0.9, 0.1, 0.0]),
             ("sushi", "japanese", [0.0, 0.0, 1.0, 0.0])]
    for name, cuisine, embedding in foods:
        server.run("mutation", "foods:add", {"name": name, "cuisine": cuisine,
                                             "embedding": embedding})
    best = server.run("action", "foods:similar", {"vector": [1.0, 0.05, 0.0, 0.0],
                                                  "limit": 2})["value"]
    assert [r["name"] for r in best] == ["croissant", "baguette"]
    assert 0.99 < best[0]["score"] <= 1.0
    filtered = server.run("action", "foods:similar", {
        "vector": [1.0, 0.0, 0.0, 0.0], "cuisines": ["indonesian", "japanese"]})["value"]
    assert [r["name"] for r in filtered] == ["satay", "rendang", "sushi"]


def test_vector_search_errors_are_clear(server):
    response = server.call("/api/action", {"path": "foods:similar", "args": {
        "vector": [1.0, 0.0], "limit": 2}, "format": "json"}).json()
    assert response["status"] == "error"
    assert "a list of 4 numbers" in response["errorMessage"]
    response = server.call("/api/action", {"path": "foods:similar", "args": {
        "vector": [1.0, 0.0, 0.0, 0.0], "limit": 300}, "format": "json"}).json()
    assert "from 1 to 256" in response["errorMessage"]
