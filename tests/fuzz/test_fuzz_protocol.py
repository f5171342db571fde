"""Fuzzing the sync protocol parser: every frame is a message or a ProtocolError.

`parse_client_message` is the first code a WebSocket frame meets; its contract is
a typed message or a `ProtocolError` whose text becomes the client's FatalError,
never another exception. A message it accepts must survive re-encoding unchanged
(what the server acts on is what the client meant).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from syncline.errors import InvalidValueError
from syncline.sync.protocol import (
    ProtocolError,
    encode_client_message,
    parse_client_message,
)
from syncline.values import to_json
from syncline.values.timestamps import encode_ts
from tests.fuzz.strategies import json_numbers, json_text, json_values, nested, note_event
from tests.values.values_strategies import values

FUZZ = settings(max_examples=400, deadline=None)
TYPES = ["Connect", "ModifyQuerySet", "Mutation", "Action", "Authenticate", "Event"]


def parse_or_refuse(frame: str | bytes, *, round_trip: bool = True) -> Any:
    """The parsed message, or None for a clean ProtocolError; anything else fails."""
    try:
        message = parse_client_message(frame)
    except ProtocolError as e:
        assert str(e), "a ProtocolError must say why"
        note_event("refused")
        return None
    note_event(f"accepted {type(message).__name__}")
    if round_trip:  # accepted: re-encoded and parsed again, it is the same message
        encoded = encode_client_message(message)
        again = parse_client_message(json.dumps(encoded))
        assert encode_client_message(again) == encoded
    return message


def frames(obj: Any) -> list[str | bytes]:
    """`obj` as JSON.stringify sends it, and as escaped ASCII (surrogates included)."""
    out: list[str | bytes] = [json.dumps(obj)]
    with contextlib.suppress(orjson.JSONEncodeError):  # a lone surrogate: escaped form only
        out.append(orjson.dumps(obj))
    return out


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field value: usually valid, sometimes any JSON, sometimes absent."""
    return st.integers(0, 11).flatmap(
        lambda n: valid if n < 10 else json_values if n == 10 else st.just(_ABSENT))


_ABSENT = object()


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


@FUZZ
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_arbitrary_frames_are_messages_or_protocol_errors(frame: str | bytes) -> None:
    parse_or_refuse(frame)


@FUZZ
@given(json_values)
def test_arbitrary_json_frames_are_messages_or_protocol_errors(obj: Any) -> None:
    for frame in frames(obj):
        parse_or_refuse(frame)


@settings(max_examples=1500, deadline=None)
@given(near_valid_messages())
def test_near_valid_messages_are_messages_or_protocol_errors(obj: dict[str, Any]) -> None:
    for frame in frames(obj):
        parse_or_refuse(frame)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=1100), st.booleans(),
       st.sampled_from(["Mutation", "Event", "Authenticate"]))
def test_deeply_nested_frames_are_refused_cleanly(depth: int, as_object: bool,
                                                   kind: str) -> None:
    value = nested(depth, 1.0, as_object=as_object)
    obj = {"type": kind, "requestId": 1, "udfPath": "greet", "args": [{"a": value}],
           "eventType": "x", "event": value, "tokenType": "Admin", "value": "k",
           "baseVersion": 0, "impersonating": {"a": value}}
    # (Re-encoding 1,000 levels is the test's problem, not the parser's: no round trip.)
    # (The runner refuses arguments over 16 levels; the parser only needs to not crash.)
    parse_or_refuse(json.dumps(obj), round_trip=False)
