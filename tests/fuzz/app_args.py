"""Arguments for the fuzz app's functions (tests/fuzz/apps/fuzz): right for the function
most of the time, in Convex wire JSON as the official clients send them."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from syncline.values import Int64, encode_id, new_internal_id, normalize, to_json
from tests.fuzz.strategies import field_names, ids, json_text, json_values, nested
from tests.values.values_strategies import values

wire_args = st.dictionaries(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1,
            max_size=8).filter(lambda n: n[0] != "$"),
    values, max_size=4)
typed_args = st.fixed_dictionaries({}, optional={
    "s": json_text, "n": st.floats(), "i": st.integers(-(2**63), 2**63 - 1),
    "b": st.binary(max_size=8), "flag": st.booleans(), "nothing": st.none(),
    "id": st.sampled_from(["", "x" * 32, encode_id(1, new_internal_id())]),
    "kind": st.sampled_from(["a", 1.0, "b"]), "list": st.lists(values, max_size=3),
    "map": st.dictionaries(field_names, values, max_size=3),
    "obj": st.fixed_dictionaries({"x": values}, optional={"y": values, "z": values}),
    "anything": values,
})
pagination = st.fixed_dictionaries({"paginationOpts": st.fixed_dictionaries(
    {"numItems": st.one_of(st.floats(), st.integers(-5, 10**6)),
     "cursor": st.one_of(st.none(), json_text, st.just("0" * 40))},
    optional={"endCursor": st.one_of(st.none(), json_text), "id": st.floats(),
              "maximumRowsRead": st.floats(), "maximumBytesRead": st.floats()})})


def wire(args: dict[str, Any]) -> Any:
    """The arguments in Convex wire JSON, as the official clients send them (or as given,
    if a value cannot be encoded: the server must refuse that itself)."""
    try:
        return to_json(_canonical(args))
    except (ValueError, TypeError):
        return json.loads(json.dumps(args, default=repr))


def _canonical(value: Any) -> Any:
    if isinstance(value, dict) and "i" in value and isinstance(value["i"], int):
        value = {**value, "i": Int64(value["i"])}
    return normalize(value)


args_values = st.one_of(
    wire_args.map(wire), typed_args.map(wire), pagination.map(wire),
    st.builds(lambda value: {"value": value}, values).map(wire),
    st.builds(lambda doc: {"doc": doc}, st.dictionaries(field_names, values, max_size=4))
    .map(wire),
    st.builds(lambda d, o: {"value": nested(d, 1.0, as_object=o)},
              st.integers(1, 200), st.booleans()),  # deeper: see test_deep_arguments_...
    json_values,
)


value_args = st.fixed_dictionaries({"value": values})
ARGS_FOR = {
    "fuzz:ping": st.just({}), "fuzz:echo": wire_args, "fuzz:typed": typed_args,
    "fuzz:lookup": value_args, "fuzz:page": pagination, "fuzz:store": value_args,
    "fuzz:get": st.fixed_dictionaries({"id": st.one_of(json_text, ids)}),
    "fuzz:store_doc": st.fixed_dictionaries({"doc": st.dictionaries(field_names, values,
                                                                    max_size=4)}),
    "fuzz:fail": st.fixed_dictionaries({}, optional={"data": values}),
    "fuzz:fail_nested": st.fixed_dictionaries({"depth": st.integers(0, 700).map(float)}),
    "fuzz:echo_action": wire_args, "fuzz:noop": st.just({}),
}


def often(n: int) -> st.SearchStrategy[bool]:
    """True n-1 times in n."""
    return st.sampled_from([True] * (n - 1) + [False])  # (integers would favour the edges)
