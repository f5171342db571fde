"""The sync protocol codec against the shapes of the `convex` npm client's protocol.ts.

Client frames are written by hand as the JS client's `JSON.stringify` produces
them (fields left `undefined` are absent, key order follows its object spreads).
"""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncline.errors import SynclineError
from syncline.sync import protocol
from syncline.sync.protocol import (
    MAX_CLIENT_MESSAGE_BYTES,
    MAX_MODIFICATIONS,
    ActionRequest,
    AddQuery,
    Authenticate,
    Connect,
    Event,
    ModifyQuerySet,
    MutationRequest,
    ProtocolError,
    RemoveQuery,
    StateVersion,
    action_response_failure,
    action_response_success,
    auth_error,
    encode_client_message,
    encode_server_message,
    fatal_error,
    mutation_response_failure,
    mutation_response_success,
    parse_client_message,
    ping,
    query_failed,
    query_removed,
    query_updated,
    transition,
)
from syncline.values import Int64

SESSION = "0f0e4f8e-52d4-4a1b-9a5e-3c1f2d9b7a10"


def b64_u64(n: int) -> str:
    return base64.b64encode(struct.pack("<Q", n)).decode()


def parse(obj: Any) -> Any:
    """Parse a message given as a Python structure, sent the way JSON.stringify would."""
    return parse_client_message(json.dumps(obj, separators=(",", ":")))


def rejects(obj_or_text: Any, reason: str) -> ProtocolError:
    text = obj_or_text if isinstance(obj_or_text, str | bytes) else json.dumps(obj_or_text)
    with pytest.raises(ProtocolError) as info:
        parse_client_message(text)
    assert reason in str(info.value), str(info.value)
    return info.value


# ----------------------------------------------------------------------------- client messages


def test_connect_first_connection_as_the_client_sends_it() -> None:
    # client.ts spreads reconnectMetadata then sets type/sessionId/maxObservedTimestamp;
    # maxObservedTimestamp is undefined before any transition, so JSON.stringify drops it.
    text = (
        '{"connectionCount":0,"lastCloseReason":"InitialConnect","clientTs":1718000000123,'
        f'"type":"Connect","sessionId":"{SESSION}"}}'
    )
    msg = parse_client_message(text)
    assert msg == Connect(
        session_id=SESSION,
        connection_count=0,
        last_close_reason="InitialConnect",
        max_observed_timestamp=None,
        client_ts=1718000000123.0,
    )
    assert isinstance(msg.client_ts, float)


def test_connect_reconnect_with_max_observed_timestamp() -> None:
    ts = 1_718_000_000_123_456_789
    msg = parse(
        {
            "connectionCount": 3,
            "lastCloseReason": None,
            "clientTs": 42.5,
            "type": "Connect",
            "sessionId": SESSION,
            "maxObservedTimestamp": b64_u64(ts),
        }
    )
    assert msg == Connect(SESSION, 3, None, ts, 42.5)


def test_connect_max_u64_timestamp_and_bytes_input() -> None:
    raw = orjson.dumps(
        {
            "type": "Connect",
            "sessionId": "s",
            "connectionCount": 0,
            "lastCloseReason": "InitialConnect",
            "maxObservedTimestamp": b64_u64(2**64 - 1),
            "clientTs": 0,
        }
    )
    msg = parse_client_message(raw)
    assert isinstance(msg, Connect)
    assert msg.max_observed_timestamp == 2**64 - 1


def test_connect_from_older_client_without_client_ts_and_unknown_fields_ignored() -> None:
    msg = parse(
        {
            "type": "Connect",
            "sessionId": SESSION,
            "connectionCount": 1,
            "lastCloseReason": "OnCloseInvoked",
            "someFutureField": {"x": 1},
        }
    )
    assert msg == Connect(SESSION, 1, "OnCloseInvoked", None, None)


