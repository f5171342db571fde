"""Hypothesis strategies for canonical Convex values, shared by the values tests."""

from __future__ import annotations

import math
import struct
from typing import Any

from hypothesis import strategies as st

from syncline.values import Int64

INT64_EDGES = [-(2**63), -(2**63) + 1, -1, 0, 1, 2**31, 2**53 + 1, 2**63 - 2, 2**63 - 1]
FLOAT_EDGES = [
    0.0,
    -0.0,
    math.nan,
    -math.nan,
    math.inf,
    -math.inf,
    5e-324,
    -5e-324,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    2.0**53,
    1.0,
    -1.0,
]

int64s = st.one_of(
    st.sampled_from(INT64_EDGES), st.integers(min_value=-(2**63), max_value=2**63 - 1)
).map(Int64)
floats = st.one_of(st.sampled_from(FLOAT_EDGES), st.floats(allow_nan=True, allow_infinity=True))
# Short strings from a small alphabet (incl. NUL and non-BMP) make shared prefixes likely.
texts = st.one_of(
    st.text(alphabet="ab\x00\xffé\U0001f600_", max_size=4),
    st.text(max_size=12),
)
binaries = st.one_of(
    st.binary(max_size=12), st.lists(st.sampled_from([0, 1, 0xFE, 0xFF]), max_size=4).map(bytes)
)
scalars = st.one_of(st.none(), st.booleans(), int64s, floats, texts, binaries)
keys = st.one_of(st.sampled_from(["", "a", "b", "ab", "a\x00", "_id", "z"]), st.text(max_size=6))

values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=12,
)


def float_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def identical(a: Any, b: Any) -> bool:
    """Exact structural identity: same types everywhere, floats bit-for-bit."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return float_bits(a) == float_bits(b)
    if type(a) is list:
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is dict:
        return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    return a == b


def canonical_nans(v: Any) -> Any:
    """Replace every NaN by the canonical NaN of its sign (what index keys keep)."""
    if type(v) is float and v != v:
        return -math.nan if math.copysign(1.0, v) < 0 else math.nan
    if type(v) is list:
        return [canonical_nans(x) for x in v]
    if type(v) is dict:
        return {k: canonical_nans(x) for k, x in v.items()}
    return v


def sorted_keys(v: Any) -> Any:
    """`v` with every object's keys in sorted order: the canonical form of a value."""
    if type(v) is list:
        return [sorted_keys(x) for x in v]
    if type(v) is dict:
        return {k: sorted_keys(v[k]) for k in sorted(v)}
    return v
