"""The `ctx` a system function gets: the app's context, plus every table and the
deployment's services.

`ctx.db` reads any table, system tables (`_storage`, `_scheduled_functions`,
`_environment_variables`, ...) included, through the function's own transaction, so a
subscribed system query's read set covers what it read and it re-runs when that changes.
`ctx.deployment` is the SystemServices facade (services.py).
"""

from __future__ import annotations

from typing import Any

from syncline.database import Query, Transaction, WriteResult
from syncline.database.feeds import Feeds
from syncline.functions.context import transaction_of
from syncline.system.services import SystemServices
from syncline.values import decode_id


def _is_system_table(table: str) -> bool:
    return table.startswith("_")


class SystemDatabaseReader:
    """Reads of any table at the function's snapshot, recorded in its read set."""

    __slots__ = ("transaction", "app_db")

    def __init__(self, app_db: Any) -> None:
        self.app_db = app_db  # the app's own `ctx.db`, with its schema checks
        self.transaction: Transaction = transaction_of(app_db)

    async def get(self, document_id: str) -> dict[str, Any] | None:
        return await self.transaction.get(document_id)

    def query(self, table: str) -> Query:
        return self.transaction.query(table, system=_is_system_table(table))

    def user_tables(self) -> list[str]:
        """User tables that exist in storage, sorted; recorded as read, so a subscribed
        query re-runs when a table is created."""
        return self.transaction.table_names()

    def watch(self, feed: str) -> None:
        """Make the result depend on an in-memory feed (database/feeds.py): a subscription
        re-runs when the feed changes, as it does when a document it read changes."""
        Feeds.observe(self.transaction.reads, feed)


class SystemDatabaseWriter(SystemDatabaseReader):
    """Writes to any table (system tables with the runtime's permission)."""

    __slots__ = ()

    def insert(self, table: str, value: dict[str, Any]) -> WriteResult:
        return self.transaction.insert(table, value, system=_is_system_table(table))

    def patch(self, document_id: str, value: dict[str, Any]) -> WriteResult:
        return self.transaction.patch(document_id, value, system=_in_system_table(document_id))

    def replace(self, document_id: str, value: dict[str, Any]) -> WriteResult:
        return self.transaction.replace(document_id, value,
                                        system=_in_system_table(document_id))

    def delete(self, document_id: str) -> WriteResult:
        return self.transaction.delete(document_id, system=_in_system_table(document_id))


def _in_system_table(document_id: str) -> bool:
    from syncline.database.catalog import is_system_table

    number, _ = decode_id(document_id)
    return is_system_table(number)


class SystemQueryCtx:
    """A system query's context: `db` (any table), `deployment`, `auth`, `run_query`,
    and `watch(feed)` for results drawn from memory (metrics, logs) rather than tables."""

    def __init__(self, ctx: Any, services: SystemServices) -> None:
        self.db = SystemDatabaseReader(ctx.db)
        self.deployment = services
        self.auth = ctx.auth
        self.run_query = ctx.run_query
        self.watch = self.db.watch


class SystemMutationCtx:
    """A system mutation's context: a writable `db` over any table, plus the rest."""

    def __init__(self, ctx: Any, services: SystemServices) -> None:
        self.db = SystemDatabaseWriter(ctx.db)
        self.deployment = services
        self.auth = ctx.auth
        self.run_query = ctx.run_query
        self.run_mutation = ctx.run_mutation
        self.scheduler = ctx.scheduler


class SystemActionCtx:
    """A system action's context: no `db`; `run_query`/`run_mutation`/`run_action` (system
    functions included, the caller being an admin) and `deployment`."""

    def __init__(self, ctx: Any, services: SystemServices) -> None:
        self.deployment = services
        self.auth = ctx.auth
        self.run_query = ctx.run_query
        self.run_mutation = ctx.run_mutation
        self.run_action = ctx.run_action
        self.scheduler = ctx.scheduler
        self.storage = ctx.storage
