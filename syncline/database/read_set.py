"""Read sets: the index key intervals a transaction observed.

One structure serves two masters: the committer checks a read set against the
keys written by concurrent commits (serializable OCC), and the sync layer
checks a subscription's read set against every new commit (invalidation).

Intervals are half-open byte ranges `[start, end)` over memcomparable index
keys, `end=None` meaning unbounded. A scan records a live interval whose far
edge moves as rows are consumed, so a `take(10)` covers exactly the ten rows it
returned and nothing past them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator


def point_interval(key: bytes) -> tuple[bytes, bytes]:
    """The interval holding exactly `key` (keys are prefix-free, so `key+0x00` is next)."""
    return key, key + b"\x00"


class ReadSet:
    """Mutable read set of one running transaction."""

    __slots__ = ("_intervals", "_count")

    def __init__(self) -> None:
        # index id -> list of [start, end] pairs (lists, so scans can move their edge)
        self._intervals: dict[int, list[list[bytes | None]]] = {}
        self._count = 0

    def __len__(self) -> int:
        """The number of intervals recorded (the 'index ranges read' of the limits)."""
        return self._count

    def add(self, index_id: int, start: bytes, end: bytes | None) -> list[bytes | None]:
        """Record `[start, end)` and return its mutable handle `[start, end]`."""
        handle: list[bytes | None] = [start, end]
        self._intervals.setdefault(index_id, []).append(handle)
        self._count += 1
        return handle

    def add_point(self, index_id: int, key: bytes) -> None:
        self.add(index_id, *point_interval(key))

    def freeze(self) -> FrozenReadSet:
        return FrozenReadSet(
            {index_id: _merge(items) for index_id, items in self._intervals.items()}
        )


def _merge(items: Iterable[list[bytes | None]]) -> tuple[list[bytes], list[bytes | None]]:
    """Sort and coalesce intervals; returns parallel (starts, ends) lists for bisection."""
    ordered = sorted(
        (start, end) for start, end in items if end is None or start < end  # type: ignore[operator]
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
