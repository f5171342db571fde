"""The in-memory catalog: table names and numbers, and the indexes of each table.

Tables are created implicitly by the first insert, so their registry is shared
and thread-safe. User indexes change only when a schema is applied, so they
live in an immutable `IndexCatalog` that transactions capture when they begin.
"""

from __future__ import annotations

import difflib
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from syncline.errors import InvalidIdError, InvalidValueError, QueryError
from syncline.storage.interface import Catalog, IndexRecord, TableRecord
from syncline.values import decode_id

FIRST_USER_TABLE_NUMBER = 10001
# System tables have fixed numbers below the user range, so their document IDs are stable.
SYSTEM_TABLES = {"_scheduled_functions": 1, "_storage": 2,
                 "_environment_variables": 3,  # environment variables: functions/environment.py
                 "_snapshot_imports": 4, "_exports": 5,  # CLI import/export: data/snapshot_jobs.py
                 "_deployment_events": 7}  # deployment history: system/history.py
MAX_TABLES = 10_000
MAX_TABLE_NAME_LENGTH = 64
BY_ID = "by_id"
BY_CREATION_TIME = "by_creation_time"

_TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

IndexKind = Literal["id", "creation", "user"]


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """One index of one table. `range_fields` are the fields a range expression may name."""

    id: int
    table_number: int
    table_name: str
    name: str
    fields: tuple[str, ...]
    kind: IndexKind

    @property
    def range_fields(self) -> tuple[str, ...]:
        if self.kind == "id":
            return ("_id",)
        return (*self.fields, "_creationTime")


@dataclass(frozen=True, slots=True)
class TableInfo:
    number: int
    name: str
    by_id: IndexInfo
    by_creation_time: IndexInfo

    def record(self) -> TableRecord:
        return TableRecord(self.number, self.name, self.by_id.id, self.by_creation_time.id)


def check_table_name(name: str) -> None:
    """Table names are identifiers that do not start with an underscore."""
    if not isinstance(name, str) or not _TABLE_NAME.match(name):
        raise InvalidValueError(
            f"Invalid table name {name!r}: table names contain only letters, digits and "
            "underscores, start with a letter, and cannot start with an underscore"
        )
    if len(name) > MAX_TABLE_NAME_LENGTH:
        raise InvalidValueError(
            f"Invalid table name {name[:80]!r}...: at most {MAX_TABLE_NAME_LENGTH} characters"
        )


def unknown_table(schema: Any, name: str) -> InvalidValueError | None:
    """The error for naming table `name` from a function, or None when allowed: with a
    schema that keeps `strict_table_name_types=True` (the default), only its tables exist
    for functions, as Convex's generated types allow only those."""
    if schema is None or not schema.strict_table_name_types or name in schema.tables:
        return None
    return InvalidValueError(
        f"Table {name!r} is not in convex/schema.py.{_close(name, schema.tables)} "
        "Add it to the schema, or pass strict_table_name_types=False to define_schema "
        "to allow tables it does not list")


def unknown_index(schema: Any, table: str, name: str, *, search: bool = False
                  ) -> QueryError | None:
    """The error for reading table `table` through index `name` that the schema does not
    define (with a did-you-mean), or None when it exists or the schema does not list the
    table (the query itself then reports a missing index)."""
    definition = None if schema is None else schema.tables.get(table)
    if definition is None:
        return None
    if search:
        names = [i.name for i in definition.search_indexes]
        kind, define = "search index", "search_index"
    else:
        names = [BY_ID, BY_CREATION_TIME, *(i.name for i in definition.indexes)]
        kind, define = "index", "index"
    if name in names:
        return None
    return QueryError(
        f"Table {table!r} has no {kind} {name!r}.{_close(name, names)} Define it in "
        f"convex/schema.py with define_table(...).{define}({name!r}, ...)")


def _close(name: str, choices: Any) -> str:
    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {found[0]!r}?" if found else ""


