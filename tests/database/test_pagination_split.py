"""`paginate`'s `splitCursor` and `pageStatus` (Convex's PaginationResult): a page with an
end that grows too large asks the client to split it, and the split pages cover it exactly."""

from __future__ import annotations

from syncline.database import Database, query
from syncline.database.query import QueryJournal
from syncline.schema import pagination_result_validator, v


async def fill(db: Database, n: int, start: int = 0, chunk: int = 8000) -> None:
    for first in range(start, start + n, chunk):
        async def fn(tx, first=first):
            for i in range(first, min(first + chunk, start + n)):
                await tx.insert("items", {"i": float(i)})
        await db.run_transaction(fn)


async def page(db: Database, opts: dict, *, journal: QueryJournal | None = None,
               order: str = "asc", flt=None) -> dict:
    def build(tx):
        if journal is not None:
            tx.journal = journal
        q = tx.query("items").order(order)
        if flt is not None:
            q = q.filter(flt)
        return q.paginate(opts)
    return await db.read(build)


def numbers(result: dict) -> list[float]:
    return [d["i"] for d in result["page"]]


async def test_every_result_has_convex_paginationresult_fields(db: Database) -> None:
    await fill(db, 10)
    result = await page(db, {"numItems": 4, "cursor": None})
    assert set(result) == {"page", "isDone", "continueCursor", "splitCursor", "pageStatus"}
    assert result["pageStatus"] is None and isinstance(result["splitCursor"], str)
    pagination_result_validator(v.any()).validate(result)
    one = await page(db, {"numItems": 1, "cursor": None})
    assert one["splitCursor"] is None  # nothing to split in one row


async def test_split_cursor_halves_the_page_and_the_halves_cover_it(db: Database) -> None:
    await fill(db, 30)
    for order in ("asc", "desc"):
        whole = await page(db, {"numItems": 10, "cursor": None}, order=order)
        split, end = whole["splitCursor"], whole["continueCursor"]
        first = await page(db, {"numItems": 10, "cursor": None, "endCursor": split},
                           order=order)
        second = await page(db, {"numItems": 10, "cursor": split, "endCursor": end},
                            order=order)
        assert len(numbers(first)) == 5 and len(numbers(second)) == 5
        assert numbers(first) + numbers(second) == numbers(whole)


async def test_a_pinned_page_that_grew_past_twice_num_items_recommends_a_split(
        db: Database) -> None:
    # Newest first: documents inserted later land in the first page, before its end.
    await fill(db, 10)
    first = await page(db, {"numItems": 5, "cursor": None}, order="desc")
    end = first["continueCursor"]
    await fill(db, 5, start=10)
    at_twice = await page(db, {"numItems": 5, "cursor": None, "endCursor": end}, order="desc")
    assert len(at_twice["page"]) == 10 and at_twice["pageStatus"] is None
    await fill(db, 1, start=15)
    grown = await page(db, {"numItems": 5, "cursor": None, "endCursor": end}, order="desc")
    assert len(grown["page"]) == 11 and grown["pageStatus"] == "SplitRecommended"
    assert grown["continueCursor"] == end and grown["isDone"] is False
    first_half = await page(db, {"numItems": 5, "cursor": None,
                                 "endCursor": grown["splitCursor"]}, order="desc")
    second_half = await page(db, {"numItems": 5, "cursor": grown["splitCursor"],
                                  "endCursor": end}, order="desc")
    assert numbers(first_half) + numbers(second_half) == numbers(grown)
    assert first_half["pageStatus"] is None and second_half["pageStatus"] is None


async def test_a_reactive_rerun_pinned_by_its_journal_recommends_a_split(db: Database) -> None:
    await fill(db, 10)
    journal = QueryJournal()
    first = await page(db, {"numItems": 3, "cursor": None}, journal=journal, order="desc")
    assert first["pageStatus"] is None and journal.end_cursor == first["continueCursor"]
    await fill(db, 4, start=10)
    rerun = await page(db, {"numItems": 3, "cursor": None},
                       journal=QueryJournal.parse(journal.serialize()), order="desc")
    assert numbers(rerun) == [13.0, 12.0, 11.0, 10.0, 9.0, 8.0, 7.0]
    assert rerun["pageStatus"] == "SplitRecommended"
    assert rerun["continueCursor"] == first["continueCursor"]


