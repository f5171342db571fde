"""define_table / define_schema: naming rules, limits at their boundaries, document validation."""

from __future__ import annotations

import dataclasses

import pytest

from syncline.errors import SchemaError, ValidationError
from syncline.schema import (
    DatabaseSchema,
    IndexDefinition,
    SearchIndexDefinition,
    TableDefinition,
    VectorIndexDefinition,
    define_schema,
    define_table,
    v,
)
from syncline.values.model import Int64


def fields(n: int) -> list[str]:
    return [f"f{i}" for i in range(n)]


# ----------------------------------------------------------------- define_table


def test_define_table_from_dict() -> None:
    t = define_table({"a": v.string()})
    assert isinstance(t, TableDefinition)
    assert t.document_validator == v.object({"a": v.string()})
    assert t.indexes == () and t.search_indexes == () and t.vector_indexes == ()


def test_define_table_from_validators() -> None:
    assert define_table(v.object({"a": v.string()})).document_validator.kind == "object"
    u = v.union(v.object({"k": v.literal("a")}), v.object({"k": v.literal("b"), "x": v.number()}))
    assert define_table(u).document_validator == u
    assert define_table(v.any()).document_validator == v.any()
    nested = v.union(v.object({}), v.union(v.object({"a": v.string()})))
    define_table(nested)


@pytest.mark.parametrize(
    "bad",
    [
        v.string(),
        v.array(v.object({})),
        v.union(v.object({}), v.string()),
        v.union(),
        v.optional(v.object({})),
        v.record(v.string(), v.any()),
        "fields",
        None,
    ],
)
def test_define_table_rejects_non_object_documents(bad: object) -> None:
    with pytest.raises(SchemaError):
        define_table(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["_id", "_creationTime", "_private"])
def test_define_table_rejects_underscore_fields(name: str) -> None:
    with pytest.raises(SchemaError, match="underscore"):
        define_table({name: v.string()})
    with pytest.raises(SchemaError):
        define_table(v.union(v.object({"a": v.string()}), v.object({name: v.string()})))


# ----------------------------------------------------------------- documents


def test_validate_document_strips_system_fields() -> None:
    t = define_table({"body": v.string(), "n": v.number(), "i": v.optional(v.int64())})
    out = t.validate_document({"_id": "abc", "_creationTime": 1.0, "body": "x", "n": 1, "i": 2})
    assert out == {"body": "x", "n": 1.0, "i": Int64(2)}
    assert type(out["n"]) is float and type(out["i"]) is Int64
    assert t.validate_document({"body": "x", "n": 1.5}) == {"body": "x", "n": 1.5}


def test_validate_document_errors() -> None:
    t = define_table({"body": v.string(), "tags": v.array(v.object({"name": v.string()}))})
    with pytest.raises(ValidationError, match="missing the required field `body`"):
        t.validate_document({"tags": []})
    with pytest.raises(ValidationError, match="extra field `_other`"):
        t.validate_document({"body": "x", "tags": [], "_other": 1})
    with pytest.raises(ValidationError) as info:
        t.validate_document({"body": "x", "tags": [{"name": "a"}, {"name": 1}]})
    assert info.value.path == ".tags[1].name"
    with pytest.raises(ValidationError):
        t.validate_document("not a document")  # type: ignore[arg-type]


def test_validate_document_union_and_any() -> None:
    t = define_table(
        v.union(
            v.object({"kind": v.literal("s"), "value": v.string()}),
            v.object({"kind": v.literal("n"), "value": v.number()}),
        )
    )
    assert t.validate_document({"_id": "x", "kind": "n", "value": 2}) == {"kind": "n", "value": 2.0}
    with pytest.raises(ValidationError):
        t.validate_document({"kind": "n", "value": "2"})
    anyt = define_table(v.any())
    assert anyt.validate_document({"_id": "x", "_creationTime": 2.0, "a": 1}) == {"a": 1.0}


# ----------------------------------------------------------------- indexes


def test_index_definitions_and_chaining() -> None:
    t = (
        define_table({"channel": v.string(), "user": v.string(), "props": v.any()})
        .index("by_channel", ["channel"])
        .index("by_channel_user", ("channel", "user"))
        .index("by_prop_name", ["props.name"])
        .search_index("search_body", search_field="channel", filter_fields=["user"])
        .vector_index("by_embedding", vector_field="props.embedding", dimensions=1536)
    )
    assert t.indexes == (
        IndexDefinition("by_channel", ("channel",)),
        IndexDefinition("by_channel_user", ("channel", "user")),
        IndexDefinition("by_prop_name", ("props.name",)),
    )
    assert t.indexes[1].all_fields == ("channel", "user", "_creationTime")
    assert t.search_indexes == (SearchIndexDefinition("search_body", "channel", ("user",)),)
    assert t.vector_indexes == (VectorIndexDefinition("by_embedding", "props.embedding", 1536, ()),)
    assert t.get_index("search_body") is t.search_indexes[0]
    assert t.get_index("nope") is None


