import enum
import math

import pytest
from hypothesis import given
from values_strategies import identical, sorted_keys, values

from syncline.errors import InvalidValueError
from syncline.values import UNDEFINED, Int64, normalize


@given(values)
def test_canonical_values_normalize_to_themselves(v):
    assert identical(normalize(v), sorted_keys(v))


def test_plain_int_becomes_float():
    out = normalize({"a": 1, "b": [2, -3], "c": 2**53, "d": 2**60, "e": -(2**1023)})
    assert out == {"a": 1.0, "b": [2.0, -3.0], "c": 2.0**53, "d": 2.0**60, "e": -(2.0**1023)}
    assert type(out["a"]) is float and type(out["b"][0]) is float


@pytest.mark.parametrize("n", [2**53 + 1, -(2**53) - 1, 2**63 - 1, 10**400])
def test_inexact_int_is_refused_with_hint(n):
    with pytest.raises(InvalidValueError, match=r"Int64.*v\.int64\(\)"):
        normalize({"x": [n]})
    with pytest.raises(InvalidValueError, match=r"path \.x\[0\]"):
        normalize({"x": [n]})


def test_bool_and_int64_are_kept():
    out = normalize([True, False, Int64(5), Int64(-(2**63))])
    assert [type(x) for x in out] == [bool, bool, Int64, Int64]


def test_special_floats_are_kept():
    out = normalize([math.nan, -0.0, math.inf, -math.inf])
    assert math.isnan(out[0]) and math.copysign(1, out[1]) < 0 and out[2:] == [math.inf, -math.inf]


def test_containers_and_buffers_convert():
    out = normalize((1, (2.5, bytearray(b"ab")), memoryview(b"cd")))
    assert out == [1.0, [2.5, b"ab"], b"cd"]
    assert type(out[1][1]) is bytes and type(out[2]) is bytes


def test_undefined_fields_are_dropped_and_keys_sorted():
    out = normalize({"b": 1.0, "a": UNDEFINED, "_id": "x", "A": None})
    assert out == {"A": None, "_id": "x", "b": 1.0}
    assert list(out) == ["A", "_id", "b"]


def test_undefined_in_array_is_an_error_with_path():
    with pytest.raises(InvalidValueError, match=r"undefined.*path \.a\[2\]\.b\[0\]"):
        normalize({"a": [1, 2, {"b": [UNDEFINED]}]})


def test_top_level_undefined():
    with pytest.raises(InvalidValueError, match="undefined"):
        normalize(UNDEFINED)
    assert normalize(UNDEFINED, allow_undefined=True) is UNDEFINED


def test_error_path_uses_prefix():
    with pytest.raises(
        InvalidValueError, match=r"set .* not a supported Convex type.*path args\.a\[1\]"
    ):
        normalize({"a": [1, {3}]}, "args")


def test_non_string_keys_are_refused():
    with pytest.raises(InvalidValueError, match=r"keys must be strings.*path \.x"):
        normalize({"x": {1: 2}})
    with pytest.raises(InvalidValueError, match="keys must be strings"):
        normalize({1: 2, "a": 3})


def test_unpaired_surrogates_are_refused():
    with pytest.raises(InvalidValueError, match=r"surrogate.*path \[0\]"):
        normalize(["ab\ud800c"])
    with pytest.raises(InvalidValueError, match="not valid Unicode"):
        normalize({"\udc00": 1})
    assert normalize("\U0001f600 ok") == "\U0001f600 ok"


@pytest.mark.parametrize("bad", [object(), {1, 2}, 1j, type, lambda: 0])
def test_other_types_are_refused(bad):
    with pytest.raises(InvalidValueError, match="not a supported Convex type"):
        normalize({"a": bad})


def test_enum_subclasses_become_plain_values():
    class Color(enum.StrEnum):
        RED = "red"

    class Num(enum.IntEnum):
        ONE = 1

    out = normalize({"c": Color.RED, "n": Num.ONE})
    assert out == {"c": "red", "n": 1.0}
    assert type(out["c"]) is str and type(out["n"]) is float


def test_input_is_not_mutated_and_result_is_new():
    src = {"a": [1, {"b": UNDEFINED}], "c": (1,)}
    out = normalize(src)
    assert src == {"a": [1, {"b": UNDEFINED}], "c": (1,)}
    assert out["a"] is not src["a"] and out["a"][1] is not src["a"][1]


def test_cycles_and_absurd_depth_are_errors():
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(InvalidValueError, match="nested too deeply"):
        normalize(cyclic)
