"""Reactive page splitting with the official npm `convex` client against a real server:
a subscribed page that grows past twice its size gets `pageStatus: "SplitRecommended"` and
a `splitCursor`, and the client replaces it by two pages without a gap or a duplicate.

The checks live in tests/js/paginated_split.test.mjs (run `npm ci --prefix tests/js`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Server, copy_app, run_node_script, start_server


@pytest.fixture
def live_server(tmp_path) -> Iterator[Server]:
    server = start_server(copy_app("live", tmp_path))
    try:
        yield server
    finally:
        server.stop()


def test_npm_client_splits_a_grown_reactive_page(live_server: Server) -> None:
    stdout = run_node_script(live_server, "paginated_split.test.mjs", timeout=90)
    assert "ok - the grown page was split" in stdout
