"""JSON encodings of values.

1. Convex's wire JSON (`convex_encoded_json`), spoken by the official clients
   (`src/values/value.ts` in the `convex` npm package, `convex/values.py` in the
   PyPI package) and the sync protocol:
     int64                         -> {"$integer": base64(8 bytes little-endian two's complement)}
     float64 finite and not -0.0   -> JSON number
     NaN, +-inf, -0.0              -> {"$float": base64(8 bytes little-endian IEEE-754)}
     bytes                         -> {"$bytes": base64}
   Object keys starting with "$" are reserved for these wrappers. Decoding turns
   every JSON number (integers included) into a float64, like JavaScript does.

2. The lossy "clean" export JSON of `format=json` (HTTP APIs, streaming export,
   snapshot export): int64 -> decimal string, bytes -> base64 string, NaN/inf ->
   "NaN"/"Infinity"/"-Infinity" (the docs' "json Format for Export" column of the
   Convex types table: int64 "string (base10)", bytes "string (base64)", float64
   "number / string", "Inf and NaN are JSON serialized as strings"). A float64 stays
   a JSON float even when whole (`3.0`), as Convex writes it; `to_js_json` is the
   JavaScript-style rendering (`3`) for messages.

3. `format_value`: compact rendering of a value for error messages.
"""

from __future__ import annotations

import binascii
import struct
from math import copysign, isfinite
from typing import Any, Final

import orjson

from syncline.errors import InvalidValueError
from syncline.values.limits import MAX_FIELD_NAME_LENGTH
from syncline.values.model import UNDEFINED, Int64

_NoneType: Final = type(None)
_pack_i64_le = struct.Struct("<q").pack
_unpack_i64_le = struct.Struct("<q").unpack
_pack_f64_le = struct.Struct("<d").pack
_unpack_f64_le = struct.Struct("<d").unpack
_b64encode = binascii.b2a_base64


def _b64(data: bytes) -> str:
    return _b64encode(data, newline=False).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    if type(text) is not str:
        raise InvalidValueError(
            f"Malformed {what} field: expected a base64 string, got {text!r:.100}"
        )
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise InvalidValueError(
            f"Malformed {what} field: {text!r:.100} is not valid base64"
        ) from None


def _key_ok(key: Any) -> bool:
    return (
        type(key) is str
        and key.isascii()
        and key.isprintable()
        and len(key) <= MAX_FIELD_NAME_LENGTH
        and key[:1] != "$"
    )


def _bad_key(key: Any) -> InvalidValueError:
    if type(key) is not str:
        return InvalidValueError(f"Object keys must be strings, found {key!r:.100}")
    if key[:1] == "$":
        return InvalidValueError(f"Field name {key!r:.100} starts with a '$', which is reserved")
    if len(key) > MAX_FIELD_NAME_LENGTH:
        return InvalidValueError(
            f"Field name {key[:40]!r}... exceeds maximum field name length {MAX_FIELD_NAME_LENGTH}"
        )
    return InvalidValueError(
        f"Field name {key!r:.100} has an invalid character: field names can only contain "
        "non-control ASCII characters"
    )


# ----------------------------------------------------------------------------- wire JSON


def _float_to_json(v: float) -> Any:
    if isfinite(v) and (v != 0.0 or copysign(1.0, v) > 0):
        return v
    return {"$float": _b64(_pack_f64_le(v))}


def _int64_to_json(v: int) -> Any:
    return {"$integer": _b64(_pack_i64_le(v))}


def _bytes_to_json(v: bytes) -> Any:
    return {"$bytes": _b64(v)}


def _identity(v: Any) -> Any:
    return v


def _list_to_json(v: list[Any]) -> Any:
    return [to_json(x) for x in v]


def _dict_to_json(v: dict[str, Any]) -> Any:
    out = {}
    for key, item in v.items():
        if not _key_ok(key):
            raise _bad_key(key)
        out[key] = to_json(item)
    return out


def _not_canonical(v: Any) -> Any:
    if v is UNDEFINED:
        raise InvalidValueError("undefined is not a valid Convex value")
    raise InvalidValueError(
        f"{type(v).__name__} {v!r:.100} is not a canonical Convex value (normalize it first)"
    )