class TableRegistry:
    """Name <-> number mapping for every table, plus index-id allocation."""

    def __init__(self, catalog: Catalog) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, TableInfo] = {}
        self._by_number: dict[int, TableInfo] = {}
        self._persisted: set[int] = set()
        for record in catalog.tables:
            info = _table_info(record)
            self._by_name[info.name] = info
            self._by_number[info.number] = info
            self._persisted.add(info.number)
        self._next_table = max([FIRST_USER_TABLE_NUMBER - 1, *self._by_number]) + 1
        ids = [0]
        for record in catalog.tables:
            ids += [record.id_index_id, record.creation_index_id]
        ids += [index.id for index in catalog.indexes]
        self._next_index_id = max(ids) + 1

    def get(self, name: str) -> TableInfo | None:
        return self._by_name.get(name)

    def by_number(self, number: int) -> TableInfo | None:
        return self._by_number.get(number)

    def table_of_id(self, document_id: str) -> str | None:
        """The name of the table a document ID belongs to, or None (for `v.id` checks)."""
        try:
            number, _ = decode_id(document_id)
        except InvalidIdError:
            return None
        info = self._by_number.get(number)
        return None if info is None else info.name

    def names(self) -> list[str]:
        """User tables that exist in storage (a name only queried so far is not a table yet)."""
        return sorted(info.name for info in self._by_name.values()
                      if info.number in self._persisted and info.number not in _SYSTEM_NUMBERS)

    def get_or_create(
        self, name: str, *, system: bool = False, number: int | None = None,
    ) -> TableInfo:
        """The table named `name`, registered on first use. User code can only name user
        tables; the runtime passes `system=True` for the fixed system tables.

        `number` (a snapshot import keeping Convex's table numbers) asks for a new table
        to get that number; it is refused if another table has it or if `name` already
        has a different one."""
        info = self._by_name.get(name)
        if info is not None and number is not None and info.number != number:
            raise InvalidValueError(
                f"Table {name!r} already has table number {info.number}, not {number}")
        if info is not None:
            if (info.number in _SYSTEM_NUMBERS) != system:
                check_table_name(name)  # a user naming a system table: the usual error
            return info
        if system:
            if name not in SYSTEM_TABLES:
                raise InvalidValueError(f"{name!r} is not a system table")
        else:
            check_table_name(name)
        with self._lock:
            info = self._by_name.get(name)
            if info is not None and number is not None and info.number != number:
                raise InvalidValueError(
                    f"Table {name!r} already has table number {info.number}, not {number}")
            if info is None:
                # Names only queried so far hold no data and do not count.
                if len(self._persisted) >= MAX_TABLES:
                    raise InvalidValueError(f"A deployment holds at most {MAX_TABLES} tables")
                if system:
                    number = SYSTEM_TABLES[name]
                elif number is not None:
                    owner = self._by_number.get(number)
                    if owner is not None:
                        raise InvalidValueError(
                            f"Cannot create table {name!r} with table number {number}: "
                            f"table {owner.name!r} already has it")
                    if number < FIRST_USER_TABLE_NUMBER:
                        raise InvalidValueError(
                            f"Cannot create table {name!r} with table number {number}: user "
                            f"table numbers start at {FIRST_USER_TABLE_NUMBER}")
                    self._next_table = max(self._next_table, number + 1)
                else:
                    number = self._next_table
                    self._next_table += 1
                id_index, creation_index = self._next_index_id, self._next_index_id + 1
                self._next_index_id += 2
                info = _table_info(TableRecord(number, name, id_index, creation_index))
                self._by_name[name] = info
                self._by_number[number] = info
        return info

    def renumber(self, name: str, number: int) -> TableInfo:
        """Give table `name` the (free) table number `number`; its index ids stay."""
        with self._lock:
            old = self._by_name[name]
            owner = self._by_number.get(number)
            if owner is not None:
                raise InvalidValueError(f"Cannot give table {name!r} table number {number}: "
                                        f"table {owner.name!r} already has it")
            if number < FIRST_USER_TABLE_NUMBER:
                raise InvalidValueError(f"User table numbers start at {FIRST_USER_TABLE_NUMBER}")
            info = _table_info(TableRecord(number, name, old.by_id.id,
                                           old.by_creation_time.id))
            del self._by_number[old.number]
            self._by_name[name] = self._by_number[number] = info
            if old.number in self._persisted:
                self._persisted.discard(old.number)
                self._persisted.add(number)
            self._next_table = max(self._next_table, number + 1)
            return info

    def allocate_index_id(self) -> int:
        with self._lock:
            index_id = self._next_index_id
            self._next_index_id += 1
            return index_id

    def unpersisted(self, numbers: set[int]) -> list[TableRecord]:
        """Records of the given tables that storage does not hold yet."""
        return [self._by_number[n].record() for n in numbers if n not in self._persisted]

    def mark_persisted(self, numbers: set[int]) -> None:
        self._persisted |= numbers


