"""The `_system` function namespace in-process: admin-only, never shadowed by the app,
installed for good (pushes do not remove it), and live when subscribed over sync."""

from __future__ import annotations

import pytest

from syncline.functions.registration import FunctionDefinitionError
from syncline.sync.protocol import Authenticate
from syncline.system import ServiceNotAvailableError, SystemServices, system_query
from syncline.system.registry import SYSTEM_FUNCTIONS
from tests.sync.conftest import deployed
from tests.sync.test_engine import add, mutate, session, settle, values

APP = {
    "schema.py": """
from syncline import define_schema, define_table, v
schema = define_schema({"messages": define_table({"body": v.string()})})
""",
    "messages.py": """
from syncline import mutation, query, v

@mutation(args={"body": v.string()})
async def send(ctx, body):
    return await ctx.db.insert("messages", {"body": body})

@query
async def count(ctx):
    return len(await ctx.db.query("messages").collect())
""",
    # A module under `_system/` in the app: `_` modules are never loaded, so it can
    # neither define nor shadow `_system/cli/tables`.
    "_system/cli/tables.py": """
from syncline import query

@query
async def default(ctx):
    return "the app's"
""",
    "_system.py": """
from syncline import query

@query
async def tables(ctx):
    return "the app's"
""",
}
TABLES = "_system/cli/tables"
PAGE = {"cursor": None, "numItems": 100}


@pytest.fixture
async def deployment(tmp_path):
    async with deployed(tmp_path, APP) as deployment:
        deployment.sync.start()  # `mutate` waits for the engine to take in each commit
        yield deployment


async def test_an_admin_calls_a_system_query(deployment):
    await mutate(deployment, "messages:send", {"body": "hi"})
    outcome = await deployment.runner.run(TABLES, {}, admin=True)
    assert outcome.ok, outcome.failure
    assert outcome.value["page"] == [{"name": "messages"}]


async def test_a_caller_without_the_admin_key_is_refused_clearly(deployment):
    for path in (TABLES, "_system/cli/modules:apiSpec"):
        outcome = await deployment.runner.run(path, {}, admin=False)
        assert not outcome.ok
        assert "Unauthorized" in outcome.failure.message
        assert "system function" in outcome.failure.message
        assert "admin key" in outcome.failure.message


async def test_an_unknown_system_path_is_not_found(deployment):
    outcome = await deployment.runner.run("_system/cli/nothing", {}, admin=True)
    assert not outcome.ok and "Could not find function" in outcome.failure.message


async def test_the_app_cannot_define_or_shadow_a_system_function(deployment):
    app = deployment.runner.app
    assert not any(path.startswith("_system") for path in app.functions)
    outcome = await deployment.runner.run(TABLES, {}, admin=True)
    assert outcome.value != "the app's" and "page" in outcome.value
    spec = (await deployment.runner.run("_system/cli/modules:apiSpec", {}, admin=True)).value
    assert {entry["identifier"] for entry in spec} == {"messages.js:send", "messages.js:count"}


async def test_system_functions_survive_a_push_and_see_the_new_code(deployment):
    (deployment.app_dir / "convex" / "more.py").write_text(
        "from syncline import internal_query\n\n@internal_query\nasync def hidden(ctx):\n"
        "    return 1\n")
    await deployment.push()
    outcome = await deployment.runner.run("_system/cli/modules:apiSpec", {}, admin=True)
    assert outcome.ok, outcome.failure
    hidden = [e for e in outcome.value if e["identifier"] == "more.js:hidden"]
    assert hidden and hidden[0]["visibility"] == {"kind": "internal"}
    assert hidden[0]["functionType"] == "Query"
    assert (await deployment.runner.run(TABLES, {}, admin=True)).ok


async def test_a_subscribed_system_query_is_live(deployment):
    engine = deployment.sync
    s, sent = session(engine, "admin")
    await engine.authenticate(s, Authenticate("Admin", deployment.admin_keys.admin_key(), 0))
    await engine.modify_query_set(s, add(1, "_system/cli/tableData", {
        "table": "messages", "order": "desc", "paginationOpts": PAGE}, 0))
    await settle(engine)
    assert values(sent)[1]["page"] == []
    await mutate(deployment, "messages:send", {"body": "hi"})
    assert [d["body"] for d in values(sent)[1]["page"]] == ["hi"]
    # Environment variables live in a system table the query reads through its transaction.
    await engine.modify_query_set(s, add(2, "_system/cli/queryEnvironmentVariables", {}, 1))
    assert values(sent)[2] == []
    await deployment.set_env("FOO", "bar")
    await settle(engine)
    assert values(sent)[2] == [{"name": "FOO", "value": "bar"}]


async def test_a_subscription_without_the_admin_key_gets_the_error(deployment):
    engine = deployment.sync
    s, sent = session(engine, "anon")
    await engine.modify_query_set(s, add(1, TABLES, {}, 0))
    updates = [m for t in sent if t["type"] == "Transition" for m in t["modifications"]]
    assert updates[-1]["type"] == "QueryFailed"
    assert "Unauthorized" in updates[-1]["errorMessage"]


def test_a_system_path_must_lie_under_system():
    with pytest.raises(FunctionDefinitionError, match="_system/"):
        system_query("cli/tables")


def test_services_name_what_is_missing():
    services = SystemServices(env=1)
    services.register("metrics", {"calls": 3})
    assert services.metrics == {"calls": 3} and services.env == 1
    with pytest.raises(ServiceNotAvailableError, match="history"):
        _ = services.history


async def test_a_system_function_reaches_a_registered_service(deployment):
    @system_query("_system/test/service")
    async def service(ctx):
        return ctx.deployment.greeting

    try:
        from syncline.system import install_system_functions

        deployment.system.register("greeting", "hello")
        install_system_functions(deployment.runner, deployment.system)
        outcome = await deployment.runner.run("_system/test/service", {}, admin=True)
        assert outcome.ok and outcome.value == "hello"
    finally:
        del SYSTEM_FUNCTIONS["_system/test/service:default"]
