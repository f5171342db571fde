"""Convex's `generated_schema.jsonl`: restoring the types a snapshot's export JSON loses.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from syncline.data.jsonl import Row, jsonl_lines
from syncline.errors import DataImportError
from syncline.values import Int64, from_json

# ----------------------------------------------------------------------------- values
#
# Export JSON ("clean" JSON: int64 as a decimal string, bytes as base64, NaN/Infinity as
# strings) loses types. A snapshot's generated_schema.jsonl restores them, as Convex's
# does: its first line is the table's inferred shape (a string such as
# `{"n": int64, "tags": array<string>}`), each further line `{"<id>": <context>}` types
# one document where the shape is ambiguous. Contexts are Convex's: "infer", "int64",
# "bytes", "float64inf", {"$float64NaN": <base64 of the 8 bytes>}, a JSON array of
# element contexts or a JSON object of field contexts. Two other first lines exist:
# "uniform" (Convex since 2026: documents.jsonl holds lossless export JSON, int64 as a
# JSON integer and bytes/non-finite floats as {"$bytes"}/{"$float"}) and "any" (syncline
# exports before file storage, whose contexts were "Int64", "Bytes", "Float64",
# "Default", {"Object": ...} and {"Array": [...]}).
#
# Parsed contexts: None (infer), "int64", "bytes", "float64inf", "float64" (syncline's old
# "Float64": NaN or an infinity), ("NaN", <the NaN>), a list or a dict.
# Parsed shapes: tuples, ("unknown",), ("int64",), ("array", element),
# ("object", {field: shape}), ("record", key, value), ("union", (options...)), ...

_UNKNOWN = ("unknown",)
_STRING = "string"  # the context "a string stays a string", for inference only
_NAN = "NaN"
_STRING_CONTEXTS: dict[str, frozenset[str]] = {
    "int64": frozenset({"int64"}),
    "inf": frozenset({"float64inf"}),
    "-inf": frozenset({"float64inf"}),
    # NaN has many bit patterns and float64 includes it: never inferred, like Convex.
    "NaN": frozenset({_NAN, "float64inf"}),
    "float64": frozenset({_NAN, "float64inf"}),
    "literal": frozenset({_STRING}),
    "id": frozenset({_STRING}),
    "field_name": frozenset({_STRING}),
    "string": frozenset({_STRING}),
    "bytes": frozenset({"bytes"}),
    "unknown": frozenset({_STRING, "float64inf", _NAN, "int64", "bytes"}),
}
_UNITS = frozenset({"never", "null", "int64", "float64", "-inf", "inf", "-0", "NaN",
                    "normalfloat64", "boolean", "field_name", "string", "bytes", "unknown"})
_WORD = re.compile(r"-inf|-0|[A-Za-z_][A-Za-z0-9_]*")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


class _ShapeParser:
    """Convex's printed shapes (`crates/shape_inference/src/pretty.rs` read for the
    grammar only): units, `"literal"`, `id<..>`, `array<T>`, `record<K, V>`, `set<T>`,
    `map<K, V>`, `{"field": T, "optional"?: T}` and unions `A | B`. Bare field names and
    `id<name>` are accepted too."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> tuple[Any, ...]:
        shape = self.union()
        self.skip()
        if self.pos != len(self.text):
            self.fail("the end")
        return shape

    def fail(self, expected: str) -> None:
        rest = self.text[self.pos:self.pos + 40] or "the end"
        raise ValueError(f"expected {expected} at {rest!r}")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def eat(self, token: str) -> bool:
        self.skip()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.eat(token):
            self.fail(repr(token))

    def quoted(self) -> str:
        match = _QUOTED.match(self.text, self.pos)
        if match is None:
            self.fail("a closing '\"'")
            raise AssertionError  # pragma: no cover
        self.pos = match.end()
        try:
            return str(orjson.loads(match.group()))
        except orjson.JSONDecodeError:
            return match.group()[1:-1]

    def union(self) -> tuple[Any, ...]:
        options = [self.single()]
        while self.eat("|"):
            options.append(self.single())
        return options[0] if len(options) == 1 else ("union", tuple(options))

    def single(self) -> tuple[Any, ...]:
        self.skip()
        if self.eat("{"):
            return self.object()
        if self.text.startswith('"', self.pos):
            return ("literal", self.quoted())
        match = _WORD.match(self.text, self.pos)
        if match is None:
            self.fail("a shape")
            raise AssertionError  # pragma: no cover
        word = match.group()
        self.pos = match.end()
        if word in ("array", "set", "map", "record", "id") and self.eat("<"):
            if word == "id":
                close = self.text.find(">", self.pos)
                if close < 0:
                    self.fail("'>'")
                self.pos = close + 1
                return ("id",)
            first = self.union()
            if word in ("array", "set"):
                self.expect(">")
                return ("array", first)
            self.expect(",")
            value = self.union()
            self.expect(">")
            return ("record", first, value)
        if word in ("any", "unknown"):  # "any": syncline's exports before file storage
            return _UNKNOWN
        if word in _UNITS:
            return (word,)
        self.pos = match.start()
        self.fail("a shape")
        raise AssertionError  # pragma: no cover

    def object(self) -> tuple[Any, ...]:
        fields: dict[str, Any] = {}
        if self.eat("}"):
            return ("object", fields)
        while True:
            self.skip()
            if self.text.startswith('"', self.pos):
                name = self.quoted()
            else:
                match = _WORD.match(self.text, self.pos)
                if match is None:
                    self.fail("a field name")
                    raise AssertionError  # pragma: no cover
                name = match.group()
                self.pos = match.end()
            self.eat("?")
            self.expect(":")
            fields[name] = self.union()
            if self.eat("}"):
                return ("object", fields)
            self.expect(",")


