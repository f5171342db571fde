"""Deployment history (system/history.py): what each change records, in its own commit."""

from __future__ import annotations

import asyncio
import io
import textwrap
from pathlib import Path

import orjson
import pytest

from syncline.data.snapshot_zip import import_snapshot, read_snapshot_zip, write_snapshot_zip
from syncline.data.table_import import import_tables
from syncline.errors import DataImportError
from syncline.functions import PushError
from syncline.server.admin_api import ScheduledFunctionsApi
from syncline.server.deployment import Deployment
from syncline.system import history

SCHEMA_V1 = """
from syncline import define_schema, define_table, v
schema = define_schema({
    "items": define_table({"f": v.string()}).index("by_f", ["f"]),
})
"""
SCHEMA_V2 = """
from syncline import define_schema, define_table, v
schema = define_schema({
    "items": define_table({"f": v.string(), "g": v.optional(v.string())})
        .index("by_f", ["f"]).index("by_g", ["g"]),
    "notes": define_table({"text": v.string()}),
})
"""
FUNCS_V1 = """
from syncline import query, mutation, internal_mutation, v

@query(args={"x": v.string()})
async def one(ctx, x):
    return x

@query
async def two(ctx):
    return 2

@mutation
async def four(ctx):
    return 4

@mutation
async def later(ctx):
    await ctx.scheduler.run_after(3600, "fns:noop", {})
    await ctx.scheduler.run_after(3600, "fns:noop", {})

@internal_mutation
async def noop(ctx):
    return None
"""
FUNCS_V2 = """
from syncline import query, mutation, internal_mutation, v

@query(args={"x": v.number()})
async def one(ctx, x):
    return x

@query
async def three(ctx):
    return 3


# A comment and a blank line above `four` move it: that alone is no change.

@mutation
async def four(ctx):
    return 5  # the body changed

@mutation
async def later(ctx):
    await ctx.scheduler.run_after(3600, "fns:noop", {})
    await ctx.scheduler.run_after(3600, "fns:noop", {})

@internal_mutation
async def noop(ctx):
    return None
"""


def write_app(app: Path, funcs: str, schema: str) -> None:
    (app / "convex").mkdir(parents=True, exist_ok=True)
    (app / "convex" / "fns.py").write_text(textwrap.dedent(funcs))
    (app / "convex" / "schema.py").write_text(textwrap.dedent(schema))


@pytest.fixture
async def deployment(tmp_path, monkeypatch):
    monkeypatch.delenv("SYNCLINE_HISTORY_MAX_EVENTS", raising=False)
    monkeypatch.delenv("SYNCLINE_HISTORY_MAX_AGE_DAYS", raising=False)
    app = tmp_path / "app"
    write_app(app, FUNCS_V1, SCHEMA_V1)
    d = Deployment(app)
    try:
        await d.push()
        yield d
    finally:
        await d.sync.stop()
        d.close()


async def events(d: Deployment) -> list[dict]:
    return (await history.history_page(d.db, limit=history.MAX_PAGE))["page"]


async def test_first_push_lists_every_function_and_index(deployment):
    [push] = await events(deployment)
    assert push["action"] == "push_config" and push["who"] == "cli" and push["seq"] == 1
    meta = push["metadata"]
    assert meta["functions"]["added"] == ["fns:four", "fns:later", "fns:noop", "fns:one",
                                          "fns:two"]
    assert meta["functions"]["removed"] == [] and meta["functions"]["changed"] == []
    assert meta["indexes"]["added"] == ["items.by_f"]
    assert meta["schema"]["added"] == ["items"]
    assert "state" not in push


async def test_push_diff_names_added_removed_changed_functions_and_indexes(deployment):
    write_app(deployment.app_dir, FUNCS_V2, SCHEMA_V2)
    await deployment.push()
    push = (await events(deployment))[0]
    meta = push["metadata"]
    assert push["seq"] == 2
    assert meta["functions"]["added"] == ["fns:three"]
    assert meta["functions"]["removed"] == ["fns:two"]
    assert meta["functions"]["changed"] == [
        {"path": "fns:four", "changes": ["source"]},
        {"path": "fns:one", "changes": ["args"]},  # the same body with other args
    ]
    assert meta["indexes"] == {"added": ["items.by_g"], "removed": []}
    assert meta["schema"] == {"added": ["notes"], "removed": [], "changed": ["items"]}


async def test_an_unchanged_push_records_nothing(deployment):
    await deployment.push()
    assert len(await events(deployment)) == 1