def test_connect_session_id_limits() -> None:
    assert (
        parse(
            {
                "type": "Connect",
                "sessionId": "a" * 128,
                "connectionCount": 0,
                "lastCloseReason": None,
            }
        ).session_id
        == "a" * 128
    )
    base = {"type": "Connect", "connectionCount": 0, "lastCloseReason": None, "clientTs": 1}
    rejects({**base, "sessionId": "a" * 129}, "Connect.sessionId must be a non-empty string")
    rejects({**base, "sessionId": ""}, "Connect.sessionId must be a non-empty string")
    rejects(base, "Connect.sessionId must be a string, got nothing")
    rejects({**base, "sessionId": 7}, "Connect.sessionId must be a string, got 7")


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ({"connectionCount": -1}, "Connect.connectionCount must be a non-negative integer, got -1"),
        ({"connectionCount": 1.5}, "Connect.connectionCount must be a non-negative integer"),
        ({"connectionCount": True}, "Connect.connectionCount must be a non-negative integer"),
        ({"connectionCount": "1"}, "Connect.connectionCount must be a non-negative integer"),
        ({"connectionCount": None}, "Connect.connectionCount must be a non-negative integer"),
        ({"lastCloseReason": 5}, "Connect.lastCloseReason must be a string when present"),
        ({"clientTs": "now"}, "Connect.clientTs must be a number when present"),
        ({"clientTs": False}, "Connect.clientTs must be a number when present"),
        ({"maxObservedTimestamp": 12}, "Connect.maxObservedTimestamp must be a base64-encoded u64"),
        (
            {"maxObservedTimestamp": "AQID"},
            "Connect.maxObservedTimestamp must be a base64-encoded u64",
        ),
        ({"maxObservedTimestamp": "not base64!"}, "Connect.maxObservedTimestamp must be"),
    ],
)
def test_connect_rejections(patch: dict[str, Any], reason: str) -> None:
    base = {
        "type": "Connect",
        "sessionId": SESSION,
        "connectionCount": 0,
        "lastCloseReason": "InitialConnect",
        "clientTs": 1.0,
    }
    rejects({**base, **patch}, reason)


def test_connect_without_connection_count_is_rejected() -> None:
    rejects(
        {"type": "Connect", "sessionId": SESSION, "lastCloseReason": None},
        "Connect.connectionCount must be a non-negative integer, got nothing",
    )


def test_modify_query_set_add_as_first_subscription() -> None:
    # local_state.ts: journal and componentPath are undefined for a fresh subscription.
    text = (
        '{"type":"ModifyQuerySet","baseVersion":0,"newVersion":1,"modifications":'
        '[{"type":"Add","queryId":0,"udfPath":"messages:list","args":[{}]}]}'
    )
    msg = parse_client_message(text)
    assert msg == ModifyQuerySet(
        base_version=0,
        new_version=1,
        modifications=(AddQuery(query_id=0, udf_path="messages:list", args={}),),
    )
    add = msg.modifications[0]
    assert add.journal is None and add.component_path is None


def test_modify_query_set_restart_with_journals_component_and_remove() -> None:
    # After a reconnect the client re-adds every query with the journal the server
    # last sent (a string, or null for an empty journal).
    msg = parse(
        {
            "type": "ModifyQuerySet",
            "baseVersion": 4,
            "newVersion": 5,
            "modifications": [
                {
                    "type": "Add",
                    "queryId": 7,
                    "udfPath": "messages:paginated",
                    "args": [{"paginationOpts": {"numItems": 10, "cursor": None}}],
                    "journal": "eyJlbmRDdXJzb3IiOm51bGx9",
                },
                {
                    "type": "Add",
                    "queryId": 8,
                    "udfPath": "lib:get",
                    "args": [{"id": "abc"}],
                    "journal": None,
                    "componentPath": "ratelimiter",
                },
                {"type": "Remove", "queryId": 3},
            ],
        }
    )
    assert msg == ModifyQuerySet(
        4,
        5,
        (
            AddQuery(
                7,
                "messages:paginated",
                {"paginationOpts": {"cursor": None, "numItems": 10.0}},
                "eyJlbmRDdXJzb3IiOm51bGx9",
                None,
            ),
            AddQuery(8, "lib:get", {"id": "abc"}, None, "ratelimiter"),
            RemoveQuery(3),
        ),
    )


def test_modify_query_set_empty_and_whole_float_ids() -> None:
    msg = parse({"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": []})
    assert msg == ModifyQuerySet(0, 1, ())
    msg = parse_client_message(
        '{"type":"ModifyQuerySet","baseVersion":1.0,"newVersion":2e0,'
        '"modifications":[{"type":"Remove","queryId":5.0}]}'
    )
    assert msg == ModifyQuerySet(1, 2, (RemoveQuery(5),))
    assert type(msg.base_version) is int and type(msg.modifications[0].query_id) is int


