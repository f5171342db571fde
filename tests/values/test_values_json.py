import base64
import math
import struct

import orjson
import pytest
from hypothesis import given
from values_strategies import identical, values

from syncline.errors import InvalidValueError
from syncline.values import (
    UNDEFINED,
    Int64,
    dumps,
    format_value,
    from_json,
    loads,
    to_export_json,
    to_json,
)
from syncline.values.json_codec import to_js_json


@given(values)
def test_wire_json_round_trip(v):
    if _has_dollar_key(v):
        with pytest.raises(InvalidValueError):
            to_json(v)
        return
    assert identical(from_json(to_json(v)), v)
    assert identical(loads(dumps(v)), v)
    assert identical(loads(dumps(v).decode()), v)


def _has_dollar_key(v):
    if type(v) is list:
        return any(_has_dollar_key(x) for x in v)
    if type(v) is dict:
        return any(
            k.startswith("$") or not (k.isascii() and k.isprintable()) or _has_dollar_key(x)
            for k, x in v.items()
        )
    return False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Int64(1), {"$integer": "AQAAAAAAAAA="}),
        (Int64(-1), {"$integer": "//////////8="}),
        (Int64(0), {"$integer": "AAAAAAAAAAA="}),
        (Int64(2**63 - 1), {"$integer": "/////////38="}),
        (Int64(-(2**63)), {"$integer": "AAAAAAAAAIA="}),
        (math.nan, {"$float": "AAAAAAAA+H8="}),
        (math.inf, {"$float": "AAAAAAAA8H8="}),
        (-math.inf, {"$float": "AAAAAAAA8P8="}),
        (-0.0, {"$float": "AAAAAAAAAIA="}),
        (0.0, 0.0),
        (1.5, 1.5),
        (b"\x00\x10\x83", {"$bytes": "ABCD"}),
        (b"", {"$bytes": ""}),
        ("$x", "$x"),
        ([None, True, {"a": Int64(1)}], [None, True, {"a": {"$integer": "AQAAAAAAAAA="}}]),
    ],
)
def test_wire_json_vectors(value, expected):
    assert to_json(value) == expected
    assert identical(from_json(expected), value)


def test_json_numbers_decode_as_floats():
    assert identical(from_json(3), 3.0)
    assert identical(
        loads(b'{"a": [1, 2.5, -0, 9007199254740993]}'), {"a": [1.0, 2.5, 0.0, 9007199254740992.0]}
    )


def test_dumps_is_compact_json():
    assert (
        dumps({"a": Int64(1), "b": [1.0, "x"]})
        == b'{"a":{"$integer":"AQAAAAAAAAA="},"b":[1.0,"x"]}'
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"$integer": "AQ=="},
        {"$integer": "not base64!"},
        {"$integer": 1},
        {"$float": base64.b64encode(struct.pack("<d", 1.0)).decode()},
        {"$float": "AAAA"},
        {"$bytes": "A"},
        {"$bytes": None},
        {"$foo": "x"},
        {"$set": []},
        {"$map": []},
        {"a": 1, "$b": 2},
        {"a\x01": 1},
        {"é": 1},
        {"x" * 1025: 1},
    ],
)
def test_from_json_rejects_malformed(bad):
    with pytest.raises(InvalidValueError):
        from_json(bad)


def test_positive_zero_float_wrapper_is_tolerated():
    assert identical(from_json({"$float": "AAAAAAAAAAA="}), 0.0)


@pytest.mark.parametrize(
    "bad", [{"$a": 1.0}, {"a": {"$b": None}}, {"\x7f": None}, 1, (1.0,), UNDEFINED]
)
def test_to_json_rejects_invalid(bad):
    with pytest.raises(InvalidValueError):
        to_json(bad)


def test_loads_rejects_invalid_json():
    with pytest.raises(InvalidValueError):
        loads(b"{nope")
    with pytest.raises(InvalidValueError):
        loads(b"NaN")


def test_export_json():
    value = {
        "i": Int64(2**60),
        "small": Int64(-3),
        "f": 1.5,
        "whole": 3,
        "z": -0.0,
        "nan": math.nan,
        "inf": math.inf,
        "ninf": -math.inf,
        "b": b"\x00\x10\x83",
        "s": "x",
        "n": None,
        "t": True,
        "a": [Int64(1), [b"\xff"]],
    }
    value["whole"] = 3.0
    out = to_export_json(value)
    assert type(out["whole"]) is float
    assert out == {
        "i": "1152921504606846976",
        "small": "-3",
        "f": 1.5,
        "whole": 3.0,
        "z": -0.0,
        "nan": "NaN",
        "inf": "Infinity",
        "ninf": "-Infinity",
        "b": "ABCD",
        "s": "x",
        "n": None,
        "t": True,
        "a": ["1", ["/w=="]],
    }
    assert math.copysign(1.0, out["z"]) < 0
    orjson.dumps(out)  # plain JSON


def test_export_json_writes_whole_float64s_as_floats():
    """Issue 18 item 1: a whole float64 is written `1.0`, as Convex writes it, so a
    consumer typing columns from the JSON sees a float; int64 stays a decimal string."""
    doc = {"zero": 0.0, "one": 1.0, "big": 2.0**60, "neg": -2.0, "i": Int64(1),
           "nested": [1.0, {"x": 2.0}]}
    text = orjson.dumps(to_export_json(doc))
    assert text == (b'{"zero":0.0,"one":1.0,"big":1.152921504606847e+18,"neg":-2.0,"i":"1",'
                    b'"nested":[1.0,{"x":2.0}]}')
    assert orjson.loads(text)["one"].__class__ is float


def test_js_json_prints_whole_numbers_as_javascript_does():
    assert orjson.dumps(to_js_json({"n": 3.0, "f": 1.5, "z": -0.0, "i": Int64(2),
                                    "a": [4.0, math.inf]})) == \
        b'{"n":3,"f":1.5,"z":-0.0,"i":"2","a":[4,"Infinity"]}'


@given(values)
def test_export_json_is_plain_json(v):
    orjson.dumps(to_export_json(v))


def test_format_value():
    assert format_value({"a": [Int64(3), 1.0, 2.5, b"ab", None, 'q"'], "b": True}) == (
        '{"a":[3n,1,2.5,b"YWI=",null,"q\\""],"b":true}'
    )
    assert format_value(math.nan) == "NaN"
    assert format_value(-math.inf) == "-Infinity"
    assert format_value(-0.0) == "-0"
    assert format_value(1e300) == "1e+300"
    assert format_value(UNDEFINED) == "undefined"
    assert format_value("\ud800") == "'\\ud800'"


def test_format_value_truncates():
    out = format_value(["x" * 100] * 1000, max_length=200)
    assert len(out) == 200 and out.endswith("[...truncated]")
    out = format_value("y" * 10**6)
    assert len(out) == 16384 and out.endswith("[...truncated]")
    assert format_value(list(range(3))) == "[0,1,2]"


def test_out_of_range_json_numbers():
    with pytest.raises(InvalidValueError):
        from_json(10**400)
    with pytest.raises(InvalidValueError):
        loads(b"1e400")
    assert from_json(2**64 - 1) == 1.8446744073709552e19


def test_decoded_objects_have_sorted_keys():
    assert list(loads(b'{"b": 1, "_id": 2, "a": {"z": 1, "y": 2}}')) == ["_id", "a", "b"]
    assert list(loads(b'{"b": 1, "a": {"z": 1, "y": 2}}')["a"]) == ["y", "z"]
