"""Validators: acceptance, rejection, conversions and error paths/messages."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import syncline.schema.validators as validators_mod
from syncline.errors import SchemaError, ValidationError
from syncline.schema import Validator, pagination_opts_validator, v
from syncline.values.json_codec import format_value
from syncline.values.model import INT64_MAX, INT64_MIN, UNDEFINED, Int64


def fails(validator: Validator, value: object, **kw: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validator.validate(value, **kw)  # type: ignore[arg-type]
    return info.value


def make_valid_id() -> str:
    try:
        from syncline.values.ids import encode_id
    except ImportError:
        pytest.skip("syncline.values.ids.encode_id is not available yet")
    return encode_id(10001, bytes(16))


@pytest.fixture
def any_string_is_an_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate the table check of v.id from ID syntax (owned by syncline.values.ids)."""
    monkeypatch.setattr(validators_mod, "_is_valid_id", lambda s: True)


# ----------------------------------------------------------------- kinds and inspection


def test_kinds() -> None:
    assert v.string().kind == "string"
    assert v.number().kind == "float64"
    assert v.float64().kind == "float64"
    assert v.int64().kind == "int64"
    assert v.bigint().kind == "int64"
    assert v.boolean().kind == "boolean"
    assert v.null().kind == "null"
    assert v.bytes().kind == "bytes"
    assert v.id("users").kind == "id"
    assert v.array(v.string()).kind == "array"
    assert v.object({}).kind == "object"
    assert v.record(v.string(), v.any()).kind == "record"
    assert v.union(v.string()).kind == "union"
    assert v.literal("a").kind == "literal"
    assert v.any().kind == "any"


def test_inspectable_attributes() -> None:
    obj = v.object({"a": v.string(), "b": v.optional(v.number())})
    assert set(obj.fields) == {"a", "b"}
    assert obj.fields["a"] == v.string()
    assert obj.fields["b"].is_optional
    assert not obj.fields["a"].is_optional
    assert v.array(v.int64()).element == v.int64()
    assert v.union(v.string(), v.null()).members == (v.string(), v.null())
    rec = v.record(v.id("users"), v.boolean())
    assert rec.keys == v.id("users")
    assert rec.values == v.boolean()
    assert v.id("users").table_name == "users"
    assert v.literal("x").value == "x"
    assert v.literal(5).value == 5.0 and isinstance(v.literal(5).value, float)
    assert isinstance(v.literal(Int64(5)).value, Int64)


def test_immutable() -> None:
    s = v.object({"a": v.string()})
    with pytest.raises(AttributeError):
        s.kind = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        s._fields = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.fields["b"] = v.string()  # type: ignore[index]


def test_structural_equality_and_hash() -> None:
    a = v.object({"x": v.string(), "y": v.optional(v.array(v.int64()))})
    b = v.object({"y": v.optional(v.array(v.bigint())), "x": v.string()})
    assert a == b and hash(a) == hash(b)
    assert v.number() == v.float64()
    assert v.string() != v.optional(v.string())
    assert v.literal(5) != v.literal(Int64(5))
    assert v.literal(5) == v.literal(5.0)
    assert v.literal(True) != v.literal(1)
    assert v.literal(0.0) != v.literal(-0.0)
    assert v.literal(math.nan) == v.literal(math.nan)
    assert v.union(v.string(), v.null()) != v.union(v.null(), v.string())
    assert v.id("a") != v.id("b")
    assert v.string() != "string"


def test_repr_is_convex_source() -> None:
    assert repr(v.object({"name": v.string()})) == "v.object({name: v.string()})"
    assert repr(v.number()) == "v.float64()"
    assert repr(v.int64()) == "v.int64()"
    assert repr(v.id("users")) == 'v.id("users")'
    assert repr(v.optional(v.string())) == "v.optional(v.string())"
    assert repr(v.literal("a")) == 'v.literal("a")'
    assert repr(v.literal(5)) == "v.literal(5)"
    assert repr(v.literal(1.5)) == "v.literal(1.5)"
    assert repr(v.literal(Int64(5))) == "v.literal(5n)"
    assert repr(v.literal(True)) == "v.literal(true)"
    assert repr(v.union(v.string(), v.null())) == "v.union(v.string(), v.null())"
    assert repr(v.record(v.string(), v.any())) == "v.record(v.string(), v.any())"
    assert repr(v.array(v.bytes())) == "v.array(v.bytes())"
    assert repr(v.object({"a-b": v.boolean()})) == 'v.object({"a-b": v.boolean()})'
    assert repr(v) == "v"


