"""Document filters of the dashboard and `syncline data --filter`, and the index they use.

Convex's dashboard filters a table's documents by conditions of a field, an operation
and a value, ANDed together; equality and comparisons follow the rules of a query's
`.filter()` (Convex's total order across types, a missing field being `undefined`, the
smallest value), and a field can also be tested for its type. A condition is
`{"field", "op", "value"}`: `field` a field name or a dotted path into nested objects,
`op` one of OPERATORS (the dashboard spells the type tests `isType` / `isNotType`), `value`
a Convex value (for the type tests, one of TYPES).

`plan` picks the index a listing reads through: equalities on an index's leading fields,
then one range on the next field (a `_creationTime` range is the next field of every
index but `by_id`). The index only narrows the scan: every condition is still applied as
a filter, so a listing gives the same documents whichever index it reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from syncline.database.catalog import IndexInfo
from syncline.database.filters import Call, Expression, Field, FilterBuilder
from syncline.database.index_range import IndexRangeBuilder
from syncline.errors import SynclineError
from syncline.values import UNDEFINED, Int64, is_valid_id
from syncline.values.limits import field_name_error

COMPARISONS = ("eq", "neq", "gt", "gte", "lt", "lte")
TYPE_TESTS = ("type", "notype")
OPERATORS = COMPARISONS + TYPE_TESTS
ALIASES = {"isType": "type", "isNotType": "notype"}
MAX_FILTERS = 32
LOWER, UPPER = ("gt", "gte"), ("lt", "lte")

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


class FilterError(SynclineError):
    """A condition that cannot be applied; `index` is its position in the list."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


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


def _field(raw: Any, where: str, index: int) -> str:
    if type(raw) is not str:
        raise FilterError(f"{where}: field must be a string (a field name, or a dotted path "
                          f"like author.name), got {orjson.dumps(raw, default=str).decode()[:100]}",
                          index)
    for part in raw.split("."):
        problem = field_name_error(part)
        if problem is not None and part not in ("_id", "_creationTime"):
            raise FilterError(f"{where}: {raw!r:.100} is not a field path: {problem}", index)
    return raw


def parse_condition(raw: Any, index: int, decode: Callable[[Any], Any]) -> Condition:
    """One condition; `decode` turns its value into a Convex value (wire JSON for the
    HTTP API, the identity for a function's already decoded arguments)."""
    where = f"Filter {index + 1}"
    if type(raw) is not dict or set(raw) - {"field", "op", "value"}:
        raise FilterError(f'{where} must be an object {{"field", "op", "value"}}', index)
    field = _field(raw.get("field"), where, index)
    op = ALIASES.get(raw.get("op"), raw.get("op")) if type(raw.get("op")) is str else None
    if op not in OPERATORS:
        raise FilterError(
            f"{where}: unknown operator {orjson.dumps(raw.get('op'), default=str).decode()[:60]}"
            f": use one of {', '.join(COMPARISONS)}, isType, isNotType", index)
    if "value" not in raw:
        raise FilterError(f"{where}: the value to compare {field} with is missing", index)
    value = raw["value"]
    if op in TYPE_TESTS:
        if type(value) is not str or value not in _TYPE_CHECKS:
            raise FilterError(
                f"{where}: unknown type {orjson.dumps(value, default=str).decode()[:60]}: use "
                f"one of {', '.join(TYPES)}", index)
        return Condition(field, op, value)
    try:
        return Condition(field, op, decode(value))
    except SynclineError as e:
        raise FilterError(f"{where}: the value is not a Convex value: {e}", index) from None


def parse_conditions(raw: Any, decode: Callable[[Any], Any]) -> list[Condition]:
    if raw is None:
        return []
    if type(raw) is not list:
        raise FilterError('filters must be a list of {"field", "op", "value"}')
    if len(raw) > MAX_FILTERS:
        raise FilterError(f"At most {MAX_FILTERS} filters, got {len(raw)}")
    return [parse_condition(item, i, decode) for i, item in enumerate(raw)]


def creation_time_conditions(bounds: dict[str, Any] | None) -> list[Condition]:
    """`{from?, to?}` (inclusive, ms) as conditions on `_creationTime`."""
    if not bounds:
        return []
    out = []
    for key, op in (("from", "gte"), ("to", "lte")):
        value = bounds.get(key)
        if value is None:
            continue
        if type(value) is not float or value != value:
            raise FilterError(f"creationTime.{key} must be a number of milliseconds, "
                              f"got {value!r}")
        out.append(Condition("_creationTime", op, value))
    return out


@dataclass(frozen=True)
class Plan:
    """The index a listing reads and the conditions its range takes (the rest filter)."""

    index: IndexInfo
    equal: tuple[Condition, ...]
    lower: Condition | None
    upper: Condition | None

    @property
    def fields(self) -> list[str]:
        out = [c.field for c in self.equal]
        ranged = self.lower or self.upper
        if ranged is not None:
            out.append(ranged.field)
        return out

    def range(self, q: IndexRangeBuilder) -> IndexRangeBuilder:
        for condition in self.equal:
            q = q.eq(condition.field, condition.value)
        for bound in (self.lower, self.upper):
            if bound is not None:
                q = getattr(q, bound.op)(bound.field, bound.value)
        return q


def plan_for(index: IndexInfo, conditions: Sequence[Condition]) -> Plan:
    """The range `index` can take from `conditions`."""
    equal: list[Condition] = []
    fields = index.range_fields
    position = 0
    for position, field in enumerate(fields):  # noqa: B007 - used after the loop
        match = next((c for c in conditions if c.field == field and c.op == "eq"), None)
        if match is None:
            break
        equal.append(match)
    else:
        return Plan(index, tuple(equal), None, None)
    field = fields[position]
    lower = next((c for c in conditions if c.field == field and c.op in LOWER), None)
    upper = next((c for c in conditions if c.field == field and c.op in UPPER), None)
    return Plan(index, tuple(equal), lower, upper)


def plan(indexes: Iterable[IndexInfo], conditions: Sequence[Condition],
         default: IndexInfo) -> Plan:
    """The index that narrows the scan most (most equalities, then a range), preferring
    `default` (creation order) on a tie; `default` with no range if none helps."""
    best = plan_for(default, conditions)
    for index in indexes:
        candidate = plan_for(index, conditions)
        if _score(candidate) > _score(best):
            best = candidate
    return best


def _score(p: Plan) -> tuple[int, int]:
    return len(p.equal), (p.lower is not None) + (p.upper is not None)