def test_index_definitions_are_frozen() -> None:
    idx = IndexDefinition("by_a", ["a"])  # type: ignore[arg-type]
    assert idx.fields == ("a",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        idx.name = "x"  # type: ignore[misc]
    assert isinstance(hash(idx), int)


@pytest.mark.parametrize(
    "name",
    ["", "_by_a", "1by", "by-a", "by a", "by.a", "é", "by_id", "by_creation_time", "a" * 65, 5],
)
def test_bad_index_names(name: object) -> None:
    with pytest.raises(SchemaError):
        define_table({"a": v.string()}).index(name, ["a"])  # type: ignore[arg-type]
    with pytest.raises(SchemaError):
        define_table({"a": v.string()}).search_index(name, search_field="a")  # type: ignore[arg-type]
    with pytest.raises(SchemaError):
        define_table({"a": v.string()}).vector_index(name, vector_field="a", dimensions=2)  # type: ignore[arg-type]


def test_index_name_length_boundary() -> None:
    define_table({"a": v.string()}).index("a" * 64, ["a"])
    with pytest.raises(SchemaError, match="64"):
        define_table({"a": v.string()}).index("a" * 65, ["a"])


def test_index_names_unique_across_kinds() -> None:
    t = define_table({"a": v.string()}).index("idx", ["a"])
    with pytest.raises(SchemaError, match="Duplicate index name"):
        t.index("idx", ["a"])
    with pytest.raises(SchemaError, match="Duplicate index name"):
        t.search_index("idx", search_field="a")
    with pytest.raises(SchemaError, match="Duplicate index name"):
        t.vector_index("idx", vector_field="a", dimensions=4)
    t.search_index("s", search_field="a")
    with pytest.raises(SchemaError, match="Duplicate index name"):
        t.index("s", ["a"])


@pytest.mark.parametrize(
    "bad_fields",
    [
        [],
        "a",
        ["a", "a"],
        ["_creationTime"],
        ["a", "_creationTime"],
        ["_id"],
        ["_x"],
        ["_x.y"],
        ["a..b"],
        ["a."],
        [".a"],
        ["1a"],
        ["a-b"],
        ["a.$b"],
        [5],
    ],
)
def test_bad_index_fields(bad_fields: object) -> None:
    with pytest.raises(SchemaError):
        define_table({"a": v.string()}).index("by_x", bad_fields)  # type: ignore[arg-type]


def test_nested_index_paths_allowed() -> None:
    t = define_table(v.any()).index("by_nested", ["properties.name", "a.b.c", "x.y-z"])
    assert t.indexes[0].fields == ("properties.name", "a.b.c", "x.y-z")


def test_fields_per_index_boundary() -> None:
    # 15 user fields + the implicit _creationTime = 16.
    define_table(v.any()).index("by_many", fields(15))
    with pytest.raises(SchemaError, match="16"):
        define_table(v.any()).index("by_many", fields(16))


def test_indexes_per_table_boundary() -> None:
    t = define_table(v.any())
    for i in range(32):
        t.index(f"idx{i}", ["a"])
    assert len(t.indexes) == 32
    with pytest.raises(SchemaError, match="32"):
        t.index("idx32", ["a"])
    # Search and vector indexes count against the same 32 (search.mdx, vector-search.mdx).
    with pytest.raises(SchemaError, match="search and vector indexes included"):
        t.search_index("s", search_field="a")
    with pytest.raises(SchemaError, match="search and vector indexes included"):
        t.vector_index("vec", vector_field="e", dimensions=8)


def test_search_indexes_per_table_boundary() -> None:
    t = define_table(v.any())
    for i in range(4):
        t.search_index(f"s{i}", search_field="body")
    with pytest.raises(SchemaError, match="4"):
        t.search_index("s4", search_field="body")


def test_vector_indexes_per_table_boundary() -> None:
    t = define_table(v.any())
    for i in range(4):
        t.vector_index(f"vec{i}", vector_field="e", dimensions=3)
    with pytest.raises(SchemaError, match="4"):
        t.vector_index("vec4", vector_field="e", dimensions=3)


def test_filter_fields_boundary() -> None:
    define_table(v.any()).search_index("s", search_field="body", filter_fields=fields(16))
    define_table(v.any()).vector_index(
        "vec", vector_field="e", dimensions=2, filter_fields=fields(16)
    )
    with pytest.raises(SchemaError, match="16"):
        define_table(v.any()).search_index("s", search_field="body", filter_fields=fields(17))
    with pytest.raises(SchemaError, match="16"):
        define_table(v.any()).vector_index(
            "vec", vector_field="e", dimensions=2, filter_fields=fields(17)
        )


@pytest.mark.parametrize("bad", [["a", "a"], ["_creationTime"], "a", ["a..b"]])
def test_bad_filter_fields(bad: object) -> None:
    with pytest.raises(SchemaError):
        define_table(v.any()).search_index("s", search_field="body", filter_fields=bad)  # type: ignore[arg-type]
    with pytest.raises(SchemaError):
        define_table(v.any()).vector_index("vec", vector_field="e", dimensions=2, filter_fields=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["_body", "", "a..b", 3])
def test_bad_search_and_vector_fields(bad: object) -> None:
    with pytest.raises(SchemaError):
        define_table(v.any()).search_index("s", search_field=bad)  # type: ignore[arg-type]
    with pytest.raises(SchemaError):
        define_table(v.any()).vector_index("vec", vector_field=bad, dimensions=2)  # type: ignore[arg-type]


def test_vector_dimensions_boundaries() -> None:
    define_table(v.any()).vector_index("lo", vector_field="e", dimensions=2)
    define_table(v.any()).vector_index("hi", vector_field="e", dimensions=4096)
    for bad in (1, 4097, 0, -5, 3.0, True, "8", None):
        with pytest.raises(SchemaError):
            define_table(v.any()).vector_index("vec", vector_field="e", dimensions=bad)  # type: ignore[arg-type]


# ----------------------------------------------------------------- define_schema


def test_define_schema_basics() -> None:
    users = define_table({"name": v.string()})
    s = define_schema({"users": users, "messages": define_table({"author": v.id("users")})})
    assert isinstance(s, DatabaseSchema)
    assert list(s.tables) == ["users", "messages"]
    assert s.table("users") is users
    assert s.table("nope") is None
    assert s.schema_validation is True
    assert s.strict_table_name_types is True
    s2 = define_schema({}, schema_validation=False, strict_table_name_types=False)
    assert s2.schema_validation is False and s2.strict_table_name_types is False
    assert s2.tables == {}
    with pytest.raises(TypeError):
        s.tables["x"] = users  # type: ignore[index]


@pytest.mark.parametrize("name", ["", "_users", "1users", "my-table", "a b", "é", "a" * 65, 7])
def test_bad_table_names(name: object) -> None:
    with pytest.raises(SchemaError):
        define_schema({name: define_table({})})  # type: ignore[dict-item]


def test_table_name_boundary() -> None:
    define_schema({"a" * 64: define_table({}), "Users_2": define_table({})})
    with pytest.raises(SchemaError):
        define_schema({"a" * 65: define_table({})})


def test_define_schema_rejects_non_tables() -> None:
    with pytest.raises(SchemaError):
        define_schema({"users": {"name": v.string()}})  # type: ignore[dict-item]
    with pytest.raises(SchemaError):
        define_schema([("users", define_table({}))])  # type: ignore[arg-type]


def test_schema_validate_document() -> None:
    s = define_schema({"users": define_table({"name": v.string()})})
    assert s.validate_document("users", {"name": "a"}) == {"name": "a"}
    assert s.validate_document("other", {"anything": 1}) is None
    with pytest.raises(ValidationError):
        s.validate_document("users", {"name": 1})
    off = define_schema({"users": define_table({"name": v.string()})}, schema_validation=False)
    assert off.validate_document("users", {"name": 1}) is None


def test_schema_equality() -> None:
    def build(order: int = 0) -> DatabaseSchema:
        t = define_table({"a": v.string(), "b": v.number()})
        if order == 0:
            t.index("by_a", ["a"]).index("by_b", ["b"])
        else:
            t.index("by_b", ["b"]).index("by_a", ["a"])
        return define_schema({"t": t, "u": define_table(v.any())})

    assert build() == build()
    assert build(0) == build(1)  # index declaration order does not matter
    other = build()
    other.table("t").index("by_ab", ["a", "b"])  # type: ignore[union-attr]
    assert other != build()
    assert define_schema({}) != define_schema({}, schema_validation=False)
    assert define_schema({}) != define_schema({}, strict_table_name_types=False)
    assert define_schema({"t": define_table({"a": v.string()})}) != define_schema(
        {"t": define_table({"a": v.number()})}
    )
    assert define_schema({}) != object()


def test_reprs() -> None:
    t = define_table({"a": v.string()}).index("by_a", ["a"])
    assert repr(t) == "define_table(v.object({a: v.string()})).index('by_a', ['a'])"
    assert "define_schema(" in repr(define_schema({"t": t}))


def test_schema_copy_and_pickle() -> None:
    import copy
    import pickle

    s = define_schema(
        {"t": define_table({"a": v.string()}).index("by_a", ["a"])}, schema_validation=False
    )
    assert copy.deepcopy(s) == s
    assert pickle.loads(pickle.dumps(s)) == s
