"""The Data page's system functions (system/dashboard_data.py) in a pushed deployment."""

from __future__ import annotations

import asyncio

import pytest

from syncline.sync.protocol import Authenticate
from syncline.values import Int64
from tests.sync.conftest import deployed
from tests.sync.test_engine import add, mutate, session, settle, values
from tests.system.test_dashboard import run

APP = {
    "schema.py": """
from syncline import define_schema, define_table, v
schema = define_schema({
    "users": define_table({"name": v.string(), "age": v.optional(v.float64()),
                           "address": v.optional(v.object({"city": v.string()}))}),
    "tasks": define_table({"title": v.string(), "status": v.string(), "n": v.float64(),
                           "owner": v.optional(v.id("users"))})
        .index("by_status", ["status"]).index("by_status_n", ["status", "n"]),
}, schema_validation=True, strict_table_name_types=False)
""",
    "tasks.py": """
from syncline import mutation, v

@mutation(args={"title": v.string(), "status": v.string(), "n": v.float64()})
async def add(ctx, title, status, n):
    return await ctx.db.insert("tasks", {"title": title, "status": status, "n": n})
""",
}
PAGE = {"cursor": None, "numItems": 100}


@pytest.fixture
async def deployment(tmp_path):
    async with deployed(tmp_path, APP) as deployment:
        deployment.sync.start()
        yield deployment


async def fail(deployment, path, args):
    outcome = await deployment.runner.run(path, args, admin=True)
    assert not outcome.ok
    return outcome.failure.data


async def seed_tasks(deployment, n):
    docs = [{"title": f"t{i}", "status": ("done", "open", "late")[i % 3], "n": float(i)}
            for i in range(n)]
    return await run(deployment, "_system/frontend/addDocuments",
                     {"table": "tasks", "documents": docs})


async def test_add_patch_replace_delete_and_history(deployment):
    ids = await run(deployment, "_system/frontend/addDocuments", {
        "table": "users", "documents": [{"name": "ada", "age": 36.0}, {"name": "bob"}]})
    assert len(ids) == 2
    await run(deployment, "_system/frontend/patchDocumentsFields",
              {"table": "users", "ids": ids, "fields": {"age": 40.0}})
    await run(deployment, "_system/frontend/patchDocumentsFields",
              {"table": "users", "ids": ids[1:], "fields": {}, "unset": ["age"]})
    await run(deployment, "_system/frontend/replaceDocument",
              {"id": ids[0], "document": {"name": "ada l.", "address": {"city": "London"}}})
    ada = await run(deployment, "_system/frontend/document", {"id": ids[0]})
    bob = await run(deployment, "_system/frontend/document", {"id": ids[1]})
    assert ada["name"] == "ada l." and "age" not in ada and ada["address"] == {"city": "London"}
    assert bob == {"_id": ids[1], "_creationTime": bob["_creationTime"], "name": "bob"}
    assert await run(deployment, "_system/frontend/deleteDocuments",
                     {"table": "users", "ids": ids + ids}) == 2
    assert await run(deployment, "_system/frontend/document", {"id": ids[0]}) is None
    assert await run(deployment, "_system/frontend/document", {"id": "not an id"}) is None
    history = await run(deployment, "_system/history:list", {})
    edits = [e for e in history["page"] if e["action"] == "edit_documents"]
    operations = [e["metadata"]["operation"] for e in edits]
    assert sorted(operations) == ["delete", "insert", "patch", "patch", "replace"]


@pytest.mark.parametrize(("path", "args", "expected"), [
    ("addDocuments", {"table": "users", "documents": [{"name": "ok"}, {"name": 5.0}]},
     {"path": ".name", "documentIndex": 1.0}),
    ("addDocuments", {"table": "users", "documents": [{"age": 3.0}]},
     {"path": ".name", "documentIndex": 0.0}),
    ("addDocuments", {"table": "users", "documents": [{"name": "x", "address": {}}]},
     {"path": ".address.city", "documentIndex": 0.0}),
    ("addDocuments", {"table": "users", "documents": [{"name": "x", "extra": 1.0}]},
     {"path": ".extra", "documentIndex": 0.0}),
])
async def test_a_schema_validation_failure_names_the_field(deployment, path, args, expected):
    data = await fail(deployment, f"_system/frontend/{path}", args)
    assert data["code"] == "SchemaValidation"
    assert {k: data[k] for k in expected} == expected
    assert "Path:" in data["message"] or "field" in data["message"]
    assert await run(deployment, "_system/frontend/tableSize", {"table": "users"}) == 0


