"""Document queries: `db.query(table).with_index(...).order(...).filter(...)` and their terminals.

A query is a plan (index, key interval, direction, filters) executed lazily by
the terminal: `collect`, `take`, `first`, `unique`, `paginate` or `async for`.
Rows stream from storage in growing batches, and only the rows the terminal
consumed enter the read set.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

from syncline.database.filters import Expression, FilterBuilder, build_filter, matches
from syncline.database.index_range import IndexRangeBuilder
from syncline.database.limits import MAX_BYTES_READ, MAX_DOCUMENTS_SCANNED
from syncline.database.search.text_query import SearchQuery
from syncline.database.terminals import FirstAndUnique, count_argument
from syncline.errors import QueryError

if TYPE_CHECKING:
    from syncline.database.catalog import IndexInfo
    from syncline.database.transaction import Transaction

_CURSOR_VERSION = 1
_CURSOR_KEY = 0
_CURSOR_END = 1

# A page with an end (`endCursor`, or the end its first run recorded in the query journal)
# has a fixed range that grows as documents are inserted into it. It is read whole up to
# half the transaction read limits; past that it stops, returns what it read with
# `pageStatus: "SplitRequired"` and the client must split it (before the query would fail
# on the limits themselves). Past a quarter of the limits, or with more than twice the
# `numItems` it was asked for, it asks for a split with "SplitRecommended".
SPLIT_REQUIRED_ROWS = MAX_DOCUMENTS_SCANNED // 2  # 16,000
SPLIT_REQUIRED_BYTES = MAX_BYTES_READ // 2  # 8 MiB
SPLIT_RECOMMENDED_ROWS = MAX_DOCUMENTS_SCANNED // 4  # 8,000
SPLIT_RECOMMENDED_BYTES = MAX_BYTES_READ // 4  # 4 MiB
SPLIT_RECOMMENDED_GROWTH = 2  # times numItems


class QueryJournal:
    """What a reactive query's first run decided, so that its re-runs agree with it.

    The first `paginate` of a query records where its page ended; when the query
    re-runs after a write (a subscription update), the page ends at that same
    cursor, so consecutive pages stay contiguous and gapless as rows come and go.
    Serialized for the sync protocol's `journal` field.
    """

    __slots__ = ("end_cursor", "consulted")

    def __init__(self, end_cursor: str | None = None) -> None:
        self.end_cursor = end_cursor
        self.consulted = False

    @classmethod
    def parse(cls, text: str | None) -> QueryJournal:
        if not text:
            return cls()
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise QueryError(f"Invalid query journal {text!r}") from None
        end = data.get("endCursor") if isinstance(data, dict) else None
        return cls(end if isinstance(end, str) else None)

    def serialize(self) -> str | None:
        if self.end_cursor is None:
            return None
        return orjson.dumps({"endCursor": self.end_cursor}).decode()


class Query(FirstAndUnique):
    """A query under construction; immutable-by-convention builder methods return self."""

    def __init__(self, tx: Transaction, table: str, *, system: bool = False) -> None:
        self._tx = tx
        self._table = self._table_name = table
        self._system = system
        self._index_name: str | None = None
        self._range_fn: Callable[[IndexRangeBuilder], Any] | None = None
        self._order: str | None = None
        self._filters: list[Expression] = []
        self._consumed = False

    # -- building ----------------------------------------------------------------------

    def with_index(
        self, index_name: str, range_fn: Callable[[IndexRangeBuilder], Any] | None = None,
    ) -> Query:
        """Read through `index_name`, restricted by an index range expression."""
        if self._index_name is not None:
            raise QueryError("with_index() can only be called once per query")
        if self._order is not None or self._filters:
            raise QueryError("with_index() must come before order() and filter()")
        if not isinstance(index_name, str):
            raise QueryError(f"with_index() takes an index name, got {index_name!r}")
        self._index_name = index_name
        self._range_fn = range_fn
        return self

    def with_search_index(self, index_name: str, search_fn: Callable[[Any], Any]) -> Any:
        """Full text search through a search index, in relevance order (docs/search.md)."""
        if self._index_name is not None or self._order is not None or self._filters:
            raise QueryError("with_search_index() must come first, right after db.query()")
        self._consumed = True
        return SearchQuery(self._tx, self._table, self._system, index_name, search_fn)

    def full_table_scan(self) -> Query:
        """Read the whole table in creation order (what a query without an index does)."""
        return self.with_index("by_creation_time")

    def order(self, order: str) -> Query:
        if self._order is not None:
            raise QueryError("order() can only be called once per query")
        if order not in ("asc", "desc"):
            raise QueryError(f'order() takes "asc" or "desc", got {order!r}')
        self._order = order
        return self

    def filter(self, predicate: Callable[[FilterBuilder], Any]) -> Query:
        self._filters.append(build_filter(predicate))
        return self

    # -- planning ----------------------------------------------------------------------

    def _plan(self) -> tuple[IndexInfo, bytes, bytes | None, bool]:
        if self._consumed:
            raise QueryError("A query can only be executed once; build a new one with db.query()")
        self._consumed = True
        table = self._tx.table(self._table, system=self._system)
        name = self._index_name or "by_creation_time"
        index = self._tx.find_index(table, name)
        if index is None:
            raise QueryError(f"Index {self._table}.{name} not found. Define it in the schema "
                             f"with define_table(...).index({name!r}, [...])")
        builder = IndexRangeBuilder(index)
        if self._range_fn is not None:
            result = self._range_fn(builder)
            if result is not builder:
                raise QueryError(
                    "The index range function must return the range builder it was given "
                    "(for example `lambda q: q.eq('channel', c)`)"
                )
        start, end = builder.interval()
        return index, start, end, self._order == "desc"

    def _rows(self, batch: int) -> Iterator[tuple[bytes, dict[str, Any]]]:
        """Matching (key, document) pairs in query order."""
        index, start, end, reverse = self._plan()
        filters = self._filters
        for key, doc, _size in self._tx.scan(index, start, end, reverse, batch):
            if not filters or all(matches(f, doc) for f in filters):
                yield key, doc

    # -- terminals ---------------------------------------------------------------------

    async def collect(self) -> list[dict[str, Any]]:
        return [doc for _key, doc in self._rows(128)]

    async def take(self, n: int) -> list[dict[str, Any]]:
        count = count_argument(n, "take")
        if count == 0:
            self._consumed = True
            return []
        out: list[dict[str, Any]] = []
        for _key, doc in self._rows(count + (8 if self._filters else 0)):
            out.append(doc)
            if len(out) >= count:
                break
        return out


    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        for _key, doc in self._rows(32):
            yield doc

    async def paginate(self, options: dict[str, Any]) -> dict[str, Any]:
        """One page: Convex's PaginationResult, `{"page", "isDone", "continueCursor",
        "splitCursor", "pageStatus"}`.

        `cursor` (None for the first page) says where the page starts; `endCursor`,
        when given, pins where it ends so a re-run returns exactly the same page even
        after inserts, which is what gapless reactive pagination needs. `splitCursor`
        is the middle of the rows the page read (None below two rows): pages
        (cursor, splitCursor] and (splitCursor, continueCursor] replace this one.
        `pageStatus` asks the client to split a page with an end that grew too large
        (see SPLIT_REQUIRED_ROWS); None otherwise.
        """
        if not isinstance(options, dict):
            raise QueryError("paginate() takes {'numItems': n, 'cursor': cursor_or_None}")
        num_items = count_argument(options.get("numItems"), "paginate numItems")
        max_rows = _positive_option(options, "maximumRowsRead")
        max_bytes = _positive_option(options, "maximumBytesRead")
        if num_items == 0 and options.get("endCursor") is None:
            raise QueryError("paginate numItems must be at least 1")
        index, start, end, reverse = self._plan()
        fingerprint = _fingerprint(self._table, index.name, reverse, start, end)
        cursor = options.get("cursor")
        end_cursor = options.get("endCursor")
        journal = self._tx.journal
        if journal is not None and not journal.consulted:
            journal.consulted = True
            if end_cursor is None:
                end_cursor = journal.end_cursor
                result = await self._page(num_items, max_rows, max_bytes, index, start, end,
                                          reverse, fingerprint, cursor, end_cursor)
                if journal.end_cursor is None:
                    # Also for the last page: its "end of range" cursor keeps it open-ended,
                    # so rows added after it still land in it and it stays done.
                    journal.end_cursor = result["continueCursor"]
                return result
        return await self._page(num_items, max_rows, max_bytes, index, start, end, reverse,
                                fingerprint, cursor, end_cursor)

    async def _page(
        self, num_items: int, max_rows: int | None,
        max_bytes: int | None, index: Any, start: bytes, end: bytes | None, reverse: bool,
        fingerprint: int, cursor: Any, end_cursor: Any,
    ) -> dict[str, Any]:

        # Cursor keys are clamped to the query's own range: an edited cursor can move
        # where a page starts or stops, never widen what the query may read.
        if cursor is not None:
            kind, key = _decode_cursor(cursor, fingerprint)
            if kind == _CURSOR_END:
                return _result([], True, cursor)
            if reverse:
                end = _lower_end(end, key)
            else:
                start = max(start, key + b"\x00")
        pinned_end = False
        if end_cursor is not None:
            kind, key = _decode_cursor(end_cursor, fingerprint)
            if kind == _CURSOR_KEY:
                pinned_end = True
                if reverse:
                    start = max(start, key)
                else:
                    end = _lower_end(end, key + b"\x00")

        page: list[dict[str, Any]] = []
        keys: list[bytes] = []  # every row read, filtered out or not: where splits can go
        exhausted = True
        filters = self._filters
        bytes_read = 0
        split_required = False
        if end_cursor is None:
            stop_rows, stop_bytes = max_rows, max_bytes
        else:  # a page with an end is read whole, unless it has grown too large
            stop_rows = min(max_rows or SPLIT_REQUIRED_ROWS, SPLIT_REQUIRED_ROWS)
            stop_bytes = min(max_bytes or SPLIT_REQUIRED_BYTES, SPLIT_REQUIRED_BYTES)
        rows = self._tx.scan(index, start, end, reverse, min(num_items + 1, 1024))
        for key, doc, size in rows:
            keys.append(key)
            bytes_read += size
            if all(matches(f, doc) for f in filters):
                page.append(doc)
            if ((stop_rows is not None and len(keys) >= stop_rows)
                    or (stop_bytes is not None and bytes_read >= stop_bytes)
                    or (end_cursor is None and len(page) >= num_items)):
                exhausted = False
                split_required = end_cursor is not None
                break
        split_cursor = (_encode_cursor(_CURSOR_KEY, keys[(len(keys) - 1) // 2], fingerprint)
                        if len(keys) >= 2 else None)
        if end_cursor is not None:
            # The page keeps its end even when cut short: the pages after it start there,
            # and the client's split pages cover the rest of its range.
            status = None
            if split_required:
                status = "SplitRequired"
            elif (len(keys) >= SPLIT_RECOMMENDED_ROWS or bytes_read >= SPLIT_RECOMMENDED_BYTES
                  or (num_items > 0 and len(page) > SPLIT_RECOMMENDED_GROWTH * num_items)):
                status = "SplitRecommended"
            return _result(page, not pinned_end, end_cursor, split_cursor,
                           status if split_cursor is not None else None)
        if exhausted:
            return _result(page, True, _encode_cursor(_CURSOR_END, b"", fingerprint),
                           split_cursor)
        return _result(page, False, _encode_cursor(_CURSOR_KEY, keys[-1], fingerprint),
                       split_cursor)


def _result(page: list[dict[str, Any]], is_done: bool, continue_cursor: str,
            split_cursor: str | None = None, page_status: str | None = None) -> dict[str, Any]:
    """Convex's PaginationResult; `splitCursor` and `pageStatus` are always present (null
    when there is nothing to say), as `paginationResultValidator` allows."""
    return {"page": page, "isDone": is_done, "continueCursor": continue_cursor,
            "splitCursor": split_cursor, "pageStatus": page_status}


def _positive_option(options: dict[str, Any], name: str) -> int | None:
    value = options.get(name)
    if value is None:
        return None
    count = count_argument(value, name)
    if count < 1:
        raise QueryError(f"paginate {name} must be at least 1, got {value!r}")
    return count


def _lower_end(end: bytes | None, bound: bytes) -> bytes:
    """The smaller of two exclusive range ends, where None means unbounded."""
    return bound if end is None or bound < end else end


def _fingerprint(table: str, index: str, reverse: bool, start: bytes, end: bytes | None) -> int:
    data = b"\x00".join([table.encode(), index.encode(), b"d" if reverse else b"a", start,
                         b"-" if end is None else b"+" + end])
    return zlib.crc32(data)


def _encode_cursor(kind: int, key: bytes, fingerprint: int) -> str:
    raw = bytes([_CURSOR_VERSION, kind]) + fingerprint.to_bytes(4, "big") + key
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: Any, fingerprint: int) -> tuple[int, bytes]:
    if not isinstance(cursor, str):
        raise QueryError(f"A pagination cursor is a string returned by paginate(), got {cursor!r}")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise QueryError(f"Invalid pagination cursor {cursor!r}") from None
    if len(raw) < 6 or raw[0] != _CURSOR_VERSION or raw[1] not in (_CURSOR_KEY, _CURSOR_END):
        raise QueryError(f"Invalid pagination cursor {cursor!r}")
    if int.from_bytes(raw[2:6], "big") != fingerprint:
        raise QueryError(
            "This pagination cursor belongs to a different query (another table, index, "
            "order or range); start again with cursor None"
        )
    return raw[1], raw[6:]
