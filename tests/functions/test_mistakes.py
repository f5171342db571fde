"""Issue 18 items 13 and 15: registration wherever a handler was defined, and the
mistakes TypeScript catches for a Convex user, caught at push or with a clear error."""

from __future__ import annotations

import sys
import textwrap

import pytest

from syncline.functions import PushError, load_app
from tests.functions.conftest import running, write_app

FUNCS = "from syncline import action, mutation, query, internal_query, v\n"
SCHEMA = """
from syncline import define_schema, define_table, v
schema = define_schema({
    "todos": define_table({"text": v.string(), "done": v.boolean()})
        .index("by_done", ["done"])
        .search_index("search_text", search_field="text"),
})
"""


def app(tmp_path, files):
    def source(text):
        head = FUNCS if text.startswith(FUNCS) else ""
        return head + textwrap.dedent(text[len(head):])
    return write_app(tmp_path, {name: source(text) for name, text in files.items()})


def push_error(tmp_path, files) -> str:
    with pytest.raises(PushError) as caught:
        loaded = load_app(app(tmp_path, files))
        loaded.unload()
    return str(caught.value)


async def call(app_dir, db, path, args=None, **options):
    async with running(app_dir, db) as runner:
        return await runner.run(path, args or {}, **options)


# -- item 13: registration does not depend on where a handler was defined ------------------


def test_factory_wrapper_private_and_installed_functions_are_registered(tmp_path):
    package = tmp_path / "site" / "shared_fns_i18"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(FUNCS + "@query\nasync def ping(ctx):\n    return 'pong'\n")
    sys.path.insert(0, str(tmp_path / "site"))
    try:
        loaded = load_app(app(tmp_path, {
            "_factories.py": FUNCS + """
                def crud(table):
                    @query
                    async def read(ctx, id):
                        return await ctx.db.get(id)
                    @mutation
                    async def create(ctx, value):
                        return await ctx.db.insert(table, value)
                    return read, create

                def custom_query(fn):
                    async def handler(ctx, **args):  # no functools.wraps
                        return await fn(ctx, **args)
                    return query(handler)

                @query
                async def helper(ctx):
                    return 1
            """,
            "todos.py": """
                from shared_fns_i18 import ping
                from ._factories import crud, custom_query, helper

                read, create = crud("todos")

                @custom_query
                async def count(ctx):
                    return 0

                also_helper = helper
            """,
        }))
    finally:
        sys.path.remove(str(tmp_path / "site"))
        sys.modules.pop("shared_fns_i18", None)
    try:
        assert sorted(loaded.functions) == [
            "todos:also_helper", "todos:count", "todos:create", "todos:helper", "todos:ping",
            "todos:read"]
        assert loaded.functions["todos:read"].path == "todos:read"
        # One object under two names: both paths work; its own path is the first binding.
        assert loaded.functions["todos:helper"] is loaded.functions["todos:also_helper"]
        assert loaded.functions["todos:ping"].path == "todos:ping"
    finally:
        loaded.unload()


async def test_a_wrapped_function_runs_under_its_binding_path(tmp_path, db):
    app_dir = app(tmp_path, {"_wrappers.py": FUNCS + """
        def custom_query(fn):
            async def handler(ctx, **args):  # no functools.wraps
                return {"wrapped": await fn(ctx, **args)}
            return query(handler)
    """, "todos.py": """
        from ._wrappers import custom_query

        @custom_query
        async def hello(ctx, name):
            return "hi " + name
    """})
    outcome = await call(app_dir, db, "todos:hello", {"name": "Ada"})
    assert outcome.ok, outcome.failure
    assert outcome.value == {"wrapped": "hi Ada"}


def test_a_name_bound_twice_is_an_error_at_push(tmp_path):
    message = push_error(tmp_path, {"todos.py": FUNCS + """
        @query
        async def list(ctx):
            return 1

        @query
        async def list(ctx):
            return 2
    """})
    assert "convex/todos.py:8: `list` is bound 2 times in this module (lines 4, 8)" in message