def parse_shape(text: str) -> tuple[Any, ...]:
    """A printed Convex shape, parsed (ValueError if it is not one)."""
    return _ShapeParser(text).parse()


def _options(shapes: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    for shape in shapes:
        if shape[0] == "union":
            yield from shape[1]
        else:
            yield shape


def _elements(shapes: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The shapes an array element may have."""
    out = []
    for option in _options(shapes):
        if option[0] == "array":
            out.append(option[1])
        elif option[0] == "unknown":
            out.append(option)
    return out


def _field_shapes(shapes: list[tuple[Any, ...]], name: str) -> list[tuple[Any, ...]]:
    """The shapes field `name` of an object may have."""
    out = []
    for option in _options(shapes):
        kind = option[0]
        if kind == "object":
            if name in option[1]:
                out.append(option[1][name])
        elif kind == "record":
            out.append(option[2])
        elif kind == "unknown":
            out.append(option)
    return out


def _string_context(shapes: list[tuple[Any, ...]]) -> Any:
    """How a JSON string is read when no per-document context says: the one context the
    shapes allow for strings, or as a string if they allow several (or none)."""
    possible: set[str] = set()
    for option in _options(shapes):
        possible |= _STRING_CONTEXTS.get(option[0], frozenset())
    if len(possible) == 1:
        (only,) = possible
        return None if only in (_STRING, _NAN) else only
    return None


def _plain(obj: Any) -> Any:
    """Export JSON without context: JSON numbers are float64."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | float):
        return obj
    if isinstance(obj, int):
        return float(obj)
    if isinstance(obj, list):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _string_as(text: str, ctx: Any) -> Any:
    if ctx is None:
        return text
    if ctx == "int64":
        if not re.fullmatch(r"-?[0-9]+", text) or not -(2**63) <= int(text) < 2**63:
            raise ValueError(f"expected an int64 (a decimal string), got {text!r}")
        return Int64(int(text))
    if ctx == "bytes":
        return base64.b64decode(text, validate=True)
    if ctx == "float64inf":
        if text not in ("Infinity", "-Infinity"):
            raise ValueError(f"expected 'Infinity' or '-Infinity', got {text!r}")
        return _SPECIAL_FLOATS[text]
    if ctx == "float64":
        if text not in _SPECIAL_FLOATS:
            raise ValueError(f"expected 'NaN', 'Infinity' or '-Infinity', got {text!r}")
        return _SPECIAL_FLOATS[text]
    if isinstance(ctx, tuple) and ctx[0] == _NAN:
        if text != "NaN":
            raise ValueError(f"expected 'NaN', got {text!r}")
        return ctx[1]
    raise ValueError(f"a string cannot have the generated_schema context {ctx!r}")


def _decode(obj: Any, ctx: Any, shapes: list[tuple[Any, ...]]) -> Any:
    """Export JSON `obj` as a Convex value, typed by the context `ctx` (None: infer) and
    the shapes the value may have."""
    if ctx is None and all(s is _UNKNOWN for s in shapes):
        return _plain(obj)  # nothing to infer: every string is a string
    if isinstance(obj, str):
        return _string_as(obj, _string_context(shapes) if ctx is None else ctx)
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, int | float):
        if ctx == "int64" and isinstance(obj, int):
            return Int64(obj)  # tolerated: an int64 written as a JSON integer
        return float(obj)
    if isinstance(obj, list):
        if ctx is not None and not isinstance(ctx, list):
            raise ValueError(f"an array cannot have the generated_schema context {ctx!r}")
        elements = _elements(shapes)
        hints = ctx or []
        return [_decode(v, hints[i] if i < len(hints) else None, elements)
                for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if ctx is not None and not isinstance(ctx, dict):
            raise ValueError(f"an object cannot have the generated_schema context {ctx!r}")
        hints = ctx or {}
        return {k: _decode(v, hints.get(k), _field_shapes(shapes, k)) for k, v in obj.items()}
    raise ValueError(f"unexpected JSON value {obj!r}")


def _lossless(obj: Any) -> Any:
    """Convex's lossless export JSON ("uniform" generated_schema): a JSON integer is an
    int64, any other number a float64, {"$bytes"}/{"$float"}/{"$integer"} as on the wire."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | float):
        return obj
    if isinstance(obj, int):
        return Int64(obj) if -(2**63) <= obj < 2**63 else float(obj)
    if isinstance(obj, list):
        return [_lossless(x) for x in obj]
    if isinstance(obj, dict):
        if any(k.startswith("$") for k in obj):
            return from_json(obj)
        return {k: _lossless(v) for k, v in obj.items()}
    raise ValueError(f"unexpected JSON value {obj!r}")


def _convex_context(obj: Any) -> Any:
    """A per-document context in Convex's encoding, parsed."""
    if isinstance(obj, str):
        if obj == "infer":
            return None
        if obj in ("int64", "bytes", "float64inf"):
            return obj
        if obj in ("set", "map"):
            raise ValueError("sets and maps are no longer Convex values")
        raise ValueError(f"unknown context {obj!r}")
    if isinstance(obj, list):
        return [_convex_context(x) for x in obj]
    if isinstance(obj, dict):
        if "$float64NaN" in obj:
            raw = base64.b64decode(obj["$float64NaN"], validate=True)
            if len(raw) != 8:
                raise ValueError("a $float64NaN context holds 8 bytes")
            value = struct.unpack("<d", raw)[0]
            if value == value:
                raise ValueError("a $float64NaN context holds a NaN")
            return (_NAN, value)
        return {k: _convex_context(v) for k, v in obj.items()}
    raise ValueError(f"unknown context {obj!r}")


_LEGACY_LEAVES = {"Default": None, "Int64": "int64", "Bytes": "bytes", "Float64": "float64"}


def _legacy_context(obj: Any) -> Any:
    """A per-document context of a syncline export made before file storage, parsed."""
    if isinstance(obj, str) and obj in _LEGACY_LEAVES:
        return _LEGACY_LEAVES[obj]
    if isinstance(obj, dict) and len(obj) == 1:
        if isinstance(obj.get("Object"), dict):
            return {k: _legacy_context(v) for k, v in obj["Object"].items()}
        if isinstance(obj.get("Array"), list):
            return [_legacy_context(x) for x in obj["Array"]]
    raise ValueError(f"unknown context {obj!r}")


def document_context(value: Any) -> Any:
    """The generated_schema context of `value` in a table of shape `unknown` (Convex's
    encoding), or None if plain export JSON is exact."""
    if isinstance(value, Int64):
        return "int64"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, float):
        if value != value:
            return {"$float64NaN": base64.b64encode(struct.pack("<d", value)).decode()}
        if value in (math.inf, -math.inf):
            return "float64inf"
        return None
    if isinstance(value, dict):
        fields = {k: c for k, v in value.items() if (c := document_context(v)) is not None}
        return fields or None
    if isinstance(value, list):
        items = [document_context(v) for v in value]
        if any(c is not None for c in items):
            return [c if c is not None else "infer" for c in items]
    return None


@dataclass(frozen=True)
class GeneratedSchema:
    """A table's generated_schema.jsonl, parsed."""

    uniform: bool = False  # documents are lossless export JSON
    shape: tuple[Any, ...] = _UNKNOWN
    contexts: dict[str, Any] = field(default_factory=dict)  # per document ID


def parse_generated_schema(data: bytes) -> GeneratedSchema:
    """The shape line and per-document contexts of a generated_schema.jsonl."""
    lines = jsonl_lines(data)
    first = next(lines, None)
    if first is None:
        return GeneratedSchema()
    number, head = first
    if not isinstance(head, str):
        raise DataImportError(f"line {number}: the first line must be a JSON string "
                              f"(the table's shape), got {head!r}")
    if head == "uniform":
        return GeneratedSchema(uniform=True)
    legacy = head == "any"
    try:
        shape = parse_shape(head)
    except ValueError as e:
        raise DataImportError(f"line {number}: cannot read the shape {head[:200]!r}: {e}") \
            from None
    contexts: dict[str, Any] = {}
    for number, obj in lines:
        if not isinstance(obj, dict) or len(obj) != 1:
            raise DataImportError(f"line {number}: expected {{\"<document id>\": <context>}}, "
                                  f"got {obj!r:.200}")
        ((document_id, raw),) = obj.items()
        try:
            contexts[document_id] = _legacy_context(raw) if legacy else _convex_context(raw)
        except (ValueError, binascii.Error) as e:
            raise DataImportError(f"line {number}: {e}") from None
    return GeneratedSchema(shape=shape, contexts=contexts)


def to_documents(rows: list[Row], schema: GeneratedSchema | None = None) -> list[Row]:
    """Export-JSON rows as Convex documents, typed by a generated_schema."""
    schema = schema or GeneratedSchema()
    shapes = [schema.shape]
    contexts = schema.contexts
    out: list[Row] = []
    for line, obj in rows:
        try:
            if schema.uniform:
                doc = _lossless(obj)
            else:
                document_id = obj.get("_id")
                ctx = contexts.get(document_id) if isinstance(document_id, str) else None
                doc = _decode(obj, ctx, shapes)
        except (ValueError, KeyError, binascii.Error, struct.error) as e:
            raise DataImportError(f"line {line}: {e}") from None
        out.append((line, doc))
    return out
