"""The dashboard's Data page (`_system/frontend/...`): filtered listings, edits, clearing
and deleting tables, references and a generated schema. The contract is DATA_API
(docs/dashboard.md): every refusal the page shows next to a field is a ConvexError whose
data is `{code, message, path, documentIndex}`.

Edits go through the call's transaction like any mutation's (schema validation, OCC with
retries, history via record_admin_edit). Clearing a table is an action deleting bounded
batches, each its own mutation, so a table of any size clears in bounded memory.
"""

from __future__ import annotations

import re
from typing import Any

from syncline.database.transaction import UnlimitedUsage
from syncline.errors import (
    ConvexError,
    DocumentNotFoundError,
    InvalidIdError,
    SynclineError,
    ValidationError,
)
from syncline.schema import v
from syncline.system.cli_functions import PAGINATION
from syncline.system.document_filters import (
    Condition,
    FilterError,
    Plan,
    creation_time_conditions,
    parse_conditions,
    plan,
    plan_for,
)
from syncline.system.history import (
    CLEAR_TABLES,
    DELETE_TABLES,
    record_admin_edit,
    record_table_change,
)
from syncline.system.registry import system_action, system_mutation, system_query
from syncline.system.schema_inference import infer_schema_source
from syncline.values import UNDEFINED

MAX_EDITED = 1_000  # documents one add / patch / delete call may name
CLEAR_BATCH = 2_000  # documents one clearing mutation deletes at most ...
CLEAR_BATCH_BYTES = 4 * 1024 * 1024  # ... and bytes of them
FILTERED_PAGE_ROWS = 10_000  # rows a filtered page reads at most (then a short page)
SAMPLE = 10_000  # documents per table generateSchema looks at
ORDER = v.optional(v.union(v.literal("asc"), v.literal("desc")))
FILTERS = v.optional(v.array(v.any()))
CREATION_TIME = v.optional(v.object({"from": v.optional(v.float64()),
                                     "to": v.optional(v.float64())}))
_MISSING_FIELD = re.compile(r"(?:missing the required field|extra field) `([^`]+)`")


def failure(code: str, message: str, path: str | None = None,
            index: int | None = None) -> ConvexError:
    """The ConvexError the page shows: `{code, message, path, documentIndex}`."""
    return ConvexError({"code": code, "message": message, "path": path,
                        "documentIndex": None if index is None else float(index)})


def _validation_path(error: ValidationError) -> str | None:
    """The field a validation error is about: its path, or the field it names as
    missing or extra (whose error is reported on the object holding it)."""
    match = _MISSING_FIELD.search(str(error))
    if match is not None:
        return f"{error.path}.{match.group(1)}"
    return error.path or None


def _write_failure(error: Exception, index: int) -> ConvexError:
    if isinstance(error, ValidationError):
        return failure("SchemaValidation", str(error), _validation_path(error), index)
    if isinstance(error, (DocumentNotFoundError, InvalidIdError)):
        return failure("NotFound", str(error), None, index)
    return failure("InvalidDocument", str(error), None, index)


def _user_table(ctx: Any, table: str, *, existing: bool = True) -> str:
    if not isinstance(table, str) or table.startswith("_"):
        raise failure("UnknownTable", f"{table!r} is not a user table: system tables "
                      "cannot be edited here")
    if existing and table not in ctx.db.user_tables():
        raise failure("UnknownTable", f"Table {table!r} not found")
    return table


def _check_many(items: list[Any], what: str) -> None:
    if len(items) > MAX_EDITED:
        raise failure("InvalidArgument", f"At most {MAX_EDITED} {what} per call, got "
                      f"{len(items)}; split the edit")


def _own_id(tx: Any, table: str, document_id: Any, index: int) -> str:
    if tx.normalize_id(table, document_id) is None:
        raise failure("NotFound", f"{document_id!r} is not an ID of a document in table "
                      f"{table!r}", None, index)
    return document_id


# ----------------------------------------------------------------------------- reading


def _conditions(filters: Any, creation_time: Any) -> list[Condition]:
    try:
        return [*parse_conditions(filters, lambda value: value),
                *creation_time_conditions(creation_time)]
    except FilterError as e:
        raise failure("InvalidFilter", str(e), None, e.index) from None


def _plan(ctx: Any, table: str, conditions: list[Condition], index: str | None) -> Plan:
    tx = ctx.db.transaction
    info = tx.table(table, system=table.startswith("_"))
    if index is not None:
        chosen = tx.find_index(info, index)
        if chosen is None:
            names = ", ".join(i.name for i in tx.indexes_of(info))
            raise failure("UnknownIndex", f"Table {table!r} has no index {index!r}; its "
                          f"indexes: {names}")
        return plan_for(chosen, conditions)
    return plan(tx.indexes_of(info), conditions, info.by_creation_time)


def _readable(ctx: Any, table: str) -> str:
    from syncline.system.tables import readable_table

    return readable_table(ctx, table)


