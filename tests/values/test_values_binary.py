import math

import pytest
from hypothesis import given
from values_strategies import float_bits, identical, values

from syncline.errors import InvalidValueError
from syncline.values import Int64, pack, unpack


@given(values)
def test_round_trip_is_exact(v):
    assert identical(unpack(pack(v)), v)


def test_specials_and_types_survive():
    v = {
        "i": Int64(-(2**63)),
        "j": Int64(2**63 - 1),
        "f": [math.nan, -math.nan, -0.0, math.inf],
        "b": b"\x00",
        "s": "é",
        "t": True,
    }
    out = unpack(pack(v))
    assert identical(out, v)
    assert type(out["i"]) is Int64 and type(out["t"]) is bool
    assert float_bits(out["f"][1]) == float_bits(-math.nan)


def test_floats_use_eight_bytes():
    assert len(pack(1.5)) == 9


@pytest.mark.parametrize("bad", [{1.0}, object(), {"a": (1.0,) and {1}}])
def test_pack_rejects_non_values(bad):
    with pytest.raises(InvalidValueError):
        pack(bad)
    assert unpack(pack({"ok": 1.0})) == {"ok": 1.0}  # the packer is still usable


@pytest.mark.parametrize("data", [b"", b"\xc1", b"\x92\x01", b"\xd4\x07\x00", b"\xc7\x03\x01abc"])
def test_unpack_rejects_corrupt_data(data):
    with pytest.raises(InvalidValueError):
        unpack(data)