# ----------------------------------------------------------------- primitives


def test_string() -> None:
    assert v.string().validate("hi") == "hi"
    assert v.string().validate("") == ""
    for bad in (1, 1.0, None, b"x", True, ["a"], UNDEFINED):
        fails(v.string(), bad)


def test_number_conversions() -> None:
    n = v.number()
    assert n.validate(1.5) == 1.5
    out = n.validate(3)
    assert out == 3.0 and type(out) is float
    assert type(n.validate(2**53)) is float
    assert n.validate(2**60) == float(2**60)  # exactly representable
    assert math.isnan(n.validate(math.nan))
    assert n.validate(math.inf) == math.inf
    for bad in (True, False, Int64(3), "3", None):
        fails(n, bad)


def test_number_rejects_inexact_int() -> None:
    err = fails(v.number(), 2**53 + 1)
    assert "float64" in str(err)
    fails(v.number(), 10**400)


def test_int64_conversions() -> None:
    i = v.int64()
    out = i.validate(5)
    assert out == 5 and type(out) is Int64
    assert type(i.validate(Int64(-7))) is Int64
    assert i.validate(INT64_MAX) == INT64_MAX
    assert i.validate(INT64_MIN) == INT64_MIN
    err = fails(i, INT64_MAX + 1)
    assert "int64 range" in str(err)
    fails(i, INT64_MIN - 1)
    for bad in (5.0, 1.5, True, "5", None):
        fails(i, bad)


def test_boolean_null_bytes() -> None:
    assert v.boolean().validate(True) is True
    assert v.boolean().validate(False) is False
    for bad in (0, 1, 1.0, "true", None):
        fails(v.boolean(), bad)
    assert v.null().validate(None) is None
    for bad in (UNDEFINED, 0, "", False):
        fails(v.null(), bad)
    assert v.bytes().validate(b"ab") == b"ab"
    out = v.bytes().validate(bytearray(b"ab"))
    assert out == b"ab" and type(out) is bytes
    assert v.bytes().validate(memoryview(b"xy")) == b"xy"
    for bad in ("ab", [1, 2], None):
        fails(v.bytes(), bad)


def test_any_canonicalizes() -> None:
    a = v.any()
    out = a.validate({"x": 1, "y": (1, Int64(2)), "z": UNDEFINED, "b": bytearray(b"q")})
    assert out == {"x": 1.0, "y": [1.0, Int64(2)], "b": b"q"}
    assert type(out["x"]) is float and type(out["y"]) is list and type(out["b"]) is bytes
    assert "z" not in out
    assert a.validate(None) is None
    assert a.validate(True) is True
    err = fails(a, {"a": [1, {"b": {1, 2}}]})
    assert err.path == ".a[1].b"
    fails(a, UNDEFINED)
    assert fails(a, [UNDEFINED]).path == "[0]"
    assert fails(a, {"k": 2**60 + 1}).path == ".k"
    fails(a, {1: "x"})
    fails(a, object())


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_any_ints_become_floats(n: int) -> None:
    out = v.any().validate([n])
    assert out == [float(n)] and type(out[0]) is float


# ----------------------------------------------------------------- ids


def test_id_valid_syntax() -> None:
    doc_id = make_valid_id()
    assert v.id("users").validate(doc_id) == doc_id


def test_id_rejects_non_ids() -> None:
    for bad in ("", "not an id", "u" * 32, "A" * 32, 5, None, b"abc"):
        err = fails(v.id("users"), bad)
        assert 'v.id("users")' in str(err)


@pytest.mark.usefixtures("any_string_is_an_id")
def test_id_table_check() -> None:
    tables = {"u1": "users", "m1": "messages"}
    val = v.object({"author": v.id("users")})
    assert val.validate({"author": "u1"}, id_table=tables.get) == {"author": "u1"}
    err = fails(val, {"author": "m1"}, id_table=tables.get)
    assert err.path == ".author"
    assert "messages" in str(err) and 'v.id("users")' in str(err)
    err = fails(val, {"author": "zz"}, id_table=tables.get)  # unknown table
    assert err.path == ".author"
    # Without a lookup only syntax is checked.
    assert val.validate({"author": "m1"}) == {"author": "m1"}


