"""Durable multi-version storage of documents and index entries."""

from syncline.storage.interface import (
    Catalog,
    CommitRecord,
    DocumentRevision,
    IndexChange,
    IndexEntry,
    IndexRecord,
    Persistence,
    TableRecord,
)
from syncline.storage.sqlite import SQLitePersistence

__all__ = [
    "Catalog",
    "CommitRecord",
    "DocumentRevision",
    "IndexChange",
    "IndexEntry",
    "IndexRecord",
    "Persistence",
    "SQLitePersistence",
    "TableRecord",
]