def mqs(*modifications: Any, base: Any = 0, new: Any = 1) -> dict[str, Any]:
    return {
        "type": "ModifyQuerySet",
        "baseVersion": base,
        "newVersion": new,
        "modifications": list(modifications),
    }


def add(**patch: Any) -> dict[str, Any]:
    return {"type": "Add", "queryId": 0, "udfPath": "a:b", "args": [{}], **patch}


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (mqs(base=0, new=2), "ModifyQuerySet.newVersion must be baseVersion + 1"),
        (mqs(base=3, new=3), "ModifyQuerySet.newVersion must be baseVersion + 1"),
        (mqs(base=-1, new=0), "ModifyQuerySet.baseVersion must be a non-negative integer"),
        (mqs(base=0, new=1.5), "ModifyQuerySet.newVersion must be a non-negative integer"),
        (mqs(base=2**53, new=2**53 + 1), "ModifyQuerySet.baseVersion must be a non-negative"),
        ({**mqs(), "modifications": {}}, "ModifyQuerySet.modifications must be an array"),
        (
            {"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1},
            "ModifyQuerySet.modifications must be an array, got nothing",
        ),
        (mqs(5), "ModifyQuerySet.modifications[0] must be an object, got 5"),
        (
            mqs({"type": "Replace", "queryId": 1}),
            "ModifyQuerySet.modifications[0].type must be 'Add' or 'Remove'",
        ),
        (mqs({"queryId": 1}), "ModifyQuerySet.modifications[0].type must be 'Add' or 'Remove'"),
        (mqs({"type": "Remove"}), "Remove.queryId must be a non-negative integer, got nothing"),
        (mqs(add(), add(queryId=-3)), "Add.queryId must be a non-negative integer, got -3"),
        (mqs(add(), add(queryId=-3)), "(in ModifyQuerySet.modifications[1])"),
        (mqs(add(udfPath=None)), "Add.udfPath must be a string, got null"),
        (mqs(add(args={})), "Add.args must be a one-element array, got {}"),
        (mqs(add(args=[])), "Add.args must be a one-element array, got []"),
        (mqs(add(args=[{}, {}])), "Add.args must be a one-element array"),
        (
            mqs({"type": "Add", "queryId": 0, "udfPath": "a:b"}),
            "Add.args must be a one-element array, got nothing",
        ),
        (mqs(add(args=[[1, 2]])), "Add.args[0] must be an object of arguments, got [1,2]"),
        (mqs(add(args=[None])), "Add.args[0] must be an object of arguments, got null"),
        (
            mqs(add(args=[{"$integer": "AQAAAAAAAAA="}])),
            "Add.args[0] must be an object of arguments",
        ),
        (mqs(add(args=[{"$set": []}])), "Add.args[0] is not a valid Convex value"),
        (mqs(add(args=[{"a": {"$integer": "AQ=="}}])), "Add.args[0] is not a valid Convex value"),
        (mqs(add(args=[{"a": {"$bytes": 5}}])), "Add.args[0] is not a valid Convex value"),
        (mqs(add(journal=3)), "Add.journal must be a string when present, got 3"),
        (mqs(add(componentPath=["x"])), "Add.componentPath must be a string when present"),
    ],
)
def test_modify_query_set_rejections(message: dict[str, Any], reason: str) -> None:
    rejects(message, reason)


def test_modify_query_set_size_limit() -> None:
    removes = [{"type": "Remove", "queryId": i} for i in range(MAX_MODIFICATIONS)]
    msg = parse(mqs(*removes))
    assert len(msg.modifications) == MAX_MODIFICATIONS
    rejects(
        mqs(*removes, {"type": "Remove", "queryId": MAX_MODIFICATIONS}),
        f"ModifyQuerySet has {MAX_MODIFICATIONS + 1} modifications, more than the "
        f"{MAX_MODIFICATIONS} allowed",
    )


def test_mutation_as_the_client_sends_it() -> None:
    # client.ts builds {type, requestId, udfPath, componentPath, args}; componentPath is
    # undefined for the root component and so absent.
    text = (
        '{"type":"Mutation","requestId":12,"udfPath":"messages:send",'
        '"args":[{"body":"hello","author":"ann"}]}'
    )
    assert parse_client_message(text) == MutationRequest(
        request_id=12,
        udf_path="messages:send",
        args={"author": "ann", "body": "hello"},
        component_path=None,
    )


