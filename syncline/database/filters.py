"""Filter expressions: the `q` of `.filter(lambda q: ...)`.

Expressions are small trees evaluated per scanned document. Comparisons use
Convex's total order across types, so `q.lt(q.field("x"), 5)` is well defined
even when `x` is a string or missing (missing is `UNDEFINED`, the smallest value).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from syncline.database.index_range import field_value
from syncline.errors import QueryError
from syncline.values import UNDEFINED, Int64, compare, normalize, values_equal
from syncline.values.model import INT64_MIN


class Expression:
    """A node of a filter expression; `evaluate(doc)` gives a Convex value."""

    __slots__ = ()

    def evaluate(self, doc: dict[str, Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __bool__(self) -> bool:
        raise QueryError(
            "A filter expression was used as a Python bool (for example with `and`, `or`, "
            "`not` or `if`); combine expressions with q.and_, q.or_ and q.not_ instead"
        )


class Literal(Expression):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def evaluate(self, doc: dict[str, Any]) -> Any:
        return self.value

    def __repr__(self) -> str:
        return repr(self.value)


class Field(Expression):
    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        if not isinstance(path, str) or not path:
            raise QueryError(f"q.field() takes a field path string, got {path!r}")
        self.path = path

    def evaluate(self, doc: dict[str, Any]) -> Any:
        return field_value(doc, self.path)

    def __repr__(self) -> str:
        return f"q.field({self.path!r})"


class Call(Expression):
    __slots__ = ("name", "fn", "args")

    def __init__(self, name: str, fn: Callable[..., Any], args: tuple[Expression, ...]) -> None:
        self.name = name
        self.fn = fn
        self.args = args

    def evaluate(self, doc: dict[str, Any]) -> Any:
        return self.fn(*(a.evaluate(doc) for a in self.args))

    def __repr__(self) -> str:
        return f"q.{self.name}({', '.join(map(repr, self.args))})"


class LazyBool(Expression):
    """and/or evaluate left to right and stop early, like JavaScript's && and ||."""

    __slots__ = ("is_and", "args")

    def __init__(self, is_and: bool, args: tuple[Expression, ...]) -> None:
        self.is_and = is_and
        self.args = args

    def evaluate(self, doc: dict[str, Any]) -> Any:
        if self.is_and:
            return all(_truthy(a.evaluate(doc)) for a in self.args)
        return any(_truthy(a.evaluate(doc)) for a in self.args)

    def __repr__(self) -> str:
        return f"q.{'and_' if self.is_and else 'or_'}({', '.join(map(repr, self.args))})"


def _truthy(value: Any) -> bool:
    return value is True


def _wrap_int64(value: int) -> Int64:
    """int64 arithmetic wraps around, like Rust's wrapping ops and BigInt.asIntN(64)."""
    return Int64((value - INT64_MIN) % 2**64 + INT64_MIN)


def _float_div(left: float, right: float) -> float:
    if right == 0.0:
        if left == 0.0 or math.isnan(left):
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right


def _float_mod(left: float, right: float) -> float:
    if right == 0.0 or math.isinf(left) or math.isnan(left) or math.isnan(right):
        return math.nan
    return math.fmod(left, right)  # JavaScript's % keeps the dividend's sign, as fmod does


def _int_div(left: int, right: int) -> int:
    if right == 0:
        raise QueryError("int64 division by zero in q.div")
    quotient = abs(left) // abs(right)  # truncates toward zero, like BigInt division
    return quotient if (left < 0) == (right < 0) else -quotient


def _int_mod(left: int, right: int) -> int:
    if right == 0:
        raise QueryError("int64 remainder by zero in q.mod")
    remainder = abs(left) % abs(right)
    return remainder if left >= 0 else -remainder


_FLOAT_OPS: dict[str, Callable[[float, float], float]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": _float_div,
    "mod": _float_mod,
}
_INT_OPS: dict[str, Callable[[int, int], int]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": _int_div,
    "mod": _int_mod,
}


def _arith(name: str) -> Callable[[Any, Any], Any]:
    float_op, int_op = _FLOAT_OPS[name], _INT_OPS[name]

    def apply(left: Any, right: Any) -> Any:
        tl, tr = type(left), type(right)
        if tl is float and tr is float:
            return float_op(left, right)
        if tl is Int64 and tr is Int64:
            return _wrap_int64(int_op(int(left), int(right)))
        raise QueryError(
            f"q.{name} needs two numbers of the same type (both float64 or both int64), "
            f"got {left!r} and {right!r}"
        )

    return apply


def _neg(value: Any) -> Any:
    if type(value) is float:
        return -value
    if type(value) is Int64:
        return _wrap_int64(-int(value))
    raise QueryError(f"q.neg needs a number, got {value!r}")


class FilterBuilder:
    """Builds expressions. Arguments that are not expressions are literal values."""

    __slots__ = ()

    @staticmethod
    def _wrap(value: Any) -> Expression:
        if isinstance(value, Expression):
            return value
        if value is UNDEFINED:
            return Literal(UNDEFINED)
        return Literal(normalize(value))

    def field(self, path: str) -> Expression:
        return Field(path)

    def _call(self, name: str, fn: Callable[..., Any], *args: Any) -> Expression:
        return Call(name, fn, tuple(self._wrap(a) for a in args))

    def eq(self, left: Any, right: Any) -> Expression:
        return self._call("eq", values_equal, left, right)

    def neq(self, left: Any, right: Any) -> Expression:
        return self._call("neq", lambda a, b: not values_equal(a, b), left, right)

    def lt(self, left: Any, right: Any) -> Expression:
        return self._call("lt", lambda a, b: compare(a, b) < 0, left, right)

    def lte(self, left: Any, right: Any) -> Expression:
        return self._call("lte", lambda a, b: compare(a, b) <= 0, left, right)

    def gt(self, left: Any, right: Any) -> Expression:
        return self._call("gt", lambda a, b: compare(a, b) > 0, left, right)

    def gte(self, left: Any, right: Any) -> Expression:
        return self._call("gte", lambda a, b: compare(a, b) >= 0, left, right)

    def add(self, left: Any, right: Any) -> Expression:
        return self._call("add", _arith("add"), left, right)

    def sub(self, left: Any, right: Any) -> Expression:
        return self._call("sub", _arith("sub"), left, right)

    def mul(self, left: Any, right: Any) -> Expression:
        return self._call("mul", _arith("mul"), left, right)

    def div(self, left: Any, right: Any) -> Expression:
        return self._call("div", _arith("div"), left, right)

    def mod(self, left: Any, right: Any) -> Expression:
        return self._call("mod", _arith("mod"), left, right)

    def neg(self, value: Any) -> Expression:
        return self._call("neg", _neg, value)

    def and_(self, *exprs: Any) -> Expression:
        return LazyBool(True, tuple(self._wrap(e) for e in exprs))

    def or_(self, *exprs: Any) -> Expression:
        return LazyBool(False, tuple(self._wrap(e) for e in exprs))

    def not_(self, expr: Any) -> Expression:
        return self._call("not_", lambda v: not _truthy(v), expr)


FILTER_BUILDER = FilterBuilder()


def build_filter(predicate: Callable[[FilterBuilder], Any]) -> Expression:
    """Run the user's lambda once to build the expression tree."""
    expr = predicate(FILTER_BUILDER)
    if not isinstance(expr, Expression):
        raise QueryError(
            f".filter() expects the lambda to return a filter expression built with q "
            f"(for example q.eq(q.field('x'), 1)), got {expr!r}"
        )
    return expr


def matches(expr: Expression, doc: dict[str, Any]) -> bool:
    return expr.evaluate(doc) is True