async def test_maximum_rows_read_on_a_pinned_page_requires_a_split(db: Database) -> None:
    await fill(db, 20)
    whole = await page(db, {"numItems": 20, "cursor": None})
    end = whole["continueCursor"]
    cut = await page(db, {"numItems": 20, "cursor": None, "endCursor": end,
                          "maximumRowsRead": 8})
    assert cut["pageStatus"] == "SplitRequired"
    assert numbers(cut) == [float(i) for i in range(8)]
    # It keeps its end, so the page after it still starts there: no gap.
    assert cut["continueCursor"] == end and cut["isDone"] is False
    first = await page(db, {"numItems": 20, "cursor": None, "endCursor": cut["splitCursor"]})
    second = await page(db, {"numItems": 20, "cursor": cut["splitCursor"], "endCursor": end})
    assert numbers(first) + numbers(second) == numbers(whole)


async def test_a_page_without_an_end_cut_by_maximum_rows_read_needs_no_split(
        db: Database) -> None:
    await fill(db, 20)
    result = await page(db, {"numItems": 20, "cursor": None, "maximumRowsRead": 8},
                        flt=lambda q: q.gte(q.field("i"), 0))
    assert len(result["page"]) == 8 and result["isDone"] is False
    assert result["pageStatus"] is None  # complete up to its continueCursor


async def test_a_pinned_page_stops_at_the_documented_threshold_instead_of_failing(
        db: Database) -> None:
    assert query.SPLIT_REQUIRED_ROWS == 16_000 and query.SPLIT_RECOMMENDED_ROWS == 8_000
    await fill(db, 10)
    first = await page(db, {"numItems": 10, "cursor": None}, order="desc")
    end = first["continueCursor"]
    await fill(db, query.SPLIT_RECOMMENDED_ROWS - 10, start=10)
    big = await page(db, {"numItems": 5000, "cursor": None, "endCursor": end}, order="desc")
    assert len(big["page"]) == query.SPLIT_RECOMMENDED_ROWS
    assert big["pageStatus"] == "SplitRecommended"
    # Grown past the transaction read limit (32,000 documents scanned) it would fail:
    # it stops at half of that and requires a split.
    await fill(db, query.SPLIT_REQUIRED_ROWS * 2, start=10_000)

    async def counted(tx):
        result = await tx.query("items").order("desc").paginate(
            {"numItems": 5000, "cursor": None, "endCursor": end})
        return result, tx.usage.documents_scanned

    huge, scanned = await db.read(counted)
    assert huge["pageStatus"] == "SplitRequired"
    assert len(huge["page"]) == scanned == query.SPLIT_REQUIRED_ROWS
    assert huge["continueCursor"] == end and huge["isDone"] is False


async def test_search_pages_have_the_same_shape_and_never_ask_for_a_split(
        db: Database) -> None:
    from syncline.schema import define_schema, define_table

    await db.apply_schema(define_schema({"notes": define_table({"body": v.string()})
                                         .search_index("search_body", search_field="body")}))

    async def insert(tx):
        for i in range(12):
            await tx.insert("notes", {"body": f"apple {i}"})
    await db.run_transaction(insert)

    def search(opts):
        return lambda tx: tx.query("notes").with_search_index(
            "search_body", lambda q: q.search("body", "apple")).paginate(opts)

    first = await db.read(search({"numItems": 5, "cursor": None}))
    pinned = await db.read(search({"numItems": 1, "cursor": None,
                                   "endCursor": first["continueCursor"]}))
    for result in (first, pinned):
        assert set(result) == {"page", "isDone", "continueCursor", "splitCursor", "pageStatus"}
        assert result["splitCursor"] is None and result["pageStatus"] is None
        pagination_result_validator(v.any()).validate(result)
