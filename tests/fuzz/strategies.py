"""Hypothesis strategies for hostile input: any JSON, near-valid wire values, odd Python.

Fuzzing finds more when most inputs are almost right, so each strategy mixes valid
shapes (wire wrappers, field names at their limits, ids) with arbitrary JSON and
the edges that broke parsers before: huge and non-ASCII numbers, surrogates,
deep nesting, `$` keys.
"""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from syncline.errors import InvalidValueError
from syncline.values import Int64, encode_id, new_internal_id, to_json
from syncline.values.timestamps import encode_ts
from tests.values.values_strategies import values

MAX_SAFE = 2**53 - 1

# Numbers as orjson parses them (ints up to 64 bits, floats) plus the edges.
json_numbers = st.one_of(
    st.sampled_from([0, -1, 1, MAX_SAFE, MAX_SAFE + 1, 2**63 - 1, -(2**63), 2**64 - 1,
                     0.5, -0.0, 1e308, -1e308, 5e-324]),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_text = st.one_of(
    st.sampled_from(["", "$", "$integer", "$bytes", "$float", "_id",
                     "²", "١٢٣", "\x00", "\ud800", "\U0001f600", "é"]),
    st.sampled_from([64, 65, 1024, 1025]).map(lambda n: "a" * n),  # field name limits
    st.text(max_size=20),
)
json_scalars = st.one_of(st.none(), st.booleans(), json_numbers, json_text)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# The wire wrappers, right and wrong: `{"$integer": ...}` and friends.
wrappers = st.one_of(
    st.builds(lambda n: {"$integer": b64(struct.pack("<q", n))},
              st.integers(min_value=-(2**63), max_value=2**63 - 1)),
    st.builds(lambda x: {"$float": b64(struct.pack("<d", x))},
              st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0.0, 1.5])),
    st.builds(lambda b: {"$bytes": b64(b)}, st.binary(max_size=16)),
    st.builds(lambda k, p: {k: p},
              st.sampled_from(["$integer", "$float", "$bytes", "$set", "$map", "$other"]),
              json_scalars),
)


def _ids() -> st.SearchStrategy[str]:
    return st.builds(lambda n: encode_id(n, new_internal_id()),
                     st.integers(min_value=0, max_value=2**32 - 1))


ids = _ids()
field_names = st.one_of(
    st.sampled_from(["a", "b", "_id", "_creationTime", "$x", "", " ", "a.b", "~"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=8),
    json_text,
)

json_values = st.recursive(
    st.one_of(json_scalars, wrappers, ids),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(field_names, children, max_size=5),
    ),
    max_leaves=20,
)
"""Any JSON (as orjson produces it), biased towards Convex wire JSON."""


def nested(depth: int, leaf: Any = None, *, as_object: bool = False) -> Any:
    """`leaf` inside `depth` arrays (or `{"a": ...}` objects)."""
    value = leaf
    for _ in range(depth):
        value = {"a": value} if as_object else [value]
    return value


# Python values a function might be handed or return: canonical and not.
python_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(Int64),
    st.text(max_size=10), json_text, st.binary(max_size=10),
    st.binary(max_size=4).map(bytearray),
    st.sampled_from([object(), {1, 2}, frozenset(), 1j, Ellipsis, float, b"\x00"]),
)
python_values = st.recursive(
    python_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.one_of(field_names, st.integers(), st.none()), children, max_size=4),
    ),
    max_leaves=15,
)


def note_event(name: str) -> None:
    """Count `name` in `--hypothesis-show-statistics` (and do nothing outside @given)."""
    if currently_in_test_context():
        event(name)


# -- sync protocol messages ----------------------------------------------------------------

TYPES = ["Connect", "ModifyQuerySet", "Mutation", "Action", "Authenticate", "Event"]
_ABSENT = object()


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field value: usually valid, sometimes any JSON, sometimes absent."""
    return st.integers(0, 11).flatmap(
        lambda n: valid if n < 10 else json_values if n == 10 else st.just(_ABSENT))


def _wire(value: Any) -> Any:
    """`value` in wire JSON, or `{}` if a nested field name cannot go on the wire."""
    try:
        return to_json(value)
    except InvalidValueError:
        return {}


uints = st.one_of(st.integers(min_value=0, max_value=2**53 - 1), json_numbers)
valid_args = st.dictionaries(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1,
            max_size=6).filter(lambda n: n[0] != "$"),
    values, max_size=4).map(lambda a: [_wire(a)])
args = st.one_of(valid_args, valid_args, st.builds(lambda v: [v], json_values), json_values)
paths = st.one_of(st.sampled_from(["greet", "messages:list", "a/b:c", ":", "", "x" * 300]),
                  json_text)


@st.composite
def near_valid_messages(draw: st.DrawFn) -> dict[str, Any]:
    """A message of a known type whose fields are mostly right."""
    kind = draw(st.sampled_from(TYPES))
    fields: dict[str, Any] = {"type": kind}
    if kind == "Connect":
        fields |= {"sessionId": draw(maybe(st.one_of(st.uuids().map(str), json_text))),
                   "connectionCount": draw(maybe(uints)),
                   "lastCloseReason": draw(maybe(st.one_of(st.none(), json_text))),
                   "maxObservedTimestamp": draw(maybe(st.integers(0, 2**64 - 1).map(encode_ts))),
                   "clientTs": draw(maybe(json_numbers))}
    elif kind == "ModifyQuerySet":
        base = draw(uints)
        modification = st.fixed_dictionaries({
            "type": maybe(st.sampled_from(["Add", "Remove"])), "queryId": maybe(uints),
            "udfPath": maybe(paths), "args": maybe(args),
            "journal": maybe(st.one_of(st.none(), json_text)),
            "componentPath": maybe(st.one_of(st.none(), json_text))})
        fields |= {"baseVersion": base,
                   "newVersion": draw(maybe(st.just(base + 1) if isinstance(base, int)
                                            else uints)),
                   "modifications": draw(maybe(st.lists(modification, max_size=4)))}
    elif kind in ("Mutation", "Action"):
        fields |= {"requestId": draw(maybe(uints)), "udfPath": draw(maybe(paths)),
                   "args": draw(maybe(args)),
                   "componentPath": draw(maybe(st.one_of(st.none(), json_text)))}
    elif kind == "Authenticate":
        fields |= {"tokenType": draw(maybe(st.sampled_from(["Admin", "User", "None"]))),
                   "value": draw(maybe(st.one_of(st.none(), json_text))),
                   "baseVersion": draw(maybe(uints)),
                   "impersonating": draw(maybe(st.one_of(st.none(), json_values)))}
    else:
        fields |= {"eventType": draw(maybe(json_text)), "event": draw(maybe(json_values))}
    return _strip(fields)


def _strip(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if v is not _ABSENT}
    if isinstance(obj, list):
        return [_strip(v) for v in obj if v is not _ABSENT]
    return obj
