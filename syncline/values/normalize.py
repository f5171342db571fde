"""Turn any acceptable Python value into the canonical Convex value form.

Canonical values are what every other module in this package expects: `None`,
`bool`, `Int64`, `float`, `str` (valid Unicode), `bytes`, `list` and
`dict[str, value]`. Converting once at the boundary (function arguments, writes)
lets the hot paths (ordering, index keys, storage) dispatch on exact types
without re-checking anything.
"""

from __future__ import annotations

from typing import Any, Final

from syncline.errors import InvalidValueError
from syncline.values.model import UNDEFINED, Int64

_NoneType: Final = type(None)
_MAX_SAFE: Final = 2**53

# Types whose instances are already canonical and immutable: returned as they are.
_IMMUTABLE: Final = frozenset({_NoneType, bool, float, Int64, bytes})


class _Invalid(Exception):
    """Internal carrier of an error message plus the path segments collected while
    unwinding, so the happy path never builds path strings."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.segments: list[str] = []

    def render(self, prefix: str) -> str:
        path = prefix + "".join(reversed(self.segments))
        if path:
            return f"{self.message} (present at path {path})"
        return self.message


def _int_to_float(n: int) -> float:
    """Python ints are Convex float64s (like the official Python client); refuse
    silently losing precision."""
    if -_MAX_SAFE <= n <= _MAX_SAFE:
        return float(n)
    try:
        f = float(n)
    except OverflowError:
        f = None
    if f is None or int(f) != n:
        raise _Invalid(
            f"Integer {n} cannot be represented exactly as a Convex float64. "
            f"Use syncline.Int64({n}) (validator v.int64()) for 64-bit integers"
        )
    return f


def _check_str(s: str) -> str:
    """Strings must be valid Unicode: an unpaired surrogate cannot be encoded as UTF-8."""
    if not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError as e:
            raise _Invalid(
                f"String {s[max(0, e.start - 20) : e.start + 20]!r} contains an unpaired "
                f"surrogate at index {e.start}: Convex strings must be valid Unicode"
            ) from None
    return s


def _norm(value: Any) -> Any:
    t = type(value)
    if t in _IMMUTABLE:
        return value
    if t is str:
        return _check_str(value)
    if t is dict:
        return _norm_dict(value)
    if t is list or t is tuple:
        return _norm_list(value)
    if t is int:
        return _int_to_float(value)
    return _norm_other(value)


def _norm_list(items: list[Any] | tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    append = out.append
    for i, item in enumerate(items):
        t = type(item)
        if t in _IMMUTABLE:
            append(item)
            continue
        if item is UNDEFINED:
            e = _Invalid(
                "undefined is not a valid Convex value inside an array; use None (null) instead"
            )
            e.segments.append(f"[{i}]")
            raise e
        try:
            append(_norm(item))
        except _Invalid as e:
            e.segments.append(f"[{i}]")
            raise
    return out


def _norm_dict(obj: dict[Any, Any]) -> dict[str, Any]:
    # Canonical objects have their keys in sorted (UTF-8 = code point) order, like
    # Convex's objects: equal values are then identical structures, with identical
    # storage bytes, and documents read back with the field order Convex gives.
    try:
        keys = sorted(obj)
    except TypeError:
        keys = list(obj)  # mixed key types: the loop below reports the culprit
    out: dict[str, Any] = {}
    for key in keys:
        item = obj[key]
        if type(key) is not str:
            if isinstance(key, str):
                key = str.__str__(key)
            else:
                raise _Invalid(
                    f"Object keys must be strings, found {type(key).__name__} {key!r:.100}"
                )
        if not key.isascii():
            try:
                _check_str(key)
            except _Invalid as e:
                e.message = f"Object key {key!r:.100} is not valid Unicode"
                raise
        if item is UNDEFINED:
            continue  # `{a: undefined}` is `{}`, as in Convex.
        if type(item) in _IMMUTABLE:
            out[key] = item
            continue
        try:
            out[key] = _norm(item)
        except _Invalid as e:
            e.segments.append(f".{key}")
            raise
    return out


def _norm_other(value: Any) -> Any:
    """Slow path: subclasses of the supported types, buffers, and errors."""
    if value is UNDEFINED:
        raise _Invalid("undefined is not a valid Convex value here; use None (null) instead")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, bool):  # pragma: no cover - bool cannot be subclassed
        return bool(value)
    if isinstance(value, int):  # IntEnum and friends behave like plain ints
        return _int_to_float(int(value))
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):  # StrEnum and friends
        return _check_str(str.__str__(value))
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, dict):
        return _norm_dict(value)
    if isinstance(value, (list, tuple)):
        return _norm_list(value)
    kind = type(value).__name__
    hint = "; use a list (array) instead" if isinstance(value, (set, frozenset)) else ""
    raise _Invalid(f"{kind} {value!r:.200} is not a supported Convex type{hint}")


def normalize(value: Any, path: str = "", *, allow_undefined: bool = False) -> Any:
    """Return the canonical Convex form of `value` as a new structure (input untouched).

    int -> float64 (must be exact), tuple -> list, bytearray/memoryview -> bytes,
    `UNDEFINED` object fields are dropped, object keys are put in sorted order. `path` prefixes error paths (`.a[2].b`).
    A top-level `UNDEFINED` is refused unless `allow_undefined` (index ranges use it).
    Raises InvalidValueError naming the offending path.
    """
    t = type(value)
    if t in _IMMUTABLE:
        return value
    if value is UNDEFINED:
        if allow_undefined:
            return value
        raise InvalidValueError(
            "undefined is not a valid Convex value"
            + (f" (present at path {path})" if path else "")
            + "; use None (null) instead"
        )
    try:
        return _norm(value)
    except _Invalid as e:
        raise InvalidValueError(e.render(path)) from None
    except RecursionError:
        raise InvalidValueError(
            "Value is nested too deeply or contains a reference cycle"
            + (f" (present at path {path})" if path else "")
        ) from None
