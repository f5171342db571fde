"""Per-transaction limits from the Convex limits page, and the counters that enforce them."""

from __future__ import annotations

from syncline.errors import TransactionLimitError

MAX_DOCUMENTS_SCANNED = 32_000
MAX_BYTES_READ = 16 * 1024 * 1024
MAX_DOCUMENTS_WRITTEN = 16_000
MAX_BYTES_WRITTEN = 16 * 1024 * 1024
MAX_INDEX_RANGES = 4_096

_READ_ADVICE = (
    "Consider using smaller limits in your queries, paginating your queries, or using "
    "indexed queries with a selective index range expression."
)


class TransactionUsage:
    """Counts what one transaction read and wrote; raises the moment a limit is passed."""

    __slots__ = ("documents_scanned", "bytes_read", "index_ranges", "documents_written",
                 "bytes_written")

    def __init__(self) -> None:
        self.documents_scanned = 0
        self.bytes_read = 0
        self.index_ranges = 0
        self.documents_written = 0
        self.bytes_written = 0

    def scanned(self, size: int) -> None:
        self.documents_scanned += 1
        self.bytes_read += size
        if self.documents_scanned > MAX_DOCUMENTS_SCANNED:
            raise TransactionLimitError(
                f"Too many documents read in a single function execution (limit: "
                f"{MAX_DOCUMENTS_SCANNED}). Documents skipped by a filter count as read. "
                + _READ_ADVICE
            )
        if self.bytes_read > MAX_BYTES_READ:
            raise TransactionLimitError(
                f"Too many bytes read in a single function execution (limit: {MAX_BYTES_READ} "
                "bytes). " + _READ_ADVICE
            )

    def range_read(self) -> None:
        self.index_ranges += 1
        if self.index_ranges > MAX_INDEX_RANGES:
            raise TransactionLimitError(
                f"Too many reads in a single function execution (limit: {MAX_INDEX_RANGES} "
                "index ranges or point reads). " + _READ_ADVICE
            )

    def wrote(self, new_document: bool, size: int) -> None:
        if new_document:
            self.documents_written += 1
        self.bytes_written += size
        if self.documents_written > MAX_DOCUMENTS_WRITTEN:
            raise TransactionLimitError(
                f"Too many documents written in a single function execution (limit: "
                f"{MAX_DOCUMENTS_WRITTEN}). Split the work across several mutations, for "
                "example by scheduling follow-up mutations."
            )
        if self.bytes_written > MAX_BYTES_WRITTEN:
            raise TransactionLimitError(
                f"Too many bytes written in a single function execution (limit: "
                f"{MAX_BYTES_WRITTEN} bytes). Split the work across several mutations."
            )
