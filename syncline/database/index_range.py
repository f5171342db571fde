"""Index keys of documents, and index range expressions turned into key intervals.

Every index key ends with `_creationTime` then `_id`, so keys are unique per
document and ties break by creation time. `by_id` keys are the 16-byte internal
id, the order of the ID strings within one table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncline.database.catalog import IndexInfo
from syncline.errors import InvalidIdError, QueryError
from syncline.values import UNDEFINED, decode_id, encode_key, encode_key_tuple, normalize


def field_value(doc: dict[str, Any], path: str) -> Any:
    """The value at a dotted path, or UNDEFINED where any step is missing or not an object."""
    if "." not in path:
        return doc.get(path, UNDEFINED)
    value: Any = doc
    for part in path.split("."):
        if type(value) is not dict:
            return UNDEFINED
        value = value.get(part, UNDEFINED)
        if value is UNDEFINED:
            return UNDEFINED
    return value


def index_key(index: IndexInfo, doc: dict[str, Any], internal_id: bytes) -> bytes:
    """The key under which `doc` sits in `index`."""
    kind = index.kind
    if kind == "id":
        return internal_id
    if kind == "creation":
        return encode_key_tuple((doc["_creationTime"], doc["_id"]))
    values = [field_value(doc, f) for f in index.fields]
    values.append(doc["_creationTime"])
    values.append(doc["_id"])
    return encode_key_tuple(values)


class IndexRangeBuilder:
    """The `q` of `with_index(name, lambda q: ...)`: equalities on a prefix of the
    index fields, then at most one lower and one upper bound on the next field."""

    __slots__ = ("_fields", "_index", "_eq", "_lower", "_upper", "_bound_field")

    def __init__(self, index: IndexInfo) -> None:
        self._index = index
        self._fields = index.range_fields
        self._eq: list[Any] = []
        self._lower: tuple[Any, bool] | None = None
        self._upper: tuple[Any, bool] | None = None
        self._bound_field: str | None = None

    def _describe(self) -> str:
        return f"index {self._index.table_name}.{self._index.name} ({', '.join(self._fields)})"

    def eq(self, field: str, value: Any) -> IndexRangeBuilder:
        if self._lower is not None or self._upper is not None:
            raise QueryError(
                f"Cannot use .eq({field!r}, ...) after a range bound: equalities must come "
                f"first in {self._describe()}"
            )
        position = len(self._eq)
        if position >= len(self._fields):
            raise QueryError(f"Too many .eq() calls: {self._describe()} has only "
                             f"{len(self._fields)} fields")
        if field != self._fields[position]:
            raise QueryError(
                f"Index fields must be stepped through in order: expected .eq({self._fields[position]!r}, ...) "
                f"but got .eq({field!r}, ...) on {self._describe()}"
            )
        self._eq.append(self._value(field, value))
        return self

    def _bound(self, field: str, value: Any, inclusive: bool, lower: bool) -> IndexRangeBuilder:
        position = len(self._eq)
        expected = self._fields[position] if position < len(self._fields) else None
        if self._bound_field is not None and field != self._bound_field:
            raise QueryError(
                f"Both range bounds must be on the same field: {self._bound_field!r} and "
                f"{field!r} on {self._describe()}"
            )
        if field != expected:
            raise QueryError(
                f"A range bound must be on the field after the equalities: expected "
                f"{expected!r} but got {field!r} on {self._describe()}"
            )
        if (self._lower if lower else self._upper) is not None:
            kind = "lower" if lower else "upper"
            raise QueryError(f"Only one {kind} bound is allowed on {self._describe()}")
        self._bound_field = field
        bound = (self._value(field, value), inclusive)
        if lower:
            self._lower = bound
        else:
            self._upper = bound
        return self

    def gt(self, field: str, value: Any) -> IndexRangeBuilder:
        return self._bound(field, value, False, True)

    def gte(self, field: str, value: Any) -> IndexRangeBuilder:
        return self._bound(field, value, True, True)

    def lt(self, field: str, value: Any) -> IndexRangeBuilder:
        return self._bound(field, value, False, False)

    def lte(self, field: str, value: Any) -> IndexRangeBuilder:
        return self._bound(field, value, True, False)

    def _value(self, field: str, value: Any) -> Any:
        if value is UNDEFINED:
            return UNDEFINED
        value = normalize(value, f".{field}")
        if self._index.kind == "id":
            if not isinstance(value, str):
                raise QueryError(f"by_id ranges compare document IDs, got {value!r}")
            try:
                table_number, internal = decode_id(value)
            except InvalidIdError as e:
                raise QueryError(f"Invalid ID in by_id range: {e}") from None
            if table_number != self._index.table_number:
                raise QueryError(f"ID {value} is not an ID of table {self._index.table_name!r}")
            return internal
        return value

    def interval(self) -> tuple[bytes, bytes | None]:
        """The key interval `[start, end)` this expression selects."""
        if self._index.kind == "id":
            encode_one: Callable[[Any], bytes] = lambda internal: internal  # noqa: E731
            prefix = b"".join(self._eq)
        else:
            encode_one = encode_key
            prefix = encode_key_tuple(self._eq)
        if self._lower is None:
            start = prefix
        else:
            value, inclusive = self._lower
            bound = prefix + encode_one(value)
            start = bound if inclusive else _successor(bound, self._index)
        if self._upper is None:
            end = _successor(prefix, self._index) if prefix else None
        else:
            value, inclusive = self._upper
            bound = prefix + encode_one(value)
            end = _successor(bound, self._index) if inclusive else bound
        return start, end


def _successor(bound: bytes, index: IndexInfo) -> bytes | None:
    """The first key past every key equal to or extending `bound`.

    by_id keys are fixed-length ids, so the key just after `bound` is `bound + 0x00`.
    In other indexes a complete value is always followed by a tag byte (below
    0xFF), so `bound + 0xFF` ends the range. `prefix_successor` would be wrong
    there: it would also take in values that merely extend the last one's
    escaped payload (b"" vs b"\x00", "a" vs "a\x00b").
    """
    if index.kind == "id":
        return bound + b"\x00"
    return bound + b"\xff"
