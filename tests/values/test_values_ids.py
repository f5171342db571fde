import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncline.errors import InvalidIdError
from syncline.values import decode_id, encode_id, is_valid_id, new_internal_id
from syncline.values.ids import ALPHABET

table_numbers = st.one_of(
    st.sampled_from([0, 1, 127, 128, 16383, 16384, 10001, 2**21, 2**28, 2**32 - 1]),
    st.integers(min_value=0, max_value=2**32 - 1),
)
internal_ids = st.binary(min_size=16, max_size=16)


@given(table_numbers, internal_ids)
def test_round_trip(table, internal):
    s = encode_id(table, internal)
    assert 31 <= len(s) <= 37
    assert set(s) <= set(ALPHABET)
    assert decode_id(s) == (table, internal)
    assert is_valid_id(s)


def test_lengths_by_table_number():
    zero = bytes(16)
    assert len(encode_id(1, zero)) == 31
    assert len(encode_id(127, zero)) == 31
    assert len(encode_id(128, zero)) == 32
    assert len(encode_id(10001, zero)) == 32
    assert len(encode_id(2**14, zero)) == 34
    assert len(encode_id(2**21, zero)) == 36
    assert len(encode_id(2**28, zero)) == 37
    assert len(encode_id(2**32 - 1, b"\xff" * 16)) == 37


@pytest.mark.parametrize(
    ("s", "table"),
    [
        # IDs printed by real Convex deployments (Convex docs examples).
        ("jh7evzh9wejnwjv88y1a1g9c7h6vpabd", 10004),
        ("js700yfkncke9xk23ndf3ahmj56hq77t", 10006),
        ("3cqbsxb8cexh8stz73be6f9w9hjqa28", 27),
    ],
)
def test_real_convex_ids_decode(s, table):
    assert decode_id(s)[0] == table
    assert encode_id(*decode_id(s)) == s


@given(table_numbers, internal_ids, st.data())
def test_any_single_character_change_is_detected(table, internal, data):
    s = encode_id(table, internal)
    i = data.draw(st.integers(min_value=0, max_value=len(s) - 1))
    c = data.draw(st.sampled_from([ch for ch in ALPHABET if ch != s[i]]))
    corrupted = s[:i] + c + s[i + 1 :]
    assert not is_valid_id(corrupted)
    with pytest.raises(InvalidIdError):
        decode_id(corrupted)


@pytest.mark.parametrize(
    ("s", "message"),
    [
        ("", "length 0"),
        ("abc", "length 3"),
        ("0" * 30, "length 30"),
        ("0" * 33, "length 33"),
        ("0" * 38, "length 38"),
        ("jh7evzh9wejnwjv88y1a1g9c7h6vpabD", "invalid character 'D'"),
        ("jh7evzh9wejnwjv88y1a1g9c7h6vpabi", "invalid character 'i'"),
        ("jh7evzh9wejnwjv88y1a1g9c7h6vpabu", "invalid character 'u'"),
        ("jh7evzh9wejnwjv88y1a1g9c7h6vpabc", "Invalid ID version"),
    ],
)
def test_invalid_ids(s, message):
    with pytest.raises(InvalidIdError, match=message):
        decode_id(s)
    assert not is_valid_id(s)


def test_non_strings_are_not_ids():
    assert not is_valid_id(None)
    assert not is_valid_id(b"jh7evzh9wejnwjv88y1a1g9c7h6vpabd")
    with pytest.raises(InvalidIdError):
        decode_id(123)  # type: ignore[arg-type]


def test_non_canonical_spare_bits_are_refused():
    s = encode_id(5, bytes(range(16)))
    assert len(s) == 31  # 19 bytes = 152 bits: the last character carries 3 spare bits
    last = ALPHABET.index(s[-1])
    for spare in range(1, 8):
        alt = s[:-1] + ALPHABET[last | spare] if last | spare != last else None
        if alt and alt != s:
            assert not is_valid_id(alt)


@pytest.mark.parametrize(
    ("table", "internal"), [(-1, bytes(16)), (2**32, bytes(16)), (1, bytes(15)), (True, bytes(16))]
)
def test_encode_rejects_bad_input(table, internal):
    with pytest.raises(InvalidIdError):
        encode_id(table, internal)


@given(table_numbers, internal_ids, internal_ids)
def test_string_order_is_internal_id_order_within_a_table(table, a, b):
    sa, sb = encode_id(table, a), encode_id(table, b)
    assert (sa < sb) == (a < b)
    assert (sa == sb) == (a == b)


def test_new_internal_id():
    a, b = new_internal_id(), new_internal_id()
    assert len(a) == 16 and type(a) is bytes and a != b


def test_new_internal_ids_start_with_their_creation_millisecond():
    import time

    before = time.time_ns() // 1_000_000
    ids = [new_internal_id() for _ in range(100)]
    after = time.time_ns() // 1_000_000
    stamps = [int.from_bytes(i[:6], "big") for i in ids]
    assert all(before <= s <= after for s in stamps)
    assert stamps == sorted(stamps)
    assert len({i[6:] for i in ids}) == 100  # the random tails differ
