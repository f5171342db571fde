"""Value sizes and the documented document limits (docs: production/state/limits.mdx,
database/types.md).

Sizes follow Convex's own accounting so that "1 MiB" means what it means there:
null/boolean 1, int64/float64 9 (tag + 8 bytes), string/bytes 2 + length in bytes
(UTF-8 for strings), array 2 + elements, object 2 + sum(len(key) + 1 + value).

Nesting counts objects and arrays: `[[[[]]]]` has depth 4 and a scalar 0. A
document is itself an object, so `{"a": [[[[]]]]}` has depth 5 (Convex measures
the document value the same way), and the limit is 16.

`check_document` and `check_value` validate everything in one walk and return
the size, so a write pays for exactly one traversal.
"""

from __future__ import annotations

from typing import Any, Final

from syncline.errors import InvalidValueError
from syncline.values.model import Int64

MAX_DOCUMENT_SIZE: Final = 1 << 20  # 1 MiB
MAX_NESTING_DEPTH: Final = 16
MAX_OBJECT_FIELDS: Final = 1024
MAX_ARRAY_ELEMENTS: Final = 8192
MAX_TOP_LEVEL_FIELD_NAME_LENGTH: Final = 64
MAX_FIELD_NAME_LENGTH: Final = 1024
# Function arguments, return values and the arguments of functions one mutation
# schedules are limited to 16 MiB each (limits.mdx, "Functions").
MAX_FUNCTION_ARGS_SIZE: Final = 16 << 20
MAX_FUNCTION_RESULT_SIZE: Final = 16 << 20

_MAX_JSON_BYTES_PER_VALUE_BYTE: Final = 7
"""The most bytes of JSON that one byte of a value's size takes, as clients write it
(compact JSON): an empty bytes value counts 2 and is `{"$bytes":""},` (14); next come
`false,` (6 for 1) and a control character in a string (`\u0001`, 6)."""
_MAX_CALL_ENVELOPE: Final = 1 << 20  # the rest of a call: path, format, request id, ...

MAX_ENCODED_CALL_SIZE: Final = (
    MAX_FUNCTION_ARGS_SIZE * _MAX_JSON_BYTES_PER_VALUE_BYTE + _MAX_CALL_ENVELOPE)
"""The largest function call a transport accepts, in bytes of JSON (113 MiB): any call
whose arguments are within the 16 MiB limit fits however they encode, and a call over
that limit still arrives and is answered with the limit's error."""

ID_FIELD: Final = "_id"
CREATION_TIME_FIELD: Final = "_creationTime"
SYSTEM_FIELDS: Final = frozenset({ID_FIELD, CREATION_TIME_FIELD})

_NoneType: Final = type(None)
_SCALAR_SIZE: Final[dict[type, int]] = {float: 9, Int64: 9, bool: 1, _NoneType: 1}


