"""`syncline dev/serve/run/init` as real processes: live pushes, broken pushes, schema changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx

from tests.e2e.conftest import copy_app, start_server

SYNCLINE = [sys.executable, "-m", "syncline.cli.main"]


def wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_dev_pushes_changes_and_keeps_last_good_version_on_broken_push(tmp_path):
    app = copy_app("basic", tmp_path)
    server = start_server(app)
    try:
        greet = app / "convex" / "greet.py"
        assert server.run("query", "greet")["value"] == "hello world"

        # A new function appears without a restart.
        (app / "convex" / "extra.py").write_text(
            "from syncline import query\n\n@query\nasync def ping(ctx):\n    return 'pong'\n")
        wait_for(lambda: server.run("query", "extra:ping").get("value") == "pong")

        # A syntax error: the push fails, the old code keeps serving, the error is printed.
        greet.write_text(greet.read_text() + "\ndef broken(:\n")
        wait_for(lambda: "SyntaxError" in server.output())
        assert server.run("query", "greet")["value"] == "hello world"
        assert server.run("query", "extra:ping")["value"] == "pong"

        # An import error likewise.
        greet.write_text("from .nowhere import thing\n")
        wait_for(lambda: "ModuleNotFoundError" in server.output()
                 or "ImportError" in server.output())
        assert server.run("query", "greet")["value"] == "hello world"

        # Fixing it pushes the new code.
        greet.write_text("from syncline import query\n\n@query\nasync def default(ctx):\n"
                         "    return 'hello again'\n")
        wait_for(lambda: server.run("query", "greet").get("value") == "hello again")
    finally:
        server.stop()


def test_schema_change_is_validated_and_applied_with_the_code(tmp_path):
    app = copy_app("basic", tmp_path)
    server = start_server(app)
    schema = app / "convex" / "schema.py"
    original = schema.read_text()
    try:
        server.run("mutation", "messages:send", {"author": "ada", "body": "hi"})
        # A schema the stored documents violate is refused; the old one stays.
        schema.write_text(original.replace('"author": v.string()', '"author": v.float64()'))
        wait_for(lambda: "does not match the schema" in server.output())
        assert server.run("mutation", "messages:send",
                          {"author": "bob", "body": "still valid"})["status"] == "success"

        # A compatible change with a new field and index, plus code that uses them, lands
        # together.
        schema.write_text(original.replace(
            '"messages": define_table({"author": v.string(), "body": v.string()})',
            '"messages": define_table({"author": v.string(), "body": v.string(), '
            '"tag": v.optional(v.string())}).index("by_tag", ["tag"])'))
        (app / "convex" / "tags.py").write_text(
            "from syncline import mutation, query, v\n\n"
            "@mutation(args={'tag': v.string()})\nasync def tagged(ctx, tag):\n"
            "    return await ctx.db.insert('messages', {'author': 't', 'body': 'b', 'tag': tag})\n\n"
            "@query(args={'tag': v.string()})\nasync def by_tag(ctx, tag):\n"
            "    return await ctx.db.query('messages').with_index("
            "'by_tag', lambda q: q.eq('tag', tag)).collect()\n")
        wait_for(lambda: server.run("query", "tags:by_tag", {"tag": "x"}).get("status")
                 == "success")
        server.run("mutation", "tags:tagged", {"tag": "x"})
        assert [m["tag"] for m in server.run("query", "tags:by_tag", {"tag": "x"})["value"]] == ["x"]
        # Code that writes under the old rules still works where the new schema allows it.
        assert server.run("mutation", "messages:send",
                          {"author": "a", "body": "b"})["status"] == "success"
    finally:
        server.stop()


def test_serve_is_production_and_honours_data_dir(tmp_path):
    app = copy_app("basic", tmp_path)
    data = tmp_path / "elsewhere"
    server = start_server(app, "serve", extra=["--data-dir", str(data)])
    try:
        assert server.run("mutation", "messages:send", {"author": "a", "body": "b"})["status"] \
            == "success"
        failed = server.run("mutation", "messages:fail_after_write")
        assert failed["errorMessage"].startswith("Server Error [Request ID:")
        assert (data / "db.sqlite3").exists()
        assert not (app / ".syncline" / "db.sqlite3").exists()
        # Production does not watch: an edit does not change the served code.
        (app / "convex" / "greet.py").write_text("this is not python\n")
        time.sleep(1.0)
        assert server.run("query", "greet")["value"] == "hello world"
    finally:
        assert server.stop() == 0
    # Data survives a restart.
    (app / "convex" / "greet.py").unlink()
    again = start_server(app, "serve", extra=["--data-dir", str(data)])
    try:
        assert len(again.run("query", "messages:list")["value"]) == 1
    finally:
        again.stop()


def test_serve_refuses_to_start_with_broken_code(tmp_path):
    app = copy_app("basic", tmp_path)
    (app / "convex" / "greet.py").write_text("def broken(:\n")
    server = start_server(app, "serve", expect_ready=False)
    assert server.process.wait(timeout=30) == 1
    assert "SyntaxError" in server.output()


def test_syncline_run_calls_public_and_internal_functions(dev_server):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*SYNCLINE, "run", *args, "--dir", str(dev_server.app_dir)],
                              capture_output=True, text=True, timeout=60)

    sent = run("messages:send", '{"author": "cli", "body": "from the cli"}')
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout).startswith("j") or len(json.loads(sent.stdout)) > 10
    internal = run("messages:internal_send", '{"body": "internal via cli"}')
    assert internal.returncode == 0, internal.stderr
    listed = run("messages:list")
    bodies = [m["body"] for m in json.loads(listed.stdout)]
    assert "FROM THE CLI" in bodies and "internal via cli" in bodies
    assert "[LOG] listing messages" in listed.stderr
    failed = run("messages:application_error")
    assert failed.returncode == 1
    assert json.loads(failed.stdout) == {"code": "NOPE", "n": 1}
    bad = run("messages:send", "not json")
    assert bad.returncode != 0 and "JSON" in bad.stderr


def test_init_scaffolds_an_app_whose_tests_pass_and_that_serves(tmp_path):
    app = tmp_path / "fresh"
    created = subprocess.run([*SYNCLINE, "init", str(app)], capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    assert (app / "convex" / "schema.py").exists() and (app / "tests" / "test_tasks.py").exists()
    again = subprocess.run([*SYNCLINE, "init", str(app)], capture_output=True, text=True)
    assert again.returncode != 0 and "already exists" in again.stderr
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            str(app / "tests")], capture_output=True, text=True, cwd=app,
                           timeout=120)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    server = start_server(app)
    try:
        seeded = server.run("mutation", "tasks:seed", admin=True)
        assert seeded["value"] == 3
        assert len(server.run("query", "tasks:list")["value"]) == 3
        response = httpx.post(f"{server.url}/api/action",
                              json={"path": "summary:report", "args": {}})
        assert response.json()["value"] == "0 of 3 tasks done"
    finally:
        server.stop()


def test_app_folder_never_shadows_the_convex_package(tmp_path):
    """The app's folder is named convex/, yet `import convex` in it gets the real package,
    even when the server starts from the app folder (which `python -m` puts on sys.path)."""
    app = copy_app("basic", tmp_path)
    (app / "convex" / "__init__.py").write_text("")
    fake = tmp_path / "site" / "convex"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("MARKER = 'the installed convex package'\n")
    (app / "convex" / "shadow.py").write_text(
        "import convex\nfrom syncline import query\n\n@query\nasync def which(ctx):\n"
        "    return getattr(convex, 'MARKER', 'the app folder')\n")
    env_path = str(fake.parent)
    os.environ["PYTHONPATH"] = env_path + os.pathsep + os.environ.get("PYTHONPATH", "")
    try:
        server = start_server(app, cwd=app)
    finally:
        os.environ["PYTHONPATH"] = os.environ["PYTHONPATH"].split(os.pathsep, 1)[1]
    try:
        assert server.run("query", "shadow:which")["value"] == "the installed convex package"
    finally:
        server.stop()



def test_a_second_deployment_fails_clearly(tmp_path):
    app = copy_app("basic", tmp_path)
    first = start_server(app)
    try:
        same_data = start_server(app, expect_ready=False)
        assert same_data.process.wait(timeout=30) == 1
        assert "already open" in same_data.output()
        assert "already running" in same_data.output()
        port = first.url.rsplit(":", 1)[1]
        same_port = start_server(app, expect_ready=False,
                                 extra=["--port", port, "--data-dir", str(tmp_path / "other")])
        assert same_port.process.wait(timeout=30) == 1
        assert f"Cannot listen on 127.0.0.1:{port}" in same_port.output()
        assert "Traceback" not in same_port.output() + same_data.output()
        # The first deployment is unharmed and still findable by `syncline run`.
        assert first.run("query", "greet")["value"] == "hello world"
        assert (app / ".syncline" / "deployment.json").exists()
    finally:
        first.stop()