@system_query("_system/frontend/paginatedTableDocuments", args={
    "table": v.string(), "index": v.optional(v.string()), "order": ORDER,
    "paginationOpts": PAGINATION, "filters": FILTERS, "creationTime": CREATION_TIME})
async def table_documents(ctx: Any, table: str, paginationOpts: dict[str, Any],  # noqa: N803
                          index: str | None = None, order: str | None = None,
                          filters: list[Any] | None = None,
                          creationTime: dict[str, Any] | None = None) -> Any:  # noqa: N803
    """A page of the table's documents matching the filters, in an index's order."""
    table = _readable(ctx, table)
    conditions = _conditions(filters, creationTime)
    chosen = _plan(ctx, table, conditions, index)
    ranged = chosen.equal or chosen.lower is not None or chosen.upper is not None
    query = ctx.db.query(table).with_index(chosen.index.name,
                                           chosen.range if ranged else None)
    query = query.order(order or "desc")
    options = dict(paginationOpts)
    for condition in conditions:
        query = query.filter(condition.predicate)
    if conditions and options.get("maximumRowsRead") is None:
        options["maximumRowsRead"] = float(FILTERED_PAGE_ROWS)  # a short page, not a failure
    return await query.paginate(options)


@system_query("_system/frontend/filterPlan", args={
    "table": v.string(), "filters": FILTERS, "creationTime": CREATION_TIME,
    "index": v.optional(v.string())})
async def filter_plan(ctx: Any, table: str, filters: list[Any] | None = None,
                      creationTime: dict[str, Any] | None = None,  # noqa: N803
                      index: str | None = None) -> dict[str, Any]:
    """Which index paginatedTableDocuments reads for these filters, and the fields its
    range uses."""
    table = _readable(ctx, table)
    chosen = _plan(ctx, table, _conditions(filters, creationTime), index)
    return {"index": chosen.index.name, "fields": chosen.fields}


@system_query("_system/frontend/document", args={"id": v.string()})
async def document(ctx: Any, id: str) -> Any:  # noqa: A002 - the argument's name
    """The document with this ID, or None (also for a malformed ID or a system table's)."""
    tx = ctx.db.transaction
    table = tx.database.tables.table_of_id(id)
    if table is None or table.startswith("_"):
        return None
    try:
        return await ctx.db.get(id)
    except SynclineError:
        return None


@system_query("_system/frontend/generateSchema")
async def generate_schema(ctx: Any) -> dict[str, Any]:
    """A `convex/schema.py` inferred from (up to SAMPLE of) each table's documents."""
    tx = ctx.db.transaction
    if not isinstance(tx.usage, UnlimitedUsage):  # an admin tool, not held to read limits
        usage = UnlimitedUsage()
        for name in tx.usage.__slots__:
            setattr(usage, name, getattr(tx.usage, name))
        tx.usage = usage
    samples = {}
    for table in ctx.db.user_tables():
        samples[table] = await ctx.db.query(table).order("desc").take(SAMPLE)
    return {"source": infer_schema_source(samples, tx.database.tables.table_of_id)}


# ----------------------------------------------------------------------------- editing


@system_mutation("_system/frontend/addDocuments", args={
    "table": v.string(), "documents": v.array(v.any())})
async def add_documents(ctx: Any, table: str, documents: list[Any]) -> list[str]:
    table = _user_table(ctx, table, existing=False)
    _check_many(documents, "documents")
    ids = []
    for i, doc in enumerate(documents):
        if not isinstance(doc, dict):
            raise failure("InvalidDocument", f"A document must be an object, got {doc!r:.80}",
                          None, i)
        try:
            ids.append(await ctx.db.insert(table, doc))
        except (SynclineError, ValueError) as e:
            raise _write_failure(e, i) from None
    await record_admin_edit(ctx.db.transaction, table, "insert", ids)
    return ids


@system_mutation("_system/frontend/patchDocumentsFields", args={
    "table": v.string(), "ids": v.array(v.string()), "fields": v.any(),
    "unset": v.optional(v.array(v.string()))})
async def patch_documents_fields(ctx: Any, table: str, ids: list[str], fields: Any,
                                 unset: list[str] | None = None) -> None:
    table = _user_table(ctx, table)
    _check_many(ids, "IDs")
    if not isinstance(fields, dict):
        raise failure("InvalidDocument", f"fields must be an object, got {fields!r:.80}")
    change = dict(fields)
    for name in unset or []:
        change[name] = UNDEFINED
    for name in change:
        if name in ("_id", "_creationTime"):
            raise failure("InvalidDocument", f"The system field {name} cannot be edited",
                          f".{name}", None)
    tx = ctx.db.transaction
    for i, document_id in enumerate(ids):
        _own_id(tx, table, document_id, i)
        try:
            await ctx.db.patch(document_id, change)
        except (SynclineError, ValueError) as e:
            raise _write_failure(e, i) from None
    await record_admin_edit(tx, table, "patch", list(ids))


