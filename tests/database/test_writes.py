"""insert / get / patch / replace / delete semantics, read-your-own-writes, persistence."""

from __future__ import annotations

import math

import pytest

from syncline.database import Database, UnawaitedWriteError
from syncline.errors import (
    DatabaseInUseError,
    DocumentNotFoundError,
    InvalidIdError,
    InvalidValueError,
    ReadOnlyTransactionError,
    TransactionClosedError,
)
from syncline.values import UNDEFINED, Int64, decode_id


async def insert(db: Database, table: str, doc: dict) -> str:
    async def fn(tx):
        return await tx.insert(table, doc)
    return await db.run_transaction(fn)


async def get(db: Database, doc_id: str):
    return await db.read(lambda tx: tx.get(doc_id))


async def test_insert_assigns_system_fields_and_round_trips_values(db: Database) -> None:
    doc = {"s": "héllo", "f": 1.5, "i": Int64(-(2**63)), "b": b"\x00\xff", "n": None,
           "t": True, "a": [1.0, [2.0]], "o": {"x": {"y": "z"}}, "nan": math.nan, "neg0": -0.0}
    doc_id = await insert(db, "things", doc)
    got = await get(db, doc_id)
    assert got["_id"] == doc_id
    assert isinstance(got["_creationTime"], float)
    assert type(got["i"]) is Int64 and got["i"] == -(2**63)
    assert math.isnan(got["nan"]) and math.copysign(1.0, got["neg0"]) == -1.0
    rest = {k: v for k, v in got.items() if k not in ("_id", "_creationTime", "nan")}
    expected = {k: v for k, v in doc.items() if k != "nan"}
    assert rest == expected
    table_number, _ = decode_id(doc_id)
    assert table_number == db.tables.get("things").number


async def test_plain_int_is_stored_as_float64(db: Database) -> None:
    doc_id = await insert(db, "things", {"n": 3})
    got = await get(db, doc_id)
    assert type(got["n"]) is float and got["n"] == 3.0


async def test_creation_times_strictly_increase(db: Database) -> None:
    async def fn(tx):
        return [await tx.insert("t", {"k": float(i)}) for i in range(200)]
    ids = await db.run_transaction(fn)
    docs = await db.read(lambda tx: tx.query("t").collect())
    assert [d["_id"] for d in docs] == ids
    times = [d["_creationTime"] for d in docs]
    assert all(a < b for a, b in zip(times, times[1:], strict=False))


async def test_patch_is_a_shallow_merge_and_undefined_removes(db: Database) -> None:
    doc_id = await insert(db, "t", {"a": 1.0, "b": {"x": 1.0, "y": 2.0}, "c": "keep"})

    async def fn(tx):
        await tx.patch(doc_id, {"a": 2.0, "b": {"x": 5.0}, "c": UNDEFINED, "d": "new"})
    await db.run_transaction(fn)
    got = await get(db, doc_id)
    assert {k: v for k, v in got.items() if not k.startswith("_")} == {
        "a": 2.0, "b": {"x": 5.0}, "d": "new"}


async def test_replace_drops_missing_fields_and_keeps_system_fields(db: Database) -> None:
    doc_id = await insert(db, "t", {"a": 1.0, "b": 2.0})
    before = await get(db, doc_id)

    async def fn(tx):
        await tx.replace(doc_id, {"z": "only"})
    await db.run_transaction(fn)
    after = await get(db, doc_id)
    assert after == {"_id": doc_id, "_creationTime": before["_creationTime"], "z": "only"}


async def test_system_fields_cannot_be_written(db: Database) -> None:
    doc_id = await insert(db, "t", {"a": 1.0})

    async def set_id(tx):
        await tx.insert("t", {"_id": doc_id})
    with pytest.raises(InvalidValueError, match="System field"):
        await db.run_transaction(set_id)

    async def change_time(tx):
        await tx.patch(doc_id, {"_creationTime": 5.0})
    with pytest.raises(InvalidValueError, match="_creationTime"):
        await db.run_transaction(change_time)

    async def reserved(tx):
        await tx.insert("t", {"_secret": 1.0})
    with pytest.raises(InvalidValueError):
        await db.run_transaction(reserved)


async def test_writing_a_missing_document_is_a_clear_error(db: Database) -> None:
    doc_id = await insert(db, "t", {"a": 1.0})

    async def remove(tx):
        await tx.delete(doc_id)
    await db.run_transaction(remove)
    for op in ("patch", "replace", "delete"):
        async def fn(tx, op=op):
            if op == "delete":
                await tx.delete(doc_id)
            else:
                await getattr(tx, op)(doc_id, {"a": 2.0})
        with pytest.raises(DocumentNotFoundError, match=doc_id):
            await db.run_transaction(fn)
    assert await get(db, doc_id) is None


async def test_bad_ids_are_rejected(db: Database) -> None:
    with pytest.raises(InvalidIdError):
        await get(db, "not-an-id")
    with pytest.raises(InvalidIdError):
        await get(db, 42)  # type: ignore[arg-type]


