"""Every ```python block in docs/ runs, and the claims around it hold: documentation
that lies fails CI.

Three pages (values, schema, database) are sessions: their blocks run in order, as the
pages say. On every other page each block runs on its own, so it must carry its own
imports:
- a block whose first line is `# convex/<file>.py` is a module of an app; a page's
  modules (plus the helper modules below that a page refers to but does not show) are
  loaded with `syncline.testing.ConvexTest`, and the page's scenario (if any) calls them;
- a block whose first line is `# tests/<file>.py` is a test file, run with pytest in
  that app;
- any other block is a script, run with `python` in the app's folder; a script that
  reads `CONVEX_URL` gets a real `syncline dev` server of the app.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
SESSION_PAGES = ["values.md", "schema.md", "database.md"]
MARKER = re.compile(r"# ((?:convex|tests)/[\w/]+\.py)")


def python_blocks(page: Path) -> list[str]:
    """The page's ```python blocks, also those indented inside a list item."""
    found = re.findall(r"^( *)```python\n(.*?)^\1```", page.read_text(), re.S | re.M)
    return [textwrap.dedent(code) for _indent, code in found]


def pages_with_python() -> list[str]:
    return sorted(p.name for p in DOCS.glob("*.md") if python_blocks(p))


STANDALONE_PAGES = [name for name in pages_with_python() if name not in SESSION_PAGES]


@pytest.mark.parametrize("name", SESSION_PAGES)
def test_page_examples_run_in_order_as_one_session(name: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(DOCS / name)
    assert blocks, f"{name} has no python examples"
    code = "async def _session():\n" + textwrap.indent("\n".join(blocks), "    ") + "\n"
    namespace: dict = {}
    exec(compile(code, str(DOCS / name), "exec"), namespace)  # noqa: S102 - our own docs
    asyncio.run(namespace["_session"]())


# -- building a page's app ----------------------------------------------------------------

# Pages whose unmarked blocks are parts of a file the text names, not scripts.
CONTINUED = {"testing.md": "tests", "quickstart.md": "convex/tasks.py"}
# Pages whose samples call the app another page defines.
APP_OF = {"clients.md": "reading-and-writing.md"}

# Modules a page's samples refer to without showing them.
SUPPORT: dict[str, dict[str, str]] = {
    "scheduling.md": {
        "convex/schema.py": """
from syncline import define_schema, define_table, v
schema = define_schema({"messages": define_table({"body": v.string()})})
""",
        "convex/presence.py": "from syncline import internal_mutation\n"
                              "@internal_mutation\nasync def clear(ctx):\n    pass\n",
        "convex/payments.py": "from syncline import internal_mutation\n"
                              "@internal_mutation\nasync def remind(ctx):\n    pass\n",
        "convex/stats.py": "from syncline import internal_mutation\n"
                           "@internal_mutation\nasync def tick(ctx):\n    pass\n",
        "convex/mail.py": "from syncline import internal_action\n"
                          "@internal_action\nasync def digest(ctx):\n    pass\n"
                          "@internal_action\nasync def report(ctx):\n    pass\n",
        "convex/billing.py": "from syncline import internal_mutation\n"
                             "@internal_mutation\nasync def run(ctx):\n    pass\n",
    },
    "auth.md": {
        "convex/schema.py": """
from syncline import define_schema, define_table, v
schema = define_schema({"messages": define_table({"author": v.string(), "body": v.string()})})
""",
    },
    "http-actions.md": {
        "convex/messages.py": """
from syncline import mutation, v
@mutation(args={"author": v.string(), "body": v.string()})
async def send(ctx, author, body):
    return await ctx.db.insert("messages", {"author": author, "body": body})
""",
    },
    "testing.md": {
        "pyproject.toml": '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n'
                          'asyncio_default_fixture_loop_scope = "function"\n',
        "convex/messages.py": """
from syncline import ConvexError, mutation, query, v
@mutation(args={"body": v.string(), "author": v.string()})
async def send(ctx, body, author):
    if not body.strip():
        raise ConvexError({"code": "EMPTY"})
    return await ctx.db.insert("messages", {"body": body, "author": author})
@query
async def list(ctx):
    return await ctx.db.query("messages").collect()
""",
        "convex/tasks.py": """
from syncline import mutation, query, v
@mutation(args={"text": v.string()})
async def create(ctx, text):
    user = await ctx.auth.get_user_identity()
    await ctx.db.insert("tasks", {"text": text, "owner": user.token_identifier})
@query
async def mine(ctx):
    user = await ctx.auth.get_user_identity()
    tasks = await ctx.db.query("tasks").collect()
    return [t["text"] for t in tasks if t["owner"] == user.token_identifier]
""",
        "convex/reminders.py": """
from syncline import internal, internal_mutation, mutation, query, v
@mutation(args={"delay_ms": v.number()})
async def schedule(ctx, delay_ms):
    return await ctx.scheduler.run_after(delay_ms, internal.reminders.send, {})
@internal_mutation
async def send(ctx):
    await ctx.db.insert("sent", {"at": 1})
@query
async def sent(ctx):
    return await ctx.db.query("sent").collect()
""",
        "convex/weather.py": """
import httpx
from syncline import action, v
@action(args={"city": v.string()})
async def forecast(ctx, city):
    async with httpx.AsyncClient() as client:
        response = await client.get(f"https://weather.example.com/{city}")
    return response.json()["forecast"]
""",
    },
}


def classify(name: str) -> tuple[dict[str, str], list[str]]:
    """The page's files (path -> code, including its tests) and its scripts."""
    files: dict[str, str] = {}
    scripts: list[str] = []
    last_test: str | None = None
    for block in python_blocks(DOCS / name):
        first = block.partition("\n")[0].strip()
        match = MARKER.fullmatch(first)
        continued = CONTINUED.get(name)
        if match:
            path = match.group(1)
            files[path] = files.get(path, "") + block
            last_test = path if path.startswith("tests/") else last_test
        elif continued == "tests" and last_test is not None:
            files[last_test] += "\n\n" + block
        elif continued is not None and continued != "tests":
            files[continued] = files.get(continued, "") + "\n\n" + block
        else:
            scripts.append(block)
    return files, scripts


def build_app(name: str, app: Path) -> tuple[dict[str, str], list[str]]:
    files, scripts = classify(name)
    if name == "quickstart.md":
        from syncline.cli.scaffold import create_app

        create_app(app)
        files = {path: (app / path).read_text() + code for path, code in files.items()}
    everything = dict(SUPPORT.get(name, {}))
    if name in APP_OF:
        everything.update(classify(APP_OF[name])[0])
    everything.update(files)
    for path, code in everything.items():
        target = app / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(code))
    return files, scripts


