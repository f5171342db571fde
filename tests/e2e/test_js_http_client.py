"""The official `convex` npm package's `ConvexHttpClient` against a real `syncline dev` process.

The checks live in tests/js/http_client.test.mjs; this test starts the server
and runs them with Node. The npm dependencies must be installed first
(`npm ci --prefix tests/js`, which .ci/run does).
"""

from __future__ import annotations

from tests.e2e.conftest import run_node_script


def test_official_http_client_against_dev_server(dev_server):
    stdout = run_node_script(dev_server, "http_client.test.mjs")
    assert "all checks passed" in stdout, stdout
