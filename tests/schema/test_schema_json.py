"""Validator and schema JSON: Convex's format, and round trips."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncline.errors import SchemaError
from syncline.schema import (
    Validator,
    define_schema,
    define_table,
    pagination_opts_validator,
    schema_from_json,
    v,
    validator_from_json,
)
from syncline.values.model import INT64_MAX, INT64_MIN, Int64

# ----------------------------------------------------------------- validator JSON


def test_validator_json_format() -> None:
    assert v.string().to_json() == {"type": "string"}
    assert v.number().to_json() == {"type": "number"}
    assert v.float64().to_json() == {"type": "number"}
    assert v.int64().to_json() == {"type": "bigint"}
    assert v.boolean().to_json() == {"type": "boolean"}
    assert v.null().to_json() == {"type": "null"}
    assert v.bytes().to_json() == {"type": "bytes"}
    assert v.any().to_json() == {"type": "any"}
    assert v.id("t").to_json() == {"type": "id", "tableName": "t"}
    assert v.array(v.string()).to_json() == {"type": "array", "value": {"type": "string"}}
    assert v.object({"f": v.string(), "g": v.optional(v.number())}).to_json() == {
        "type": "object",
        "value": {
            "f": {"fieldType": {"type": "string"}, "optional": False},
            "g": {"fieldType": {"type": "number"}, "optional": True},
        },
    }
    assert v.record(v.string(), v.boolean()).to_json() == {
        "type": "record",
        "keys": {"type": "string"},
        "values": {"fieldType": {"type": "boolean"}, "optional": False},
    }
    assert v.union(v.string(), v.null()).to_json() == {
        "type": "union",
        "value": [{"type": "string"}, {"type": "null"}],
    }


def test_literal_json_uses_wire_encoding() -> None:
    assert v.literal("a").to_json() == {"type": "literal", "value": "a"}
    assert v.literal(True).to_json() == {"type": "literal", "value": True}
    assert v.literal(1.5).to_json() == {"type": "literal", "value": 1.5}
    assert v.literal(5).to_json() == {"type": "literal", "value": 5.0}
    assert v.literal(Int64(1)).to_json() == {
        "type": "literal",
        "value": {"$integer": "AQAAAAAAAAA="},
    }
    assert v.literal(Int64(-1)).to_json() == {
        "type": "literal",
        "value": {"$integer": "//////////8="},
    }
    assert v.literal(-0.0).to_json() == {"type": "literal", "value": {"$float": "AAAAAAAAAIA="}}
    inf = v.literal(math.inf).to_json()["value"]
    assert set(inf) == {"$float"}


def test_optional_at_top_level_serializes_like_inner() -> None:
    # As in Convex: the optional marker lives in the object field, not in the validator JSON.
    assert v.optional(v.string()).to_json() == {"type": "string"}


def test_validator_json_is_json_serializable() -> None:
    json.dumps(pagination_opts_validator.to_json())


ROUND_TRIP = [
    v.string(),
    v.number(),
    v.int64(),
    v.boolean(),
    v.null(),
    v.bytes(),
    v.any(),
    v.id("users"),
    v.array(v.array(v.int64())),
    v.object({}),
    v.object({"a": v.optional(v.object({"b": v.union(v.string(), v.literal(Int64(3)))}))}),
    v.record(v.union(v.string(), v.id("users")), v.array(v.any())),
    v.union(),
    v.union(v.literal("a"), v.literal(2), v.literal(True), v.literal(-0.0), v.literal(math.nan)),
    v.literal(Int64(INT64_MIN)),
    v.literal(Int64(INT64_MAX)),
    pagination_opts_validator,
]


@pytest.mark.parametrize("validator", ROUND_TRIP, ids=repr)
def test_validator_round_trip(validator: Validator) -> None:
    assert validator_from_json(validator.to_json()) == validator
    assert validator_from_json(json.dumps(validator.to_json())) == validator


@given(st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
def test_int64_literal_round_trip(n: int) -> None:
    val = v.literal(Int64(n))
    back = validator_from_json(json.loads(json.dumps(val.to_json())))
    assert back == val and type(back.value) is Int64


@given(st.floats(allow_nan=True))
def test_float_literal_round_trip(x: float) -> None:
    val = v.literal(x)
    back = validator_from_json(json.loads(json.dumps(val.to_json(), allow_nan=False)))
    assert back == val


leaf = st.sampled_from(
    [v.string(), v.number(), v.int64(), v.boolean(), v.null(), v.bytes(), v.any(), v.id("t")]
)
names = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,8}", fullmatch=True)


def extend(children: st.SearchStrategy[Validator]) -> st.SearchStrategy[Validator]:
    return st.one_of(
        st.builds(v.array, children),
        st.builds(v.union, children, children),
        st.builds(
            v.object,
            st.dictionaries(
                names, st.one_of(children, st.builds(v.optional, children)), max_size=4
            ),
        ),
        st.builds(v.record, st.sampled_from([v.string(), v.id("t")]), children),
    )


@given(st.recursive(leaf, extend, max_leaves=12))
def test_random_validator_round_trip(validator: Validator) -> None:
    assert validator_from_json(json.loads(json.dumps(validator.to_json()))) == validator


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "not json",
        [],
        {},
        {"type": "set"},
        {"type": "commitTs"},
        {"type": "id"},
        {"type": "array"},
        {"type": "object", "value": {"a": {"optional": False}}},
        {"type": "literal", "value": None},
        {"type": "literal", "value": {"$integer": "AQ=="}},
        {"type": "literal", "value": {"$bytes": "AQAAAAAAAAA="}},
        {"type": "record", "keys": {"type": "number"}, "values": {"fieldType": {"type": "any"}}},
        {
            "type": "record",
            "keys": {"type": "string"},
            "values": {"fieldType": {"type": "any"}, "optional": True},
        },
    ],
)
def test_bad_validator_json(bad: object) -> None:
    with pytest.raises(SchemaError):
        validator_from_json(bad)


# ----------------------------------------------------------------- schema JSON


def sample_schema():  # type: ignore[no-untyped-def]
    return define_schema(
        {
            "messages": define_table(
                {"channel": v.id("channels"), "body": v.string(), "embedding": v.array(v.number())}
            )
            .index("by_channel", ["channel"])
            .index("by_channel_body", ["channel", "body"])
            .search_index("search_body", search_field="body", filter_fields=["channel"])
            .vector_index("by_embedding", vector_field="embedding", dimensions=1536),
            "channels": define_table({"name": v.string()}),
            "events": define_table(
                v.union(
                    v.object({"kind": v.literal("a"), "n": v.int64()}),
                    v.object({"kind": v.literal("b")}),
                )
            ),
            "blobs": define_table(v.any()),
        },
        schema_validation=False,
        strict_table_name_types=False,
    )


def test_schema_json_format() -> None:
    data = sample_schema().to_json()
    assert data["schemaValidation"] is False
    assert data["strictTableNameTypes"] is False
    tables = {t["tableName"]: t for t in data["tables"]}
    assert list(tables) == ["messages", "channels", "events", "blobs"]
    m = tables["messages"]
    assert m["indexes"] == [
        {"indexDescriptor": "by_channel", "fields": ["channel"]},
        {"indexDescriptor": "by_channel_body", "fields": ["channel", "body"]},
    ]
    assert m["searchIndexes"] == [
        {"indexDescriptor": "search_body", "searchField": "body", "filterFields": ["channel"]}
    ]
    assert m["vectorIndexes"] == [
        {
            "indexDescriptor": "by_embedding",
            "vectorField": "embedding",
            "dimensions": 1536,
            "filterFields": [],
        }
    ]
    assert m["documentType"]["type"] == "object"
    assert tables["blobs"]["documentType"] == {"type": "any"}
    json.dumps(data)


def test_schema_round_trip() -> None:
    s = sample_schema()
    assert schema_from_json(s.to_json()) == s
    assert schema_from_json(json.dumps(s.to_json())) == s
    back = schema_from_json(s.to_json())
    assert back.to_json() == s.to_json()
    empty = define_schema({})
    assert schema_from_json(empty.to_json()) == empty


def test_schema_from_convex_export() -> None:
    """The shape `npx convex` pushes (staged entries, no strictTableNameTypes)."""
    exported = {
        "tables": [
            {
                "tableName": "messages",
                "indexes": [{"indexDescriptor": "by_channel", "fields": ["channel"]}],
                "stagedDbIndexes": [],
                "searchIndexes": [],
                "stagedSearchIndexes": [],
                "vectorIndexes": [],
                "stagedVectorIndexes": [],
                "documentType": {
                    "type": "object",
                    "value": {"channel": {"fieldType": {"type": "string"}, "optional": False}},
                },
            }
        ],
        "schemaValidation": True,
    }
    s = schema_from_json(json.dumps(exported))
    expected = define_schema(
        {"messages": define_table({"channel": v.string()}).index("by_channel", ["channel"])}
    )
    assert s == expected
    assert s.strict_table_name_types is True


@pytest.mark.parametrize(
    "bad",
    [
        [],
        "{not json",
        {"tables": [{"indexes": []}]},
        {"tables": [{"tableName": "_bad", "documentType": {"type": "any"}}]},
        {
            "tables": [
                {"tableName": "t", "documentType": {"type": "any"}},
                {"tableName": "t", "documentType": {"type": "any"}},
            ]
        },
        {"tables": [{"tableName": "t", "documentType": {"type": "string"}}]},
        {
            "tables": [
                {"tableName": "t", "indexes": [{"indexDescriptor": "by_id", "fields": ["a"]}]}
            ]
        },
        {
            "tables": [
                {"tableName": "t", "vectorIndexes": [{"indexDescriptor": "x", "vectorField": "e"}]}
            ]
        },
    ],
)
def test_bad_schema_json(bad: object) -> None:
    with pytest.raises(SchemaError):
        schema_from_json(bad)  # type: ignore[arg-type]