# -- what each page's app must do ------------------------------------------------------------


async def _functions(t: Any) -> None:
    from syncline import ConvexError, api

    channel = await t.run(lambda ctx: ctx.db.insert("channels", {"name": "general"}))
    await t.mutation(api.messages.send, {"channel": channel, "author": "ada",
                                         "body": "  hello   there "})
    listed = await t.query(api.messages.list, {"channel": channel})
    assert listed[0]["body"] == "hello there"
    with pytest.raises(ConvexError) as error:
        await t.mutation(api.messages.send, {"channel": channel, "author": "ada", "body": " "})
    assert error.value.data == {"code": "EMPTY", "message": "Say something"}
    assert await t.action(api.errors_demo.relay, {}) == "FORBIDDEN"


async def _reading_and_writing(t: Any) -> None:
    from syncline import UNDEFINED, api
    from syncline.testing import FunctionError

    add = api.task_writes.add
    first = await t.mutation(add, {"owner": "ada", "text": "write"})
    second = await t.mutation(add, {"owner": "ada", "text": "test"})
    await t.mutation(add, {"owner": "bob", "text": "other"})
    await t.mutation(api.task_writes.prioritize, {"id": second, "priority": 7})
    task = await t.query(api.tasks.get, {"id": first})
    assert set(task) == {"_id", "_creationTime", "owner", "text", "done"}
    assert isinstance(task["_creationTime"], float)
    assert [d["text"] for d in await t.query(api.tasks.open_tasks, {"owner": "ada"})] == [
        "test", "write"]
    assert [d["_id"] for d in await t.query(api.tasks.urgent, {"owner": "ada"})] == [second]
    assert (await t.query(api.tasks.newest, {"owner": "ada"}))["_id"] == second
    assert (await t.query(api.tasks.find, {"owner": "ada", "text": "write"}))["_id"] == first
    await t.mutation(add, {"owner": "ada", "text": "write"})
    with pytest.raises(FunctionError, match="more than one result"):
        await t.query(api.tasks.find, {"owner": "ada", "text": "write"})

    await t.mutation(api.task_writes.finish, {"id": second})
    finished = await t.query(api.tasks.get, {"id": second})
    assert finished["done"] is True and "priority" not in finished
    await t.mutation(api.task_writes.rewrite, {"id": second, "text": "tested"})
    rewritten = await t.query(api.tasks.get, {"id": second})
    assert rewritten["text"] == "tested"
    assert rewritten["_creationTime"] == finished["_creationTime"]
    await t.mutation(api.task_writes.remove, {"id": second})
    assert await t.query(api.tasks.get, {"id": second}) is None
    with pytest.raises(FunctionError, match="DocumentNotFoundError"):
        await t.mutation(api.task_writes.remove, {"id": second})

    async def checks(ctx: Any) -> None:
        other = await ctx.db.insert("users", {"name": "ada"})
        assert await ctx.db.get("tasks", other) is None
        assert ctx.db.normalize_id("tasks", other) is None
        assert ctx.db.normalize_id("tasks", first) == first
        assert await ctx.db.get("tasks", first) is not None
        await ctx.db.patch(first, {"text": UNDEFINED, "owner": "ada"})
    with pytest.raises(FunctionError, match="missing the required field `text`"):
        await t.run(checks)
    with pytest.raises(FunctionError, match="_creationTime"):
        await t.run(lambda ctx: ctx.db.insert("tasks", {"owner": "a", "text": "b",
                                                        "done": False, "_creationTime": 1.0}))
    with pytest.raises(FunctionError, match="not an ID of table 'users'"):
        await t.run(lambda ctx: ctx.db.delete("users", first))

    async def forgets(ctx: Any) -> None:
        ctx.db.insert("tasks", {"owner": "z", "text": "lost", "done": False})
    with pytest.raises(FunctionError, match="never awaited"):
        await t.run(forgets)
    assert await t.query(api.tasks.open_tasks, {"owner": "z"}) == []