async def test_read_your_own_writes_in_get_and_queries(db: Database) -> None:
    existing = await insert(db, "t", {"k": 1.0})

    async def fn(tx):
        new_id = await tx.insert("t", {"k": 2.0})
        await tx.patch(existing, {"k": 10.0})
        assert (await tx.get(new_id))["k"] == 2.0
        assert (await tx.get(existing))["k"] == 10.0
        docs = await tx.query("t").collect()
        assert [d["k"] for d in docs] == [10.0, 2.0]
        await tx.delete(new_id)
        assert await tx.get(new_id) is None
        assert [d["k"] for d in await tx.query("t").collect()] == [10.0]
        return new_id
    await db.run_transaction(fn)
    assert [d["k"] for d in await db.read(lambda tx: tx.query("t").collect())] == [10.0]


async def test_returned_documents_are_copies(db: Database) -> None:
    async def fn(tx):
        doc_id = await tx.insert("t", {"a": [1.0]})
        doc = await tx.get(doc_id)
        doc["a"].append(2.0)
        return (await tx.get(doc_id))["a"]
    assert await db.run_transaction(fn) == [1.0]


async def test_forgotten_await_fails_loudly(db: Database) -> None:
    async def fn(tx):
        tx.insert("t", {"a": 1.0})  # no await
    with pytest.raises(UnawaitedWriteError, match="never awaited"):
        await db.run_transaction(fn)
    assert await db.read(lambda tx: tx.query("t").collect()) == []


async def test_read_only_transactions_refuse_writes(db: Database) -> None:
    async def fn(tx):
        tx.insert("t", {"a": 1.0})
    with pytest.raises(ReadOnlyTransactionError):
        await db.read(fn)


async def test_transaction_cannot_be_used_after_commit(db: Database) -> None:
    tx = db.begin()
    await tx.insert("t", {"a": 1.0})
    await tx.commit()
    with pytest.raises(TransactionClosedError):
        await tx.get("x")


async def test_invalid_table_names(db: Database) -> None:
    for name in ("_system", "1abc", "has space", ""):
        async def fn(tx, name=name):
            await tx.insert(name, {})
        with pytest.raises(InvalidValueError, match="table name"):
            await db.run_transaction(fn)


async def test_normalize_id(db: Database) -> None:
    a = await insert(db, "a", {})
    await insert(db, "b", {})

    async def fn(tx):
        return tx.normalize_id("a", a), tx.normalize_id("b", a), tx.normalize_id("a", "zzz")
    assert await db.read(fn) == (a, None, None)


async def test_data_survives_reopen_and_clocks_keep_increasing(db_path) -> None:
    first = Database(db_path)
    async def fn(tx):
        return await tx.insert("t", {"a": 1.0})
    doc_id = await first.run_transaction(fn)
    created = (await first.read(lambda tx: tx.get(doc_id)))["_creationTime"]
    ts = first.visible_ts
    first.close()

    second = Database(db_path)
    try:
        assert (await second.read(lambda tx: tx.get(doc_id)))["a"] == 1.0
        assert second.visible_ts >= ts
        second_id = await second.run_transaction(fn)
        assert decode_id(second_id)[0] == decode_id(doc_id)[0]
        later = (await second.read(lambda tx: tx.get(second_id)))["_creationTime"]
        assert later > created
        assert second.visible_ts > ts
    finally:
        second.close()


async def test_table_names_lists_tables_with_data(db: Database) -> None:
    await db.read(lambda tx: tx.query("only_queried").collect())
    await insert(db, "real", {})
    assert db.table_names() == ["real"]


async def test_table_name_length_limit(db: Database) -> None:
    await insert(db, "t" * 64, {})

    async def fn(tx):
        await tx.insert("t" * 65, {})
    with pytest.raises(InvalidValueError, match="at most 64"):
        await db.run_transaction(fn)


def test_a_second_database_on_the_same_file_is_refused(db: Database, db_path) -> None:
    with pytest.raises(DatabaseInUseError, match="already open"):
        Database(db_path)


async def test_rollback_to_savepoint_undoes_only_later_writes(db):
    async def body(tx):
        kept = await tx.insert("t", {"n": 1})
        point = tx.savepoint()
        dropped = await tx.insert("t", {"n": 2})
        await tx.patch(kept, {"n": 10})
        inner = tx.savepoint()
        await tx.insert("t", {"n": 3})
        tx.release(inner)
        tx.rollback_to(point)
        assert await tx.get(dropped) is None
        assert (await tx.get(kept))["n"] == 1
        assert [d["n"] for d in await tx.query("t").collect()] == [1]
        second = tx.savepoint()
        await tx.insert("t", {"n": 4})
        tx.release(second)
        return kept

    await db.run_transaction(body)
    rows = await db.read(lambda tx: tx.query("t").collect())
    assert sorted(d["n"] for d in rows) == [1, 4]


async def test_rollback_forgets_unawaited_writes_of_the_failed_part(db):
    tx = db.begin()
    point = tx.savepoint()
    tx.insert("t", {"n": 1})  # never awaited, but rolled back
    tx.rollback_to(point)
    await tx.commit()
    assert await db.read(lambda t: t.query("t").collect()) == []