async def test_edits_are_validated_against_the_schema(deployment):
    ids = await seed_tasks(deployment, 3)
    data = await fail(deployment, "_system/frontend/patchDocumentsFields",
                      {"table": "tasks", "ids": ids, "fields": {"n": "seven"}})
    assert (data["code"], data["path"], data["documentIndex"]) == ("SchemaValidation", ".n", 0.0)
    data = await fail(deployment, "_system/frontend/replaceDocument",
                      {"id": ids[2], "document": {"title": "x", "status": "y"}})
    assert (data["code"], data["path"]) == ("SchemaValidation", ".n")
    data = await fail(deployment, "_system/frontend/patchDocumentsFields",
                      {"table": "users", "ids": ids, "fields": {"name": "x"}})
    assert (data["code"], data["documentIndex"]) == ("NotFound", 0.0)
    data = await fail(deployment, "_system/frontend/patchDocumentsFields",
                      {"table": "tasks", "ids": ids, "fields": {"_id": ids[0]}})
    assert data["code"] == "InvalidDocument"
    data = await fail(deployment, "_system/frontend/addDocuments",
                      {"table": "_storage", "documents": [{}]})
    assert data["code"] == "UnknownTable"
    page = await run(deployment, "_system/frontend/paginatedTableDocuments",
                     {"table": "tasks", "paginationOpts": PAGE, "order": "asc"})
    assert [d["n"] for d in page["page"]] == [0.0, 1.0, 2.0]  # untouched


async def test_concurrent_edits_of_one_document_are_retried(deployment):
    [doc_id] = await seed_tasks(deployment, 1)
    await asyncio.gather(*(
        run(deployment, "_system/frontend/patchDocumentsFields",
            {"table": "tasks", "ids": [doc_id], "fields": {"title": f"edit {i}"}})
        for i in range(12)))
    history = await run(deployment, "_system/history:list",
                        {"paginationOpts": {"numItems": 100, "cursor": None}})
    patches = [e for e in history["page"] if e["action"] == "edit_documents"
               and e["metadata"]["operation"] == "patch"]
    assert len(patches) == 12
    rows = [row for row in deployment.metrics.snapshot()["functions"]
            if "patchDocumentsFields" in row["path"]]
    assert rows and rows[0]["occRetries"] >= 1, rows  # they did conflict, and were retried
    final = await run(deployment, "_system/frontend/document", {"id": doc_id})
    assert final["title"].startswith("edit ")


async def test_filters_use_an_index_when_one_fits(deployment):
    await seed_tasks(deployment, 30)

    async def listing(filters=None, creation_time=None, index=None):
        args = {"table": "tasks", "paginationOpts": PAGE, "order": "asc"}
        plan_args = {"table": "tasks"}
        for key, value in (("filters", filters), ("creationTime", creation_time),
                           ("index", index)):
            if value is not None:
                args[key] = plan_args[key] = value
        page = await run(deployment, "_system/frontend/paginatedTableDocuments", args)
        plan = await run(deployment, "_system/frontend/filterPlan", plan_args)
        return [d["n"] for d in page["page"]], plan

    ns, plan = await listing([{"field": "status", "op": "eq", "value": "done"}])
    assert ns == [float(i) for i in range(0, 30, 3)]
    assert plan == {"index": "by_status", "fields": ["status"]}
    ns, plan = await listing([{"field": "status", "op": "eq", "value": "open"},
                              {"field": "n", "op": "gte", "value": 10.0},
                              {"field": "n", "op": "lt", "value": 20.0}])
    assert ns == [10.0, 13.0, 16.0, 19.0]
    assert plan == {"index": "by_status_n", "fields": ["status", "n"]}
    ns, plan = await listing([{"field": "n", "op": "neq", "value": 3.0},
                              {"field": "title", "op": "isType", "value": "string"},
                              {"field": "owner", "op": "isType", "value": "unset"},
                              {"field": "n", "op": "lte", "value": 4.0}])
    assert ns == [0.0, 1.0, 2.0, 4.0]
    assert plan == {"index": "by_creation_time", "fields": []}
    everything = await run(deployment, "_system/frontend/paginatedTableDocuments",
                           {"table": "tasks", "paginationOpts": PAGE, "order": "asc"})
    times = [d["_creationTime"] for d in everything["page"]]
    ns, plan = await listing(creation_time={"from": times[5], "to": times[7]})
    assert ns == [5.0, 6.0, 7.0]
    assert plan == {"index": "by_creation_time", "fields": ["_creationTime"]}
    ns, plan = await listing([{"field": "status", "op": "eq", "value": "late"}],
                             index="by_creation_time")
    assert ns == [float(i) for i in range(2, 30, 3)]
    assert plan == {"index": "by_creation_time", "fields": []}
    data = await fail(deployment, "_system/frontend/paginatedTableDocuments", {
        "table": "tasks", "paginationOpts": PAGE,
        "filters": [{"field": "n", "op": "eq", "value": 1.0},
                    {"field": "n", "op": "like", "value": 1.0}]})
    assert (data["code"], data["documentIndex"]) == ("InvalidFilter", 1.0)
    assert "unknown operator" in data["message"]
    data = await fail(deployment, "_system/frontend/filterPlan",
                      {"table": "tasks", "index": "by_nothing"})
    assert data["code"] == "UnknownIndex"