def test_action_as_the_client_sends_it() -> None:
    text = (
        '{"type":"Action","requestId":0,"udfPath":"ai:summarize","componentPath":"agent",'
        '"args":[{"text":"long"}]}'
    )
    assert parse_client_message(text) == ActionRequest(0, "ai:summarize", {"text": "long"}, "agent")


def test_args_decode_int64_bytes_and_special_floats() -> None:
    args = {
        "n": {"$integer": base64.b64encode(struct.pack("<q", -(2**63))).decode()},
        "big": {"$integer": base64.b64encode(struct.pack("<q", 2**62 + 1)).decode()},
        "b": {"$bytes": base64.b64encode(b"\x00\x01\xff").decode()},
        "nan": {"$float": base64.b64encode(struct.pack("<d", math.nan)).decode()},
        "neg0": {"$float": base64.b64encode(struct.pack("<d", -0.0)).decode()},
        "num": 3,
        "nested": [{"$integer": base64.b64encode(struct.pack("<q", 7)).decode()}, True, None],
    }
    msg = parse({"type": "Mutation", "requestId": 1, "udfPath": "m:f", "args": [args]})
    assert isinstance(msg, MutationRequest)
    a = msg.args
    assert type(a["n"]) is Int64 and a["n"] == -(2**63)
    assert type(a["big"]) is Int64 and a["big"] == 2**62 + 1
    assert a["b"] == b"\x00\x01\xff"
    assert math.isnan(a["nan"])
    assert a["neg0"] == 0.0 and math.copysign(1.0, a["neg0"]) < 0
    assert type(a["num"]) is float and a["num"] == 3.0
    assert type(a["nested"][0]) is Int64 and a["nested"][1:] == [True, None]
    assert list(a) == sorted(a)


@pytest.mark.parametrize("kind", ["Mutation", "Action"])
@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ({"requestId": -1}, ".requestId must be a non-negative integer, got -1"),
        ({"requestId": None}, ".requestId must be a non-negative integer, got null"),
        ({"udfPath": 3}, ".udfPath must be a string, got 3"),
        ({"args": {"a": 1}}, ".args must be a one-element array"),
        ({"args": [{"a": 1}, {"b": 2}]}, ".args must be a one-element array"),
        ({"args": ["x"]}, '.args[0] must be an object of arguments, got "x"'),
        ({"args": [{"$bytes": "AAEC"}]}, ".args[0] must be an object of arguments"),
        ({"args": [{"$weird": 1, "b": 2}]}, ".args[0] is not a valid Convex value"),
        ({"componentPath": 1}, ".componentPath must be a string when present, got 1"),
    ],
)
def test_mutation_and_action_rejections(kind: str, patch: dict[str, Any], reason: str) -> None:
    base = {"type": kind, "requestId": 0, "udfPath": "m:f", "args": [{}]}
    rejects({**base, **patch}, kind + reason)


