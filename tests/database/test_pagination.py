"""Cursor pagination, including pinned end cursors for gapless reactive pages."""

from __future__ import annotations

import pytest

from syncline.database import Database
from syncline.errors import QueryError, WriteConflictError


async def fill(db: Database, n: int, start: int = 0) -> None:
    async def fn(tx):
        for i in range(start, start + n):
            await tx.insert("items", {"i": float(i)})
    await db.run_transaction(fn)


async def page(db: Database, opts: dict, order: str = "asc", flt=None) -> dict:
    def build(tx):
        q = tx.query("items").order(order)
        if flt is not None:
            q = q.filter(flt)
        return q.paginate(opts)
    return await db.read(build)


async def test_pages_cover_everything_once(db: Database) -> None:
    await fill(db, 25)
    cursor, seen, pages = None, [], 0
    while True:
        result = await page(db, {"numItems": 10, "cursor": cursor})
        seen += [d["i"] for d in result["page"]]
        pages += 1
        cursor = result["continueCursor"]
        assert isinstance(cursor, str)
        if result["isDone"]:
            break
    assert seen == [float(i) for i in range(25)]
    assert pages == 3
    again = await page(db, {"numItems": 10, "cursor": cursor})
    assert again == {"page": [], "isDone": True, "continueCursor": cursor,
                     "splitCursor": None, "pageStatus": None}


async def test_desc_pages_and_filters(db: Database) -> None:
    await fill(db, 10)
    first = await page(db, {"numItems": 3, "cursor": None}, "desc",
                       lambda q: q.eq(q.mod(q.field("i"), 2), 0))
    assert [d["i"] for d in first["page"]] == [8.0, 6.0, 4.0]
    second = await page(db, {"numItems": 3, "cursor": first["continueCursor"]}, "desc",
                        lambda q: q.eq(q.mod(q.field("i"), 2), 0))
    assert [d["i"] for d in second["page"]] == [2.0, 0.0]
    assert second["isDone"]


async def test_end_cursor_pins_the_page_boundary(db: Database) -> None:
    await fill(db, 10)
    first = await page(db, {"numItems": 4, "cursor": None})
    second = await page(db, {"numItems": 4, "cursor": first["continueCursor"]})
    # documents inserted later land after the pinned page: a re-run keeps its boundary
    async def insert_between(tx):
        docs = await tx.query("items").collect()
        await tx.delete(docs[1]["_id"])
    await db.run_transaction(insert_between)
    await fill(db, 3, start=100)
    rerun = await page(db, {"numItems": 4, "cursor": None, "endCursor": first["continueCursor"]})
    assert [d["i"] for d in rerun["page"]] == [0.0, 2.0, 3.0]
    assert rerun["continueCursor"] == first["continueCursor"]
    assert rerun["isDone"] is False
    rerun2 = await page(db, {"numItems": 4, "cursor": first["continueCursor"],
                             "endCursor": second["continueCursor"]})
    assert [d["i"] for d in rerun2["page"]] == [4.0, 5.0, 6.0, 7.0]


async def test_a_page_read_conflicts_only_inside_its_range(db: Database) -> None:
    await fill(db, 10)
    reader = db.begin()
    result = await reader.query("items").paginate({"numItems": 3, "cursor": None})
    assert not result["isDone"]
    await reader.insert("audit", {})
    await fill(db, 1, start=50)  # lands after the page
    await reader.commit()

    reader = db.begin()
    result = await reader.query("items").paginate({"numItems": 100, "cursor": None})
    assert result["isDone"]
    await reader.insert("audit", {})
    await fill(db, 1, start=60)  # the page read to the end of the range
    with pytest.raises(WriteConflictError):
        await reader.commit()


async def test_bad_cursors(db: Database) -> None:
    await fill(db, 3)
    result = await page(db, {"numItems": 1, "cursor": None})
    with pytest.raises(QueryError, match="different query"):
        await page(db, {"numItems": 1, "cursor": result["continueCursor"]}, "desc")
    with pytest.raises(QueryError, match="Invalid pagination cursor"):
        await page(db, {"numItems": 1, "cursor": "garbage!"})
    with pytest.raises(QueryError, match="at least 1"):
        await page(db, {"numItems": 0, "cursor": None})


async def test_maximum_rows_read_limits_scanning(db: Database) -> None:
    await fill(db, 10)
    result = await page(db, {"numItems": 10, "cursor": None, "maximumRowsRead": 4},
                        flt=lambda q: q.eq(q.mod(q.field("i"), 2), 0))
    assert [d["i"] for d in result["page"]] == [0.0, 2.0]
    assert result["isDone"] is False


async def test_an_edited_cursor_cannot_escape_the_query_range(db: Database) -> None:
    async def fill_owners(tx):
        for owner in ("alice", "bob", "carol"):
            for i in range(3):
                await tx.insert("notes", {"owner": owner, "i": float(i)})
    await db.run_transaction(fill_owners)
    from syncline.schema import define_schema, define_table, v
    await db.apply_schema(define_schema({"notes": define_table(
        {"owner": v.string(), "i": v.number()}).index("by_owner", ["owner"])}))

    def bob_page(cursor, end_cursor=None, order="asc", num_items=10):
        opts = {"numItems": num_items, "cursor": cursor}
        if end_cursor is not None:
            opts["endCursor"] = end_cursor
        return db.read(lambda tx: tx.query("notes").with_index(
            "by_owner", lambda q: q.eq("owner", "bob")).order(order).paginate(opts))

    import base64
    for order in ("asc", "desc"):
        first = await bob_page(None, order=order, num_items=1)
        assert [d["owner"] for d in first["page"]] == ["bob"]
        assert not first["isDone"]  # so its cursor is a key cursor we can forge from
        header = base64.urlsafe_b64decode(first["continueCursor"] + "==")[:6]
        # forged cursors with a valid fingerprint, pointing before and after bob's rows
        for forged_key in (b"", b"\x60a", b"\x60bz", b"\xff" * 8):
            forged = base64.urlsafe_b64encode(header + forged_key).decode().rstrip("=")
            for cursor, end_cursor in ((forged, None), (None, forged)):
                result = await bob_page(cursor, end_cursor, order)
                assert {d["owner"] for d in result["page"]} <= {"bob"}


async def test_maximum_bytes_read_and_bad_options(db: Database) -> None:
    await fill(db, 10)
    result = await page(db, {"numItems": 10, "cursor": None, "maximumBytesRead": 1})
    assert len(result["page"]) == 1 and not result["isDone"]
    for bad in ({"maximumRowsRead": 0}, {"maximumBytesRead": -5}):
        with pytest.raises(QueryError, match="at least 1|non-negative"):
            await page(db, {"numItems": 3, "cursor": None, **bad})