async def test_failed_pushes_record_nothing(deployment):
    (deployment.app_dir / "convex" / "fns.py").write_text("def broken(:\n")
    with pytest.raises(PushError):
        await deployment.push()
    # A schema the stored documents do not match fails in the schema step itself.
    write_app(deployment.app_dir, FUNCS_V2, SCHEMA_V1)
    await import_tables(deployment.db, {"items": [(1, {"f": "x"})]}, "create")
    (deployment.app_dir / "convex" / "schema.py").write_text(textwrap.dedent(
        SCHEMA_V1.replace('v.string()}', 'v.number()}')))
    with pytest.raises(PushError, match="Schema validation failed"):
        await deployment.push()
    assert [e["action"] for e in await events(deployment)] == ["snapshot_import",
                                                               "push_config"]


async def test_a_lost_push_event_is_folded_into_the_next_push(deployment, monkeypatch):
    """A crash after a push went live but before its event committed: the next push (a
    restart pushes again) is diffed against the last recorded one, so nothing is lost."""
    real = history.record_push

    async def crash(*args, **kwargs):
        raise OSError("the process died here")

    monkeypatch.setattr(history, "record_push", crash)
    write_app(deployment.app_dir, FUNCS_V2, SCHEMA_V2)
    await deployment.push()  # live, but its event is lost
    monkeypatch.setattr(history, "record_push", real)
    await deployment.push()  # the same code again, as after a restart
    push, first = await events(deployment)
    assert first["seq"] == 1
    assert push["metadata"]["functions"]["added"] == ["fns:three"]
    assert push["metadata"]["indexes"]["added"] == ["items.by_g"]


async def test_env_changes_record_names_and_never_values(deployment):
    secret = "s3cr3t-value-xyz"
    assert await deployment.set_env("API_KEY", secret)
    await deployment.set_env("API_KEY", secret + "2")
    await deployment.set_env("API_KEY", secret + "2")  # unchanged: no event
    assert await deployment.remove_env("API_KEY")
    assert not await deployment.remove_env("API_KEY")  # nothing removed: no event
    found = await events(deployment)
    assert [(e["action"], e["metadata"]) for e in found[:3]] == [
        ("delete_environment_variable", {"name": "API_KEY"}),
        ("update_environment_variable", {"name": "API_KEY"}),
        ("create_environment_variable", {"name": "API_KEY"}),
    ]
    # Not in the events as stored either (the listing leaves the push baseline out).
    stored = await deployment.db.read(
        lambda tx: tx.query(history.TABLE, system=True).collect())
    assert secret not in orjson.dumps(stored).decode()


async def test_a_batch_of_env_changes_records_each_effective_change(deployment):
    """The official CLI's `env set/remove` go through `update_env`: one event per change."""
    await deployment.set_env("KEPT", "same")
    await deployment.update_env([("NEW", "v1"), ("KEPT", "same"), ("KEPT2", None)])
    await deployment.update_env([("NEW", "v2"), ("KEPT", None)])
    found = await events(deployment)
    assert [(e["action"], e["metadata"]["name"]) for e in found[:4]] == [
        ("delete_environment_variable", "KEPT"),
        ("update_environment_variable", "NEW"),
        ("create_environment_variable", "NEW"),
        ("create_environment_variable", "KEPT"),
    ]


async def test_invalid_env_change_records_nothing(deployment):
    from syncline.functions.environment import EnvironmentVariableError

    with pytest.raises(EnvironmentVariableError):
        await deployment.set_env("1BAD", "x")
    assert len(await events(deployment)) == 1


async def test_imports_record_tables_rows_and_mode(deployment):
    await import_tables(deployment.db, {"items": [(1, {"f": "a"}), (2, {"f": "b"})]},
                        "create")
    await import_tables(deployment.db, {"items": [(1, {"f": "c"})]}, "replace")
    with pytest.raises(DataImportError):  # a bad row: nothing imported, nothing recorded
        await import_tables(deployment.db, {"items": [(1, {"f": 5.0})]}, "append")
    replace, create, _push = await events(deployment)
    assert create["metadata"] == {"mode": "create",
                                  "tables": [{"table": "items", "documents": 2.0}]}
    assert replace["metadata"] == {
        "mode": "replace", "tables": [{"table": "items", "documents": 1.0, "deleted": 2.0}]}


async def test_snapshot_import_records_every_table(deployment, tmp_path):
    await import_tables(deployment.db, {"items": [(1, {"f": "a"})]}, "create")
    buffer = io.BytesIO()
    write_snapshot_zip(deployment.db, buffer)
    buffer.seek(0)
    await import_snapshot(deployment.db, read_snapshot_zip(buffer), "replace")
    meta = (await events(deployment))[0]["metadata"]
    assert meta["mode"] == "replace"
    assert {"table": "items", "documents": 1.0, "deleted": 1.0} in meta["tables"]