_SYSTEM_NUMBERS = frozenset(SYSTEM_TABLES.values())


def is_system_table(number: int) -> bool:
    return number in _SYSTEM_NUMBERS


def _table_info(record: TableRecord) -> TableInfo:
    return TableInfo(
        number=record.number,
        name=record.name,
        by_id=IndexInfo(record.id_index_id, record.number, record.name, BY_ID, (), "id"),
        by_creation_time=IndexInfo(
            record.creation_index_id, record.number, record.name, BY_CREATION_TIME, (), "creation"
        ),
    )


@dataclass(frozen=True, slots=True)
class SearchIndexInfo:
    """A text or vector search index of one table (database/search/).

    Its id names its key space in read sets, like an index id; it is given out when
    the database opens or the schema changes, and never stored.
    """

    id: int
    table_number: int
    table_name: str
    name: str
    kind: Literal["text", "vector"]
    field: str  # the search field or the vector field
    filter_fields: tuple[str, ...]
    dimensions: int = 0  # vector indexes only

    @property
    def signature(self) -> tuple[Any, ...]:
        """What makes two definitions the same index (so its data can be kept)."""
        return (self.table_name, self.name, self.kind, self.field, self.filter_fields,
                self.dimensions)


@dataclass(frozen=True, slots=True)
class IndexCatalog:
    """The user indexes in force, by table name then index name. Immutable."""

    version: int
    by_table: dict[str, dict[str, IndexInfo]]
    search_by_table: dict[str, dict[str, SearchIndexInfo]] = field(default_factory=dict)

    @classmethod
    def from_records(
        cls, version: int, records: tuple[IndexRecord, ...] | list[IndexRecord],
        tables: TableRegistry,
    ) -> IndexCatalog:
        by_table: dict[str, dict[str, IndexInfo]] = {}
        for record in records:
            table = tables.by_number(record.table_number)
            if table is None:
                continue
            by_table.setdefault(table.name, {})[record.name] = IndexInfo(
                record.id, record.table_number, table.name, record.name, record.fields, "user"
            )
        return cls(version, by_table)

    def with_search(self, infos: list[SearchIndexInfo]) -> IndexCatalog:
        by_table: dict[str, dict[str, SearchIndexInfo]] = {}
        for info in infos:
            by_table.setdefault(info.table_name, {})[info.name] = info
        return IndexCatalog(self.version, self.by_table, by_table)

    def search_indexes(self, table_name: str) -> tuple[SearchIndexInfo, ...]:
        return tuple(self.search_by_table.get(table_name, {}).values())

    def all_search_indexes(self) -> list[SearchIndexInfo]:
        return [i for indexes in self.search_by_table.values() for i in indexes.values()]

    def user_indexes(self, table_name: str) -> tuple[IndexInfo, ...]:
        return tuple(self.by_table.get(table_name, {}).values())

    def records(self) -> list[IndexRecord]:
        return [
            IndexRecord(i.id, i.table_number, i.name, i.fields)
            for indexes in self.by_table.values()
            for i in indexes.values()
        ]
