"""Issue 18 item 15 end to end: a real `syncline` process refuses a push with the user's
file and line, and `syncline run` suggests the function path that was meant."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import start_server

SCHEMA = """from syncline import define_schema, define_table, v

schema = define_schema({"todos": define_table({"text": v.string()})})
"""
TODOS = """from syncline import mutation, query, v


@query
async def list(ctx):
    return await ctx.db.query("todos").collect()


@mutation(args={"text": v.string()})
async def add(ctx, text):
    return await ctx.db.insert("todos", {"text": text})
"""


def write_app(root: Path, todos: str) -> Path:
    (root / "convex").mkdir(parents=True)
    (root / "convex" / "schema.py").write_text(SCHEMA)
    (root / "convex" / "todos.py").write_text(todos)
    return root


def syncline(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "syncline.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_serve_refuses_a_table_name_not_in_the_schema_with_file_and_line(tmp_path):
    app = write_app(tmp_path / "app", TODOS.replace('insert("todos"', 'insert("todo"'))
    server = start_server(app, "serve", expect_ready=False, extra=["--host", "127.0.0.1"])
    try:
        assert server.process.wait(timeout=60) == 1
    finally:
        server.stop()
    output = server.output()
    assert "Push failed" in output
    assert ("convex/todos.py:11: Table 'todo' is not in convex/schema.py. Did you mean "
            "'todos'?") in output
    assert "site-packages" not in output and "syncline/functions" not in output


def test_run_suggests_the_function_that_was_meant(tmp_path):
    app = write_app(tmp_path / "app", TODOS)
    server = start_server(app)
    try:
        wrong = syncline("run", "todos:lst", cwd=app)
        assert wrong.returncode == 1
        assert "Did you mean todos:list?" in wrong.stderr
        dotted = syncline("run", "todos.list", cwd=app)
        assert dotted.returncode == 1
        assert "'module:function'" in dotted.stderr and "'todos:list'" in dotted.stderr
        right = syncline("run", "todos:list", cwd=app)
        assert right.returncode == 0, right.stderr
    finally:
        server.stop()