def test_id_needs_table_name() -> None:
    with pytest.raises(SchemaError):
        v.id("")
    with pytest.raises(SchemaError):
        v.id(5)  # type: ignore[arg-type]


# ----------------------------------------------------------------- arrays


def test_array() -> None:
    arr = v.array(v.number())
    out = arr.validate([1, 2.5])
    assert out == [1.0, 2.5] and all(type(x) is float for x in out)
    assert arr.validate(()) == []
    assert type(arr.validate((1,))) is list
    assert fails(arr, [1, 2, "x"]).path == "[2]"
    fails(arr, "abc")
    fails(arr, {"a": 1})
    fails(arr, None)
    assert fails(arr, [1, UNDEFINED]).path == "[1]"


# ----------------------------------------------------------------- objects


def test_object_accepts_and_canonicalizes() -> None:
    obj = v.object({"name": v.string(), "n": v.number(), "i": v.int64()})
    out = obj.validate({"name": "a", "n": 1, "i": 2})
    assert out == {"name": "a", "n": 1.0, "i": Int64(2)}
    assert type(out["n"]) is float and type(out["i"]) is Int64
    assert v.object({}).validate({}) == {}


def test_object_mismatch_message_and_path() -> None:
    obj = v.object({"author": v.string()})
    err = fails(obj, {"author": 1})
    assert err.path == ".author"
    assert (
        str(err)
        == "Value does not match validator.\nPath: .author\nValue: 1\nValidator: v.string()"
    )


def test_top_level_mismatch_has_no_path_line() -> None:
    err = fails(v.string(), 1)
    assert err.path == ""
    assert str(err) == "Value does not match validator.\nValue: 1\nValidator: v.string()"


def test_path_prefix_argument() -> None:
    err = fails(v.object({"a": v.string()}), {"a": 1}, path=".args")
    assert err.path == ".args.a"


def test_object_missing_field() -> None:
    obj = v.object({"title": v.string(), "body": v.string()})
    err = fails(obj, {"title": "t"})
    msg = str(err)
    assert msg.startswith(
        "Object is missing the required field `body`. Consider wrapping the field validator in "
        "`v.optional(...)` if this is expected.\n\n"
    )
    assert "Object: " + format_value({"title": "t"}) in msg
    assert "Validator: v.object({title: v.string(), body: v.string()})" in msg
    assert err.path == ""
    # UNDEFINED is the same as missing.
    fails(obj, {"title": "t", "body": UNDEFINED})


def test_object_extra_field_rejected() -> None:
    obj = v.object({"a": v.string()})
    err = fails(obj, {"a": "x", "x": 1})
    assert str(err).startswith("Object contains extra field `x` that is not in the validator.")
    # An UNDEFINED extra field is just absent.
    assert obj.validate({"a": "x", "x": UNDEFINED}) == {"a": "x"}


def test_nested_paths() -> None:
    val = v.object({"a": v.array(v.object({"b": v.string()}))})
    err = fails(val, {"a": [{"b": "x"}, {"b": "y"}, {"b": 3}]})
    assert err.path == ".a[2].b"
    assert "Path: .a[2].b" in str(err)
    err = fails(val, {"a": [{"b": "x"}, {}]})
    assert err.path == ".a[1]"
    assert "missing the required field `b`" in str(err)
    err = fails(val, {"a": [{"b": "x", "c": 1}]})
    assert err.path == ".a[0]"
    assert "extra field `c`" in str(err)
    nested = v.object({"x": v.object({"y": v.object({"z": v.int64()})})})
    assert fails(nested, {"x": {"y": {"z": 1.5}}}).path == ".x.y.z"


def test_optional_fields() -> None:
    obj = v.object({"a": v.optional(v.string()), "b": v.number()})
    assert obj.validate({"b": 1}) == {"b": 1.0}
    assert obj.validate({"a": UNDEFINED, "b": 1}) == {"b": 1.0}
    assert obj.validate({"a": "s", "b": 1}) == {"a": "s", "b": 1.0}
    assert fails(obj, {"a": None, "b": 1}).path == ".a"  # null is not missing
    assert fails(obj, {"a": 5, "b": 1}).path == ".a"


def test_object_rejects_non_objects() -> None:
    obj = v.object({"a": v.string()})
    for bad in (None, [], "a", 1, {1: "x"}):
        fails(obj, bad)