async def _pagination(t: Any) -> None:
    from syncline import api

    for i in range(12):
        await t.mutation(api.messages.send, {"channel": "c", "body": f"m{i}"})
    page = await t.query(api.messages.list, {
        "channel": "c", "paginationOpts": {"numItems": 5, "cursor": None}})
    assert set(page) >= {"page", "isDone", "continueCursor"}
    assert [m["body"] for m in page["page"]] == ["m11", "m10", "m9", "m8", "m7"]
    assert page["isDone"] is False


async def _porting(t: Any) -> None:
    from syncline import Int64, api, internal

    message = await t.mutation(api.messages.send, {"author": "ada", "body": "hi"})
    stored = await t.run(lambda ctx: ctx.db.get(message))
    assert stored["likes"] == 4.0 and type(stored["likes"]) is float
    assert type(stored["views"]) is Int64
    assert await t.query(api.messages.describe, {"id": message}) == (
        "4.0 likes, 0 views, 4 as int")
    empty = await t.mutation(api.messages.send, {"author": "ada", "body": ""})
    await t.mutation(internal.maintenance.tidy, {})
    assert await t.run(lambda ctx: ctx.db.get(empty)) is None
    assert await t.run(lambda ctx: ctx.db.get(message)) is not None


async def _auth(t: Any) -> None:
    from syncline import ConvexError, api

    with pytest.raises(ConvexError):
        await t.mutation(api.messages.send, {"body": "hi"})
    await t.with_identity({"name": "Ada"}).mutation(api.messages.send, {"body": "hi"})