def test_a_name_bound_twice_without_functions_is_fine(tmp_path):
    loaded = load_app(app(tmp_path, {"todos.py": FUNCS + "X = 1\nX = 2\n"}))
    loaded.unload()


# -- item 15: table names --------------------------------------------------------------------


def test_a_literal_table_name_not_in_the_schema_fails_the_push(tmp_path):
    message = push_error(tmp_path, {"schema.py": SCHEMA, "todos.py": FUNCS + """
        @query
        async def list(ctx):
            return await ctx.db.query("todo").collect()

        @mutation
        async def add(ctx):
            await ctx.db.insert("tods", {"text": "x", "done": False})
    """})
    assert ("convex/todos.py:5: Table 'todo' is not in convex/schema.py. Did you mean "
            "'todos'?") in message
    assert "convex/todos.py:9: Table 'tods' is not in convex/schema.py." in message
    assert "site-packages" not in message and "syncline/functions" not in message


def test_tables_outside_the_schema_are_allowed_without_strict_names(tmp_path):
    loaded = load_app(app(tmp_path, {
        "schema.py": SCHEMA.replace("\n})\n", "\n}, strict_table_name_types=False)\n"),
        "todos.py": FUNCS + """
            @query
            async def list(ctx):
                return await ctx.db.query("drafts").collect()
        """}))
    loaded.unload()


async def test_a_computed_table_name_not_in_the_schema_fails_at_run_time(tmp_path, db):
    app_dir = app(tmp_path, {"schema.py": SCHEMA, "todos.py": FUNCS + """
        @query
        async def read(ctx, table):
            return await ctx.db.query(table).collect()

        @mutation
        async def write(ctx, table):
            return await ctx.db.insert(table, {"text": "a", "done": True})
    """})
    outcome = await call(app_dir, db, "todos:read", {"table": "todo"})
    assert "Table 'todo' is not in convex/schema.py. Did you mean 'todos'?" in (
        outcome.failure.message)
    outcome = await call(app_dir, db, "todos:write", {"table": "todoz"})
    assert "Table 'todoz' is not in convex/schema.py" in outcome.failure.message


# -- indexes ------------------------------------------------------------------------------------


def test_an_index_that_does_not_exist_fails_the_push(tmp_path):
    message = push_error(tmp_path, {"schema.py": SCHEMA, "todos.py": FUNCS + """
        @query
        async def open(ctx):
            return await ctx.db.query("todos").with_index(
                "by_dne", lambda q: q.eq("done", False)).collect()

        @query
        async def find(ctx):
            return await ctx.db.query("todos").with_search_index(
                "search_txt", lambda q: q.search("text", "a")).collect()
    """})
    assert "convex/todos.py:5: Table 'todos' has no index 'by_dne'. Did you mean 'by_done'?" in (
        message)
    assert ("convex/todos.py:10: Table 'todos' has no search index 'search_txt'. Did you mean "
            "'search_text'?") in message


async def test_a_computed_index_name_that_does_not_exist_fails_at_run_time(tmp_path, db):
    app_dir = app(tmp_path, {"schema.py": SCHEMA, "todos.py": FUNCS + """
        @query
        async def by(ctx, index):
            return await ctx.db.query("todos").with_index(index).collect()
    """})
    outcome = await call(app_dir, db, "todos:by", {"index": "by_don"})
    assert "Table 'todos' has no index 'by_don'. Did you mean 'by_done'?" in (
        outcome.failure.message)


def test_an_index_on_a_field_the_table_does_not_have_fails_the_push(tmp_path):
    message = push_error(tmp_path, {"schema.py": """
        from syncline import define_schema, define_table, v
        schema = define_schema({
            "todos": define_table({"text": v.string(), "owner": v.object({"id": v.string()})})
                .index("by_text", ["txt"])
                .index("by_owner", ["owner.idd"])
                .search_index("search", search_field="body"),
        })
    """})
    assert ("convex/schema.py:5: Index 'by_text' of table 'todos' is on field 'txt', but the "
            "table's validator has no field 'txt'. Did you mean 'text'?") in message
    assert "convex/schema.py:6: Index 'by_owner' of table 'todos' is on field 'owner.idd'" in (
        message)
    assert "convex/schema.py:7: Index 'search'" in message


