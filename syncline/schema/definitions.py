"""`define_schema` / `define_table`: tables, their document validators and index definitions.

These are pure definitions: the `database` layer builds and queries the indexes.
Every documented naming rule and limit is checked here, when the schema is
written, so that a bad schema fails at `syncline dev` time with a message that
names the offending table, index or field instead of deep inside a push.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from syncline.errors import SchemaError
from syncline.schema.validators import (
    AnyValidator,
    IdTableLookup,
    ObjectValidator,
    UnionValidator,
    Validator,
    v,
    validator_from_json,
)

__all__ = [
    "CREATION_TIME_FIELD",
    "ID_FIELD",
    "MAX_FIELDS_PER_INDEX",
    "MAX_FILTER_FIELDS",
    "MAX_INDEXES_PER_TABLE",
    "MAX_INDEX_NAME_LENGTH",
    "MAX_SEARCH_INDEXES_PER_TABLE",
    "MAX_TABLE_NAME_LENGTH",
    "MAX_VECTOR_DIMENSIONS",
    "MAX_VECTOR_INDEXES_PER_TABLE",
    "MIN_VECTOR_DIMENSIONS",
    "RESERVED_INDEX_NAMES",
    "DatabaseSchema",
    "IndexDefinition",
    "SearchIndexDefinition",
    "TableDefinition",
    "VectorIndexDefinition",
    "define_schema",
    "define_table",
    "schema_from_json",
]

# Documented limits (limits.mdx, indexes.md).
MAX_INDEXES_PER_TABLE = 32
MAX_FIELDS_PER_INDEX = 16  # counts the implicit trailing `_creationTime`
MAX_INDEX_NAME_LENGTH = 64
MAX_TABLE_NAME_LENGTH = 64
MAX_SEARCH_INDEXES_PER_TABLE = 4
MAX_VECTOR_INDEXES_PER_TABLE = 4
MAX_FILTER_FIELDS = 16
MIN_VECTOR_DIMENSIONS = 2
MAX_VECTOR_DIMENSIONS = 4096

ID_FIELD = "_id"
CREATION_TIME_FIELD = "_creationTime"
SYSTEM_FIELDS = (ID_FIELD, CREATION_TIME_FIELD)
RESERVED_INDEX_NAMES = frozenset({"by_id", "by_creation_time"})

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_TOP_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


# --------------------------------------------------------------------------- name checks


def _check_table_name(name: Any) -> str:
    if not isinstance(name, str):
        raise SchemaError(f"Table names must be strings, got {name!r}")
    if name.startswith("_"):
        raise SchemaError(
            f"Table name {name!r} cannot start with an underscore (reserved for system tables)"
        )
    if not _IDENTIFIER.fullmatch(name):
        raise SchemaError(
            f"Table name {name!r} is not a valid identifier: use letters, digits and underscores, "
            "starting with a letter"
        )
    if len(name) > MAX_TABLE_NAME_LENGTH:
        raise SchemaError(
            f"Table name {name!r} is {len(name)} characters long; the maximum is {MAX_TABLE_NAME_LENGTH}"
        )
    return name


def _check_index_name(name: Any) -> str:
    if not isinstance(name, str):
        raise SchemaError(f"Index names must be strings, got {name!r}")
    if name.startswith("_"):
        raise SchemaError(f"Index name {name!r} cannot start with an underscore")
    if not _IDENTIFIER.fullmatch(name):
        raise SchemaError(
            f"Index name {name!r} is not a valid identifier: use letters, digits and underscores, "
            "starting with a letter"
        )
    if len(name) > MAX_INDEX_NAME_LENGTH:
        raise SchemaError(
            f"Index name {name!r} is {len(name)} characters long; the maximum is {MAX_INDEX_NAME_LENGTH}"
        )
    if name in RESERVED_INDEX_NAMES:
        raise SchemaError(
            f"Index name {name!r} is reserved: `by_id` and `by_creation_time` are system indexes "
            "every table has automatically"
        )
    return name


def _check_field_path(path: Any, what: str) -> str:
    """A field path as indexes take it: `field` or a dotted nested path `a.b.c`."""
    if not isinstance(path, str):
        raise SchemaError(f"{what} must be a string field path, got {path!r}")
    parts = path.split(".")
    first = parts[0]
    if first.startswith("_"):
        raise SchemaError(
            f"{what} {path!r} is a reserved field (starting with `_`); system fields cannot be "
            "indexed explicitly (`_creationTime` is appended to every index automatically)"
        )
    if not _TOP_FIELD.fullmatch(first):
        raise SchemaError(
            f"{what} {path!r} is not a valid field path: a field name contains letters, digits "
            "and underscores and starts with a letter; nested fields are separated by `.`"
        )
    for part in parts[1:]:
        if not part or part.startswith("$") or any(not 32 <= ord(c) < 127 for c in part):
            raise SchemaError(
                f"{what} {path!r} is not a valid field path: nested field names must be "
                "non-empty, non-control ASCII and not start with `$`"
            )
    return path


def _field_list(fields: Any, what: str) -> tuple[str, ...]:
    if isinstance(fields, str | bytes) or not isinstance(fields, Iterable):
        raise SchemaError(f"{what} must be a list of field paths, got {fields!r}")
    return tuple(fields)


def _check_unique(fields: tuple[str, ...], what: str) -> None:
    seen: set[str] = set()
    for f in fields:
        if f in seen:
            raise SchemaError(f"Duplicate field {f!r} in {what}")
        seen.add(f)


def _check_filter_fields(filter_fields: Any, index_name: str) -> tuple[str, ...]:
    ff = _field_list(filter_fields, f"filter_fields of index {index_name!r}")
    for f in ff:
        _check_field_path(f, f"Filter field of index {index_name!r}")
    _check_unique(ff, f"filter_fields of index {index_name!r}")
    if len(ff) > MAX_FILTER_FIELDS:
        raise SchemaError(
            f"Index {index_name!r} has {len(ff)} filter fields; the maximum is {MAX_FILTER_FIELDS}"
        )
    return ff


# --------------------------------------------------------------------------- index definitions


@dataclass(frozen=True, slots=True)
class IndexDefinition:
    """A database index: `fields` in order, then `_creationTime` implicitly."""

    name: str
    fields: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_index_name(self.name)
        fields = _field_list(self.fields, f"Fields of index {self.name!r}")
        object.__setattr__(self, "fields", fields)
        if not fields:
            raise SchemaError(f"Index {self.name!r} must have at least one field")
        for f in fields:
            _check_field_path(f, f"Field of index {self.name!r}")
        _check_unique(fields, f"index {self.name!r}")
        if len(fields) + 1 > MAX_FIELDS_PER_INDEX:
            raise SchemaError(
                f"Index {self.name!r} has {len(fields)} fields plus the implicit `_creationTime`; "
                f"indexes can contain at most {MAX_FIELDS_PER_INDEX} fields"
            )

    @property
    def all_fields(self) -> tuple[str, ...]:
        """The key actually indexed: the declared fields then `_creationTime`."""
        return (*self.fields, CREATION_TIME_FIELD)

    def to_json(self) -> dict[str, Any]:
        return {"indexDescriptor": self.name, "fields": list(self.fields)}


@dataclass(frozen=True, slots=True)
class SearchIndexDefinition:
    """A full text search index over one string field, with equality filter fields."""

    name: str
    search_field: str
    filter_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_index_name(self.name)
        _check_field_path(self.search_field, f"search_field of index {self.name!r}")
        object.__setattr__(
            self, "filter_fields", _check_filter_fields(self.filter_fields, self.name)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "indexDescriptor": self.name,
            "searchField": self.search_field,
            "filterFields": list(self.filter_fields),
        }


@dataclass(frozen=True, slots=True)
class VectorIndexDefinition:
    """A vector index over one array-of-numbers field of fixed `dimensions`."""

    name: str
    vector_field: str
    dimensions: int
    filter_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_index_name(self.name)
        _check_field_path(self.vector_field, f"vector_field of index {self.name!r}")
        dims = self.dimensions
        if isinstance(dims, bool) or not isinstance(dims, int):
            raise SchemaError(
                f"dimensions of vector index {self.name!r} must be an integer, got {dims!r}"
            )
        if not MIN_VECTOR_DIMENSIONS <= dims <= MAX_VECTOR_DIMENSIONS:
            raise SchemaError(
                f"dimensions of vector index {self.name!r} must be between {MIN_VECTOR_DIMENSIONS} "
                f"and {MAX_VECTOR_DIMENSIONS}, got {dims}"
            )
        object.__setattr__(self, "dimensions", int(dims))
        object.__setattr__(
            self, "filter_fields", _check_filter_fields(self.filter_fields, self.name)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "indexDescriptor": self.name,
            "vectorField": self.vector_field,
            "dimensions": self.dimensions,
            "filterFields": list(self.filter_fields),
        }


# --------------------------------------------------------------------------- tables


def _check_document_validator(validator: Validator) -> None:
    """Tables hold objects: v.object, a union of them, or v.any()."""
    if validator.is_optional:
        raise SchemaError(f"A table's document validator cannot be optional: {validator!r}")
    if isinstance(validator, AnyValidator):
        return
    if isinstance(validator, ObjectValidator):
        for name in validator.fields:
            if name.startswith("_"):
                raise SchemaError(
                    f"Field {name!r} in a table's document validator starts with an underscore; "
                    "`_id` and `_creationTime` are added automatically and other top-level "
                    "fields cannot start with `_`"
                )
        return
    if isinstance(validator, UnionValidator):
        if not validator.members:
            raise SchemaError("A table's document validator cannot be an empty v.union()")
        for m in validator.members:
            _check_document_validator(m)
        return
    raise SchemaError(
        "A table's document validator must be a dict of field validators, v.object(...), "
        f"a v.union(...) of v.object(...) validators, or v.any(); got {validator!r}"
    )


class TableDefinition:
    """One table: its document validator and indexes. Build it with `define_table`.

    Like Convex's `TableDefinition`, the index methods add to this table and
    return it, so calls chain.
    """

    __slots__ = ("_validator", "_indexes", "_search_indexes", "_vector_indexes")

    def __init__(self, document_validator: Validator) -> None:
        if not isinstance(document_validator, Validator):
            raise SchemaError(f"Expected a validator, got {document_validator!r}")
        _check_document_validator(document_validator)
        self._validator = document_validator
        self._indexes: dict[str, IndexDefinition] = {}
        self._search_indexes: dict[str, SearchIndexDefinition] = {}
        self._vector_indexes: dict[str, VectorIndexDefinition] = {}

    @property
    def document_validator(self) -> Validator:
        """The validator for documents without their system fields."""
        return self._validator

    @property
    def indexes(self) -> tuple[IndexDefinition, ...]:
        return tuple(self._indexes.values())

    @property
    def search_indexes(self) -> tuple[SearchIndexDefinition, ...]:
        return tuple(self._search_indexes.values())

    @property
    def vector_indexes(self) -> tuple[VectorIndexDefinition, ...]:
        return tuple(self._vector_indexes.values())

    def get_index(
        self, name: str
    ) -> IndexDefinition | SearchIndexDefinition | VectorIndexDefinition | None:
        """The index of any kind called `name`, or None."""
        return (
            self._indexes.get(name)
            or self._search_indexes.get(name)
            or self._vector_indexes.get(name)
        )

    def _check_new_name(self, name: str) -> None:
        if self.get_index(name) is not None:
            raise SchemaError(
                f"Duplicate index name {name!r}: index names must be unique per table"
            )
        total = len(self._indexes) + len(self._search_indexes) + len(self._vector_indexes)
        if total >= MAX_INDEXES_PER_TABLE:
            raise SchemaError(
                f"Cannot add index {name!r}: a table can have at most {MAX_INDEXES_PER_TABLE} "
                "indexes, search and vector indexes included")

    def index(self, name: str, fields: Iterable[str]) -> TableDefinition:
        """Add a database index on `fields` (dotted paths allowed); returns this table."""
        idx = IndexDefinition(name, _field_list(fields, f"Fields of index {name!r}"))
        self._check_new_name(name)
        if len(self._indexes) >= MAX_INDEXES_PER_TABLE:
            raise SchemaError(
                f"Cannot add index {name!r}: a table can have at most {MAX_INDEXES_PER_TABLE} indexes"
            )
        self._indexes[name] = idx
        return self

    def search_index(
        self, name: str, *, search_field: str, filter_fields: Iterable[str] = ()
    ) -> TableDefinition:
        """Add a full text search index; returns this table."""
        idx = SearchIndexDefinition(name, search_field, _field_list(filter_fields, "filter_fields"))
        self._check_new_name(name)
        if len(self._search_indexes) >= MAX_SEARCH_INDEXES_PER_TABLE:
            raise SchemaError(
                f"Cannot add search index {name!r}: a table can have at most "
                f"{MAX_SEARCH_INDEXES_PER_TABLE} search indexes"
            )
        self._search_indexes[name] = idx
        return self

    def vector_index(
        self, name: str, *, vector_field: str, dimensions: int, filter_fields: Iterable[str] = ()
    ) -> TableDefinition:
        """Add a vector index; returns this table."""
        idx = VectorIndexDefinition(
            name, vector_field, dimensions, _field_list(filter_fields, "filter_fields")
        )
        self._check_new_name(name)
        if len(self._vector_indexes) >= MAX_VECTOR_INDEXES_PER_TABLE:
            raise SchemaError(
                f"Cannot add vector index {name!r}: a table can have at most "
                f"{MAX_VECTOR_INDEXES_PER_TABLE} vector indexes"
            )
        self._vector_indexes[name] = idx
        return self

    def validate_document(
        self, doc: Mapping[str, Any], *, id_table: IdTableLookup | None = None
    ) -> dict[str, Any]:
        """Validate a document's user fields and return them canonicalized.

        `_id` and `_creationTime` are not part of the table's validator: they
        are dropped before validation and left out of the result.
        """
        if not isinstance(doc, Mapping):
            # Let the validator produce its usual "does not match" message.
            return self._validator.validate(doc, id_table=id_table)
        body = {k: x for k, x in doc.items() if k not in SYSTEM_FIELDS}
        return self._validator.validate(body, id_table=id_table)

    def to_json(self) -> dict[str, Any]:
        """This table in the shape of Convex's schema export (without `tableName`)."""
        return {
            "indexes": [i.to_json() for i in self._indexes.values()],
            "searchIndexes": [i.to_json() for i in self._search_indexes.values()],
            "vectorIndexes": [i.to_json() for i in self._vector_indexes.values()],
            "documentType": self._validator.to_json(),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TableDefinition):
            return NotImplemented
        return (
            self._validator == other._validator
            and self._indexes == other._indexes
            and self._search_indexes == other._search_indexes
            and self._vector_indexes == other._vector_indexes
        )

    __hash__ = None  # type: ignore[assignment]  # mutable (chainable) definition

    def __repr__(self) -> str:
        parts = [f"define_table({self._validator!r})"]
        parts += [f".index({i.name!r}, {list(i.fields)!r})" for i in self._indexes.values()]
        parts += [
            f".search_index({i.name!r}, search_field={i.search_field!r}, "
            f"filter_fields={list(i.filter_fields)!r})"
            for i in self._search_indexes.values()
        ]
        parts += [
            f".vector_index({i.name!r}, vector_field={i.vector_field!r}, "
            f"dimensions={i.dimensions}, filter_fields={list(i.filter_fields)!r})"
            for i in self._vector_indexes.values()
        ]
        return "".join(parts)


