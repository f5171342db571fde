import functools
import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from values_strategies import canonical_nans, float_bits, identical, sorted_keys, values

from syncline.errors import InvalidValueError
from syncline.values import (
    UNDEFINED,
    Int64,
    compare,
    decode_key,
    encode_key,
    encode_key_tuple,
    prefix_successor,
    values_equal,
)
from syncline.values.index_key import decode_key_tuple


def sign(x):
    return (x > 0) - (x < 0)


def bytes_cmp(a, b):
    return (a > b) - (a < b)


# One value of each type, in the documented order.
ONE_OF_EACH = [UNDEFINED, None, Int64(99), -5.0, False, "", b"", [], {}]


def test_documented_type_order():
    for i, a in enumerate(ONE_OF_EACH):
        for j, b in enumerate(ONE_OF_EACH):
            assert compare(a, b) == sign(i - j), (a, b)
            assert bytes_cmp(encode_key(a), encode_key(b)) == sign(i - j), (a, b)


def test_int64_sorts_before_every_float_and_bool_is_not_a_number():
    assert compare(Int64(2**63 - 1), -math.inf) == -1
    assert compare(Int64(1), 1.0) == -1
    assert compare(True, Int64(0)) == 1
    assert compare(False, math.nan) == 1
    assert not values_equal(Int64(1), 1.0)
    assert not values_equal(True, 1.0)


def test_float_total_order():
    ordered = [
        -math.nan,
        -math.inf,
        -1e308,
        -1.0,
        -5e-324,
        -0.0,
        0.0,
        5e-324,
        1.0,
        1e308,
        math.inf,
        math.nan,
    ]
    for i, a in enumerate(ordered):
        for j, b in enumerate(ordered):
            assert compare(a, b) == sign(i - j), (a, b)
            assert bytes_cmp(encode_key(a), encode_key(b)) == sign(i - j), (a, b)
    assert values_equal(math.nan, float("nan"))
    assert not values_equal(-0.0, 0.0)
    assert values_equal(0.0, 0.0)


def test_nans_of_one_sign_are_equal_whatever_their_payload():
    import struct

    other_nan = struct.unpack("<d", struct.pack("<Q", 0x7FF0_0000_0000_0001))[0]
    assert math.isnan(other_nan)
    assert compare(other_nan, math.nan) == 0
    assert encode_key(other_nan) == encode_key(math.nan)


def test_strings_compare_by_utf8_bytes():
    # U+FFFF < U+10000 in UTF-8 (and code points), though not in UTF-16.
    assert compare("\uffff", "\U00010000") == -1
    assert encode_key("\uffff") < encode_key("\U00010000")
    assert compare("a", "a\x00") == -1 and encode_key("a") < encode_key("a\x00")
    assert compare("B", "a") == -1


def test_arrays_and_objects():
    assert compare([], [None]) == -1
    assert compare([1.0, 2.0], [1.0]) == 1
    assert compare([Int64(5)], [1.0]) == -1
    assert compare({}, {"": None}) == -1
    assert compare({"a": 1.0}, {"b": 0.0}) == -1
    assert compare({"a": 2.0}, {"a": 1.0, "b": 1.0}) == 1
    assert compare({"b": 1.0, "a": 1.0}, {"a": 1.0, "b": 1.0}) == 0
    assert encode_key({"b": 1.0, "a": 1.0}) == encode_key({"a": 1.0, "b": 1.0})


def test_non_canonical_values_are_refused():
    for bad in (1, (1.0,), {1.0}):
        with pytest.raises(InvalidValueError):
            compare(bad, 1.0)
        with pytest.raises(InvalidValueError):
            encode_key(bad)


@given(values, values)
def test_compare_agrees_with_key_bytes(a, b):
    assert compare(a, b) == bytes_cmp(encode_key(a), encode_key(b))
    assert compare(b, a) == -compare(a, b)
    assert values_equal(a, b) == (compare(a, b) == 0)


@given(values)
def test_compare_is_reflexive(a):
    assert compare(a, a) == 0
    assert values_equal(a, a)


@given(values, values, values)
def test_compare_is_transitive(a, b, c):
    x, y, z = sorted([a, b, c], key=functools.cmp_to_key(compare))
    assert compare(x, y) <= 0 and compare(y, z) <= 0 and compare(x, z) <= 0


@given(st.lists(values, max_size=8))
def test_sorting_by_compare_equals_sorting_by_key(vs):
    by_cmp = sorted(vs, key=functools.cmp_to_key(compare))
    by_key = sorted(vs, key=encode_key)
    assert all(compare(x, y) == 0 for x, y in zip(by_cmp, by_key, strict=True))


@given(values)
def test_key_round_trip(v):
    assert identical(decode_key(encode_key(v)), canonical_nans(sorted_keys(v)))


def test_key_round_trip_exact_specials():
    for v in [
        -0.0,
        0.0,
        math.nan,
        -math.nan,
        math.inf,
        -math.inf,
        Int64(-(2**63)),
        Int64(2**63 - 1),
        UNDEFINED,
    ]:
        out = decode_key(encode_key(v))
        assert type(out) is type(v)
        if type(v) is float:
            assert float_bits(out) == float_bits(v)
        else:
            assert out is v or out == v


@given(st.lists(values, max_size=4), st.lists(values, max_size=4))
def test_tuple_keys_compare_like_tuples(t1, t2):
    expected = 0
    for a, b in zip(t1, t2, strict=False):
        expected = compare(a, b)
        if expected:
            break
    else:
        expected = sign(len(t1) - len(t2))
    assert bytes_cmp(encode_key_tuple(t1), encode_key_tuple(t2)) == expected


@given(st.lists(st.one_of(values, st.just(UNDEFINED)), max_size=4))
def test_tuple_round_trip_and_prefixes(t):
    data = encode_key_tuple(t)
    assert identical(decode_key_tuple(data), canonical_nans(sorted_keys(t)))
    for k in range(len(t) + 1):
        assert data.startswith(encode_key_tuple(t[:k]))


@given(st.lists(values, min_size=1, max_size=3), st.lists(values, max_size=3), values)
def test_prefix_range_contains_exactly_the_extensions(prefix, rest, other):
    p = encode_key_tuple(prefix)
    succ = prefix_successor(p)
    assert succ is not None
    inside = encode_key_tuple(prefix + rest)
    assert p <= inside < succ
    # A tuple not starting with the prefix falls outside [p, succ).
    outside = [other]
    assume(compare(other, prefix[0]) != 0)
    o = encode_key_tuple(outside + rest)
    assert not (p <= o < succ)


@given(st.binary(max_size=6), st.binary(max_size=8))
def test_prefix_successor_is_the_least_upper_bound(prefix, x):
    succ = prefix_successor(prefix)
    if succ is None:
        assert prefix.strip(b"\xff") == b""
        return
    assert (x < succ) == (x < prefix or x.startswith(prefix))


def test_prefix_successor_examples():
    assert prefix_successor(b"ab") == b"ac"
    assert prefix_successor(b"a\xff\xff") == b"b"
    assert prefix_successor(b"\xff") is None
    assert prefix_successor(b"") is None


def test_undefined_sorts_first_in_tuples():
    assert encode_key_tuple([UNDEFINED, Int64(1)]) < encode_key_tuple([None, Int64(0)])


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01",
        b"\x30\x00",
        b"\x60abc",
        b"\x80\x20",
        b"\x90\x20\x00",
        b"\x20\x20",
        b"\x60\xff\xfe\x00",
    ],
)
def test_corrupt_keys_are_refused(data):
    with pytest.raises(InvalidValueError):
        decode_key(data)