# -- handler parameters and args ----------------------------------------------------------------


def test_a_parameter_missing_from_args_fails_the_push(tmp_path):
    message = push_error(tmp_path, {"todos.py": FUNCS + """
        @query(args={"text": v.string()})
        async def find(ctx, txt):
            return txt
    """})
    assert "convex/todos.py:3: query handler find has a parameter 'txt'" in message
    assert "Did you mean 'text'?" in message
    assert message.count("convex/todos.py:3") == 1  # the location once, no repeated line


def test_an_args_field_the_handler_does_not_take_fails_the_push(tmp_path):
    message = push_error(tmp_path, {"todos.py": FUNCS + """
        @mutation(args={"text": v.string(), "done": v.boolean()})
        async def add(ctx, text):
            return text
    """})
    assert "mutation handler add takes no parameter 'done'" in message


async def test_an_absent_optional_argument_gets_the_default_or_none(tmp_path, db):
    app_dir = app(tmp_path, {"todos.py": FUNCS + """
        @query(args={"a": v.optional(v.string()), "b": v.optional(v.float64())})
        async def opt(ctx, a, b=5):
            return [a, b]
    """})
    outcome = await call(app_dir, db, "todos:opt", {})
    assert outcome.ok, outcome.failure
    assert outcome.value == [None, 5]


# -- function paths ------------------------------------------------------------------------------


async def test_a_misspelled_function_path_suggests_the_closest(tmp_path, db):
    app_dir = app(tmp_path, {"todos.py": FUNCS + """
        @query
        async def list(ctx):
            return []
    """})
    outcome = await call(app_dir, db, "todos:lst")
    assert "Could not find public function for 'todos:lst'. Did you mean todos:list?" in (
        outcome.failure.message)
    outcome = await call(app_dir, db, "todos.list", admin=True)
    assert "'module:function'" in outcome.failure.message
    assert "did you mean 'todos:list'?" in outcome.failure.message


# -- camelCase and capabilities ------------------------------------------------------------------


@pytest.mark.parametrize(("code", "expected"), [
    ('await ctx.db.query("todos").withIndex("by_done").collect()',
     "syncline uses snake_case: with_index"),
    ("await ctx.runQuery('todos:q', {})", "syncline uses snake_case: run_query"),
    ("await ctx.scheduler.runAfter(0, 'todos:q', {})", "syncline uses snake_case: run_after"),
    ('ctx.db.normalizeId("todos", "x")', "syncline uses snake_case: normalize_id"),
    ("await ctx.auth.getUserIdentity()", "syncline uses snake_case: get_user_identity"),
])
async def test_convex_camel_case_names_point_to_the_snake_case_ones(tmp_path, db, code,
                                                                   expected):
    app_dir = app(tmp_path, {"schema.py": SCHEMA, "todos.py": FUNCS + f"""
        @query
        async def q(ctx):
            return 1

        @mutation
        async def m(ctx):
            {code}
    """})
    outcome = await call(app_dir, db, "todos:m")
    assert expected in outcome.failure.message


@pytest.mark.parametrize(("kind", "code", "expected"), [
    ("query", "await ctx.run_mutation('todos:m', {})", "a query cannot run a mutation"),
    ("query", "await ctx.run_action('todos:a', {})", "a query cannot run an action"),
    ("mutation", "await ctx.run_action('todos:a', {})", "ctx.scheduler.run_after(0"),
    ("action", 'await ctx.db.query("todos").collect()', "await ctx.run_query(internal."),
])
async def test_a_capability_the_context_lacks_says_what_to_do(tmp_path, db, kind, code,
                                                              expected):
    app_dir = app(tmp_path, {"schema.py": SCHEMA, "todos.py": FUNCS + f"""
        @mutation
        async def m(ctx):
            return 1

        @action
        async def a(ctx):
            return 1

        @{kind}
        async def f(ctx):
            {code}
    """})
    outcome = await call(app_dir, db, "todos:f")
    assert "is not available here" in outcome.failure.message
    assert expected in outcome.failure.message


