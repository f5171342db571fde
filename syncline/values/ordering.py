"""Convex's total order over values, as used by indexes and `q.lt/q.gt` filters.

undefined < null < int64 < float64 < boolean < string < bytes < array < object.

Within a type: int64 numerically; float64 by IEEE-754 total order (-NaN < -inf <
... < -0.0 < 0.0 < ... < inf < NaN) where NaNs of the same sign are equal whatever
their payload (so `q.eq(field, nan)` finds every NaN); booleans false < true;
strings by UTF-8 bytes (= code points); bytes lexicographically; arrays
lexicographically with a prefix first; objects as their (key, value) pairs sorted
by key, compared lexicographically with a prefix first.

`index_key.encode_key` produces bytes whose order is exactly this one; the tests
check the two against each other.
"""

from __future__ import annotations

from math import copysign
from typing import Any, Final

from syncline.errors import InvalidValueError
from syncline.values.index_key import encode_key
from syncline.values.model import UNDEFINED, Int64

_NoneType: Final = type(None)
_UndefinedType: Final = type(UNDEFINED)

# Rank of each canonical Python type in the Convex type order.
_RANK: Final[dict[type, int]] = {
    _UndefinedType: 0,
    _NoneType: 1,
    Int64: 2,
    float: 3,
    bool: 4,
    str: 5,
    bytes: 6,
    list: 7,
    dict: 8,
}

# Types whose Python `<` already is the Convex order within the type.
_NATIVE: Final = frozenset({Int64, str, bytes, bool})


def _bad(value: Any) -> InvalidValueError:
    return InvalidValueError(
        f"{type(value).__name__} {value!r:.100} is not a canonical Convex value "
        "(normalize it first)"
    )


def _nan_side(x: float) -> int:
    """-1 for a negative NaN, 1 for a positive NaN, 0 for any other float."""
    if x == x:
        return 0
    return -1 if copysign(1.0, x) < 0 else 1


def compare_floats(a: float, b: float) -> int:
    """IEEE-754 total order, with same-sign NaNs equal; -0.0 < 0.0."""
    if a < b:
        return -1
    if a > b:
        return 1
    if a == b:
        if a != 0.0:
            return 0
        sa = copysign(1.0, a)
        sb = copysign(1.0, b)
        return 0 if sa == sb else (-1 if sa < sb else 1)
    # At least one NaN.
    na = _nan_side(a)
    nb = _nan_side(b)
    return 0 if na == nb else (-1 if na < nb else 1)


def compare(a: Any, b: Any) -> int:
    """Compare two canonical values in Convex order: -1, 0 or 1.

    Raises InvalidValueError for non-canonical values (plain int, tuple, ...).
    """
    ta = type(a)
    tb = type(b)
    if ta is not tb:
        ra = _RANK.get(ta)
        rb = _RANK.get(tb)
        if ra is None:
            raise _bad(a)
        if rb is None:
            raise _bad(b)
        return -1 if ra < rb else 1
    if ta is float:
        return compare_floats(a, b)
    if ta in _NATIVE:
        return -1 if a < b else (1 if a > b else 0)
    if ta is list:
        for x, y in zip(a, b, strict=False):
            c = compare(x, y)
            if c:
                return c
        la = len(a)
        lb = len(b)
        return -1 if la < lb else (1 if la > lb else 0)
    if ta is dict:
        ka = sorted(a)
        kb = sorted(b)
        for x, y in zip(ka, kb, strict=False):
            if x != y:
                return -1 if x < y else 1
            c = compare(a[x], b[y])
            if c:
                return c
        la = len(ka)
        lb = len(kb)
        return -1 if la < lb else (1 if la > lb else 0)
    if ta is _NoneType or ta is _UndefinedType:
        return 0
    raise _bad(a)


def values_equal(a: Any, b: Any) -> bool:
    """Convex equality: same type and `compare(a, b) == 0` (so Int64(1) != 1.0,
    NaN == NaN, -0.0 != 0.0). Python's `==` gets all three wrong."""
    ta = type(a)
    if ta is not type(b):
        if ta not in _RANK:
            raise _bad(a)
        if type(b) not in _RANK:
            raise _bad(b)
        return False
    if ta is float:
        if a == b:
            return a != 0.0 or copysign(1.0, a) == copysign(1.0, b)
        return a != a and b != b and copysign(1.0, a) == copysign(1.0, b)
    if ta is dict:
        return a.keys() == b.keys() and all(map(values_equal, a.values(), map(b.__getitem__, a)))
    if ta is list:
        return len(a) == len(b) and all(map(values_equal, a, b))
    if ta in _RANK:
        return a == b
    raise _bad(a)


# A key for `sorted(..., key=sort_key)` that follows Convex order.
sort_key: Final = encode_key
