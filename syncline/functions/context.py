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
from syncline.database.catalog import SYSTEM_TABLES, is_system_table
from syncline.errors import InvalidIdError, InvalidValueError, ReadOnlyTransactionError
from syncline.functions.errors import FeatureNotAvailableError
from syncline.functions.identity import UserIdentity
from syncline.values import decode_id

RunFunction = Callable[[Any, dict[str, Any] | None], Awaitable[Any]]


class DatabaseReader:
    """`ctx.db` in a query: reads at the execution's snapshot."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, table_or_id: str, document_id: str | None = None) -> dict[str, Any] | None:
        """`get(id)` or `get(table, id)`: the document, or None."""
        if document_id is None:
            document_id = table_or_id
        elif self._tx.normalize_id(table_or_id, document_id) is None:
            return None
        if _is_system_id(document_id):
            raise InvalidIdError(
                f"{document_id!r} is a document of a system table: read it with "
                "ctx.db.system.get(...)")
        return await self._tx.get(document_id)

    def query(self, table: str) -> Query:
        return self._tx.query(table)

    def normalize_id(self, table: str, document_id: Any) -> str | None:
        return self._tx.normalize_id(table, document_id)

    @property
    def system(self) -> SystemReader:
        return SystemReader(self._tx)

    def __getattr__(self, name: str) -> Any:
        if name in _WRITES:
            raise ReadOnlyTransactionError(
                f"ctx.db.{name} is not allowed in a query: queries are read-only. "
                "Write in a mutation instead."
            )
        raise AttributeError(f"ctx.db has no attribute {name!r}")


_WRITES = frozenset({"insert", "patch", "replace", "delete"})


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
        return self._tx.insert(table, value)

    def patch(self, id_or_table: str, value_or_id: Any, value: Any = None) -> WriteResult:
        """`patch(id, fields)` or `patch(table, id, fields)`."""
        document_id, fields = self._split(id_or_table, value_or_id, value, "patch")
        return self._tx.patch(document_id, fields)

    def replace(self, id_or_table: str, value_or_id: Any, value: Any = None) -> WriteResult:
        """`replace(id, fields)` or `replace(table, id, fields)`."""
        document_id, fields = self._split(id_or_table, value_or_id, value, "replace")
        return self._tx.replace(document_id, fields)

    def delete(self, id_or_table: str, document_id: str | None = None) -> WriteResult:
        """`delete(id)` or `delete(table, id)`."""
        if document_id is None:
            return self._tx.delete(id_or_table)
        self._check_table(id_or_table, document_id, "delete")
        return self._tx.delete(document_id)

    def _split(self, first: str, second: Any, third: Any, operation: str) -> tuple[str, Any]:
        if third is None:
            return first, second
        self._check_table(first, second, operation)
        return second, third

    def _check_table(self, table: str, document_id: Any, operation: str) -> None:
        if self._tx.normalize_id(table, document_id) is None:
            raise InvalidIdError(
                f"db.{operation}: {document_id!r} is not an ID of table {table!r}"
            )


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


class QueryCtx:
    """The context of a query."""

    def __init__(self, db: DatabaseReader, auth: Auth, run_query: RunFunction,
                 storage: Any = None) -> None:
        self.db = db
        self.auth = auth
        self.storage: Any = storage or Unavailable("ctx.storage", "file storage functions")
        self.run_query = run_query


class MutationCtx:
    """The context of a mutation: one serializable transaction."""

    def __init__(
        self, db: DatabaseWriter, auth: Auth, run_query: RunFunction, run_mutation: RunFunction,
        scheduler: Any, storage: Any = None,
    ) -> None:
        self.db = db
        self.auth = auth
        self.scheduler = scheduler
        self.storage: Any = storage or Unavailable("ctx.storage", "file storage functions")
        self.run_query = run_query
        self.run_mutation = run_mutation


class ActionCtx:
    """The context of an action: no direct database access, side effects allowed."""

    def __init__(
        self, auth: Auth, run_query: RunFunction, run_mutation: RunFunction,
        run_action: RunFunction, scheduler: Any, storage: Any = None,
        vector_search: Callable[..., Any] | None = None,
    ) -> None:
        self.auth = auth
        self.scheduler = scheduler
        self.storage: Any = storage or Unavailable("ctx.storage", "file storage functions")
        self.run_query = run_query
        self.run_mutation = run_mutation
        self.run_action = run_action
        self.vector_search = vector_search or _unavailable_call("ctx.vector_search",
                                                                "vector indexes")