def test_authenticate_user_admin_none() -> None:
    # local_state.ts: {type, baseVersion, ...auth} with auth = {tokenType, value[, impersonating]}.
    user = parse_client_message(
        '{"type":"Authenticate","baseVersion":0,"tokenType":"User","value":"eyJhbGciOi.x.y"}'
    )
    assert user == Authenticate(
        token_type="User", value="eyJhbGciOi.x.y", base_version=0, impersonating=None
    )
    admin = parse(
        {"type": "Authenticate", "baseVersion": 2, "tokenType": "Admin", "value": "admin-key"}
    )
    assert admin == Authenticate("Admin", "admin-key", 2, None)
    acting = parse(
        {
            "type": "Authenticate",
            "baseVersion": 0,
            "tokenType": "Admin",
            "value": "admin-key",
            "impersonating": {"subject": "user1", "issuer": "https://auth.example"},
        }
    )
    assert acting == Authenticate(
        "Admin", "admin-key", 0, {"subject": "user1", "issuer": "https://auth.example"}
    )
    cleared = parse_client_message('{"type":"Authenticate","tokenType":"None","baseVersion":3}')
    assert cleared == Authenticate("None", None, 3)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            {"tokenType": "Bearer", "value": "x", "baseVersion": 0},
            "Authenticate.tokenType must be 'Admin', 'User' or 'None', got \"Bearer\"",
        ),
        (
            {"value": "x", "baseVersion": 0},
            "Authenticate.tokenType must be 'Admin', 'User' or 'None'",
        ),
        (
            {"tokenType": "User", "baseVersion": 0},
            "Authenticate.value must be a string when tokenType is 'User', got nothing",
        ),
        (
            {"tokenType": "Admin", "value": 5, "baseVersion": 0},
            "Authenticate.value must be a string when tokenType is 'Admin', got 5",
        ),
        (
            {"tokenType": "None", "value": "x", "baseVersion": 0},
            "Authenticate.value must be absent when tokenType is 'None'",
        ),
        (
            {"tokenType": "User", "value": "x"},
            "Authenticate.baseVersion must be a non-negative integer, got nothing",
        ),
        (
            {
                "tokenType": "User",
                "value": "x",
                "baseVersion": 0,
                "impersonating": {"subject": "u"},
            },
            "Authenticate.impersonating is only allowed when tokenType is 'Admin'",
        ),
        (
            {"tokenType": "Admin", "value": "x", "baseVersion": 0, "impersonating": "u"},
            "Authenticate.impersonating must be an object",
        ),
    ],
)
def test_authenticate_rejections(message: dict[str, Any], reason: str) -> None:
    rejects({"type": "Authenticate", **message}, reason)


def test_event() -> None:
    msg = parse(
        {"type": "Event", "eventType": "ClientConnect", "event": {"marks": [{"name": "a", "t": 1}]}}
    )
    assert msg == Event(event_type="ClientConnect", event={"marks": [{"name": "a", "t": 1}]})
    assert parse({"type": "Event", "eventType": "X"}) == Event("X", None)
    rejects({"type": "Event", "event": {}}, "Event.eventType must be a string, got nothing")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "invalid JSON: "),
        ("", "invalid JSON: "),
        (b"\xff\xfe", "invalid JSON: "),
        ('{"type":"Event","eventType":"\\ud800"}', "invalid JSON: "),  # lone surrogate escape
        ("[1,2]", "message must be a JSON object, got [1,2]"),
        ("null", "message must be a JSON object, got null"),
        ("{}", "message 'type' must be a string, got nothing"),
        ('{"type":3}', "message 'type' must be a string, got 3"),
        ('{"type":"Foo"}', "unknown message type 'Foo'"),
        ('{"type":"Add","queryId":0}', "unknown message type 'Add'"),
        ('{"type":"Transition"}', "unknown message type 'Transition'"),
    ],
)
def test_envelope_rejections(text: str | bytes, reason: str) -> None:
    rejects(text, reason)


def test_message_size_limit_admits_any_call_the_argument_limit_allows() -> None:
    # 16 MiB of arguments as JSON: at most 7 bytes per byte of value size (an empty bytes
    # value is 2 and `{"$bytes":""},` 14), plus the envelope.
    assert MAX_CLIENT_MESSAGE_BYTES == 16 * 2**20 * 7 + 2**20


