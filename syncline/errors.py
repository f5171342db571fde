"""The exception hierarchy shared by every layer.

It lives at the bottom of the package so that any layer can raise and catch
these without importing a layer above it.
"""

from __future__ import annotations

from typing import Any


class SynclineError(Exception):
    """Base class of every error syncline raises on purpose."""


class InvalidValueError(SynclineError, ValueError):
    """A Python value cannot be a Convex value, or breaks a documented value limit."""


class InvalidIdError(InvalidValueError):
    """A string is not a document ID, or names a different table."""


class ValidationError(SynclineError, ValueError):
    """A value does not match its validator; `path` says where (`.a[2].b`)."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class SchemaError(SynclineError):
    """A schema definition is malformed, or applying it was refused."""


class DatabaseInUseError(SynclineError, RuntimeError):
    """The database file is already open in another Database (this or another process)."""


class DiskFullError(SynclineError):
    """The disk holding the deployment's data is full: the write was refused whole, so
    nothing of it was applied. Reads go on; writes work again once space is freed."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or DISK_FULL_MESSAGE)


DISK_FULL_MESSAGE = ("The deployment's disk is full: nothing was written. Writes work "
                     "again as soon as space is freed on the disk holding its data.")


class DocumentNotFoundError(SynclineError):
    """A write named a document that does not exist at the transaction's snapshot."""


class QueryError(SynclineError):
    """A query was built or used incorrectly (bad index range, `unique` saw two rows, bad cursor)."""


class TransactionLimitError(SynclineError):
    """A transaction read or wrote more than the documented limits allow."""


class ReadOnlyTransactionError(SynclineError):
    """A write was attempted inside a read-only transaction (a query)."""


class TransactionClosedError(SynclineError):
    """The transaction was already committed or aborted."""


class WriteConflictError(SynclineError):
    """Optimistic concurrency control found that a concurrent commit changed what this transaction read.

    Retrying the transaction function is always safe: nothing it wrote was applied.
    """

    def __init__(self, message: str, *, table: str | None = None, document_id: str | None = None,
                 conflict_ts: int | None = None) -> None:
        super().__init__(message)
        self.table = table
        self.document_id = document_id
        # The commit that got in the way: a retry should read at or after it.
        self.conflict_ts = conflict_ts


class SnapshotTooOldError(SynclineError):
    """A read named a timestamp older than the retained history (the document retention
    window, docs/limits.md): the revisions it would need may have been pruned, so it is
    refused rather than answered with wrong data. `min_ts` is the oldest readable one."""

    code = "InvalidWindowToReadDocuments"  # Convex's code for this, in streaming export

    def __init__(self, ts: int, min_ts: int, what: str = "Timestamp") -> None:
        super().__init__(
            f"{what} {ts} is older than the database's retention window: history before "
            f"{min_ts} has been pruned (SYNCLINE_DOCUMENT_RETENTION_S, 30 days by default). "
            "Read at a newer timestamp; a streaming export connector must perform a full "
            "sync (list_snapshot) again.")
        self.ts = ts
        self.min_ts = min_ts


class InvalidSettingError(SynclineError, ValueError):
    """An environment variable or option that configures the server has a value it cannot
    use; the message names it."""


class AuthenticationError(SynclineError):
    """A client's credentials (a user token or an admin key) are not valid for this deployment;
    the message says why."""


class InvalidAdminKeyError(AuthenticationError):
    """The admin key presented is not this deployment's."""


class ConvexError(SynclineError):
    """An application error carrying structured `data` to the caller, as in Convex."""

    def __init__(self, data: Any = None) -> None:
        super().__init__(data if isinstance(data, str) else repr(data))
        self.data = data


class DataExportError(SynclineError):
    """The snapshot could not be exported (say, a file vanished while it was read)."""


class DataImportError(InvalidValueError):
    """The import file is malformed or does not fit; nothing was written."""
