"""Running a text search inside a transaction: `db.query(t).with_search_index(name, fn)`.

The result is exactly what the transaction's snapshot (plus its own writes)
holds, ranked by relevance:

- tantivy proposes its best candidates with their scores; a candidate that has
  not changed since the tantivy state and the snapshot is as tantivy saw it, so
  it is taken on its score without a second look;
- every document changed after the older of the two states, and every document
  this transaction wrote, is read at the snapshot, checked against the search
  and scored with the same BM25 statistics;
- the search's terms enter the read set as keys of the index's key space (see
  text.search_keys), so a commit writing a document with one of the terms
  conflicts with a mutation that searched for it and re-runs a subscribed
  search, and unrelated writes do neither.

Documents are read lazily, in rank order, as the query consumes them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from time import perf_counter
from typing import TYPE_CHECKING, Any

from syncline.database.filters import build_filter, matches
from syncline.database.search.text import (
    MAX_CANDIDATES,
    NO_PAYLOAD,
    Scorer,
    TextSearch,
    document_tokens,
    field_value,
    parse_search,
)
from syncline.database.terminals import FirstAndUnique, count_argument
from syncline.errors import QueryError
from syncline.values import UNDEFINED, normalize

_CURSOR = re.compile(r"search:([0-9]{1,19})")

if TYPE_CHECKING:
    from syncline.database.catalog import SearchIndexInfo, TableInfo
    from syncline.database.transaction import Transaction

# (score, creation time, document id, the document if already read)
Ranked = tuple[float, float, str, dict[str, Any] | None]


class SearchFilterBuilder:
    """`q` in `with_search_index(name, lambda q: q.search(field, text).eq(field, value))`."""

    def __init__(self, info: SearchIndexInfo) -> None:
        self._info = info
        self._text: str | None = None
        self._filters: list[tuple[int, Any]] = []

    def search(self, field: str, text: str) -> SearchFilterBuilder:
        if self._text is not None:
            raise QueryError("A search expression has exactly one search(): "
                             "q.search(field, text).eq(...)")
        if field != self._info.field:
            raise QueryError(f"search() must name the search field {self._info.field!r} of "
                             f"index {self._info.table_name}.{self._info.name}, not {field!r}")
        if not isinstance(text, str):
            raise QueryError(f"search() takes a string to search for, got {text!r}")
        self._text = text
        return self

    def eq(self, field: str, value: Any) -> SearchFilterBuilder:
        if self._text is None:
            raise QueryError("Start a search expression with q.search(field, text), then "
                             ".eq(field, value)")
        fields = self._info.filter_fields
        if field not in fields:
            raise QueryError(f"eq() must name a filter field of index {self._info.table_name}."
                             f"{self._info.name} ({', '.join(fields) or 'none'}), not {field!r}")
        self._filters.append((fields.index(field), UNDEFINED if value is UNDEFINED
                              else normalize(value)))
        return self

    def build(self) -> TextSearch:
        if self._text is None:
            raise QueryError("The search expression needs q.search(field, text)")
        return parse_search(self._text, self._filters)


def build_search(info: SearchIndexInfo, fn: Callable[[SearchFilterBuilder], Any]) -> TextSearch:
    builder = SearchFilterBuilder(info)
    if fn(builder) is not builder:
        raise QueryError("The search filter function must return the builder it was given "
                         "(for example `lambda q: q.search('body', text)`)")
    return builder.build()


def ranked(tx: Transaction, table: TableInfo, info: SearchIndexInfo,
           search: TextSearch) -> list[Ranked]:
    """The matching documents of the snapshot, best first (ties: newest first)."""
    for start, end in search.read_intervals():
        tx.reads.add(info.id, start, end)
    if search.empty:
        return []
    search_indexes = tx.database.search
    engine = search_indexes.engine(info.id)
    if engine is None:
        raise QueryError(f"Search index {info.table_name}.{info.name} is not available")
    started = perf_counter()  # index time counts as storage time, not user code time
    search_indexes.wait_seen(tx.snapshot_ts)
    state, _state_ts, changed = engine.snapshot(tx.snapshot_ts)
    own = tx.written_documents(table)
    hits: list[Ranked] = []
    recheck: dict[str, dict[str, Any] | None] = {}
    if changed is None:  # a snapshot older than what is remembered: check every document
        recheck = {doc["_id"]: doc for doc in tx.table_documents(table)}
    else:
        hits = [(round(score, 4), ct, doc_id, None) for score, ct, doc_id in
                engine.candidates(state, search, MAX_CANDIDATES + 1)
                if doc_id not in changed and doc_id not in own]
        for doc_id, (ts, payload) in changed.items():
            if doc_id in own:
                continue
            if ts <= tx.snapshot_ts and payload is not NO_PAYLOAD:
                recheck[doc_id] = payload  # its version at the snapshot, still in memory
            else:
                recheck[doc_id] = tx.peek_document(table, doc_id)
    recheck.update(own)
    matching: list[tuple[str, dict[str, Any], list[str]]] = []
    extra_documents = extra_length = 0
    extra_df: dict[str, int] = {}
    for doc_id, document in recheck.items():
        if document is None:
            continue
        tokens = document_tokens(document, info.field)
        if not engine.is_indexed(state, doc_id):  # new to tantivy: count it in the stats
            extra_documents += 1
            extra_length += len(tokens)
            for token in set(tokens):
                extra_df[token] = extra_df.get(token, 0) + 1
        filters = tuple(field_value(document, f) for f in info.filter_fields)
        if search.matches(tokens, filters):
            matching.append((doc_id, document, tokens))
    # One ranking, one set of statistics: with tantivy-scored hits, everything is scored on
    # tantivy's statistics; with none (say, right after a bulk insert), on the snapshot's.
    scorer = Scorer(state) if hits else Scorer(state, extra_documents, extra_length, extra_df)
    for doc_id, document, tokens in matching:
        hits.append((round(scorer.score(tokens, search), 4), document["_creationTime"], doc_id,
                     document))
    tx.io_seconds += perf_counter() - started
    hits.sort(key=lambda r: (-r[0], -r[1], r[2]))
    return hits[:MAX_CANDIDATES + 1]


def documents(tx: Transaction, table: TableInfo, rows: list[Ranked],
              own: set[str]) -> Iterator[dict[str, Any]]:
    """The ranked documents, read as they are consumed; each one returned enters the read
    set (so a change to any of its fields re-runs a subscription), none other does."""
    for _score, _ct, doc_id, document in rows:
        if document is None:
            document = tx.read_document(table, doc_id)
            if document is None:  # cannot happen: unchanged since the snapshot
                continue
        elif doc_id not in own:
            tx.note_read(table, doc_id, document)
        yield document


class SearchQuery(FirstAndUnique):
    """`db.query(table).with_search_index(...)`: relevance order, then the terminals."""

    def __init__(self, tx: Transaction, table: str, system: bool, index_name: str,
                 fn: Callable[[SearchFilterBuilder], Any]) -> None:
        self._tx = tx
        self._table = tx.table(table, system=system)
        info = tx.search_index(self._table, index_name)
        if info is None or info.kind != "text":
            raise QueryError(f"Search index {table}.{index_name} not found. Define it in the "
                             f"schema with define_table(...).search_index({index_name!r}, "
                             "search_field=...)")
        self._info = info
        self._table_name = info.table_name
        self._search = build_search(info, fn)
        self._filters: list[Any] = []
        self._consumed = False

    def filter(self, predicate: Callable[[Any], Any]) -> SearchQuery:
        self._filters.append(build_filter(predicate))
        return self

    def order(self, order: str) -> SearchQuery:
        raise QueryError("Search results are always in relevance order; order() cannot be "
                         "used with with_search_index()")

    def _rows(self) -> list[Ranked]:
        if self._consumed:
            raise QueryError("A query can only be executed once; build a new one with db.query()")
        self._consumed = True
        return ranked(self._tx, self._table, self._info, self._search)

    def _documents(self, rows: list[Ranked]) -> Iterator[dict[str, Any]]:
        filters = self._filters
        own = set(self._tx.written_documents(self._table))
        for document in documents(self._tx, self._table, rows[:MAX_CANDIDATES], own):
            if all(matches(f, document) for f in filters):
                yield document

    async def collect(self) -> list[dict[str, Any]]:
        rows = self._rows()
        if len(rows) > MAX_CANDIDATES:
            raise QueryError(
                f"collect() on a search can return at most {MAX_CANDIDATES} documents, and this "
                "one matches more: use take(n) or paginate()")
        return list(self._documents(rows))

    async def take(self, n: int) -> list[dict[str, Any]]:
        count = count_argument(n, "take")
        if count > MAX_CANDIDATES:
            raise QueryError(f"take() on a search can return at most {MAX_CANDIDATES} "
                             f"documents, got {n!r}")
        out: list[dict[str, Any]] = []
        if count == 0:
            self._consumed = True
            return out
        for document in self._documents(self._rows()):
            out.append(document)
            if len(out) >= count:
                break
        return out

    def __aiter__(self) -> Any:
        async def iterate() -> Any:
            for document in self._documents(self._rows()):
                yield document
        return iterate()

    async def paginate(self, options: dict[str, Any]) -> dict[str, Any]:
        """Pages over the ranked results; a cursor is the position where a page ends."""
        if not isinstance(options, dict):
            raise QueryError("paginate() takes {'numItems': n, 'cursor': cursor_or_None}")
        num_items = count_argument(options.get("numItems"), "paginate numItems")
        start = _position(options.get("cursor"))
        end_cursor = options.get("endCursor")
        journal = self._tx.journal
        if end_cursor is None and journal is not None and not journal.consulted:
            journal.consulted = True
            end_cursor = journal.end_cursor
        matching = list(self._documents(self._rows()))
        if end_cursor is not None:
            end = max(start, _position(end_cursor))
            page = matching[start:end]
            return _page_result(page, end >= len(matching), end_cursor)
        if num_items < 1:
            raise QueryError("paginate numItems must be at least 1")
        end = min(start + num_items, len(matching))
        result = _page_result(matching[start:end], end >= len(matching), _cursor(end))
        if journal is not None and journal.end_cursor is None:
            journal.end_cursor = result["continueCursor"]
        return result


def _cursor(position: int) -> str:
    return f"search:{position}"


def _page_result(page: list[dict[str, Any]], is_done: bool, cursor: str) -> dict[str, Any]:
    """Convex's PaginationResult, as index queries return it. Search results are few (at
    most MAX_CANDIDATES), so a search page never asks to be split."""
    return {"page": page, "isDone": is_done, "continueCursor": cursor,
            "splitCursor": None, "pageStatus": None}


def _position(cursor: Any) -> int:
    if cursor is None:
        return 0
    # ASCII digits only: `isdigit()` passes `²`, on which `int()` raises.
    match = _CURSOR.fullmatch(cursor) if isinstance(cursor, str) else None
    if match is not None:
        return int(match[1])
    raise QueryError(f"Invalid search pagination cursor {cursor!r}: pass None for the first "
                     "page, then the continueCursor of the previous one")
