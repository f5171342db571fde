"""Which tables system functions show, and the error for any other name."""

from __future__ import annotations

from typing import Any

from syncline.errors import SynclineError
from syncline.functions.diagnostics import did_you_mean

# System tables a table browser shows, as Convex's `data` shows `_storage`.
BROWSABLE_SYSTEM_TABLES = ("_scheduled_functions", "_storage")


class TableNotFoundError(SynclineError):
    """A system function was asked for a table the deployment does not have."""


def is_readable_table(ctx: Any, table: str) -> bool:
    return table in BROWSABLE_SYSTEM_TABLES or table in ctx.db.user_tables()


def readable_table(ctx: Any, table: str) -> str:
    """`table` if it is a user table in storage or a browsable system table."""
    names = ctx.db.user_tables()
    if table in names or table in BROWSABLE_SYSTEM_TABLES:
        return table
    raise TableNotFoundError(
        f"Table {table!r} not found.{did_you_mean(table, names)}"
        + (f" Tables: {', '.join(names)}" if names else " The deployment has no tables yet"))