async def test_canceling_scheduled_functions_is_an_admin_edit(deployment):
    await deployment.runner.run("fns:later", {})
    await deployment.runner.run("fns:later", {})
    api = ScheduledFunctionsApi(deployment)
    [job] = (await api.list_jobs(frozenset({"pending"}), 1))
    assert await api.cancel_job(job["_id"])
    assert await api.cancel_jobs("fns:noop") == 3
    all_of, one = (await events(deployment))[:2]
    assert one["action"] == all_of["action"] == "cancel_scheduled_functions"
    assert one["metadata"] == {"ids": [job["_id"]]}
    assert all_of["metadata"] == {"count": 3.0, "function": "fns:noop"}


async def test_pages_newest_first_with_a_cursor(deployment):
    for i in range(5):
        await deployment.set_env(f"V{i}", "x")
    first = await history.history_page(deployment.db, limit=4)
    assert not first["isDone"]
    second = await history.history_page(deployment.db, limit=4,
                                        cursor=first["continueCursor"])
    assert second["isDone"]
    seqs = [e["seq"] for e in first["page"] + second["page"]]
    assert seqs == [6, 5, 4, 3, 2, 1]
    with pytest.raises(ValueError):
        await history.history_page(deployment.db, limit=0)


async def test_retention_by_count_keeps_the_newest_and_the_push_baseline(deployment,
                                                                         monkeypatch):
    monkeypatch.setenv("SYNCLINE_HISTORY_MAX_EVENTS", "3")
    for i in range(6):
        await deployment.set_env(f"V{i}", "x")
    found = await events(deployment)
    assert [e["seq"] for e in found] == [7, 6, 5, 1]  # the newest 3, and the newest push
    await deployment.push()  # unchanged code: the baseline is still there to diff against
    assert len(await events(deployment)) == 4


async def test_retention_by_age(deployment, monkeypatch):
    await deployment.set_env("OLD", "x")
    monkeypatch.setenv("SYNCLINE_HISTORY_MAX_AGE_DAYS", "0.0000001")  # ~9 ms
    await asyncio.sleep(0.05)
    await deployment.set_env("NEW", "x")
    assert [e["metadata"].get("name") for e in await events(deployment)] == ["NEW", None]


@pytest.mark.parametrize("value", ["0", "-1", "many", "nan"])
def test_bad_retention_settings_are_refused(monkeypatch, value):
    monkeypatch.setenv("SYNCLINE_HISTORY_MAX_EVENTS", value)
    with pytest.raises(history.HistorySettingsError, match="SYNCLINE_HISTORY_MAX_EVENTS"):
        history.Retention.from_env()


def test_who_from_headers():
    assert history.who_from_headers({"convex-client": "npm-cli-1.48.0"}) == "cli"
    assert history.who_from_headers({"convex-client": "dashboard-0.1"}) == "dashboard"
    assert history.who_from_headers({"user-agent": "python-httpx/0.28"}) == "cli"
    assert history.who_from_headers({"user-agent": "curl/8"}) == "admin"


async def test_admin_edits_and_table_clears_are_recorded_with_their_change(deployment):
    async def edit(tx):
        doc_id = await tx.insert("items", {"f": "a"})
        await history.record_admin_edit(tx, "items", "insert", [doc_id])
        return doc_id

    doc_id = await deployment.db.run_transaction(edit)

    async def clear(tx):
        await tx.delete(doc_id)
        await history.record_table_change(tx, history.CLEAR_TABLES, {"items": 1})
        raise RuntimeError("the clear fails before it commits")

    with pytest.raises(RuntimeError):
        await deployment.db.run_transaction(clear)
    newest = (await events(deployment))[0]
    assert newest["action"] == "edit_documents"
    assert newest["metadata"] == {"table": "items", "operation": "insert", "count": 1.0,
                                  "ids": [doc_id]}


async def test_the_system_query_is_admin_only_and_live_over_sync(deployment):
    from syncline.sync.protocol import Authenticate
    from tests.sync.test_engine import add, session, settle, values

    refused = await deployment.runner.run("_system/history:list", {}, admin=False)
    assert not refused.ok and "Unauthorized" in refused.failure.message
    outcome = await deployment.runner.run("_system/history:list", {}, admin=True)
    assert outcome.ok, outcome.failure
    assert [e["action"] for e in outcome.value["page"]] == ["push_config"]
    engine = deployment.sync
    engine.start()
    s, sent = session(engine, "admin")
    await engine.authenticate(s, Authenticate("Admin", deployment.admin_keys.admin_key(), 0))
    await engine.modify_query_set(s, add(1, "_system/history:list", {
        "paginationOpts": {"numItems": 10, "cursor": None}}, 0))
    await settle(engine)
    assert [e["seq"] for e in values(sent)[1]["page"]] == [1]
    await deployment.set_env("LIVE", "x")
    await settle(engine)
    assert [e["action"] for e in values(sent)[1]["page"]] == [
        "create_environment_variable", "push_config"]
