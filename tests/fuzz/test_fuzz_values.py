"""Fuzzing the values layer: wire JSON, ordering, limits, normalization.

Every entry point either returns a canonical value or raises `InvalidValueError`
(whose text says what is wrong): never another exception, whatever the input.
What is accepted round-trips exactly, and the order agrees with the index keys.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from syncline.errors import InvalidValueError
from syncline.values import (
    check_document,
    check_value,
    compare,
    dumps,
    encode_key,
    format_value,
    from_json,
    loads,
    normalize,
    to_json,
    value_size,
    values_equal,
)
from syncline.values.limits import MAX_NESTING_DEPTH
from tests.fuzz.strategies import json_values, nested, python_values
from tests.values.values_strategies import identical, sorted_keys, values

FUZZ = settings(max_examples=600, deadline=None)


def refused_cleanly(call: Any, *args: Any, **kwargs: Any) -> Any:
    """`call(...)`, or None if it raised InvalidValueError with a message."""
    try:
        return call(*args, **kwargs)
    except InvalidValueError as e:
        assert str(e)
        return None


def sign(n: int) -> int:
    return (n > 0) - (n < 0)


@FUZZ
@given(json_values)
def test_from_json_takes_any_json(obj: Any) -> None:
    value = refused_cleanly(from_json, obj)
    if value is not None:
        assert identical(from_json(to_json(value)), value)  # decoding is canonical
        refused_cleanly(check_value, value)


@FUZZ
@given(st.one_of(st.binary(max_size=100), st.text(max_size=100), json_values.map(json.dumps)))
def test_loads_takes_any_text(data: bytes | str) -> None:
    value = refused_cleanly(loads, data)
    if value is not None:
        assert identical(loads(dumps(value)), value)


@FUZZ
@given(values)
def test_wire_json_round_trip(value: Any) -> None:
    """Any canonical value with valid field names encodes and decodes to itself."""
    encoded = refused_cleanly(to_json, value)
    if encoded is None:
        return  # a field name the wire cannot carry
    assert identical(from_json(orjson.loads(orjson.dumps(encoded))), sorted_keys(value))
    assert identical(loads(dumps(value)), sorted_keys(value))


@FUZZ
@given(values, values)
def test_compare_is_a_total_order_matching_the_index_keys(a: Any, b: Any) -> None:
    c = compare(a, b)
    assert c == -compare(b, a)
    assert c == sign((encode_key(a) > encode_key(b)) - (encode_key(a) < encode_key(b)))
    assert values_equal(a, b) == (c == 0)


@FUZZ
@given(python_values)
def test_normalize_takes_any_python_value(value: Any) -> None:
    canonical = refused_cleanly(normalize, value)
    if canonical is not None:
        assert identical(normalize(canonical), canonical)
        size = refused_cleanly(check_value, canonical)
        if size is not None:
            assert size == value_size(canonical)


@FUZZ
@given(python_values)
def test_limits_and_formatting_take_any_python_value(value: Any) -> None:
    refused_cleanly(check_value, value)
    refused_cleanly(check_value, value, max_size=64)
    if isinstance(value, dict):
        refused_cleanly(check_document, value)
    assert isinstance(format_value(value), str)


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=1, max_value=1500), st.booleans())
def test_deep_nesting_is_refused_cleanly(depth: int, as_object: bool) -> None:
    """The entry points for outside values take any depth, refusing more than 16 levels
    cleanly. (to_json, value_size, encode_key and compare take values that passed
    check_value.)"""
    value = nested(depth, None, as_object=as_object)
    assert (refused_cleanly(check_value, value) is None) == (depth > MAX_NESTING_DEPTH)
    assert (refused_cleanly(check_document, {"a": value}) is None) == (
        depth + 1 > MAX_NESTING_DEPTH)
    canonical = refused_cleanly(normalize, value)
    wire = refused_cleanly(from_json, canonical if canonical is not None else value)
    if wire is not None:
        refused_cleanly(loads, json.dumps(wire))
    assert isinstance(format_value(value), str)


def test_cycles_are_refused_cleanly() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    loop: dict[str, Any] = {}
    loop["a"] = loop
    for value in (cycle, loop):
        for call in (normalize, check_value):
            assert refused_cleanly(call, value) is None
        assert isinstance(format_value(value), str)
