"""The runner in-process: kinds, nesting, identities, time limits, awaits, logs."""

import asyncio
import socket
import threading
import time

import pytest

from syncline.functions import FunctionRunner, UserIdentity, load_app
from syncline.functions.registration import FunctionDefinitionError, query
from tests.functions.conftest import running, write_app

APP = {
    "schema.py": """
from syncline import define_schema, define_table, v
schema = define_schema({"items": define_table({"n": v.float64()})})
""",
    "items.py": """
import asyncio
import socket
from syncline import action, api, mutation, query, v

@mutation(args={"n": v.float64()})
async def add(ctx, n):
    return await ctx.db.insert("items", {"n": n})

@query
async def many(ctx, ids):
    docs = await asyncio.gather(*(ctx.db.get(i) for i in ids))
    return [d["n"] for d in docs]

@query(returns=v.string())
async def wrong_type(ctx):
    return 5

@query
async def sleepy(ctx):
    await asyncio.sleep(30)

@query
async def who(ctx):
    identity = await ctx.auth.get_user_identity()
    return None if identity is None else [identity.token_identifier, identity["email"],
                                           identity.email]

@action
async def slow(ctx):
    await asyncio.sleep(30)

@action
async def connect(ctx, port):
    with socket.create_connection(("127.0.0.1", int(port)), timeout=5):
        return "connected"

@action
async def outer(ctx):
    print("outer before")
    value = await ctx.run_query(api.items.logged, {})
    print("outer after")
    return value

@query
async def logged(ctx):
    print("inner")
    return 7

@mutation
async def placeholders(ctx):
    await ctx.storage.generate_upload_url()
""",
}


@pytest.fixture
def app_dir(tmp_path):
    return write_app(tmp_path, APP)


@pytest.fixture
async def runner(app_dir, db):
    async with running(app_dir, db, dev=True, action_time_limit_s=1.0) as runner:
        yield runner


async def test_gather_of_reads_inside_a_query(runner):
    ids = [(await runner.run("items:add", {"n": float(i)})).value for i in range(5)]
    outcome = await runner.run("items:many", {"ids": ids})
    assert outcome.ok, outcome.failure
    assert outcome.value == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert outcome.snapshot_ts is not None and outcome.read_set is not None


async def test_returns_validator(runner):
    outcome = await runner.run("items:wrong_type", {})
    assert "ReturnsValidationError" in outcome.failure.message


async def test_a_query_awaiting_a_timer_is_cancelled_at_its_deadline(runner):
    started = time.monotonic()
    outcome = await runner.run("items:sleepy", {})
    assert time.monotonic() - started < 10
    assert "timed out" in outcome.failure.message


async def test_actions_have_their_own_time_limit(runner):
    outcome = await runner.run("items:slow", {})
    assert "Action items:slow timed out" in outcome.failure.message


async def test_actions_may_use_the_network(runner):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        outcome = await runner.run("items:connect", {"port": server.getsockname()[1]})
    assert outcome.value == "connected"


async def test_identity_reaches_ctx_auth(runner):
    identity = UserIdentity({"issuer": "https://issuer", "subject": "u1", "email": "a@b.c"})
    outcome = await runner.run("items:who", {}, identity=identity)
    assert outcome.value == ["https://issuer|u1", "a@b.c", "a@b.c"]
    assert (await runner.run("items:who", {})).value is None


async def test_nested_log_lines_are_returned_but_recorded_once(runner):
    outcome = await runner.run("items:outer", {})
    assert [line.formatted() for line in outcome.log_lines] == [
        "[LOG] outer before", "[LOG] inner", "[LOG] outer after"]
    records = {r.path: r for r in runner.recent}
    assert [line.message for line in records["items:outer"].log_lines] == [
        "outer before", "outer after"]
    assert [line.message for line in records["items:logged"].log_lines] == ["inner"]
    assert records["items:logged"].request_id == records["items:outer"].request_id


async def test_unavailable_features_say_so(runner):
    outcome = await runner.run("items:placeholders", {})
    assert "ctx.storage.generate_upload_url is not available yet" in outcome.failure.message


async def test_arguments_must_be_an_object(runner):
    outcome = await runner.run("items:add", [1])
    assert "must be an object" in outcome.failure.message


def test_sync_handlers_are_refused_at_definition():
    with pytest.raises(FunctionDefinitionError, match="async def"):
        @query
        def not_async(ctx):
            return 1


async def test_system_tables_are_read_through_ctx_db_system(app_dir, db):
    (app_dir / "convex" / "sys.py").write_text("""
from syncline import query

@query
async def jobs(ctx):
    return await ctx.db.system.query("_scheduled_functions").collect()

@query
async def direct(ctx, id):
    return await ctx.db.get(id)

@query
async def wrong(ctx):
    return await ctx.db.system.query("items").collect()
""")
    app = load_app(app_dir)
    await db.apply_schema(app.schema)
    runner = FunctionRunner(db, app)
    try:
        job = await db.run_transaction(
            lambda tx: tx.insert("_scheduled_functions", {"name": "x:y"}, system=True))
        jobs = await runner.run("sys:jobs", {})
        assert [j["name"] for j in jobs.value] == ["x:y"]
        direct = await runner.run("sys:direct", {"id": job})
        assert "read it with ctx.db.system.get" in direct.failure.message
        wrong = await runner.run("sys:wrong", {})
        assert "is not one" in wrong.failure.message
    finally:
        runner.close()
        app.unload()


async def test_a_watchdog_interrupt_landing_in_a_loop_callback_still_ends_the_handler():
    """The watchdog's FunctionTimeoutError arrives at the thread's next bytecode; when that
    is a loop callback, the loop only logs it. The guard must end the handler anyway
    instead of letting it sleep on (seen: a 30 s sleep ran to its end)."""
    from syncline.functions.limits import Deadline, FunctionTimeoutError

    finished = []

    def interrupt() -> None:
        raise FunctionTimeoutError()  # as PyThreadState_SetAsyncExc delivers it

    async def sleeper():
        asyncio.get_running_loop().call_soon(interrupt)  # lands while the handler sleeps
        await asyncio.sleep(3600)
        finished.append(True)

    deadline = Deadline(threading.get_ident(), 3600.0, lambda: 0.0, "query")
    with pytest.raises(FunctionTimeoutError):
        # 20 s bounds a broken guard; a working one ends at once.
        await asyncio.wait_for(FunctionRunner._guard(sleeper(), deadline), 20)
    assert finished == []