async def test_clear_and_delete_tables(deployment):
    await seed_tasks(deployment, 5)
    await run(deployment, "_system/frontend/addDocuments",
              {"table": "scratch", "documents": [{"x": float(i)} for i in range(7)]})
    data = await fail(deployment, "_system/frontend/deleteTable", {"table": "tasks"})
    assert data["code"] == "TableInSchema" and "schema" in data["message"]
    assert await run(deployment, "_system/frontend/clearTable", {"table": "tasks"}) == 5
    assert await run(deployment, "_system/frontend/deleteTable", {"table": "scratch"}) == 7
    assert await run(deployment, "_system/frontend/tables") == [
        {"name": "tasks", "documents": 0}, {"name": "users", "documents": 0}]
    history = await run(deployment, "_system/history:list", {})
    actions = {e["action"]: e["metadata"] for e in history["page"]}
    assert actions["clear_tables"]["tables"] == [{"table": "tasks", "documents": 5.0}]
    assert actions["delete_tables"]["tables"] == [{"table": "scratch", "documents": 7.0}]
    # A document written into the deleted table brings it back.
    await run(deployment, "_system/frontend/addDocuments",
              {"table": "scratch", "documents": [{"x": 1.0}]})
    assert await run(deployment, "_system/frontend/tables") == [
        {"name": "scratch", "documents": 1}, {"name": "tasks", "documents": 0},
        {"name": "users", "documents": 0}]


async def test_clear_a_table_of_100k_documents(deployment):
    db = deployment.db
    for start in range(0, 100_000, 20_000):
        tx = db.begin(limits=False)
        for i in range(start, start + 20_000):
            await tx.insert("big", {"i": float(i)})
        await tx.commit()
    assert await run(deployment, "_system/frontend/tableSize", {"table": "big"}) == 100_000
    assert await run(deployment, "_system/frontend/clearTable", {"table": "big"}) == 100_000
    assert await run(deployment, "_system/frontend/tableSize", {"table": "big"}) == 0


async def test_table_counts_are_live_and_read_no_document(deployment, monkeypatch):
    """The tables query of a 200,000-document table reads no document (rows counted at
    the storage interface), and re-runs when the table or the table list changes."""
    db = deployment.db
    for start in range(0, 200_000, 50_000):
        tx = db.begin(limits=False)
        for i in range(start, start + 50_000):
            await tx.insert("big", {"i": float(i)})
        await tx.commit()
    rows = []
    persistence = db.persistence
    for name in ("scan_index", "scan_table", "snapshot_page"):
        original = getattr(persistence, name)

        def counting(*args, _original=original, **kwargs):
            result = _original(*args, **kwargs)
            rows.append(len(result))
            return result
        monkeypatch.setattr(persistence, name, counting)
    original_get = persistence.get_document
    monkeypatch.setattr(persistence, "get_document",
                        lambda *a: rows.append(1) or original_get(*a))
    engine = deployment.sync
    s, sent = session(engine, "admin")
    await engine.authenticate(s, Authenticate("Admin", deployment.admin_keys.admin_key(), 0))
    await engine.modify_query_set(s, add(1, "_system/frontend/tables", {}, 0))
    await settle(engine)
    assert values(sent)[1][0] == {"name": "big", "documents": 200_000}
    assert sum(rows) == 0, rows
    await mutate(deployment, "tasks:add", {"title": "a", "status": "open", "n": 1.0})
    await settle(engine)
    assert values(sent)[1][1] == {"name": "tasks", "documents": 1}
    await run(deployment, "_system/frontend/addDocuments",
              {"table": "fresh", "documents": [{}]})  # a new table appears in the list
    await settle(engine)
    assert [t["name"] for t in values(sent)[1]] == ["big", "fresh", "tasks", "users"]
    tx = db.begin()
    await tx.delete((await tx.query("big").first())["_id"])
    await tx.commit()
    await settle(engine)
    assert values(sent)[1][0] == {"name": "big", "documents": 199_999}
    assert await run(deployment, "_system/frontend/tableSize", {"table": "big"}) == 199_999


async def test_generate_schema_from_the_data(deployment):
    [user] = await run(deployment, "_system/frontend/addDocuments",
                       {"table": "users", "documents": [{"name": "ada"}]})
    await run(deployment, "_system/frontend/addDocuments", {"table": "notes", "documents": [
        {"text": "a", "by": user, "tags": ["x"], "n": Int64(3), "meta": {"k": 1.0}},
        {"text": "b", "by": user, "tags": [], "pinned": True, "meta": None},
    ]})
    source = (await run(deployment, "_system/frontend/generateSchema"))["source"]
    assert '"by": v.id("users")' in source
    assert '"pinned": v.optional(v.boolean())' in source
    assert '"n": v.optional(v.int64())' in source
    assert '"meta": v.union(v.object({' in source
    namespace: dict = {}
    exec(source, namespace)  # it is a working schema.py that the documents satisfy
    schema = namespace["schema"]
    notes = await run(deployment, "_system/frontend/paginatedTableDocuments",
                      {"table": "notes", "paginationOpts": PAGE})
    for doc in notes["page"]:
        fields = {k: v for k, v in doc.items() if not k.startswith("_")}
        schema.tables["notes"].validate_document(fields)