# -- a missing await -----------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "expected"), [
    ("return ctx.db.query('todos').first()", "The return value of todos:f is a coroutine"),
    ("return await ctx.run_query('todos:q', {'x': ctx.db.query('todos').first()})",
     "An argument of todos:q at .x is a coroutine"),
    ("await ctx.db.insert('todos', {'text': ctx.db.query('todos').first(), 'done': True})",
     "ctx.db.insert('todos', ...): the value at .text is a coroutine"),
    ("await ctx.db.get(ctx.db.insert('todos', {'text': 'a', 'done': True}))",
     "ctx.db.get: the ID is an awaitable"),
])
async def test_a_missing_await_is_named(tmp_path, db, code, expected):
    app_dir = app(tmp_path, {"schema.py": SCHEMA, "todos.py": FUNCS + f"""
        @query
        async def q(ctx, x=None):
            return x

        @mutation
        async def f(ctx):
            {code}
    """})
    outcome = await call(app_dir, db, "todos:f")
    assert expected in outcome.failure.message
    assert "did you forget `await`?" in outcome.failure.message


# -- imports -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "fix"), [
    ("from helpers import shout", "use `from .helpers import shout`"),
    ("import helpers", "use `from . import helpers`"),
])
def test_an_absolute_import_of_a_sibling_module_fails_the_push(tmp_path, line, fix):
    message = push_error(tmp_path, {
        "helpers.py": "def shout(s):\n    return s.upper()\n",
        "todos.py": FUNCS + line + "\n",
    })
    assert f"convex/todos.py:2: `{line}` imports a module of convex/" in message
    assert fix in message


def test_a_nested_module_gets_the_right_number_of_dots(tmp_path):
    message = push_error(tmp_path, {
        "helpers.py": "def shout(s):\n    return s.upper()\n",
        "admin/users.py": "from helpers import shout\n",
    })
    assert "use `from ..helpers import shout`" in message


def test_import_errors_show_the_apps_frames_not_synclines(tmp_path):
    message = push_error(tmp_path, {"todos.py": FUNCS + """
        def boom():
            raise ValueError("bad config")

        boom()
    """})
    assert 'convex/todos.py", line 6' in message and 'convex/todos.py", line 4' in message
    assert "importlib" not in message and "syncline/functions" not in message
    assert str(tmp_path) not in message


def test_an_installed_package_named_like_a_module_is_not_a_sibling_import(tmp_path):
    loaded = load_app(app(tmp_path, {
        "httpx.py": "import httpx\n\nCLIENT = httpx.Client\n",  # like convex/stripe.ts
        "todos.py": "import httpx\n",
    }))
    loaded.unload()


def test_other_databases_calls_are_not_taken_for_tables(tmp_path):
    loaded = load_app(app(tmp_path, {"schema.py": SCHEMA, "todos.py": FUNCS + """
        def lookup(conn, cache):
            conn.db.query("SELECT 1")
            return cache.db.get("key", None)
    """}))
    loaded.unload()


def test_a_wrapper_that_adds_arguments_is_not_checked_against_the_wrapped_signature(tmp_path):
    loaded = load_app(app(tmp_path, {"todos.py": FUNCS + """
        import functools

        def with_user(fn):
            @functools.wraps(fn)
            async def handler(ctx, **args):
                return await fn(ctx, user="ada", **args)
            return handler

        @query(args={"text": v.string()})
        @with_user
        async def greet(ctx, user, text):
            return user + text
    """}))
    loaded.unload()