@system_mutation("_system/frontend/replaceDocument", args={"id": v.string(),
                                                           "document": v.any()})
async def replace_document(ctx: Any, id: str, document: Any) -> None:  # noqa: A002
    tx = ctx.db.transaction
    table = tx.database.tables.table_of_id(id)
    if table is None or table.startswith("_"):
        raise failure("NotFound", f"{id!r} is not an ID of a document in a user table",
                      None, 0)
    if not isinstance(document, dict):
        raise failure("InvalidDocument", f"A document must be an object, got {document!r:.80}",
                      None, 0)
    try:
        await ctx.db.replace(id, document)
    except (SynclineError, ValueError) as e:
        raise _write_failure(e, 0) from None
    await record_admin_edit(tx, table, "replace", [id])


@system_mutation("_system/frontend/deleteDocuments", args={
    "table": v.string(), "ids": v.array(v.string())})
async def delete_documents(ctx: Any, table: str, ids: list[str]) -> float:
    table = _user_table(ctx, table)
    _check_many(ids, "IDs")
    tx = ctx.db.transaction
    deleted = []
    for i, document_id in enumerate(ids):
        _own_id(tx, table, document_id, i)
        if await ctx.db.get(document_id) is None:
            continue  # already gone: deleting it again is no error
        await ctx.db.delete(document_id)
        deleted.append(document_id)
    if deleted:
        await record_admin_edit(tx, table, "delete", deleted)
    return float(len(deleted))


# ----------------------------------------------------------------------------- tables


@system_mutation("_system/frontend/clearTableBatch", args={
    "table": v.string(), "after": v.optional(v.float64()),
    "start": v.optional(v.union(v.literal("clear"), v.literal("delete")))})
async def clear_table_batch(ctx: Any, table: str, after: float | None = None,
                            start: str | None = None) -> dict[str, Any]:
    """Delete the next batch of the table's documents in creation order after `after`
    (a `_creationTime`), at most CLEAR_BATCH of them or CLEAR_BATCH_BYTES. `start` (the
    first batch of a clear or a delete) checks the table and records the history event
    with the count. `remaining` is the maintained count after this batch."""
    tx = ctx.db.transaction
    if start is not None:
        _user_table(ctx, table)
        pushed = tx.database.schema
        if start == "delete" and pushed is not None and table in pushed.tables:
            raise failure("TableInSchema", f"Table {table!r} is declared in convex/schema.py, "
                          "so it cannot be deleted: remove it from the schema and push first "
                          "(or clear it instead)")
        if start == "clear":
            await record_table_change(tx, CLEAR_TABLES, {table: tx.document_count(table)})
    query = ctx.db.query(table)
    if after is not None:
        query = query.with_index("by_creation_time", lambda q: q.gt("_creationTime", after))
    deleted, size, last = 0, 0, after
    async for doc in query:
        await ctx.db.delete(doc["_id"])
        deleted += 1
        last = doc["_creationTime"]
        size += len(repr(doc))
        if deleted >= CLEAR_BATCH or size >= CLEAR_BATCH_BYTES:
            break
    done = deleted < CLEAR_BATCH and size < CLEAR_BATCH_BYTES
    return {"deleted": float(deleted), "after": last, "done": done,
            "remaining": float(tx.document_count(table))}


@system_mutation("_system/frontend/hideTable", args={"table": v.string(),
                                                     "documents": v.float64()})
async def hide_table(ctx: Any, table: str, documents: float) -> None:
    """Leave the (now empty) table out of the table list, recording the deletion; the
    commit makes readers of the list re-run."""
    tx = ctx.db.transaction
    await tx.database.hide_table(table)
    tx.table_names_changed = True
    await record_table_change(tx, DELETE_TABLES, {table: int(documents)})


async def _clear(ctx: Any, table: str, start: str) -> float:
    total, after = 0.0, None
    mode: str | None = start
    while True:
        args: dict[str, Any] = {"table": table}
        if after is not None:
            args["after"] = after
        if mode is not None:
            args["start"] = mode
        batch = await ctx.run_mutation("_system/frontend/clearTableBatch", args)
        mode = None
        total += batch["deleted"]
        after = batch["after"]
        if batch["done"]:
            if batch["remaining"] == 0:
                return total
            after = None  # documents created before the cursor meanwhile: go round again


@system_action("_system/frontend/clearTable", args={"table": v.string()})
async def clear_table(ctx: Any, table: str) -> float:
    """Delete every document of the table, a bounded batch per transaction; returns how
    many were deleted."""
    return await _clear(ctx, table, "clear")


@system_action("_system/frontend/deleteTable", args={"table": v.string()})
async def delete_table(ctx: Any, table: str) -> float:
    """Delete every document, then the table from the list (refused for a table the
    pushed schema declares)."""
    total = await _clear(ctx, table, "delete")
    await ctx.run_mutation("_system/frontend/hideTable", {"table": table, "documents": total})
    return total
