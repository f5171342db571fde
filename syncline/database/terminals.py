"""What every kind of query shares, below the index and search query modules that use it:
`first()` and `unique()` on top of `take(n)`, and the check of a count argument."""

from __future__ import annotations

from typing import Any

from syncline.errors import QueryError


class FirstAndUnique:
    """`first()` and `unique()`, for any query with a `take(n)`."""

    _table_name: str

    async def take(self, n: int) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def first(self) -> dict[str, Any] | None:
        rows = await self.take(1)
        return rows[0] if rows else None

    async def unique(self) -> dict[str, Any] | None:
        rows = await self.take(2)
        if len(rows) > 1:
            raise QueryError(
                f"unique() query returned more than one result from table "
                f"{self._table_name!r}: [{rows[0]['_id']}, {rows[1]['_id']}, ...]"
            )
        return rows[0] if rows else None


def count_argument(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int | float):
        raise QueryError(f"{what} must be a non-negative integer, got {n!r}")
    if isinstance(n, float):
        if not n.is_integer():
            raise QueryError(f"{what} must be a non-negative integer, got {n!r}")
        n = int(n)
    if n < 0:
        raise QueryError(f"{what} must be a non-negative integer, got {n!r}")
    return n