_TO_JSON: Final[dict[type, Any]] = {
    str: _identity,
    float: _float_to_json,
    bool: _identity,
    _NoneType: _identity,
    Int64: _int64_to_json,
    bytes: _bytes_to_json,
    list: _list_to_json,
    dict: _dict_to_json,
}


def to_json(value: Any) -> Any:
    """Encode a canonical value as Convex wire JSON (a JSON-compatible structure)."""
    enc = _TO_JSON.get(type(value))
    if enc is None:
        return _not_canonical(value)
    return enc(value)


def _from_special(key: str, payload: Any) -> Any:
    if key == "$integer":
        raw = _unb64(payload, "$integer")
        if len(raw) != 8:
            raise InvalidValueError(f"Received {len(raw)} bytes, expected 8 for $integer")
        return int.__new__(Int64, _unpack_i64_le(raw)[0])
    if key == "$float":
        raw = _unb64(payload, "$float")
        if len(raw) != 8:
            raise InvalidValueError(f"Received {len(raw)} bytes, expected 8 for $float")
        f = _unpack_f64_le(raw)[0]
        # Like Convex: a float that fits a plain JSON number must be sent as one
        # (0.0 is tolerated, as the backend does).
        if isfinite(f) and f != 0.0:
            raise InvalidValueError(f"Float64 {f!r} should be encoded as a number")
        return f
    if key == "$bytes":
        return _unb64(payload, "$bytes")
    if key in ("$set", "$map"):
        kind = "Set" if key == "$set" else "Map"
        raise InvalidValueError(f"Received a {kind} which is no longer supported as a Convex type")
    raise _bad_key(key)


def _from_json(obj: Any) -> Any:
    t = type(obj)
    if t is str or t is float or t is bool or obj is None:
        return obj
    if t is int:
        try:
            return float(obj)
        except OverflowError:
            raise InvalidValueError(f"JSON number {obj} is out of the float64 range") from None
    if t is list:
        return [_from_json(x) for x in obj]
    if t is dict:
        if len(obj) == 1:
            for key, payload in obj.items():
                if type(key) is str and key[:1] == "$":
                    return _from_special(key, payload)
        out = {}
        for key in obj:
            if not _key_ok(key):
                raise _bad_key(key)
        for key in sorted(obj):  # canonical objects keep their keys sorted
            out[key] = _from_json(obj[key])
        return out
    raise InvalidValueError(f"{t.__name__} {obj!r:.100} is not a JSON value")


def from_json(obj: Any) -> Any:
    """Decode Convex wire JSON (as parsed by a JSON library) into a canonical value
    (JSON numbers become float64s; object keys come out sorted, as from `normalize`)."""
    try:
        return _from_json(obj)
    except RecursionError:
        raise InvalidValueError("JSON value is nested too deeply") from None


def dumps(value: Any) -> bytes:
    """Serialize a canonical value to Convex wire JSON bytes."""
    try:
        return orjson.dumps(to_json(value))
    except orjson.JSONEncodeError as e:
        raise InvalidValueError(f"Value cannot be serialized to JSON: {e}") from None


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse Convex wire JSON bytes/text into a canonical value."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise InvalidValueError(f"Invalid JSON: {e}") from None
    return from_json(obj)


# ----------------------------------------------------------------------------- export JSON


def _float_to_export(v: float) -> Any:
    # A float stays a JSON float, whole or not (orjson writes 3.0 as `3.0`), as Convex writes
    # float64s: consumers type a column from the numbers they see, and `3` reads as an integer.
    if isfinite(v):
        return v
    if v != v:
        return "NaN"
    return "Infinity" if v > 0 else "-Infinity"


def _float_to_js(v: float) -> Any:
    if isfinite(v):
        # As JavaScript prints numbers (3, not 3.0); -0.0 stays a float.
        if v.is_integer() and abs(v) < _SAFE_INTEGER and (v != 0 or copysign(1.0, v) > 0):
            return int(v)
        return v
    return _float_to_export(v)


_SAFE_INTEGER: Final = 2**53


def _list_to_export(v: list[Any]) -> Any:
    return [to_export_json(x) for x in v]


