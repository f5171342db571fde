"""System tables: fixed numbers, written only by the runtime, readable when asked for."""

import pytest

from syncline.errors import InvalidIdError, InvalidValueError
from syncline.values import decode_id


async def test_the_runtime_writes_system_tables_and_reads_them_back(db):
    async def schedule(tx):
        return await tx.insert("_scheduled_functions", {"name": "a:b", "state": "pending"},
                               system=True)

    job = await db.run_transaction(schedule)
    assert decode_id(job)[0] == 1  # fixed table number: stable IDs
    rows = await db.read(lambda tx: tx.query("_scheduled_functions", system=True).collect())
    assert [r["name"] for r in rows] == ["a:b"]

    async def finish(tx):
        await tx.patch(job, {"state": "success"}, system=True)

    await db.run_transaction(finish)
    doc = await db.read(lambda tx: tx.get(job))
    assert doc["state"] == "success"
    assert db.table_names() == []  # system tables are not user tables


async def test_user_code_cannot_write_or_name_system_tables(db):
    job = await db.run_transaction(
        lambda tx: tx.insert("_scheduled_functions", {"n": 1.0}, system=True))
    tx = db.begin()
    with pytest.raises(InvalidValueError, match="Invalid table name"):
        tx.insert("_scheduled_functions", {"n": 2.0})
    with pytest.raises(InvalidValueError, match="Invalid table name"):
        await tx.query("_scheduled_functions").collect()
    for write in (lambda: tx.patch(job, {"n": 3.0}), lambda: tx.replace(job, {"n": 3.0}),
                  lambda: tx.delete(job)):
        with pytest.raises(InvalidIdError, match="only syncline writes"):
            write()
    with pytest.raises(InvalidValueError, match="not a system table"):
        tx.insert("_made_up", {}, system=True)
    tx.abort()
