"""What a CSV cell becomes (docs/data-import-export.md, "CSV cells").

Convex's rule: each cell is a (floating point) number if it reads as one, else a string;
an empty cell is an empty string. A schema can say otherwise for a column: the column's
field validator decides between the types it accepts (a `v.boolean()` column takes
`true`/`false`, a `v.string()` column keeps `007` as a string, an optional column leaves
an empty cell out, a nullable one makes it null, a `v.int64()` column makes an int64).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from syncline.schema.validators import (
    LiteralValidator,
    ObjectValidator,
    UnionValidator,
    Validator,
)
from syncline.values import Int64

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_INT64_RANGE = range(-(2**63), 2**63)

# A column's converter: the cell's text -> the field's value, or `_OMIT` to leave it out.
Cell = Callable[[str], Any]
_OMIT = object()


def default_cell(text: str) -> Any:
    """Convex's rule: a number if the cell reads as one, else the string (even empty)."""
    if _NUMBER.fullmatch(text):
        return float(text)
    return text


def _kinds(validator: Validator) -> set[str]:
    """The value kinds a validator accepts: 'string', 'float64', 'int64', 'boolean',
    'null', or 'other' (objects, arrays, bytes, ids are strings here: 'string')."""
    if isinstance(validator, UnionValidator):
        kinds: set[str] = set()
        for member in validator.members:
            kinds |= _kinds(member)
        return kinds
    if isinstance(validator, LiteralValidator):
        value = validator.to_json()["value"]
        if isinstance(value, bool):
            return {"boolean"}
        if isinstance(value, str):
            return {"string"}
        if isinstance(value, dict):  # an int64 literal: {"$integer": ...}
            return {"int64"}
        return {"float64"}
    kind = validator.kind
    if kind in ("string", "float64", "int64", "boolean", "null", "any"):
        return {kind}
    if kind == "id":
        return {"string"}
    return {"other"}


def column_cell(validator: Validator | None) -> Cell:
    """The converter for a column whose field has `validator` (None: no schema says)."""
    if validator is None:
        return default_cell
    kinds = _kinds(validator)
    if "any" in kinds or kinds == {"other"}:
        return default_cell
    optional = validator.is_optional

    def cell(text: str) -> Any:
        if text == "":
            if optional:
                return _OMIT
            if "null" in kinds and "string" not in kinds:
                return None
            return ""
        if "boolean" in kinds and text in ("true", "false"):
            return text == "true"
        numeric = kinds & {"float64", "int64"}
        if not numeric:
            return text if "string" in kinds else default_cell(text)
        if ("float64" not in kinds and _INTEGER.fullmatch(text)
                and int(text) in _INT64_RANGE):
            return Int64(int(text))
        if _NUMBER.fullmatch(text):
            return float(text)
        return text

    return cell


def row_converter(header: list[str],
                  document_validator: Validator | None) -> Callable[[list[str]], dict[str, Any]]:
    """Turns a CSV row (cells in `header` order) into a document, typed by the table's
    document validator where it declares the column."""
    fields: Mapping[str, Validator] = {}
    if isinstance(document_validator, ObjectValidator):
        fields = document_validator.fields
    elif isinstance(document_validator, UnionValidator):
        merged: dict[str, Validator] = {}
        for member in document_validator.members:
            if isinstance(member, ObjectValidator):
                for name, field in member.fields.items():
                    merged.setdefault(name, field)
        fields = merged
    converters = [column_cell(fields.get(name)) for name in header]

    def convert(cells: list[str]) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for name, convert_cell, text in zip(header, converters, cells, strict=True):
            value = convert_cell(text)
            if value is not _OMIT:
                doc[name] = value
        return doc

    return convert
