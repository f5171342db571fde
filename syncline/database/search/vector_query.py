"""`ctx.vector_search(table, index, {"vector", "limit", "filter"})`: checked, then run.

Vector search runs in actions, outside transactions: it waits until every commit
visible when it was called is in the index, so it reflects all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from syncline.errors import QueryError
from syncline.values import UNDEFINED, normalize

if TYPE_CHECKING:
    from syncline.database.catalog import SearchIndexInfo
    from syncline.database.database import Database

DEFAULT_LIMIT = 10
MAX_LIMIT = 256
MAX_FILTER_CLAUSES = 64
_OPTIONS = {"vector", "limit", "filter"}


class VectorFilterBuilder:
    """`q` in `"filter": lambda q: q.or_(q.eq("cuisine", "French"), q.eq("main", "butter"))`."""

    def __init__(self, info: SearchIndexInfo) -> None:
        self._info = info

    def eq(self, field: str, value: Any) -> list[tuple[int, Any]]:
        fields = self._info.filter_fields
        if field not in fields:
            raise QueryError(f"eq() must name a filter field of vector index "
                             f"{self._info.table_name}.{self._info.name} "
                             f"({', '.join(fields) or 'none'}), not {field!r}")
        return [(fields.index(field), UNDEFINED if value is UNDEFINED else normalize(value))]

    def or_(self, *clauses: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
        out: list[tuple[int, Any]] = []
        for clause in clauses:
            if not isinstance(clause, list):
                raise QueryError("or_() takes q.eq(...) or q.or_(...) expressions")
            out += clause
        return out


def vector_search(db: Database, table: str, index_name: str,
                  options: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(options, dict):
        raise QueryError('vector_search takes {"vector": [...], "limit": n, "filter": fn}')
    unknown = set(options) - _OPTIONS
    if unknown:
        raise QueryError(f"vector_search got unknown option(s) {sorted(unknown)}; "
                         f"allowed: {sorted(_OPTIONS)}")
    info = db.search_index(table, index_name)
    if info is None or info.kind != "vector":
        raise QueryError(f"Vector index {table}.{index_name} not found. Define it in the "
                         f"schema with define_table(...).vector_index({index_name!r}, ...)")
    vector = options.get("vector")
    if (not isinstance(vector, list | tuple) or len(vector) != info.dimensions
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in vector)):
        raise QueryError(f"vector_search needs `vector`, a list of {info.dimensions} numbers "
                         f"(the dimensions of {table}.{index_name})")
    limit = options.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int | float) or limit != int(limit) \
            or not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"vector_search `limit` must be an integer from 1 to {MAX_LIMIT}, "
                         f"got {limit!r}")
    clauses = None
    predicate: Callable[[VectorFilterBuilder], Any] | None = options.get("filter")
    if predicate is not None:
        clauses = predicate(VectorFilterBuilder(info))
        if not isinstance(clauses, list) or not clauses:
            raise QueryError("The vector_search filter must return q.eq(...) or q.or_(...)")
        if len(clauses) > MAX_FILTER_CLAUSES:
            raise QueryError(f"A vector search may have at most {MAX_FILTER_CLAUSES} filter "
                             f"expressions, got {len(clauses)}")
    search_indexes = db.search
    search_indexes.wait_applied(db.visible_ts)
    engine = search_indexes.engine(info.id)
    if engine is None:
        raise QueryError(f"Vector index {table}.{index_name} is not available")
    hits = engine.search([float(x) for x in vector], int(limit), clauses)
    return [{"_id": doc_id, "_score": score} for doc_id, score in hits]
