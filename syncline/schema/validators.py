"""The `v` validator builder: Convex's runtime type descriptions.

The same validators describe function arguments, return values and table
documents, so one object model serves `functions` and `database` alike.
A validator is immutable and compares by structure, which lets a pushed schema
be compared with the running one. `validate` both checks and canonicalizes: a
plain Python `int` becomes a float64 unless the validator says `v.int64()`.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, NoReturn

from syncline.errors import InvalidValueError, SchemaError, ValidationError
from syncline.values.model import INT64_MAX, INT64_MIN, UNDEFINED, Int64

__all__ = [
    "AnyValidator",
    "ArrayValidator",
    "BooleanValidator",
    "BytesValidator",
    "Float64Validator",
    "IdTableLookup",
    "IdValidator",
    "Int64Validator",
    "LiteralValidator",
    "NullValidator",
    "ObjectValidator",
    "RecordValidator",
    "StringValidator",
    "UnionValidator",
    "Validator",
    "pagination_opts_validator",
    "pagination_result_validator",
    "v",
    "validator_from_json",
]

# Maps a document ID string to the name of its table, or None for an unknown table.
IdTableLookup = Callable[[str], str | None]

# 2**53: above this not every integer is a float64, so we check exactness instead.
_FLOAT_EXACT_LIMIT = 2**53


# --------------------------------------------------------------------------- helpers



def _sorted_object(obj: dict[str, Any]) -> dict[str, Any]:
    """Objects are canonical with keys in sorted order, the same form normalize() gives.
    Most already are (clients and earlier validation sort them): those are not copied."""
    if len(obj) < 2:
        return obj
    keys = list(obj)
    ordered = sorted(keys)
    return obj if keys == ordered else {k: obj[k] for k in ordered}

def _is_valid_id(value: str) -> bool:
    """Syntactic ID check; ID encoding belongs to the values layer."""
    from syncline.values.ids import is_valid_id

    return bool(is_valid_id(value))


def format_value(value: Any) -> str:
    """A value as Convex error messages show it (values layer's formatting)."""
    from syncline.values.json_codec import format_value as codec_format

    return str(codec_format(value))


def _format_float(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x.is_integer() and abs(x) < 1e21:
        return "-0" if x == 0 and math.copysign(1.0, x) < 0 else str(int(x))
    return repr(x)


def _format_key(key: str) -> str:
    """An object field name as JavaScript source writes it (quoted unless an identifier)."""
    if key.isidentifier() and key.isascii():
        return key
    return json.dumps(key)


def _plain_str(value: str) -> str:
    """A `str` subclass (e.g. a StrEnum member) as a plain `str`."""
    return value if type(value) is str else str.__str__(value)


def _is_valid_unicode(value: str) -> bool:
    """Convex strings are valid Unicode: an unpaired surrogate cannot be UTF-8 encoded."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_unicode(path: str) -> NoReturn:
    raise ValidationError(
        "String contains an unpaired surrogate: Convex strings must be valid Unicode.\n"
        f"{_path_line(path)}".rstrip("\n"),
        path=path,
    )


def _path_line(path: str) -> str:
    return f"Path: {path}\n" if path else ""


def _no_match(value: Any, validator: Validator, path: str) -> NoReturn:
    raise ValidationError(
        "Value does not match validator.\n"
        f"{_path_line(path)}"
        f"Value: {format_value(value)}\n"
        f"Validator: {validator!r}",
        path=path,
    )


def _field_path(path: str, name: str) -> str:
    return f"{path}.{name}"


def _int_to_float(value: int, path: str) -> float:
    """A plain int as float64, refusing ints a float64 cannot hold exactly."""
    if -_FLOAT_EXACT_LIMIT <= value <= _FLOAT_EXACT_LIMIT:
        return float(value)
    try:
        as_float = float(value)
    except OverflowError:
        as_float = math.inf
    if math.isinf(as_float) or int(as_float) != value:
        raise ValidationError(
            f"Integer {value} cannot be represented exactly as a float64 (a Convex number).\n"
            f"{_path_line(path)}"
            "Wrap it in Int64 and use v.int64() to store 64-bit integers.",
            path=path,
        )
    return as_float


def _canonical_any(value: Any, path: str) -> Any:
    """Canonicalize an arbitrary Python value as a Convex value (for `v.any()`)."""
    if value is None or isinstance(value, bool | Int64):
        # `bool` and `Int64` are int subclasses; they must be tested before `int`.
        return value
    if isinstance(value, str):
        if not _is_valid_unicode(value):
            _bad_unicode(path)
        return _plain_str(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return _int_to_float(value, path)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, list | tuple):
        return [_canonical_any(x, f"{path}[{i}]") for i, x in enumerate(value)]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, x in value.items():
            if not isinstance(k, str):
                raise ValidationError(
                    f"Object keys must be strings, got {k!r}.\n{_path_line(path)}".rstrip("\n"),
                    path=path,
                )
            if not _is_valid_unicode(k):
                _bad_unicode(_field_path(path, k))
            if x is UNDEFINED:
                continue  # an undefined field is the same as a missing one
            out[_plain_str(k)] = _canonical_any(x, _field_path(path, k))
        return _sorted_object(out)
    what = "undefined" if value is UNDEFINED else f"{value!r} (a Python {type(value).__name__})"
    raise ValidationError(
        f"{what} is not a valid Convex value.\n{_path_line(path)}".rstrip("\n"), path=path
    )


def _check_field_name(name: Any, where: str) -> str:
    """Object validator keys must be possible Convex field names."""
    if not isinstance(name, str):
        raise SchemaError(f"{where} field names must be strings, got {name!r}")
    if not name:
        raise SchemaError(f"{where} field names cannot be empty")
    if name.startswith("$"):
        raise SchemaError(f"{where} field name {name!r} starts with '$', which is reserved")
    if any(not 32 <= ord(c) < 127 for c in name):
        raise SchemaError(
            f"{where} field name {name!r} must contain only non-control ASCII characters"
        )
    return _plain_str(name)


def _record_key_problem(key: str) -> str | None:
    if not key:
        return "record keys cannot be empty"
    if key.startswith("$"):
        return "record keys cannot start with '$'"
    if key.startswith("_"):
        return "record keys cannot start with '_'"
    if any(not 32 <= ord(c) < 127 for c in key):
        return "record keys can only contain non-control ASCII characters"
    return None


def _require_validator(x: Any, where: str) -> Validator:
    if not isinstance(x, Validator):
        raise SchemaError(f"{where} must be a validator (built with `v`), got {x!r}")
    return x


def _require_not_optional(x: Validator, where: str) -> None:
    if x.is_optional:
        raise SchemaError(
            f"{where} cannot be v.optional(...): v.optional is only allowed for the value "
            "of a field in v.object(...)"
        )


# --------------------------------------------------------------------------- base class


class Validator:
    """Base class of all validators. Build them with `v`, not directly."""

    __slots__ = ("_optional",)
    kind: ClassVar[str] = ""

    _optional: bool

    def __init__(self, *, optional: bool = False) -> None:
        object.__setattr__(self, "_optional", optional)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __copy__(self) -> Validator:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> Validator:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # Slots plus a refusing __setattr__ defeat default pickling; the JSON form is exact.
        return (_rebuild, (self.to_json(), self._optional))

    @property
    def is_optional(self) -> bool:
        """True for `v.optional(...)`: the object field may be missing."""
        return self._optional

    def as_optional(self) -> Validator:
        """This validator with `is_optional` set (what `v.optional` returns)."""
        return self if self._optional else self._copy(optional=True)

    def as_required(self) -> Validator:
        """This validator without the optional marker (the value when present)."""
        return self._copy(optional=False) if self._optional else self

    def validate(self, value: Any, *, path: str = "", id_table: IdTableLookup | None = None) -> Any:
        """Check `value` and return its canonical form, or raise ValidationError.

        `id_table`, when given, maps an ID string to its table name so that
        `v.id(table)` can refuse IDs of other tables.
        """
        if self._optional:
            raise SchemaError(
                f"{self!r} can only be used as the value of a field in v.object(...); "
                "a standalone value cannot be missing"
            )
        try:
            return self._check(value, path, id_table)
        except RecursionError:  # a Python value from a function: any depth, even a cycle
            raise ValidationError(
                "Value is nested too deeply or contains a reference cycle (Convex values "
                f"have at most 16 levels of nested objects and arrays).\n{_path_line(path)}"
                .rstrip("\n"),
                path=path,
            ) from None

    def is_valid(self, value: Any, *, id_table: IdTableLookup | None = None) -> bool:
        """Whether `value` matches (convenience for callers that only need a yes/no)."""
        try:
            self.validate(value, id_table=id_table)
        except ValidationError:
            return False
        return True

    # -- to be provided by subclasses

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        raise NotImplementedError

    def _copy(self, *, optional: bool) -> Validator:
        raise NotImplementedError

    def _source(self) -> str:
        return f"v.{self.kind}()"

    def _json(self) -> dict[str, Any]:
        return {"type": self.kind}

    def _key(self) -> tuple[Any, ...]:
        return (self.kind,)

    # -- shared

    def to_json(self) -> dict[str, Any]:
        """Convex's validator JSON (`ValidatorJSON` in the `convex` npm package).

        As in Convex, the optional marker is carried only by object fields, so
        a top-level `v.optional(x)` serializes like `x`.
        """
        return self._json()

    def __repr__(self) -> str:
        src = self._source()
        return f"v.optional({src})" if self._optional else src

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Validator):
            return NotImplemented
        return self._optional == other._optional and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self._optional, self._key()))


class _Leaf(Validator):
    """Validators without parameters share construction and copying."""

    __slots__ = ()

    def _copy(self, *, optional: bool) -> Validator:
        return type(self)(optional=optional)


# --------------------------------------------------------------------------- leaves


class StringValidator(_Leaf):
    """`v.string()`."""

    __slots__ = ()
    kind = "string"

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        if isinstance(value, str):
            if not _is_valid_unicode(value):
                _bad_unicode(path)
            return _plain_str(value)
        _no_match(value, self, path)


class Float64Validator(_Leaf):
    """`v.number()` / `v.float64()`: accepts floats and plain ints, returns a float."""

    __slots__ = ()
    kind = "float64"

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        if isinstance(value, float):
            return float(value)
        if isinstance(value, int) and not isinstance(value, bool | Int64):
            return _int_to_float(value, path)
        _no_match(value, self, path)

    def _json(self) -> dict[str, Any]:
        return {"type": "number"}


class Int64Validator(_Leaf):
    """`v.int64()` / `v.bigint()`: accepts Int64 and in-range plain ints, never floats."""

    __slots__ = ()
    kind = "int64"

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        if isinstance(value, Int64):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            if not INT64_MIN <= value <= INT64_MAX:
                raise ValidationError(
                    f"Integer {value} is outside the int64 range [-2^63, 2^63-1].\n"
                    f"{_path_line(path)}"
                    f"Validator: {self!r}",
                    path=path,
                )
            return Int64(value)
        _no_match(value, self, path)

    def _json(self) -> dict[str, Any]:
        return {"type": "bigint"}


class BooleanValidator(_Leaf):
    """`v.boolean()`."""

    __slots__ = ()
    kind = "boolean"

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        if isinstance(value, bool):
            return value
        _no_match(value, self, path)


class NullValidator(_Leaf):
    """`v.null()`: only None (UNDEFINED is a missing field, not null)."""

    __slots__ = ()
    kind = "null"

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        if value is None:
            return None
        _no_match(value, self, path)


class BytesValidator(_Leaf):
    """`v.bytes()`: bytes-like input, returned as `bytes`."""

    __slots__ = ()
    kind = "bytes"

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        _no_match(value, self, path)


class AnyValidator(_Leaf):
    """`v.any()`: any Convex value, canonicalized."""

    __slots__ = ()
    kind = "any"

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        return _canonical_any(value, path)


# --------------------------------------------------------------------------- parameterized


class IdValidator(Validator):
    """`v.id(table)`: a document ID string, of `table` when an `id_table` lookup is given."""

    __slots__ = ("_table_name",)
    kind = "id"

    _table_name: str

    def __init__(self, table_name: str, *, optional: bool = False) -> None:
        if not isinstance(table_name, str) or not table_name:
            raise SchemaError(f"v.id(table_name) requires a non-empty string, got {table_name!r}")
        super().__init__(optional=optional)
        object.__setattr__(self, "_table_name", table_name)

    @property
    def table_name(self) -> str:
        return self._table_name

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        if not isinstance(value, str) or not _is_valid_id(value):
            _no_match(value, self, path)
        if id_table is not None:
            found = id_table(value)
            if found is None:
                _no_match(value, self, path)
            if found != self._table_name:
                raise ValidationError(
                    f"Found ID {format_value(value)} from table `{found}`, which does not match "
                    f"the table name in validator `{self.as_required()!r}`.\n"
                    f"{_path_line(path)}".rstrip("\n"),
                    path=path,
                )
        return _plain_str(value)

    def _copy(self, *, optional: bool) -> Validator:
        return IdValidator(self._table_name, optional=optional)

    def _source(self) -> str:
        return f"v.id({json.dumps(self._table_name)})"

    def _json(self) -> dict[str, Any]:
        return {"type": "id", "tableName": self._table_name}

    def _key(self) -> tuple[Any, ...]:
        return ("id", self._table_name)


class ArrayValidator(Validator):
    """`v.array(element)`: a list (tuples accepted) whose items match `element`."""

    __slots__ = ("_element",)
    kind = "array"

    _element: Validator

    def __init__(self, element: Validator, *, optional: bool = False) -> None:
        _require_validator(element, "v.array() element")
        _require_not_optional(element, "v.array() element")
        super().__init__(optional=optional)
        object.__setattr__(self, "_element", element)

    @property
    def element(self) -> Validator:
        return self._element

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        if not isinstance(value, list | tuple):
            _no_match(value, self, path)
        el = self._element
        return [el._check(x, f"{path}[{i}]", id_table) for i, x in enumerate(value)]

    def _copy(self, *, optional: bool) -> Validator:
        return ArrayValidator(self._element, optional=optional)

    def _source(self) -> str:
        return f"v.array({self._element!r})"

    def _json(self) -> dict[str, Any]:
        return {"type": "array", "value": self._element.to_json()}

    def _key(self) -> tuple[Any, ...]:
        return ("array", self._element)


class ObjectValidator(Validator):
    """`v.object({...})`: exactly these fields; extra fields are rejected."""

    __slots__ = ("_fields",)
    kind = "object"

    _fields: Mapping[str, Validator]

    def __init__(self, fields: Mapping[str, Validator], *, optional: bool = False) -> None:
        if not isinstance(fields, Mapping):
            raise SchemaError(f"v.object() takes a dict of field validators, got {fields!r}")
        checked: dict[str, Validator] = {}
        for name, fv in fields.items():
            key = _check_field_name(name, "v.object()")
            checked[key] = _require_validator(fv, f"v.object() field {name!r}")
        super().__init__(optional=optional)
        object.__setattr__(self, "_fields", MappingProxyType(checked))

    @property
    def fields(self) -> Mapping[str, Validator]:
        """Field name -> validator (read-only; optional fields have `is_optional`)."""
        return self._fields

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        if not isinstance(value, Mapping):
            _no_match(value, self, path)
        fields = self._fields
        for k in value:
            if not isinstance(k, str):
                _no_match(value, self, path)
        for name, fv in fields.items():
            present = name in value and value[name] is not UNDEFINED
            if not present and not fv.is_optional:
                raise ValidationError(
                    f"Object is missing the required field `{name}`. Consider wrapping the field "
                    "validator in `v.optional(...)` if this is expected.\n\n"
                    f"{_path_line(path)}"
                    f"Object: {format_value(value)}\n"
                    f"Validator: {self!r}",
                    path=path,
                )
        out: dict[str, Any] = {}
        for k, x in value.items():
            if x is UNDEFINED:
                continue  # same as a missing field
            fv = fields.get(k)
            if fv is None:
                raise ValidationError(
                    f"Object contains extra field `{k}` that is not in the validator.\n\n"
                    f"{_path_line(path)}"
                    f"Object: {format_value(value)}\n"
                    f"Validator: {self!r}",
                    path=path,
                )
            out[_plain_str(k)] = fv._check(x, _field_path(path, k), id_table)
        return _sorted_object(out)

    def _copy(self, *, optional: bool) -> Validator:
        return ObjectValidator(self._fields, optional=optional)

    def _source(self) -> str:
        inner = ", ".join(f"{_format_key(k)}: {fv!r}" for k, fv in self._fields.items())
        return f"v.object({{{inner}}})"

    def _json(self) -> dict[str, Any]:
        return {
            "type": "object",
            "value": {
                k: {"fieldType": fv.to_json(), "optional": fv.is_optional}
                for k, fv in self._fields.items()
            },
        }

    def _key(self) -> tuple[Any, ...]:
        return ("object", frozenset(self._fields.items()))


def _is_record_key_validator(x: Validator) -> bool:
    if isinstance(x, StringValidator | IdValidator):
        return True
    return isinstance(x, UnionValidator) and all(_is_record_key_validator(m) for m in x.members)


class RecordValidator(Validator):
    """`v.record(keys, values)`: an object with arbitrary (validated) keys."""

    __slots__ = ("_keys", "_values")
    kind = "record"

    _keys: Validator
    _values: Validator

    def __init__(self, keys: Validator, values: Validator, *, optional: bool = False) -> None:
        _require_validator(keys, "v.record() keys")
        _require_validator(values, "v.record() values")
        _require_not_optional(keys, "v.record() keys")
        _require_not_optional(values, "v.record() values")
        if not _is_record_key_validator(keys):
            raise SchemaError(
                f"v.record() keys must be v.string(), v.id(...) or a union of those, got {keys!r} "
                "(string literals cannot be record keys)"
            )
        super().__init__(optional=optional)
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "_values", values)

    @property
    def keys(self) -> Validator:
        return self._keys

    @property
    def values(self) -> Validator:
        return self._values

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        if not isinstance(value, Mapping):
            _no_match(value, self, path)
        out: dict[str, Any] = {}
        for k, x in value.items():
            if x is UNDEFINED:
                continue
            if not isinstance(k, str):
                _no_match(value, self, path)
            key_path = _field_path(path, k)
            problem = _record_key_problem(k)
            if problem is not None:
                raise ValidationError(
                    f"Record key {format_value(k)} is not allowed: {problem}.\n"
                    f"{_path_line(key_path)}"
                    f"Validator: {self!r}",
                    path=key_path,
                )
            self._keys._check(k, key_path, id_table)
            out[_plain_str(k)] = self._values._check(x, key_path, id_table)
        return _sorted_object(out)

    def _copy(self, *, optional: bool) -> Validator:
        return RecordValidator(self._keys, self._values, optional=optional)

    def _source(self) -> str:
        return f"v.record({self._keys!r}, {self._values!r})"

    def _json(self) -> dict[str, Any]:
        return {
            "type": "record",
            "keys": self._keys.to_json(),
            "values": {"fieldType": self._values.to_json(), "optional": False},
        }

    def _key(self) -> tuple[Any, ...]:
        return ("record", self._keys, self._values)


class UnionValidator(Validator):
    """`v.union(*members)`: the first matching member wins and converts the value."""

    __slots__ = ("_members",)
    kind = "union"

    _members: tuple[Validator, ...]

    def __init__(self, members: Iterable[Validator], *, optional: bool = False) -> None:
        ms = tuple(members)
        for i, m in enumerate(ms):
            _require_validator(m, f"v.union() member at index {i}")
            _require_not_optional(m, f"v.union() member at index {i}")
        super().__init__(optional=optional)
        object.__setattr__(self, "_members", ms)

    @property
    def members(self) -> tuple[Validator, ...]:
        return self._members

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        for m in self._members:
            try:
                return m._check(value, path, id_table)
            except ValidationError:
                continue
        _no_match(value, self, path)

    def _copy(self, *, optional: bool) -> Validator:
        return UnionValidator(self._members, optional=optional)

    def _source(self) -> str:
        return "v.union(" + ", ".join(repr(m) for m in self._members) + ")"

    def _json(self) -> dict[str, Any]:
        return {"type": "union", "value": [m.to_json() for m in self._members]}

    def _key(self) -> tuple[Any, ...]:
        return ("union", self._members)


LiteralValue = str | bool | float | Int64


def _literal_key(value: LiteralValue) -> tuple[Any, ...]:
    if isinstance(value, float):
        # Distinguish 0.0 from -0.0 and make NaN equal to itself.
        return ("float", "nan" if math.isnan(value) else struct.pack("<d", value))
    return (type(value).__name__, value)


class LiteralValidator(Validator):
    """`v.literal(x)`: exactly one string, number, int64 or boolean."""

    __slots__ = ("_value",)
    kind = "literal"

    _value: LiteralValue

    def __init__(self, value: Any, *, optional: bool = False) -> None:
        if isinstance(value, str):
            if not _is_valid_unicode(value):
                raise SchemaError(
                    "v.literal() strings must be valid Unicode (no unpaired surrogates)"
                )
            canonical: LiteralValue = _plain_str(value)
        elif isinstance(value, float):
            canonical = float(value)
        elif isinstance(value, bool | Int64):
            canonical = value
        elif isinstance(value, int):
            if not -_FLOAT_EXACT_LIMIT <= value <= _FLOAT_EXACT_LIMIT:
                raise SchemaError(
                    f"v.literal({value}) is not exactly representable as a float64; "
                    "use v.literal(Int64(...)) for an int64 literal"
                )
            canonical = float(value)
        else:
            raise SchemaError(
                f"v.literal(value) must be a string, number, Int64 or boolean, got {value!r}"
            )
        super().__init__(optional=optional)
        object.__setattr__(self, "_value", canonical)

    @property
    def value(self) -> LiteralValue:
        return self._value

    def _check(self, value: Any, path: str, id_table: IdTableLookup | None) -> Any:
        lit = self._value
        if isinstance(lit, bool):
            if isinstance(value, bool) and value == lit:
                return value
        elif isinstance(lit, str):
            if isinstance(value, str) and value == lit:
                return lit
        elif isinstance(lit, Int64):
            if isinstance(value, int) and not isinstance(value, bool) and value == lit:
                return lit
        elif isinstance(value, float | int) and not isinstance(value, bool | Int64):
            if math.isnan(lit):
                if isinstance(value, float) and math.isnan(value):
                    return value
            elif value == lit and math.copysign(1.0, value) == math.copysign(1.0, lit):
                return float(value)  # -0.0 and 0.0 are different values
        _no_match(value, self, path)

    def _copy(self, *, optional: bool) -> Validator:
        return LiteralValidator(self._value, optional=optional)

    def _source(self) -> str:
        lit = self._value
        if isinstance(lit, bool):
            text = "true" if lit else "false"
        elif isinstance(lit, Int64):
            text = f"{int(lit)}n"
        elif isinstance(lit, float):
            text = _format_float(lit)
        else:
            text = json.dumps(lit, ensure_ascii=False)
        return f"v.literal({text})"

    def _json(self) -> dict[str, Any]:
        return {"type": "literal", "value": _literal_to_json(self._value)}

    def _key(self) -> tuple[Any, ...]:
        return ("literal", _literal_key(self._value))


# --------------------------------------------------------------------------- literal wire JSON


def _literal_to_json(value: LiteralValue) -> Any:
    """Convex wire encoding of a literal (`$integer` for int64, `$float` for special floats)."""
    from syncline.values.json_codec import to_json

    return to_json(value)


def _literal_from_json(raw: Any) -> LiteralValue:
    from syncline.values.json_codec import from_json

    try:
        value = from_json(raw)
    except InvalidValueError as e:
        raise SchemaError(f"Malformed literal value {raw!r} in validator JSON: {e}") from e
    if not isinstance(value, str | bool | float | Int64):
        raise SchemaError(f"Unsupported literal value in validator JSON: {raw!r}")
    return value


# --------------------------------------------------------------------------- JSON decoding


def validator_from_json(data: Any) -> Validator:
    """Rebuild a validator from Convex validator JSON (the inverse of `to_json`)."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as e:
            raise SchemaError(f"Validator JSON is not valid JSON: {e}") from e
    if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
        raise SchemaError(f"Validator JSON must be an object with a string `type`, got {data!r}")
    t = data["type"]
    simple = _SIMPLE_FROM_JSON.get(t)
    if simple is not None:
        return simple()
    try:
        if t == "id":
            return IdValidator(data["tableName"])
        if t == "literal":
            return LiteralValidator(_literal_from_json(data["value"]))
        if t == "array":
            return ArrayValidator(validator_from_json(data["value"]))
        if t == "union":
            return UnionValidator(validator_from_json(m) for m in data["value"])
        if t == "object":
            fields: dict[str, Validator] = {}
            for name, ft in data["value"].items():
                inner = validator_from_json(ft["fieldType"])
                fields[name] = inner.as_optional() if ft.get("optional") else inner
            return ObjectValidator(fields)
        if t == "record":
            values = data["values"]
            if values.get("optional"):
                raise SchemaError("Record validator values cannot be optional")
            return RecordValidator(
                validator_from_json(data["keys"]), validator_from_json(values["fieldType"])
            )
    except (KeyError, TypeError, AttributeError) as e:
        raise SchemaError(f"Malformed validator JSON {data!r}: {e!r}") from e
    raise SchemaError(f"Unsupported validator type {t!r} in validator JSON")


def _rebuild(data: dict[str, Any], optional: bool) -> Validator:
    """Unpickling helper (see `Validator.__reduce__`)."""
    validator = validator_from_json(data)
    return validator.as_optional() if optional else validator


_SIMPLE_FROM_JSON: dict[str, Callable[[], Validator]] = {
    "string": StringValidator,
    "number": Float64Validator,
    "bigint": Int64Validator,
    "boolean": BooleanValidator,
    "null": NullValidator,
    "bytes": BytesValidator,
    "any": AnyValidator,
}


# --------------------------------------------------------------------------- the builder


class _ValidatorBuilder:
    """The `v` namespace, mirroring `v` from `convex/values`."""

    __slots__ = ()

    @staticmethod
    def string() -> Validator:
        return StringValidator()

    @staticmethod
    def number() -> Validator:
        return Float64Validator()

    @staticmethod
    def float64() -> Validator:
        return Float64Validator()

    @staticmethod
    def int64() -> Validator:
        return Int64Validator()

    @staticmethod
    def bigint() -> Validator:
        return Int64Validator()

    @staticmethod
    def boolean() -> Validator:
        return BooleanValidator()

    @staticmethod
    def null() -> Validator:
        return NullValidator()

    @staticmethod
    def bytes() -> Validator:
        return BytesValidator()

    @staticmethod
    def any() -> Validator:
        return AnyValidator()

    @staticmethod
    def id(table_name: str) -> Validator:
        return IdValidator(table_name)

    @staticmethod
    def array(element: Validator) -> Validator:
        return ArrayValidator(element)

    @staticmethod
    def object(fields: Mapping[str, Validator]) -> Validator:
        return ObjectValidator(fields)

    @staticmethod
    def record(keys: Validator, values: Validator) -> Validator:
        return RecordValidator(keys, values)

    @staticmethod
    def union(*members: Validator) -> Validator:
        return UnionValidator(members)

    @staticmethod
    def literal(value: str | bool | float | int) -> Validator:
        return LiteralValidator(value)

    @staticmethod
    def nullable(inner: Validator) -> Validator:
        """`v.nullable(x)` from `convex/values`: `x` or null, exactly `v.union(x, v.null())`."""
        return UnionValidator((_require_validator(inner, "v.nullable() argument"), NullValidator()))

    @staticmethod
    def optional(inner: Validator) -> Validator:
        return _require_validator(inner, "v.optional() argument").as_optional()

    def __repr__(self) -> str:
        return "v"


v = _ValidatorBuilder()

pagination_opts_validator: Validator = v.object(
    {
        "numItems": v.number(),
        "cursor": v.union(v.string(), v.null()),
        "endCursor": v.optional(v.union(v.string(), v.null())),
        "id": v.optional(v.number()),
        "maximumRowsRead": v.optional(v.number()),
        "maximumBytesRead": v.optional(v.number()),
    }
)
"""`paginationOptsValidator` from `convex/server`: the argument of paginated queries."""


def pagination_result_validator(item: Validator) -> Validator:
    """`paginationResultValidator(item)` from `convex/server`: what `paginate` returns,
    for a paginated query's `returns`. `splitCursor` and `pageStatus` are present in every
    result syncline returns (null when there is no split to suggest)."""
    return v.object(
        {
            "page": v.array(_require_validator(item, "pagination_result_validator() item")),
            "continueCursor": v.string(),
            "isDone": v.boolean(),
            "splitCursor": v.optional(v.union(v.string(), v.null())),
            "pageStatus": v.optional(
                v.union(v.literal("SplitRecommended"), v.literal("SplitRequired"), v.null())
            ),
        }
    )
