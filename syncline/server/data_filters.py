"""The dashboard's document filters, for `GET /api/data/documents?filters=...`.

Convex's dashboard filters a table's documents by conditions of a field, an operation
and a value, ANDed together; equality and comparisons follow the rules of a query's
`.filter()` (Convex's total order across types, a missing field being `undefined`, the
smallest value), and a field can also be tested for its type. The wire form is a JSON
array of `{"field", "op", "value"}`: `field` a field name or a dotted path into nested
objects, `op` one of OPERATORS, `value` a Convex wire JSON value (for `type` / `notype`,
one of TYPES). The conditions become `.filter()` expressions, so they run server side
as the table is paginated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from syncline.database.filters import Call, Expression, Field, FilterBuilder
from syncline.errors import SynclineError
from syncline.server.responses import BadRequest
from syncline.values import UNDEFINED, Int64, from_json, is_valid_id
from syncline.values.limits import field_name_error

COMPARISONS = ("eq", "neq", "gt", "gte", "lt", "lte")
TYPE_TESTS = ("type", "notype")
OPERATORS = COMPARISONS + TYPE_TESTS
MAX_FILTERS = 32


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: type(v) is str,
    "boolean": lambda v: type(v) is bool,
    "number": lambda v: type(v) is float,  # float64, what JavaScript numbers are
    "bigint": lambda v: type(v) is Int64,  # int64
    "null": lambda v: v is None,
    "id": is_valid_id,  # a string that is a well-formed document ID
    "array": lambda v: type(v) is list,
    "object": lambda v: type(v) is dict,
    "bytes": lambda v: type(v) is bytes,
    "unset": lambda v: v is UNDEFINED,  # the field is missing
}
TYPES = tuple(_TYPE_CHECKS)


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any  # a canonical Convex value, or a type name for type / notype

    def predicate(self, q: FilterBuilder) -> Expression:
        if self.op in COMPARISONS:
            return getattr(q, self.op)(q.field(self.field), self.value)
        check = _TYPE_CHECKS[self.value]
        wanted = self.op == "type"
        return Call(self.op, lambda v: check(v) is wanted, (Field(self.field),))


def _bad(message: str) -> BadRequest:
    return BadRequest("InvalidFilter", message)


def _field(raw: Any, where: str) -> str:
    if type(raw) is not str:
        raise _bad(f"{where}: field must be a string (a field name, or a dotted path "
                   f"like author.name), got {orjson.dumps(raw).decode()[:100]}")
    for part in raw.split("."):
        problem = field_name_error(part)
        if problem is not None:
            raise _bad(f"{where}: {raw!r:.100} is not a field path: {problem}")
    return raw


def parse_condition(raw: Any, index: int) -> Condition:
    where = f"Filter {index + 1}"
    if type(raw) is not dict or set(raw) - {"field", "op", "value"}:
        raise _bad(f'{where} must be an object {{"field", "op", "value"}}')
    field = _field(raw.get("field"), where)
    op = raw.get("op")
    if op not in OPERATORS:
        raise _bad(f"{where}: unknown operator {orjson.dumps(op).decode()[:60]}: use one "
                   f"of {', '.join(OPERATORS)}")
    if "value" not in raw:
        raise _bad(f"{where}: the value to compare {field} with is missing")
    value = raw["value"]
    if op in TYPE_TESTS:
        if value not in _TYPE_CHECKS:
            raise _bad(f"{where}: unknown type {orjson.dumps(value).decode()[:60]}: use one "
                       f"of {', '.join(TYPES)}")
        return Condition(field, op, value)
    try:
        return Condition(field, op, from_json(value))
    except SynclineError as e:
        raise _bad(f"{where}: the value is not a Convex value: {e}") from None


def parse_filters(text: str | None) -> list[Condition]:
    """The `filters` query parameter (a JSON array), or 400 InvalidFilter saying why not."""
    if not text:
        return []
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise _bad(f"filters must be a JSON array of {{\"field\", \"op\", \"value\"}}: {e}") \
            from None
    if type(raw) is not list:
        raise _bad('filters must be a JSON array of {"field", "op", "value"}')
    if len(raw) > MAX_FILTERS:
        raise _bad(f"At most {MAX_FILTERS} filters, got {len(raw)}")
    return [parse_condition(item, i) for i, item in enumerate(raw)]