def test_message_size_limit() -> None:
    ok = '{"type":"Event","eventType":"x"}'
    padded = ok + " " * (MAX_CLIENT_MESSAGE_BYTES - len(ok))
    assert parse_client_message(padded) == Event("x")
    assert parse_client_message(padded.encode()) == Event("x")
    rejects(padded + " ", "over the 113 MiB limit for a client message")
    rejects((padded + " ").encode(), f"message is {MAX_CLIENT_MESSAGE_BYTES + 1} bytes")
    # The limit is on UTF-8 bytes, not characters.
    wide = ok + "é" * ((MAX_CLIENT_MESSAGE_BYTES - len(ok)) // 2 + 1)
    assert len(wide) < MAX_CLIENT_MESSAGE_BYTES
    rejects(wide, "over the 113 MiB limit")


def test_protocol_error_is_a_syncline_error() -> None:
    assert issubclass(ProtocolError, SynclineError)


ALL_CLIENT_MESSAGES = [
    Connect(SESSION, 0, "InitialConnect", None, 1.5),
    Connect(SESSION, 9, None, 2**63 + 11, None),
    ModifyQuerySet(
        7,
        8,
        (
            AddQuery(1, "a:b", {"x": Int64(5), "y": b"\x01", "z": [1.0, "s"]}),
            AddQuery(2, "a:c", {}, "journal", "comp"),
            RemoveQuery(0),
        ),
    ),
    MutationRequest(3, "m:f", {"k": None}),
    MutationRequest(4, "m:f", {}, "comp"),
    ActionRequest(5, "a:f", {"n": 2.5}),
    Authenticate("User", "tok", 1),
    Authenticate("Admin", "key", 2, {"subject": "s"}),
    Authenticate("None", None, 3),
    Event("E", {"a": [1, 2]}),
]


@pytest.mark.parametrize("message", ALL_CLIENT_MESSAGES, ids=lambda m: type(m).__name__)
def test_encode_client_message_round_trips(message: Any) -> None:
    wire = encode_client_message(message)
    assert parse_client_message(orjson.dumps(wire)) == message
    assert parse_client_message(json.dumps(wire)) == message


def test_encode_client_message_omits_undefined_fields() -> None:
    assert encode_client_message(Connect(SESSION, 0, "InitialConnect", None, None)) == {
        "type": "Connect",
        "sessionId": SESSION,
        "connectionCount": 0,
        "lastCloseReason": "InitialConnect",
    }
    assert encode_client_message(ModifyQuerySet(0, 1, (AddQuery(0, "a:b", {"n": Int64(1)}),))) == {
        "type": "ModifyQuerySet",
        "baseVersion": 0,
        "newVersion": 1,
        "modifications": [
            {
                "type": "Add",
                "queryId": 0,
                "udfPath": "a:b",
                "args": [{"n": {"$integer": b64_u64(1)}}],
            }
        ],
    }
    assert encode_client_message(Authenticate("None", None, 0)) == {
        "type": "Authenticate",
        "tokenType": "None",
        "baseVersion": 0,
    }


# ----------------------------------------------------------------------------- server messages


def test_transition_shape() -> None:
    ts_start, ts_end = 0x0102030405060708, 2**64 - 2
    msg = transition(
        StateVersion(query_set=0, ts=ts_start, identity=0),
        StateVersion(query_set=1, ts=ts_end, identity=1),
        [query_removed(4)],
    )
    assert msg == {
        "type": "Transition",
        "startVersion": {"querySet": 0, "ts": "CAcGBQQDAgE=", "identity": 0},
        "endVersion": {"querySet": 1, "ts": b64_u64(ts_end), "identity": 1},
        "modifications": [{"type": "QueryRemoved", "queryId": 4}],
    }
    assert StateVersion(2, 1, 3).to_json() == {"querySet": 2, "ts": "AQAAAAAAAAA=", "identity": 3}


def test_transition_timing_fields() -> None:
    # web_socket_manager.ts computes `serverTs / 1_000_000` to get milliseconds, so serverTs is
    # in nanoseconds; clientClockSkew is in milliseconds.
    msg = transition(
        StateVersion(0, 0, 0),
        StateVersion(0, 0, 0),
        [],
        1_718_000_000_123.5,
        client_clock_skew_ms=-12.25,
    )
    assert msg["serverTs"] == 1_718_000_000_123_500_000
    assert msg["clientClockSkew"] == -12.25
    assert "serverTs" not in transition(StateVersion(0, 0, 0), StateVersion(0, 0, 0), [])


def test_query_updated_and_failed_shapes() -> None:
    assert query_updated(3, {"n": Int64(1), "b": b"\x00", "f": 1.5}, ["[LOG] hi"], None) == {
        "type": "QueryUpdated",
        "queryId": 3,
        "value": {"n": {"$integer": "AQAAAAAAAAA="}, "b": {"$bytes": "AA=="}, "f": 1.5},
        "logLines": ["[LOG] hi"],
        "journal": None,
    }
    assert query_updated(3, None, [], "j")["value"] is None
    assert query_updated(3, None, [], "j")["journal"] == "j"
    # No error data: the key is absent (remote_query_set.ts checks `errorData !== undefined`).
    assert query_failed(5, "Uncaught Error: boom", [], journal=None) == {
        "type": "QueryFailed",
        "queryId": 5,
        "errorMessage": "Uncaught Error: boom",
        "logLines": [],
        "journal": None,
    }
    with_data = query_failed(5, "ConvexError", ["l"], {"code": Int64(7)}, "j")
    assert with_data == {
        "type": "QueryFailed",
        "queryId": 5,
        "errorMessage": "ConvexError",
        "logLines": ["l"],
        "errorData": {"code": {"$integer": b64_u64(7)}},
        "journal": "j",
    }
    # ConvexError(null) carries data null, which is sent.
    assert query_failed(5, "e", [], None)["errorData"] is None


def test_mutation_and_action_response_shapes() -> None:
    ts = 1_718_000_000_000_000_001
    assert mutation_response_success(9, {"id": "abc", "n": Int64(2)}, ts, ["x"]) == {
        "type": "MutationResponse",
        "requestId": 9,
        "success": True,
        "result": {"id": "abc", "n": {"$integer": b64_u64(2)}},
        "ts": b64_u64(ts),
        "logLines": ["x"],
    }
    assert mutation_response_failure(9, "Uncaught Error: no", []) == {
        "type": "MutationResponse",
        "requestId": 9,
        "success": False,
        "result": "Uncaught Error: no",
        "logLines": [],
    }
    assert mutation_response_failure(9, "e", [], error_data=[b"\x01"])["errorData"] == [
        {"$bytes": "AQ=="}
    ]
    assert action_response_success(2, None, []) == {
        "type": "ActionResponse",
        "requestId": 2,
        "success": True,
        "result": None,
        "logLines": [],
    }
    assert action_response_failure(2, "e", ["l"], {"a": 1.0}) == {
        "type": "ActionResponse",
        "requestId": 2,
        "success": False,
        "result": "e",
        "logLines": ["l"],
        "errorData": {"a": 1.0},
    }
    assert "errorData" not in action_response_failure(2, "e", [])
    assert "ts" not in action_response_success(2, 1.0, [])


def test_auth_fatal_ping_shapes() -> None:
    assert auth_error("Token expired", 3, True) == {
        "type": "AuthError",
        "error": "Token expired",
        "baseVersion": 3,
        "authUpdateAttempted": True,
    }
    assert fatal_error("ModifyQuerySet.newVersion must be baseVersion + 1") == {
        "type": "FatalError",
        "error": "ModifyQuerySet.newVersion must be baseVersion + 1",
    }
    assert ping() == {"type": "Ping"}


def test_special_floats_in_results_are_wrapped() -> None:
    msg = mutation_response_success(0, [math.inf, -0.0], 1, [])
    assert msg["result"] == [
        {"$float": base64.b64encode(struct.pack("<d", math.inf)).decode()},
        {"$float": base64.b64encode(struct.pack("<d", -0.0)).decode()},
    ]
    assert orjson.loads(encode_server_message(msg)[0]) == msg


# ----------------------------------------------------------------------------- framing


class Assembler:
    """A transliteration of web_socket_manager.ts's frame handling, to check our frames."""

    def __init__(self) -> None:
        self.buffer: dict[str, Any] | None = None

    def receive(self, frame: str) -> dict[str, Any] | None:
        msg = json.loads(frame)
        if msg["type"] != "TransitionChunk":
            assert self.buffer is None, "unexpected message while buffering TransitionChunks"
            return msg
        part, total = msg["partNumber"], msg["totalParts"]
        assert 0 <= part < total and total != 0
        if self.buffer is None:
            self.buffer = {"chunks": [], "totalParts": total, "transitionId": msg["transitionId"]}
        assert self.buffer["totalParts"] == total
        assert self.buffer["transitionId"] == msg["transitionId"]
        assert part == len(self.buffer["chunks"]), "TransitionChunk received out of order"
        self.buffer["chunks"].append(msg["chunk"])
        if len(self.buffer["chunks"]) < total:
            return None
        full = "".join(self.buffer["chunks"])
        self.buffer = None
        result = json.loads(full)
        assert result["type"] == "Transition"
        return result


def big_transition(n_queries: int, payload: str) -> dict[str, Any]:
    return transition(
        StateVersion(0, 10, 0),
        StateVersion(1, 2**63 + 5, 0),
        [
            query_updated(i, {"text": payload, "i": Int64(i), "b": b"\x00" * 16}, [payload], None)
            for i in range(n_queries)
        ],
        server_ts_ms=1.0,
    )


def assert_frames_reassemble(msg: dict[str, Any], frames: list[str], limit: int) -> None:
    assembler = Assembler()
    results = [assembler.receive(frame) for frame in frames]
    assert results[:-1] == [None] * (len(frames) - 1)
    assert results[-1] == json.loads(orjson.dumps(msg))
    for frame in frames:
        assert len(frame.encode("utf-8")) <= limit
    chunks = [json.loads(f)["chunk"] for f in frames]
    assert "".join(chunks) == orjson.dumps(msg).decode()


def test_small_transition_is_one_frame() -> None:
    msg = big_transition(3, "small")
    frames = encode_server_message(msg)
    assert frames == [orjson.dumps(msg).decode()]
    assert json.loads(frames[0])["type"] == "Transition"


def test_transition_exactly_at_the_limit_is_one_frame() -> None:
    msg = big_transition(2, "x" * 100)
    size = len(orjson.dumps(msg))
    assert len(encode_server_message(msg, max_frame_bytes=size)) == 1
    assert len(encode_server_message(msg, max_frame_bytes=size - 1)) > 1


def test_large_transition_is_chunked_and_reassembles() -> None:
    # Quotes, backslashes, control characters and non-ASCII all grow when the
    # transition's JSON text is escaped again inside a chunk.
    payload = 'he said "hi" \\ path C:\\x \n\t\x01 é 中文 😀 ' * 20
    msg = big_transition(200, payload)
    limit = 16 * 1024
    frames = encode_server_message(msg, max_frame_bytes=limit)
    raw_size = len(orjson.dumps(msg))
    assert raw_size > 10 * limit
    assert len(frames) > 10
    # Chunks are filled reasonably: not many more frames than escaping requires.
    assert len(frames) <= 3 * raw_size // limit + 2
    parsed = [json.loads(f) for f in frames]
    assert {p["type"] for p in parsed} == {"TransitionChunk"}
    assert [p["partNumber"] for p in parsed] == list(range(len(frames)))
    assert {p["totalParts"] for p in parsed} == {len(frames)}
    assert len({p["transitionId"] for p in parsed}) == 1
    assert set(parsed[0]) == {"type", "chunk", "partNumber", "totalParts", "transitionId"}
    assert isinstance(parsed[0]["transitionId"], str)
    assert_frames_reassemble(msg, frames, limit)


def test_escape_heavy_transitions_respect_the_limit() -> None:
    for payload in ['"' * 5000, "\x00\x1f" * 3000, "😀" * 4000, "\\" * 7000]:
        msg = big_transition(3, payload)
        limit = 1000
        frames = encode_server_message(msg, max_frame_bytes=limit)
        assert len(frames) > 1
        assert_frames_reassemble(msg, frames, limit)


@settings(max_examples=60, deadline=None)
@given(
    payload=st.text(min_size=1, max_size=600),
    limit=st.integers(min_value=200, max_value=2000),
)
def test_chunking_property(payload: str, limit: int) -> None:
    msg = big_transition(4, payload)
    frames = encode_server_message(msg, max_frame_bytes=limit)
    if len(orjson.dumps(msg)) <= limit:
        assert len(frames) == 1
        assert json.loads(frames[0]) == json.loads(orjson.dumps(msg))
    else:
        assert_frames_reassemble(msg, frames, limit)


def test_chunking_at_the_default_limit() -> None:
    msg = big_transition(1, "y" * (9 * 1024 * 1024))  # as the value and as a log line: 18 MiB
    frames = encode_server_message(msg)
    assert len(frames) == 3
    assert_frames_reassemble(msg, frames, protocol.MAX_FRAME_BYTES)


def test_transition_ids_are_unique() -> None:
    msg = big_transition(20, "z" * 200)
    a = encode_server_message(msg, max_frame_bytes=1000)
    b = encode_server_message(msg, max_frame_bytes=1000)
    assert json.loads(a[0])["transitionId"] != json.loads(b[0])["transitionId"]


def test_other_big_messages_are_not_chunked() -> None:
    big = "q" * 5000
    for msg in [
        mutation_response_success(1, big, 5, []),
        action_response_failure(1, big, [big]),
        fatal_error(big),
        auth_error(big, 0, False),
    ]:
        frames = encode_server_message(msg, max_frame_bytes=1000)
        assert frames == [orjson.dumps(msg).decode()]


def test_frame_limit_too_small_for_a_chunk() -> None:
    msg = big_transition(1, "a" * 500)
    with pytest.raises(ValueError, match="too small"):
        encode_server_message(msg, max_frame_bytes=60)
