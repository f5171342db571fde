"""Read sets: the index key intervals a transaction observed.

One structure serves two masters: the committer checks a read set against the
keys written by concurrent commits (serializable OCC), and the sync layer
checks a subscription's read set against every new commit (invalidation).

Intervals are half-open byte ranges `[start, end)` over memcomparable index
keys, `end=None` meaning unbounded. A scan records a handle whose far edge
moves as rows are consumed, so a `take(10)` covers exactly the ten rows it
returned and nothing past them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator


def point_interval(key: bytes) -> tuple[bytes, bytes]:
    """The interval holding exactly `key` (keys are prefix-free, so `key+0x00` is next)."""
    return key, key + b"\x00"


class ScanHandle:
    """The part of a range a running scan has observed so far.

    Moving one reference per consumed row is all a scan pays; the interval is
    computed when the read set is frozen.
    """

    __slots__ = ("start", "end", "reverse", "last", "done")

    def __init__(self, start: bytes, end: bytes | None, reverse: bool) -> None:
        self.start = start
        self.end = end
        self.reverse = reverse
        self.last: bytes | None = None  # the last key consumed
        self.done = False  # the whole range was observed

    def interval(self) -> tuple[bytes, bytes | None] | None:
        if self.done:
            return self.start, self.end
        if self.last is None:
            return None
        if self.reverse:
            return self.last, self.end
        return self.start, self.last + b"\x00"


class ReadSet:
    """Mutable read set of one running transaction."""

    __slots__ = ("_intervals", "_scans")

    def __init__(self) -> None:
        self._intervals: dict[int, list[tuple[bytes, bytes | None]]] = {}
        self._scans: list[tuple[int, ScanHandle]] = []

    def add(self, index_id: int, start: bytes, end: bytes | None) -> None:
        """Record that every key in `[start, end)` was observed."""
        self._intervals.setdefault(index_id, []).append((start, end))

    def add_point(self, index_id: int, key: bytes) -> None:
        self.add(index_id, *point_interval(key))

    def add_scan(self, index_id: int, start: bytes, end: bytes | None, reverse: bool) -> ScanHandle:
        """Record a scan of `[start, end)` whose observed part grows as rows are consumed."""
        handle = ScanHandle(start, end, reverse)
        self._scans.append((index_id, handle))
        return handle

    def freeze(self) -> FrozenReadSet:
        by_index: dict[int, list[tuple[bytes, bytes | None]]] = {
            index_id: list(items) for index_id, items in self._intervals.items()
        }
        for index_id, handle in self._scans:
            interval = handle.interval()
            if interval is not None:
                by_index.setdefault(index_id, []).append(interval)
        return FrozenReadSet({index_id: _merge(items) for index_id, items in by_index.items()})


def _merge(
    items: Iterable[tuple[bytes, bytes | None]],
) -> tuple[list[bytes], list[bytes | None]]:
    """Sort and coalesce intervals; returns parallel (starts, ends) lists for bisection."""
    ordered = sorted(
        (start, end) for start, end in items if end is None or start < end
    )
    starts: list[bytes] = []
    ends: list[bytes | None] = []
    for start, end in ordered:
        if starts and (ends[-1] is None or start <= ends[-1]):  # type: ignore[operator]
            if ends[-1] is not None and (end is None or end > ends[-1]):
                ends[-1] = end
            continue
        starts.append(start)  # type: ignore[arg-type]
        ends.append(end)
    return starts, ends


class FrozenReadSet:
    """An immutable, merged read set answering 'did this write touch what I read?' in O(log n)."""

    __slots__ = ("_by_index",)

    def __init__(self, by_index: dict[int, tuple[list[bytes], list[bytes | None]]]) -> None:
        self._by_index = by_index

    def contains(self, index_id: int, key: bytes) -> bool:
        ranges = self._by_index.get(index_id)
        if ranges is None:
            return False
        starts, ends = ranges
        i = bisect_right(starts, key) - 1
        if i < 0:
            return False
        end = ends[i]
        return end is None or key < end

    def intervals(self) -> Iterator[tuple[int, bytes, bytes | None]]:
        for index_id, (starts, ends) in self._by_index.items():
            yield from ((index_id, s, e) for s, e in zip(starts, ends, strict=True))

    def __bool__(self) -> bool:
        return bool(self._by_index)
