"""Transactions, read sets, the OCC committer, index ranges, queries and pagination."""

from syncline.database.database import Database
from syncline.database.filters import FilterBuilder
from syncline.database.index_range import IndexRangeBuilder
from syncline.database.query import Query
from syncline.database.read_set import FrozenReadSet, ReadSet
from syncline.database.transaction import Transaction, UnawaitedWriteError, WriteResult

__all__ = [
    "Database",
    "FilterBuilder",
    "FrozenReadSet",
    "IndexRangeBuilder",
    "Query",
    "ReadSet",
    "Transaction",
    "UnawaitedWriteError",
    "WriteResult",
]