def _dict_to_export(v: dict[str, Any]) -> Any:
    return {key: to_export_json(item) for key, item in v.items()}


_TO_EXPORT: Final[dict[type, Any]] = {
    str: _identity,
    float: _float_to_export,
    bool: _identity,
    _NoneType: _identity,
    Int64: lambda v: str(int(v)),
    bytes: lambda v: _b64(v),
    list: _list_to_export,
    dict: _dict_to_export,
}


def to_export_json(value: Any) -> Any:
    """Lossy, human-friendly JSON of `format=json` exports: int64 -> "123" (decimal
    string), bytes -> base64 string, NaN/inf -> "NaN"/"Infinity"/"-Infinity",
    other floats (whole ones and -0.0 included) -> Python floats, which serialize as
    `3.0` and `-0.0`, as Convex writes float64s."""
    enc = _TO_EXPORT.get(type(value))
    if enc is None:
        return _not_canonical(value)
    return enc(value)


def to_js_json(value: Any) -> Any:
    """`to_export_json`, but whole floats below 2^53 become ints, so the JSON text reads
    as JavaScript's `JSON.stringify` would print it (`3`): for messages, such as a
    ConvexError's text, never for data."""
    if type(value) is float:
        return _float_to_js(value)
    if type(value) is list:
        return [to_js_json(x) for x in value]
    if type(value) is dict:
        return {key: to_js_json(item) for key, item in value.items()}
    return to_export_json(value)


# ----------------------------------------------------------------------------- error text

MAX_FORMATTED_LENGTH: Final = 16384
_TRUNCATED: Final = "[...truncated]"


def _format_float(v: float) -> str:
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0.0:
        return "-0" if copysign(1.0, v) < 0 else "0"
    if v.is_integer() and abs(v) < 1e21:
        return str(int(v))  # JavaScript prints 3.0 as 3
    return repr(v)


class _Full(Exception):
    """Internal: the output reached the length limit."""


def _format_into(value: Any, out: list[str], budget: list[int]) -> None:
    t = type(value)
    if t is str:
        if len(value) > budget[0]:
            value = value[: budget[0] + 1]
        s = orjson.dumps(value).decode() if value.isascii() or _utf8_ok(value) else repr(value)
    elif t is float:
        s = _format_float(value)
    elif t is Int64:
        s = f"{int(value)}n"
    elif t is bool:
        s = "true" if value else "false"
    elif value is None:
        s = "null"
    elif t is bytes:
        s = f'b"{_b64(value)}"' if len(value) <= MAX_FORMATTED_LENGTH else 'b"..."'
    elif t is list or t is tuple:
        out.append("[")
        budget[0] -= 1
        for i, item in enumerate(value):
            if i:
                out.append(",")
                budget[0] -= 1
            _format_into(item, out, budget)
        s = "]"
    elif isinstance(value, dict):
        out.append("{")
        budget[0] -= 1
        for i, (key, item) in enumerate(value.items()):
            k = orjson.dumps(key).decode() if type(key) is str and _utf8_ok(key) else repr(key)
            out.append(f"{',' if i else ''}{k}:")
            budget[0] -= len(out[-1])
            _format_into(item, out, budget)
        s = "}"
    elif value is UNDEFINED:
        s = "undefined"
    else:
        s = repr(value)
    out.append(s)
    budget[0] -= len(s)
    if budget[0] < 0:
        raise _Full


def _utf8_ok(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def format_value(value: Any, max_length: int = MAX_FORMATTED_LENGTH) -> str:
    """Render a value for an error message the way Convex does: JSON-like, int64 as
    `123n`, floats as JavaScript prints them, bytes as b"<base64>", undefined as
    `undefined`; truncated with "[...truncated]" beyond `max_length` characters."""
    out: list[str] = []
    budget = [max_length]
    try:
        _format_into(value, out, budget)
    except _Full:
        text = "".join(out)
        return text[: max(0, max_length - len(_TRUNCATED))] + _TRUNCATED
    except RecursionError:
        return "".join(out)[: max(0, max_length - len(_TRUNCATED))] + _TRUNCATED
    return "".join(out)
