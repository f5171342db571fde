"""The official `convex` npm package's `ConvexHttpClient` against a real `syncline dev` process.

The checks live in tests/js/http_client.test.mjs; this test starts the server
and runs them with Node. The npm dependencies must be installed first
(`npm ci --prefix tests/js`, which .ci/run does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parent.parent / "js"
SCRIPT = JS_DIR / "http_client.test.mjs"


def test_official_http_client_against_dev_server(dev_server):
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` is not on PATH: Node.js 18+ is needed to run tests/js")
    if not (JS_DIR / "node_modules" / "convex" / "package.json").is_file():
        pytest.fail("tests/js/node_modules is missing: run `npm ci --prefix tests/js` first")

    env = {**os.environ, "SYNCLINE_URL": dev_server.url, "SYNCLINE_ADMIN_KEY": dev_server.admin_key}
    try:
        result = subprocess.run(
            [node, str(SCRIPT)], cwd=JS_DIR, env=env, capture_output=True, text=True, timeout=120,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"node timed out after 120 s\nstdout:\n{e.stdout}\nstderr:\n{e.stderr}\n"
                    f"server log:\n{dev_server.output()}")
    assert result.returncode == 0, (
        f"node exited with {result.returncode}\nstdout:\n{result.stdout}\n"
        f"stderr:\n{result.stderr}\nserver log:\n{dev_server.output()}"
    )
    assert "all checks passed" in result.stdout, result.stdout
