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

from syncline.sync.protocol import (
    ProtocolError,
    encode_client_message,
    parse_client_message,
)
from tests.fuzz.strategies import json_values, near_valid_messages, nested, note_event

FUZZ = settings(max_examples=600, deadline=None)


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