def test_object_field_names_checked() -> None:
    with pytest.raises(SchemaError):
        v.object({"$a": v.string()})
    with pytest.raises(SchemaError):
        v.object({1: v.string()})  # type: ignore[dict-item]
    with pytest.raises(SchemaError):
        v.object({"é": v.string()})
    with pytest.raises(SchemaError):
        v.object({"a": "string"})  # type: ignore[dict-item]
    with pytest.raises(SchemaError):
        v.object([("a", v.string())])  # type: ignore[arg-type]


# ----------------------------------------------------------------- optional placement


def test_optional_outside_object_field_is_schema_error() -> None:
    with pytest.raises(SchemaError):
        v.array(v.optional(v.string()))
    with pytest.raises(SchemaError):
        v.union(v.string(), v.optional(v.number()))
    with pytest.raises(SchemaError):
        v.record(v.string(), v.optional(v.number()))
    with pytest.raises(SchemaError):
        v.record(v.optional(v.string()), v.number())
    with pytest.raises(SchemaError, match="v.optional"):
        v.optional(v.string()).validate("x")
    with pytest.raises(SchemaError):
        v.optional("x")  # type: ignore[arg-type]


def test_optional_is_idempotent_and_reversible() -> None:
    o = v.optional(v.string())
    assert v.optional(o) == o
    assert o.as_required() == v.string()
    assert o.as_required().validate("x") == "x"


# ----------------------------------------------------------------- unions


def test_union_first_match_converts() -> None:
    u = v.union(v.int64(), v.number())
    assert type(u.validate(5)) is Int64
    assert type(u.validate(5.5)) is float
    u2 = v.union(v.number(), v.int64())
    assert type(u2.validate(5)) is float
    assert type(u2.validate(Int64(5))) is Int64


def test_union_failure_reports_union() -> None:
    u = v.union(v.string(), v.null())
    assert u.validate(None) is None
    assert u.validate("a") == "a"
    err = fails(v.object({"f": u}), {"f": 3})
    assert err.path == ".f"
    assert str(err) == (
        "Value does not match validator.\nPath: .f\nValue: 3\nValidator: v.union(v.string(), v.null())"
    )


def test_union_of_objects() -> None:
    u = v.union(
        v.object({"kind": v.literal("s"), "value": v.string()}),
        v.object({"kind": v.literal("n"), "value": v.number()}),
    )
    assert u.validate({"kind": "n", "value": 1}) == {"kind": "n", "value": 1.0}
    assert u.validate({"kind": "s", "value": "x"}) == {"kind": "s", "value": "x"}
    fails(u, {"kind": "s", "value": 1})


def test_empty_union_matches_nothing() -> None:
    fails(v.union(), None)


# ----------------------------------------------------------------- literals


def test_literals() -> None:
    assert v.literal("one").validate("one") == "one"
    fails(v.literal("one"), "two")
    fails(v.literal("1"), 1)

    out = v.literal(5).validate(5)
    assert out == 5.0 and type(out) is float
    assert type(v.literal(5).validate(5.0)) is float
    fails(v.literal(5), Int64(5))
    fails(v.literal(5), 6)
    fails(v.literal(1), True)

    out = v.literal(Int64(5)).validate(5)
    assert type(out) is Int64 and out == 5
    assert type(v.literal(Int64(5)).validate(Int64(5))) is Int64
    fails(v.literal(Int64(5)), 5.0)
    fails(v.literal(Int64(1)), True)

    assert v.literal(True).validate(True) is True
    fails(v.literal(True), False)
    fails(v.literal(True), 1)
    fails(v.literal(False), 0)

    assert v.literal(1.5).validate(1.5) == 1.5
    assert math.isnan(v.literal(math.nan).validate(math.nan))


def test_literal_construction_rules() -> None:
    for bad in (None, b"x", [1], {"a": 1}, UNDEFINED):
        with pytest.raises(SchemaError):
            v.literal(bad)  # type: ignore[arg-type]
    with pytest.raises(SchemaError):
        v.literal(2**53 + 1)
    assert v.literal(2**53).value == float(2**53)


# ----------------------------------------------------------------- records


def test_record() -> None:
    r = v.record(v.string(), v.number())
    out = r.validate({"a": 1, "b": 2.5, "c": UNDEFINED})
    assert out == {"a": 1.0, "b": 2.5}
    assert r.validate({}) == {}
    err = fails(v.object({"m": r}), {"m": {"a": 1, "b": "x"}})
    assert err.path == ".m.b"
    for bad in (None, [], "x"):
        fails(r, bad)


