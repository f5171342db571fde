"""The `ctx` objects handed to query, mutation and action handlers.

Queries get a read-only `db`; mutations a writable one whose writes return
awaitables (a forgotten `await` fails the commit, naming the call); actions
get no `db` at all and reach the database through `run_query`/`run_mutation`.
`ctx.storage` is file storage (functions/file_storage.py) when the runner has
it. Neighbours that later layers provide (vector search) are placeholders that raise a clear error until they are wired in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from syncline.database import Query, Transaction, WriteResult
from syncline.database.catalog import SYSTEM_TABLES, is_system_table, unknown_index, unknown_table
from syncline.errors import (
    InvalidIdError,
    InvalidValueError,
    ReadOnlyTransactionError,
    SynclineError,
)
from syncline.functions.diagnostics import (
    ACTION_CAPABILITIES,
    MUTATION_CAPABILITIES,
    QUERY_CAPABILITIES,
    CapabilityHints,
    SnakeCaseProxy,
    missing_attribute,
    missing_await,
)
from syncline.functions.errors import FeatureNotAvailableError
from syncline.functions.identity import UserIdentity
from syncline.values import decode_id

RunFunction = Callable[[Any, dict[str, Any] | None], Awaitable[Any]]


class DatabaseReader:
    """`ctx.db` in a query: reads at the execution's snapshot.

    A table name the schema does not list is refused here when the schema keeps
    `strict_table_name_types=True`, as Convex's generated types refuse it."""

    __slots__ = ("_tx", "_schema")

    def __init__(self, tx: Transaction, schema: Any = None) -> None:
        self._tx = tx
        self._schema = schema

    async def get(self, table_or_id: str, document_id: str | None = None) -> dict[str, Any] | None:
        """`get(id)` or `get(table, id)`: the document, or None."""
        if document_id is None:
            document_id = table_or_id
        else:
            self._check_table(table_or_id)
            if self._tx.normalize_id(table_or_id, document_id) is None:
                _check_not_awaitable(document_id, "ctx.db.get: the ID")
                return None
        if _is_system_id(document_id):
            raise InvalidIdError(
                f"{document_id!r} is a document of a system table: read it with "
                "ctx.db.system.get(...)")
        _check_not_awaitable(document_id, "ctx.db.get: the ID")
        return await self._tx.get(document_id)

    def query(self, table: str) -> Query:
        self._check_table(table)
        query = self._tx.query(table)
        if type(query) is Query:
            query.__class__ = CheckedQuery
            query._schema = self._schema  # type: ignore[attr-defined]
        return query

    def normalize_id(self, table: str, document_id: Any) -> str | None:
        self._check_table(table)
        return self._tx.normalize_id(table, document_id)

    @property
    def system(self) -> SystemReader:
        return SystemReader(self._tx)

    def _check_table(self, table: str) -> None:
        error = unknown_table(self._schema, table) if isinstance(table, str) else None
        if error is not None:
            raise error

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in _WRITES:
            raise ReadOnlyTransactionError(
                f"ctx.db.{name} is not allowed in a query: queries are read-only. "
                "Write in a mutation instead."
            )
        raise missing_attribute("ctx.db", self, name)


_WRITES = frozenset({"insert", "patch", "replace", "delete"})


def _check_not_awaitable(value: Any, what: str) -> None:
    if not isinstance(value, str | dict | int | float | type(None)):
        error = missing_await(value, what)
        if error is not None:
            raise error


class CheckedQuery(Query):
    """The query `ctx.db.query(table)` returns: an index the schema does not define is
    named at `with_index` (with a did-you-mean), and Convex's camelCase names get the
    snake_case one. Built by changing the class of the database's Query, so nothing
    else about it changes."""

    _schema: Any

    def with_index(self, index_name: str, range_fn: Any = None) -> Query:
        if isinstance(index_name, str):
            error = unknown_index(self._schema, self._table, index_name)
            if error is not None:
                raise error
        return super().with_index(index_name, range_fn)

    def with_search_index(self, index_name: str, search_fn: Any) -> Any:
        if isinstance(index_name, str):
            error = unknown_index(self._schema, self._table, index_name, search=True)
            if error is not None:
                raise error
        return super().with_search_index(index_name, search_fn)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise missing_attribute(f"ctx.db.query({self._table!r})", self, name)