async def _scheduling(t: Any) -> None:
    from syncline import api

    await t.mutation(api.messages.send, {"body": "hi"})
    def expiring(jobs: list[dict]) -> list[dict]:
        return [job for job in jobs if job["name"] == "messages:expire"]

    assert len(expiring(await t.query(api.jobs.pending_jobs))) == 1
    t.advance(6_000)
    await t.finish_in_progress_scheduled_functions()
    assert expiring(await t.query(api.jobs.pending_jobs)) == []
    assert await t.run(lambda ctx: ctx.db.query("messages").collect()) == []


async def _search(t: Any) -> None:
    from syncline import api

    async def seed(ctx: Any) -> None:
        await ctx.db.insert("messages", {"body": "hello search world", "channel": "a"})
        await ctx.db.insert("messages", {"body": "hello elsewhere", "channel": "b"})
        await ctx.db.insert("foods", {"name": "soup", "cuisine": "French",
                                      "embedding": [1.0] + [0.0] * 1535})
    await t.run(seed)
    found = await t.query(api.messages.search, {"text": "hello", "channel": "a"})
    assert [m["body"] for m in found] == ["hello search world"]
    similar = await t.action(api.foods.similar, {"embedding": [1.0] + [0.0] * 1535})
    assert len(similar) == 1 and set(similar[0]) == {"_id", "_score"}


async def _http_actions(t: Any) -> None:
    response = await t.fetch("/hello?name=ada")
    assert response.text() == "hello ada"
    response = await t.fetch("/messages", method="POST", body={"author": "a", "body": "b"})
    assert response.status == 201


SCENARIOS: dict[str, Callable[[Any], Awaitable[None]]] = {
    "functions.md": _functions,
    "reading-and-writing.md": _reading_and_writing,
    "pagination.md": _pagination,
    "porting.md": _porting,
    "auth.md": _auth,
    "scheduling.md": _scheduling,
    "search.md": _search,
    "http-actions.md": _http_actions,
}


async def _load_and_check(app: Path, scenario: Callable[[Any], Awaitable[None]] | None) -> None:
    from syncline.testing import ConvexTest

    async with ConvexTest(modules=app / "convex") as t:
        if scenario is not None:
            await scenario(t)


@pytest.mark.parametrize("name", STANDALONE_PAGES)
def test_page_samples_run_on_their_own(name: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CLERK_JWT_ISSUER_DOMAIN", "https://clerk.example.com")
    app = tmp_path / "app"
    files, scripts = build_app(name, app)
    modules = [path for path in files if path.startswith("convex/")]
    tests = [path for path in files if path.startswith("tests/")]
    assert modules or tests or scripts, f"{name}: no python block was recognised"
    if modules:
        asyncio.run(_load_and_check(app, SCENARIOS.get(name)))
    else:
        assert name not in SCENARIOS
    if tests:
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                 *tests], cwd=app, env=_child_env(), capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        defined = re.findall(r"^(?:async )?def test_", "".join(files[p] for p in tests), re.M)
        assert f"{len(defined)} passed" in result.stdout, result.stdout
    if scripts:
        run_scripts(name, app, scripts)


def _child_env() -> dict[str, str]:
    """Child processes import the same syncline as this test (the worktree's, in CI)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def run_scripts(name: str, app: Path, scripts: list[str]) -> None:
    server = None
    env = _child_env()
    if any("CONVEX_URL" in script for script in scripts):
        from tests.e2e.conftest import start_server

        server = start_server(app)
        env["CONVEX_URL"] = server.url
    try:
        app.mkdir(parents=True, exist_ok=True)
        for number, script in enumerate(scripts):
            path = app / f"sample_{number}.py"
            path.write_text(script)
            result = subprocess.run([sys.executable, str(path)], cwd=app, env=env,
                                    capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, f"{name} script {number}:\n{script}\n{result.stderr}"
    finally:
        if server is not None:
            server.stop()


def test_every_new_page_is_in_the_index() -> None:
    index = (DOCS / "index.md").read_text()
    for page in DOCS.glob("*.md"):
        if page.name != "index.md":
            assert f"({page.name})" in index, f"{page.name} is not linked from docs/index.md"
