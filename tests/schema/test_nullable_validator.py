"""`v.nullable(x)`: the `convex/values` helper, exactly `v.union(x, v.null())`."""

from __future__ import annotations

import pytest

from syncline.errors import SchemaError, ValidationError
from syncline.schema import define_schema, define_table, schema_from_json, v, validator_from_json


def test_nullable_is_a_union_with_null() -> None:
    nullable = v.nullable(v.string())
    assert nullable == v.union(v.string(), v.null())
    assert nullable.validate("a") == "a"
    assert nullable.validate(None) is None
    with pytest.raises(ValidationError):
        nullable.validate(3.0)
    # The member converts as it does alone: a plain int becomes a float64.
    assert type(v.nullable(v.number()).validate(3)) is float


def test_nullable_json_is_convex_union_json_and_round_trips() -> None:
    nullable = v.nullable(v.id("users"))
    assert nullable.to_json() == {
        "type": "union",
        "value": [{"type": "id", "tableName": "users"}, {"type": "null"}],
    }
    assert validator_from_json(nullable.to_json()) == nullable


def test_nullable_in_object_field_and_schema() -> None:
    schema = define_schema({"posts": define_table({
        "title": v.string(),
        "parent": v.optional(v.nullable(v.id("posts"))),
    })})
    assert schema_from_json(schema.to_json()).to_json() == schema.to_json()
    doc = v.object({"parent": v.optional(v.nullable(v.string()))})
    assert doc.validate({"parent": None}) == {"parent": None}
    assert doc.validate({}) == {}


def test_nullable_rejects_non_validators_and_optional_members() -> None:
    with pytest.raises(SchemaError):
        v.nullable("string")  # type: ignore[arg-type]
    with pytest.raises(SchemaError):
        v.nullable(v.optional(v.string()))