class _Invalid(Exception):
    """Internal: message plus path segments collected while unwinding."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.segments: list[str] = []

    def render(self) -> str:
        if self.segments:
            return f"{self.message} (present at path {''.join(reversed(self.segments))})"
        return self.message


def field_name_error(name: str, max_length: int = MAX_FIELD_NAME_LENGTH) -> str | None:
    """Why `name` cannot be an object field name, or None if it can.

    Rules (Convex): non-empty, printable ASCII only (0x20-0x7E), not starting with
    "$" (reserved for the wire encoding), at most `max_length` characters.
    """
    if name.isascii() and name.isprintable() and 0 < len(name) <= max_length and name[0] != "$":
        return None
    if not name:
        return "Field name cannot be empty"
    if name[0] == "$":
        return f"Field name {name!r:.100} starts with '$', which is reserved"
    for ch in name:
        if not " " <= ch <= "~":
            return (
                f"Field name {name!r:.100} has invalid character {ch!r}: field names can "
                "only contain printable ASCII characters"
            )
    return f"Field name {name[:40]!r}... is too long ({len(name)} > maximum {max_length})"


def _str_size(s: str) -> int:
    if s.isascii():
        return len(s) + 2
    try:
        return len(s.encode("utf-8")) + 2
    except UnicodeEncodeError as e:
        raise _Invalid(
            f"String contains an unpaired surrogate at index {e.start}: strings must be "
            "valid Unicode"
        ) from None


def _too_nested() -> _Invalid:
    return _Invalid(
        f"Value is too nested (more than the maximum {MAX_NESTING_DEPTH} levels of "
        "nested objects and arrays)"
    )


def _checked_size(value: Any, depth: int) -> int:
    """Size of `value`, validating limits. `depth` is the nesting level `value`
    has if it is an array or object."""
    t = type(value)
    size = _SCALAR_SIZE.get(t)
    if size is not None:
        return size
    if t is str:
        return _str_size(value)
    if t is bytes:
        return len(value) + 2
    if t is dict:
        if depth > MAX_NESTING_DEPTH:
            raise _too_nested()
        n = len(value)
        if n > MAX_OBJECT_FIELDS:
            raise _Invalid(f"Object has too many fields ({n} > maximum number {MAX_OBJECT_FIELDS})")
        size = 2
        depth += 1
        for key, item in value.items():
            if type(key) is not str:
                raise _Invalid(f"Object key {key!r:.100} is not a string")
            if not (
                key.isascii()
                and key.isprintable()
                and 0 < len(key) <= MAX_FIELD_NAME_LENGTH
                and key[0] != "$"
            ):
                raise _Invalid(field_name_error(key) or "invalid field name")
            try:
                size += len(key) + 1 + _checked_size(item, depth)
            except _Invalid as e:
                e.segments.append(f".{key}")
                raise
        return size
    if t is list:
        if depth > MAX_NESTING_DEPTH:
            raise _too_nested()
        n = len(value)
        if n > MAX_ARRAY_ELEMENTS:
            raise _Invalid(f"Array length is too long ({n} > maximum length {MAX_ARRAY_ELEMENTS})")
        size = 2
        depth += 1
        for i, item in enumerate(value):
            s = _SCALAR_SIZE.get(type(item))
            if s is not None:
                size += s
                continue
            try:
                size += _checked_size(item, depth)
            except _Invalid as e:
                e.segments.append(f"[{i}]")
                raise
        return size
    raise _Invalid(
        f"{t.__name__} {value!r:.100} is not a canonical Convex value (normalize it first)"
    )


def _top_level_name_error(key: str) -> str:
    msg = field_name_error(key, MAX_TOP_LEVEL_FIELD_NAME_LENGTH)
    if msg is None:  # a well-formed name whose only fault is the leading underscore
        return (
            f"Field {key!r} starts with an underscore, which is only allowed for the "
            "system fields '_id' and '_creationTime'"
        )
    if len(key) > MAX_TOP_LEVEL_FIELD_NAME_LENGTH and field_name_error(key) is None:
        msg += " for a top-level field (nested object keys may have up to 1024)"
    return msg


def check_document(doc: dict[str, Any], *, max_size: int = MAX_DOCUMENT_SIZE) -> int:
    """Validate a document (top-level object, system fields allowed) against the
    documented limits and return its size in bytes.

    Raises InvalidValueError naming the path and the limit that was broken.
    """
    if type(doc) is not dict:
        raise InvalidValueError(f"A document must be an object, got {type(doc).__name__}")
    n = len(doc)
    if n > MAX_OBJECT_FIELDS:
        raise InvalidValueError(
            f"Document has too many fields ({n} > maximum number {MAX_OBJECT_FIELDS})"
        )
    size = 2
    for key, item in doc.items():
        if type(key) is not str:
            raise InvalidValueError(f"Document field name {key!r:.100} is not a string")
        if (
            not (
                key.isascii()
                and key.isprintable()
                and 0 < len(key) <= MAX_TOP_LEVEL_FIELD_NAME_LENGTH
                and key[0] != "$"
                and key[0] != "_"
            )
            and key not in SYSTEM_FIELDS
        ):
            raise InvalidValueError(_top_level_name_error(key))
        try:
            size += len(key) + 1 + _checked_size(item, 2)
        except _Invalid as e:
            e.segments.append(f".{key}")
            raise InvalidValueError(e.render()) from None
        except RecursionError:
            raise InvalidValueError("Value is nested too deeply or contains a cycle") from None
    if size > max_size:
        raise InvalidValueError(
            f"Document is too large ({size} bytes > maximum size {max_size} bytes)"
        )
    return size


def check_value(value: Any, *, max_size: int | None = None, what: str = "Value") -> int:
    """Validate a non-document value (function arguments, return values) against the
    nesting, array-length, field-count and field-name limits; return its size.

    `max_size` optionally caps the size (e.g. MAX_FUNCTION_ARGS_SIZE); `what` names
    the value in the size error.
    """
    try:
        size = _checked_size(value, 1)
    except _Invalid as e:
        raise InvalidValueError(e.render()) from None
    except RecursionError:
        raise InvalidValueError("Value is nested too deeply or contains a cycle") from None
    if max_size is not None and size > max_size:
        raise InvalidValueError(f"{what} too large ({size} bytes > maximum size {max_size} bytes)")
    return size


def _size(value: Any) -> int:
    t = type(value)
    s = _SCALAR_SIZE.get(t)
    if s is not None:
        return s
    if t is str:
        return (len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))) + 2
    if t is bytes:
        return len(value) + 2
    if t is list:
        return 2 + sum(map(_size, value))
    if t is dict:
        size = 2
        for key, item in value.items():
            size += len(key) + 1 + _size(item)
        return size
    raise InvalidValueError(
        f"{t.__name__} {value!r:.100} is not a canonical Convex value (normalize it first)"
    )


def value_size(value: Any) -> int:
    """Convex-style approximate size of a canonical value in bytes (no validation)."""
    return _size(value)


def nesting_depth(value: Any) -> int:
    """Nesting depth: 0 for scalars, 1 + deepest child for arrays and objects."""
    t = type(value)
    if t is list:
        return 1 + max(map(nesting_depth, value), default=0)
    if t is dict:
        return 1 + max(map(nesting_depth, value.values()), default=0)
    return 0