def test_record_keys() -> None:
    r = v.record(v.string(), v.boolean())
    for bad_key in ("$x", "_x", "é", "a\nb", ""):
        err = fails(r, {bad_key: True})
        assert "Record key" in str(err)
    fails(r, {1: True})
    assert r.validate({"ok key-1": True}) == {"ok key-1": True}


@pytest.mark.usefixtures("any_string_is_an_id")
def test_record_id_keys() -> None:
    r = v.record(v.id("users"), v.number())
    tables = {"u1": "users", "m1": "messages"}
    assert r.validate({"u1": 1}, id_table=tables.get) == {"u1": 1.0}
    assert fails(r, {"m1": 1}, id_table=tables.get).path == ".m1"


def test_record_key_validators_allowed() -> None:
    v.record(v.union(v.string(), v.id("users")), v.any())
    for bad in (v.literal("a"), v.number(), v.any(), v.union(v.string(), v.literal("x"))):
        with pytest.raises(SchemaError):
            v.record(bad, v.any())
    with pytest.raises(SchemaError):
        v.record("string", v.any())  # type: ignore[arg-type]


# ----------------------------------------------------------------- misc


def test_non_validator_members_rejected() -> None:
    with pytest.raises(SchemaError):
        v.array("x")  # type: ignore[arg-type]
    with pytest.raises(SchemaError):
        v.union(v.string(), str)  # type: ignore[arg-type]


def test_is_valid() -> None:
    assert v.string().is_valid("x")
    assert not v.string().is_valid(1)


def test_pagination_opts_validator() -> None:
    p = pagination_opts_validator
    assert p.validate({"numItems": 10, "cursor": None}) == {"numItems": 10.0, "cursor": None}
    full = {
        "numItems": 5,
        "cursor": "abc",
        "endCursor": None,
        "id": 3,
        "maximumRowsRead": 100,
        "maximumBytesRead": 1000,
    }
    assert p.validate(full)["maximumBytesRead"] == 1000.0
    fails(p, {"numItems": 10})
    fails(p, {"numItems": 10, "cursor": None, "other": 1})
    assert set(p.fields) == {
        "numItems",
        "cursor",
        "endCursor",
        "id",
        "maximumRowsRead",
        "maximumBytesRead",
    }
    assert p.fields["endCursor"] == v.optional(v.union(v.string(), v.null()))


def test_strings_must_be_valid_unicode() -> None:
    lone = "a\ud800b"
    assert v.string().validate("héllo ✓") == "héllo ✓"
    err = fails(v.object({"s": v.string()}), {"s": lone})
    assert err.path == ".s" and "surrogate" in str(err)
    assert fails(v.any(), {"a": [lone]}).path == ".a[0]"
    assert fails(v.any(), {lone: 1}).path == f".{lone}"
    with pytest.raises(SchemaError):
        v.literal(lone)


def test_empty_names() -> None:
    with pytest.raises(SchemaError):
        v.object({"": v.string()})
    err = fails(v.record(v.string(), v.number()), {"": 1})
    assert "empty" in str(err)


def test_copy_and_pickle() -> None:
    import copy
    import pickle

    val = v.object({"a": v.optional(v.array(v.literal(Int64(3)))), "b": v.id("t")})
    assert copy.copy(val) is val
    assert copy.deepcopy(val) is val
    for x in (val, v.optional(v.string()), pagination_opts_validator):
        back = pickle.loads(pickle.dumps(x))
        assert back == x and back.is_optional == x.is_optional


def test_validated_objects_are_canonical_like_normalize():
    from syncline.values import normalize, pack

    doc = {"b": 1.0, "a": {"z": 1.0, "y": 2.0}}
    validator = v.object({"b": v.number(), "a": v.object({"z": v.number(), "y": v.number()})})
    assert pack(validator.validate(doc)) == pack(normalize(doc))
    assert pack(v.any().validate(doc)) == pack(normalize(doc))
    assert list(v.record(v.string(), v.number()).validate({"q": 1.0, "p": 2.0})) == ["p", "q"]


def test_zero_literals_keep_their_sign():
    assert v.literal(0.0).is_valid(0.0)
    assert not v.literal(0.0).is_valid(-0.0)
    assert v.literal(-0.0).is_valid(-0.0)
    assert not v.literal(-0.0).is_valid(0)
