"""The Convex value model in Python terms.

Convex values map onto Python as: null -> None, int64 -> Int64, float64 -> float,
boolean -> bool, string -> str, bytes -> bytes, array -> list, object -> dict.
`UNDEFINED` is JavaScript's `undefined`: a missing field, never a stored value.
"""

from __future__ import annotations

from typing import Any, Final

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


class _Undefined:
    """JavaScript's `undefined`: a field that is not there. A singleton."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()


class Int64(int):
    """A Convex int64 (JavaScript bigint). Plain Python ints are stored as float64 unless
    a validator says `v.int64()`; wrapping in `Int64` keeps the integer type explicitly."""

    __slots__ = ()

    def __new__(cls, value: int | str = 0) -> Int64:
        if isinstance(value, bool):
            raise TypeError("Int64 cannot be made from a bool")
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"Int64 needs an integral value, got {value!r}")
            value = int(value)
        result = super().__new__(cls, value)
        if not INT64_MIN <= result <= INT64_MAX:
            raise ValueError(f"{int(result)} is outside the int64 range [-2^63, 2^63-1]")
        return result

    def __repr__(self) -> str:
        return f"Int64({int(self)})"

    __str__ = int.__repr__


# Type names as Convex's docs and error messages use them.
NULL = "null"
INT64 = "int64"
FLOAT64 = "float64"
BOOLEAN = "boolean"
STRING = "string"
BYTES = "bytes"
ARRAY = "array"
OBJECT = "object"

# Rank of each type in the documented total order (undefined first).
TYPE_ORDER: Final = {
    "undefined": 0,
    NULL: 1,
    INT64: 2,
    FLOAT64: 3,
    BOOLEAN: 4,
    STRING: 5,
    BYTES: 6,
    ARRAY: 7,
    OBJECT: 8,
}


def type_name(value: Any) -> str:
    """The Convex type of a canonical value ("undefined" for UNDEFINED).

    Raises InvalidValueError for anything that is not a canonical Convex value
    (a plain `int` is not canonical: see `normalize`).
    """
    from syncline.errors import InvalidValueError

    if value is None:
        return NULL
    t = type(value)
    if t is bool:
        return BOOLEAN
    if t is float:
        return FLOAT64
    if t is str:
        return STRING
    if t is Int64:
        return INT64
    if t is bytes:
        return BYTES
    if t is list:
        return ARRAY
    if t is dict:
        return OBJECT
    if value is UNDEFINED:
        return "undefined"
    raise InvalidValueError(f"{value!r} (a Python {t.__name__}) is not a canonical Convex value")
