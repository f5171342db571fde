"""Infer a `convex/schema.py` from documents: the dashboard's "generate a schema".

Each value gets a shape (its type; a string that is the ID of a document of a user table
is `v.id(table)`; arrays and objects recursively); shapes of many values merge into a
union of the kinds seen, object fields seen in only some of the objects becoming
`v.optional`. (syncline.data.generated_schema restores types an export lost; it infers
no validators, so this is separate.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from syncline.values import Int64

SYSTEM_FIELDS = ("_id", "_creationTime")
MAX_UNION = 8  # kinds in one union at most; more and the field is v.any()


class Shape:
    """What the values seen at one place look like."""

    __slots__ = ("kinds", "ids", "element", "fields", "objects")

    def __init__(self) -> None:
        self.kinds: dict[str, None] = {}  # scalar kinds, in first-seen order
        self.ids: dict[str, None] = {}  # tables of IDs
        self.element: Shape | None = None  # arrays' elements
        self.fields: dict[str, tuple[Shape, int]] | None = None  # objects' fields, seen count
        self.objects = 0

    def add(self, value: Any, table_of_id: Callable[[str], str | None]) -> None:
        if value is None:
            self.kinds["v.null()"] = None
        elif type(value) is bool:
            self.kinds["v.boolean()"] = None
        elif type(value) is float:
            self.kinds["v.float64()"] = None
        elif type(value) is Int64 or type(value) is int:
            self.kinds["v.int64()"] = None
        elif type(value) is bytes:
            self.kinds["v.bytes()"] = None
        elif type(value) is str:
            table = table_of_id(value)
            if table is not None and not table.startswith("_"):
                self.ids[table] = None
            else:
                self.kinds["v.string()"] = None
        elif type(value) is list:
            if self.element is None:
                self.element = Shape()
            for item in value:
                self.element.add(item, table_of_id)
        elif type(value) is dict:
            self.add_object(value, table_of_id)
        else:
            self.kinds["v.any()"] = None

    def add_object(self, value: dict[str, Any], table_of_id: Callable[[str], str | None],
                   skip: Iterable[str] = ()) -> None:
        if self.fields is None:
            self.fields = {}
        self.objects += 1
        for name, item in value.items():
            if name in skip:
                continue
            shape, seen = self.fields.get(name, (None, 0))
            if shape is None:
                shape = Shape()
            shape.add(item, table_of_id)
            self.fields[name] = (shape, seen + 1)

    def source(self, indent: int = 0) -> str:
        options = [f"v.id({json.dumps(t)})" for t in self.ids]
        if "v.any()" in self.kinds:
            return "v.any()"
        options += [k for k in self.kinds if k != "v.null()"]
        if self.element is not None:
            inner = self.element.source(indent) if _seen(self.element) else "v.any()"
            options.append(f"v.array({inner})")
        if self.fields is not None:
            options.append(self.object_source(indent))
        if "v.null()" in self.kinds:
            options.append("v.null()")
        if not options:
            return "v.any()"
        if len(options) > MAX_UNION:
            return "v.any()"
        return options[0] if len(options) == 1 else f"v.union({', '.join(options)})"

    def object_source(self, indent: int, wrap: str = "v.object") -> str:
        fields = self.fields or {}
        if not fields:
            return f"{wrap}({{}})"
        pad = " " * (indent + 4)
        lines = []
        for name, (shape, seen) in fields.items():
            inner = shape.source(indent + 4)
            if seen < self.objects:
                inner = f"v.optional({inner})"
            lines.append(f"{pad}{json.dumps(name)}: {inner},")
        return f"{wrap}({{\n" + "\n".join(lines) + "\n" + " " * indent + "})"


def _seen(shape: Shape) -> bool:
    return bool(shape.kinds or shape.ids or shape.element is not None or shape.fields)


def infer_schema_source(samples: dict[str, list[dict[str, Any]]],
                        table_of_id: Callable[[str], str | None]) -> str:
    """The text of a convex/schema.py declaring every table with the documents' shapes."""
    lines = ["from syncline import define_schema, define_table, v", "",
             "schema = define_schema({"]
    for table, documents in samples.items():
        shape = Shape()
        for doc in documents:
            shape.add_object(doc, table_of_id, SYSTEM_FIELDS)
        if shape.fields is None:
            shape.fields = {}
        body = shape.object_source(4, "define_table")
        lines.append(f"    {json.dumps(table)}: {body},")
    lines.append("})")
    return "\n".join(lines) + "\n"