def define_table(fields_or_validator: Mapping[str, Validator] | Validator) -> TableDefinition:
    """Define a table from a dict of field validators or a document validator.

    A dict means `v.object(dict)`; a validator must be a `v.object`, a `v.union`
    of `v.object`s, or `v.any()`.
    """
    if isinstance(fields_or_validator, Validator):
        return TableDefinition(fields_or_validator)
    if isinstance(fields_or_validator, Mapping):
        return TableDefinition(v.object(fields_or_validator))
    raise SchemaError(
        f"define_table() takes a dict of field validators or a validator, got {fields_or_validator!r}"
    )


# --------------------------------------------------------------------------- schema


class DatabaseSchema:
    """A whole schema: table definitions plus the two `defineSchema` options."""

    __slots__ = ("_tables", "_schema_validation", "_strict_table_name_types")

    def __init__(
        self,
        tables: Mapping[str, TableDefinition],
        *,
        schema_validation: bool = True,
        strict_table_name_types: bool = True,
    ) -> None:
        if not isinstance(tables, Mapping):
            raise SchemaError(f"define_schema() takes a dict of table definitions, got {tables!r}")
        checked: dict[str, TableDefinition] = {}
        for name, table in tables.items():
            _check_table_name(name)
            if not isinstance(table, TableDefinition):
                raise SchemaError(
                    f"Table {name!r} must be defined with define_table(...), got {table!r}"
                )
            checked[name] = table
        self._tables = checked
        self._schema_validation = bool(schema_validation)
        self._strict_table_name_types = bool(strict_table_name_types)

    @property
    def tables(self) -> Mapping[str, TableDefinition]:
        """Table name -> definition, read-only, in declaration order."""
        return MappingProxyType(self._tables)

    @property
    def schema_validation(self) -> bool:
        """Whether documents are checked against their table's validator at runtime."""
        return self._schema_validation

    @property
    def strict_table_name_types(self) -> bool:
        """Typing-only in Convex; kept so that the schema round-trips faithfully."""
        return self._strict_table_name_types

    def table(self, name: str) -> TableDefinition | None:
        """The definition of table `name`, or None when the schema does not list it."""
        return self._tables.get(name)

    def validate_document(
        self, table_name: str, doc: Mapping[str, Any], *, id_table: IdTableLookup | None = None
    ) -> dict[str, Any] | None:
        """Validate `doc` for `table_name` as a write would.

        Returns the canonical user fields, or None when nothing is enforced
        (schema validation off, or a table the schema does not list).
        """
        table = self._tables.get(table_name)
        if table is None or not self._schema_validation:
            return None
        return table.validate_document(doc, id_table=id_table)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict in the shape of Convex's schema export, plus `strictTableNameTypes`."""
        return {
            "tables": [{"tableName": name, **t.to_json()} for name, t in self._tables.items()],
            "schemaValidation": self._schema_validation,
            "strictTableNameTypes": self._strict_table_name_types,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DatabaseSchema):
            return NotImplemented
        return (
            self._tables == other._tables
            and self._schema_validation == other._schema_validation
            and self._strict_table_name_types == other._strict_table_name_types
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        tables = ", ".join(f"{name!r}: {t!r}" for name, t in self._tables.items())
        return (
            f"define_schema({{{tables}}}, schema_validation={self._schema_validation}, "
            f"strict_table_name_types={self._strict_table_name_types})"
        )


def define_schema(
    tables: Mapping[str, TableDefinition],
    *,
    schema_validation: bool = True,
    strict_table_name_types: bool = True,
) -> DatabaseSchema:
    """Define the schema of a deployment (Convex's `defineSchema`)."""
    return DatabaseSchema(
        tables,
        schema_validation=schema_validation,
        strict_table_name_types=strict_table_name_types,
    )


def _table_from_json(data: Mapping[str, Any]) -> TableDefinition:
    doc_type = data.get("documentType")
    table = TableDefinition(v.any() if doc_type is None else validator_from_json(doc_type))
    # Staged indexes (`stagedDbIndexes`, ...) are not enabled in Convex either, so they
    # are not part of the effective schema and are ignored.
    for i in data.get("indexes") or ():
        table.index(i["indexDescriptor"], i["fields"])
    for i in data.get("searchIndexes") or ():
        table.search_index(
            i["indexDescriptor"],
            search_field=i["searchField"],
            filter_fields=i.get("filterFields") or (),
        )
    for i in data.get("vectorIndexes") or ():
        table.vector_index(
            i["indexDescriptor"],
            vector_field=i["vectorField"],
            dimensions=i["dimensions"],
            filter_fields=i.get("filterFields") or (),
        )
    return table


def schema_from_json(data: Mapping[str, Any] | str) -> DatabaseSchema:
    """Rebuild a schema from `DatabaseSchema.to_json()` (or Convex's own schema export)."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as e:
            raise SchemaError(f"Schema JSON is not valid JSON: {e}") from e
    if not isinstance(data, Mapping):
        raise SchemaError(f"Schema JSON must be an object, got {data!r}")
    try:
        tables: dict[str, TableDefinition] = {}
        for t in data.get("tables") or ():
            name = t["tableName"]
            if name in tables:
                raise SchemaError(f"Duplicate table {name!r} in schema JSON")
            tables[name] = _table_from_json(t)
        return DatabaseSchema(
            tables,
            schema_validation=data.get("schemaValidation", True),
            strict_table_name_types=data.get("strictTableNameTypes", True),
        )
    except (KeyError, TypeError, AttributeError) as e:
        raise SchemaError(f"Malformed schema JSON: {e!r}") from e