class SystemReader:
    """`ctx.db.system`: read-only access to the system tables functions may see
    (`_scheduled_functions`, `_storage`), which only syncline writes."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, document_id: str) -> dict[str, Any] | None:
        if not _is_system_id(document_id, READABLE_SYSTEM_TABLES):
            raise InvalidIdError(
                f"ctx.db.system.get reads system tables; {document_id!r} is not a system "
                "document ID (use ctx.db.get)")
        return await self._tx.get(document_id)

    def query(self, table: str) -> Query:
        if table not in READABLE_SYSTEM_TABLES:
            raise InvalidValueError(
                f"ctx.db.system.query reads the system tables "
                f"{', '.join(READABLE_SYSTEM_TABLES)}; {table!r} is not one")
        return self._tx.query(table, system=True)


# What functions may read: environment variables are read through os.environ instead.
READABLE_SYSTEM_TABLES = ("_scheduled_functions", "_storage")


def _is_system_id(document_id: Any, tables: tuple[str, ...] | None = None) -> bool:
    if not isinstance(document_id, str):
        return False
    try:
        number, _ = decode_id(document_id)
    except InvalidIdError:
        return False
    if tables is not None:
        return number in {SYSTEM_TABLES[t] for t in tables}
    return is_system_table(number)


class DatabaseWriter(DatabaseReader):
    """`ctx.db` in a mutation. Every write must be awaited."""

    __slots__ = ()

    def insert(self, table: str, value: dict[str, Any]) -> WriteResult:
        self._check_table(table)
        return _awaited_values(lambda: self._tx.insert(table, value), value,
                               f"ctx.db.insert({table!r}, ...): the value")

    def patch(self, id_or_table: str, value_or_id: Any, value: Any = None) -> WriteResult:
        """`patch(id, fields)` or `patch(table, id, fields)`."""
        document_id, fields = self._split(id_or_table, value_or_id, value, "patch")
        return _awaited_values(lambda: self._tx.patch(document_id, fields), fields,
                               "ctx.db.patch: the value")

    def replace(self, id_or_table: str, value_or_id: Any, value: Any = None) -> WriteResult:
        """`replace(id, fields)` or `replace(table, id, fields)`."""
        document_id, fields = self._split(id_or_table, value_or_id, value, "replace")
        return _awaited_values(lambda: self._tx.replace(document_id, fields), fields,
                               "ctx.db.replace: the value")

    def delete(self, id_or_table: str, document_id: str | None = None) -> WriteResult:
        """`delete(id)` or `delete(table, id)`."""
        if document_id is None:
            _check_not_awaitable(id_or_table, "ctx.db.delete: the ID")
            return self._tx.delete(id_or_table)
        self._check_table_of(id_or_table, document_id, "delete")
        return self._tx.delete(document_id)

    def _split(self, first: str, second: Any, third: Any, operation: str) -> tuple[str, Any]:
        if third is None:
            _check_not_awaitable(first, f"ctx.db.{operation}: the ID")
            return first, second
        self._check_table_of(first, second, operation)
        return second, third

    def _check_table_of(self, table: str, document_id: Any, operation: str) -> None:
        self._check_table(table)
        if self._tx.normalize_id(table, document_id) is None:
            _check_not_awaitable(document_id, f"ctx.db.{operation}: the ID")
            raise InvalidIdError(
                f"db.{operation}: {document_id!r} is not an ID of table {table!r}"
            )


def _awaited_values(write: Callable[[], WriteResult], value: Any, what: str) -> WriteResult:
    """Run `write`; if the value failed to convert because it holds a coroutine, say that
    an `await` is missing instead of naming an unsupported type."""
    try:
        return write()
    except SynclineError:  # an unsupported value, or one its table's validator refuses
        error = missing_await(value, what)
        if error is not None:
            raise error from None
        raise


class Auth:
    """`ctx.auth`: who is calling. Remembers whether it was asked, because a query that
    never read the identity gives every caller the same result and can be shared.

    `error` is for HTTP actions, whose requests run even when their bearer token does
    not verify (the route may not care): asking for the identity then raises why.
    """

    __slots__ = ("_error", "_identity", "used")

    def __init__(self, identity: UserIdentity | None, error: Exception | None = None) -> None:
        self._identity = identity
        self._error = error
        self.used = False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise missing_attribute("ctx.auth", self, name)

    async def get_user_identity(self) -> UserIdentity | None:
        self.used = True
        if self._error is not None:
            raise self._error
        return self._identity


class Unavailable:
    """Stands in for a ctx feature this version does not provide; every use says so."""

    def __init__(self, name: str, feature: str) -> None:
        self._name = name
        self._feature = feature

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise FeatureNotAvailableError(
            f"{self._name}.{attribute} is not available yet: {self._feature} are not part of "
            "this version of syncline"
        )

    def __repr__(self) -> str:
        return f"<{self._name}: not available yet>"


def _unavailable_call(name: str, feature: str) -> Callable[..., Any]:
    def call(*_args: Any, **_kwargs: Any) -> Any:
        raise FeatureNotAvailableError(
            f"{name} is not available yet: {feature} are not part of this version of syncline"
        )
    return call


class QueryCtx(CapabilityHints):
    """The context of a query."""

    _capabilities = QUERY_CAPABILITIES

    def __init__(self, db: DatabaseReader, auth: Auth, run_query: RunFunction,
                 storage: Any = None) -> None:
        self.db = db
        self.auth = auth
        self.storage: Any = (SnakeCaseProxy(storage, "ctx.storage") if storage else
                             Unavailable("ctx.storage", "file storage functions"))
        self.run_query = run_query


class MutationCtx(CapabilityHints):
    """The context of a mutation: one serializable transaction."""

    _capabilities = MUTATION_CAPABILITIES

    def __init__(
        self, db: DatabaseWriter, auth: Auth, run_query: RunFunction, run_mutation: RunFunction,
        scheduler: Any, storage: Any = None,
    ) -> None:
        self.db = db
        self.auth = auth
        self.scheduler = SnakeCaseProxy(scheduler, "ctx.scheduler")
        self.storage: Any = (SnakeCaseProxy(storage, "ctx.storage") if storage else
                             Unavailable("ctx.storage", "file storage functions"))
        self.run_query = run_query
        self.run_mutation = run_mutation


class ActionCtx(CapabilityHints):
    """The context of an action: no direct database access, side effects allowed."""

    _capabilities = ACTION_CAPABILITIES

    def __init__(
        self, auth: Auth, run_query: RunFunction, run_mutation: RunFunction,
        run_action: RunFunction, scheduler: Any, storage: Any = None,
        vector_search: Callable[..., Any] | None = None,
    ) -> None:
        self.auth = auth
        self.scheduler = SnakeCaseProxy(scheduler, "ctx.scheduler")
        self.storage: Any = (SnakeCaseProxy(storage, "ctx.storage") if storage else
                             Unavailable("ctx.storage", "file storage functions"))
        self.run_query = run_query
        self.run_mutation = run_mutation
        self.run_action = run_action
        self.vector_search = vector_search or _unavailable_call("ctx.vector_search",
                                                                "vector indexes")


def transaction_of(db: DatabaseReader) -> Transaction:
    """The transaction behind a `ctx.db`, for the deployment's own system functions
    (syncline/system/), which read any table, system tables included, through it."""
    return db._tx
