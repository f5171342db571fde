import pytest
from hypothesis import given
from values_strategies import values

from syncline.errors import InvalidValueError
from syncline.values import Int64, check_document, check_value, value_size
from syncline.values.limits import (
    MAX_ARRAY_ELEMENTS,
    MAX_DOCUMENT_SIZE,
    MAX_FIELD_NAME_LENGTH,
    MAX_NESTING_DEPTH,
    MAX_OBJECT_FIELDS,
    MAX_TOP_LEVEL_FIELD_NAME_LENGTH,
    nesting_depth,
)


def nested_arrays(depth):
    v: list = []
    for _ in range(depth - 1):
        v = [v]
    return v


def test_documented_constants():
    assert MAX_DOCUMENT_SIZE == 1_048_576
    assert MAX_NESTING_DEPTH == 16
    assert MAX_OBJECT_FIELDS == 1024
    assert MAX_ARRAY_ELEMENTS == 8192
    assert MAX_TOP_LEVEL_FIELD_NAME_LENGTH == 64
    assert MAX_FIELD_NAME_LENGTH == 1024


def test_value_sizes():
    assert value_size(None) == 1
    assert value_size(True) == 1
    assert value_size(Int64(5)) == 9
    assert value_size(1.5) == 9
    assert value_size("abc") == 5
    assert value_size("é") == 4  # UTF-8 bytes
    assert value_size(b"ab") == 4
    assert value_size([1.0, None]) == 2 + 9 + 1
    assert value_size({"ab": None}) == 2 + 3 + 1
    assert value_size({"a": [[], {}]}) == 2 + 2 + (2 + 2 + 2)


def test_nesting_depth_counts_arrays_and_objects():
    assert nesting_depth(nested_arrays(4)) == 4  # [[[[]]]]
    assert nesting_depth(1.0) == 0
    assert nesting_depth({"a": [{}]}) == 3


@given(values)
def test_check_value_size_matches_value_size(v):
    try:
        size = check_value(v)
    except InvalidValueError:
        return  # some generated keys are not valid field names
    assert size == value_size(v)


def test_document_size_boundary():
    # {"a": "x" * n} has size 2 + (1 + 1) + (n + 2).
    n = MAX_DOCUMENT_SIZE - 6
    assert check_document({"a": "x" * n}) == MAX_DOCUMENT_SIZE
    with pytest.raises(
        InvalidValueError, match=r"too large \(1048577 bytes > maximum size 1048576 bytes\)"
    ):
        check_document({"a": "x" * (n + 1)})


def test_size_counts_system_fields():
    doc = {"_id": "j" * 32, "_creationTime": 1.0, "a": None}
    assert check_document(doc) == 2 + (4 + 34) + (14 + 9) + (2 + 1)


def test_check_value_max_size():
    assert check_value(b"x" * 10, max_size=12) == 12
    with pytest.raises(
        InvalidValueError, match=r"Arguments too large \(13 bytes > maximum size 12 bytes\)"
    ):
        check_value(b"x" * 11, max_size=12, what="Arguments")


def test_nesting_boundary_for_values():
    assert check_value(nested_arrays(MAX_NESTING_DEPTH)) > 0
    with pytest.raises(InvalidValueError, match=r"too nested .*16.*path \[0\]\[0\]"):
        check_value(nested_arrays(MAX_NESTING_DEPTH + 1))


def test_nesting_boundary_for_documents():
    # The document object itself is one level: {"a": 15 nested arrays} has depth 16.
    check_document({"a": nested_arrays(MAX_NESTING_DEPTH - 1)})
    with pytest.raises(InvalidValueError, match=r"too nested.*path \.a\[0\]"):
        check_document({"a": nested_arrays(MAX_NESTING_DEPTH)})
    deep_objects: dict = {}
    for _ in range(MAX_NESTING_DEPTH - 2):
        deep_objects = {"o": deep_objects}
    check_document({"a": deep_objects})
    with pytest.raises(InvalidValueError, match="too nested"):
        check_document({"a": {"o": deep_objects}})


def test_field_count_boundary():
    ok = {f"f{i}": None for i in range(MAX_OBJECT_FIELDS)}
    check_document(ok)
    check_document({"nested": ok})
    check_value(ok)
    too_many = {f"f{i}": None for i in range(MAX_OBJECT_FIELDS + 1)}
    with pytest.raises(InvalidValueError, match=r"too many fields \(1025 > maximum number 1024\)"):
        check_document(too_many)
    with pytest.raises(
        InvalidValueError, match=r"too many fields \(1025 > maximum number 1024\).*path \.nested"
    ):
        check_document({"nested": too_many})
    with pytest.raises(InvalidValueError, match="too many fields"):
        check_value([too_many])


def test_array_length_boundary():
    check_document({"a": [None] * MAX_ARRAY_ELEMENTS})
    with pytest.raises(
        InvalidValueError,
        match=r"Array length is too long \(8193 > maximum length 8192\).*path \.a",
    ):
        check_document({"a": [None] * (MAX_ARRAY_ELEMENTS + 1)})
    with pytest.raises(InvalidValueError, match="8193"):
        check_value({"x": [[None] * (MAX_ARRAY_ELEMENTS + 1)]})


def test_top_level_field_name_length_boundary():
    check_document({"a" * 64: None})
    with pytest.raises(
        InvalidValueError, match=r"too long \(65 > maximum 64\) for a top-level field"
    ):
        check_document({"a" * 65: None})


def test_nested_field_name_length_boundary():
    check_document({"a": {"k" * 1024: None}})
    check_value({"k" * 1024: None})
    with pytest.raises(InvalidValueError, match=r"too long \(1025 > maximum 1024\).*path \.a"):
        check_document({"a": {"k" * 1025: None}})


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "cannot be empty"),
        ("$a", r"starts with '\$'"),
        ("a\x7f", "invalid character"),
        ("a\tb", "invalid character"),
        ("café", "invalid character"),
    ],
)
def test_bad_field_names(name, message):
    with pytest.raises(InvalidValueError, match=message):
        check_document({name: None})
    with pytest.raises(InvalidValueError, match=message):
        check_document({"a": [{name: None}]})
    with pytest.raises(InvalidValueError, match=message):
        check_value({name: None})


def test_printable_ascii_names_are_fine():
    check_document({"a b!~ -.": {" ": None, "~": None, "_x": None}})


def test_underscore_fields_are_reserved_at_top_level_only():
    check_document({"_id": "x", "_creationTime": 1.0, "a": {"_nested": None}})
    check_value({"_anything": None})
    with pytest.raises(InvalidValueError, match="starts with an underscore"):
        check_document({"_secret": None})


def test_strings_must_be_valid_unicode():
    with pytest.raises(InvalidValueError, match=r"unpaired surrogate.*path \.a\[1\]"):
        check_document({"a": ["ok", "bad\udfff"]})
    assert check_document({"a": "😀"}) == 2 + 2 + 4 + 2


def test_non_canonical_values_are_refused():
    with pytest.raises(InvalidValueError, match=r"not a canonical Convex value.*path \.a"):
        check_document({"a": 1})
    with pytest.raises(InvalidValueError, match="must be an object"):
        check_document([])  # type: ignore[arg-type]
