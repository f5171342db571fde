"""Maintained document counts: how many live documents each table holds at any snapshot.

Counting a table by scanning it costs a read of every document, which a dashboard listing
a million-document table cannot afford on every change. Instead the committer keeps a
count per table: storage counts once at open (a grouped SQL COUNT over the latest
revisions), and every commit then moves its tables' counts by its inserts (+1) and
deletions (-1) when it becomes visible, under the same lock that moves the visible
timestamp. So a transaction reading at snapshot S finds every commit up to S applied.

Each table keeps the count after each of its recent commits, so a count at an older
snapshot is exact too; a snapshot older than that history (or than the open) gets None,
and the caller asks storage to count at that snapshot instead.
"""

from __future__ import annotations

from bisect import bisect_right

# Counts after this many recent commits are kept per table (older snapshots ask storage).
DEFAULT_KEPT = 4_096


class _TableHistory:
    """One table's count after each recent commit, oldest first, and the count before them."""

    __slots__ = ("base_ts", "base", "times", "counts")

    def __init__(self, base_ts: int, base: int) -> None:
        self.base_ts = base_ts  # `base` is the count at every snapshot from here ...
        self.base = base  # ... up to the first of `times`
        self.times: list[int] = []
        self.counts: list[int] = []

    def latest(self) -> int:
        return self.counts[-1] if self.counts else self.base

    def at(self, ts: int) -> int | None:
        i = bisect_right(self.times, ts)
        if i:
            return self.counts[i - 1]
        return self.base if ts >= self.base_ts else None


class TableCounts:
    """Not thread-safe by itself: the committer calls it under its lock."""

    def __init__(self, initial: dict[int, int], ts: int, kept: int = DEFAULT_KEPT) -> None:
        self._open_ts = ts
        self._kept = kept
        self._tables: dict[int, _TableHistory] = {
            number: _TableHistory(ts, count) for number, count in initial.items()}

    def apply(self, ts: int, deltas: dict[int, int]) -> None:
        """Commit `ts` (newer than every earlier one applied) moved these tables' counts."""
        for number, delta in deltas.items():
            if not delta:
                continue
            history = self._tables.get(number)
            if history is None:  # a table new since open: empty before
                history = self._tables[number] = _TableHistory(self._open_ts, 0)
            history.times.append(ts)
            history.counts.append(history.latest() + delta)
            if len(history.times) > 2 * self._kept:  # trim in chunks: amortised O(1)
                cut = len(history.times) - self._kept
                history.base_ts = history.times[cut - 1]
                history.base = history.counts[cut - 1]
                del history.times[:cut]
                del history.counts[:cut]

    def at(self, number: int, ts: int) -> int | None:
        """The table's live documents at snapshot `ts`, or None if that is too old to say."""
        history = self._tables.get(number)
        if history is None:
            return 0 if ts >= self._open_ts else None
        return history.at(ts)

    def latest(self) -> dict[int, int]:
        return {number: h.latest() for number, h in self._tables.items()}
