"""The message codec of Convex's WebSocket sync protocol.

A browser or Node client (the official `convex` npm package) holds one
WebSocket per deployment and speaks JSON text frames over it. This module turns
the frames a client sends into typed, validated Python objects, and builds the
frames the server sends back, byte-for-byte in the shapes that client expects.
It knows nothing of sessions, subscriptions or functions: the session layer
decides what a well-formed message means, and uses `ProtocolError` (whose text
becomes the `FatalError` the client is sent) for messages that arrive out of
order as well as for malformed ones.

The message shapes follow `src/browser/sync/protocol.ts` of the Apache-2.0
`convex` npm package, and how `client.ts`, `local_state.ts`,
`request_manager.ts`, `remote_query_set.ts` and `web_socket_manager.ts` beside
it produce and consume them. Nothing here is copied from it. In brief:

Client -> server (`type` field):
  Connect         sessionId, connectionCount, lastCloseReason, maxObservedTimestamp?, clientTs
  ModifyQuerySet  baseVersion, newVersion (= baseVersion + 1), modifications: Add | Remove
                    Add     queryId, udfPath, args: [object], journal?, componentPath?
                    Remove  queryId
  Mutation        requestId, udfPath, args: [object], componentPath?
  Action          requestId, udfPath, args: [object], componentPath?
  Authenticate    tokenType "Admin" | "User" (with value) | "None", baseVersion, impersonating?
  Event           eventType, event

Server -> client:
  Transition        startVersion, endVersion ({querySet, ts, identity}), modifications:
                      QueryUpdated / QueryFailed / QueryRemoved; serverTs?, clientClockSkew?
  TransitionChunk   one slice of a Transition's JSON text too big for one frame
  MutationResponse  requestId, success, result, ts (on success), logLines, errorData?
  ActionResponse    requestId, success, result, logLines, errorData?
  AuthError         error, baseVersion, authUpdateAttempted
  FatalError        error
  Ping

Encodings: timestamps (`ts`, `maxObservedTimestamp`) are the protocol's
EncodedU64, base64 of the u64's 8 little-endian bytes (`encode_ts`/`decode_ts`);
function arguments, results and error data are Convex wire JSON (`to_json` /
`from_json`, with `$integer`, `$bytes` and `$float` wrappers); ids and versions
are plain JSON numbers. The client omits an optional field by leaving it
`undefined`, which `JSON.stringify` drops, so an optional field is absent rather
than null; null is accepted too where it can only mean the same thing.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal, TypeVar

import orjson

from syncline.errors import InvalidValueError, SynclineError
from syncline.values import UNDEFINED, from_json, to_json
from syncline.values.limits import MAX_ENCODED_CALL_SIZE
from syncline.values.timestamps import decode_ts, encode_ts

__all__ = [
    "MAX_CLIENT_MESSAGE_BYTES",
    "MAX_FRAME_BYTES",
    "MAX_MODIFICATIONS",
    "MAX_SESSION_ID_LENGTH",
    "ActionRequest",
    "AddQuery",
    "Authenticate",
    "ClientMessage",
    "Connect",
    "Event",
    "ModifyQuerySet",
    "MutationRequest",
    "ProtocolError",
    "QuerySetModification",
    "RemoveQuery",
    "StateVersion",
    "action_response_failure",
    "action_response_success",
    "auth_error",
    "encode_client_message",
    "encode_server_message",
    "fatal_error",
    "mutation_response_failure",
    "mutation_response_success",
    "parse_client_message",
    "ping",
    "query_failed",
    "query_removed",
    "query_updated",
    "transition",
]

MAX_CLIENT_MESSAGE_BYTES: Final = MAX_ENCODED_CALL_SIZE
"""The largest client message accepted, in bytes of JSON text (113 MiB, values/limits.py).
The WebSocket server refuses a longer message (close code 1009, saying so) before
reading it."""

MAX_MODIFICATIONS: Final = 10_000
"""The most Add/Remove entries one ModifyQuerySet may carry."""

MAX_SESSION_ID_LENGTH: Final = 128
"""Connect.sessionId is at most this many characters (the client sends a UUID)."""

MAX_FRAME_BYTES: Final = 8 * 1024 * 1024
"""Default size above which a Transition is sent as TransitionChunks."""

_MAX_SAFE_INTEGER: Final = 2**53 - 1  # ids and versions are JavaScript numbers
_MAX_ESCAPED_CHAR_BYTES: Final = 6  # the longest JSON encoding of one character: \u001f


class ProtocolError(SynclineError):
    """A client message is malformed or arrived out of order.

    The message is the human-readable reason; the server sends it to the client
    in a `FatalError` and closes the connection.
    """


# ----------------------------------------------------------------------------- client messages


@dataclass(frozen=True, slots=True)
class Connect:
    """The first message on every WebSocket (and again on each reconnect)."""

    session_id: str
    connection_count: int
    last_close_reason: str | None = None
    max_observed_timestamp: int | None = None
    client_ts: float | None = None

    TYPE: ClassVar[str] = "Connect"


@dataclass(frozen=True, slots=True)
class AddQuery:
    """Subscribe to a query (one entry of a ModifyQuerySet; `type: "Add"` on the wire)."""

    query_id: int
    udf_path: str
    args: dict[str, Any]
    journal: str | None = None
    component_path: str | None = None

    TYPE: ClassVar[str] = "Add"


@dataclass(frozen=True, slots=True)
class RemoveQuery:
    """Unsubscribe from a query (one entry of a ModifyQuerySet; `type: "Remove"`)."""

    query_id: int

    TYPE: ClassVar[str] = "Remove"


QuerySetModification = AddQuery | RemoveQuery


@dataclass(frozen=True, slots=True)
class ModifyQuerySet:
    """Move the session's query set from version `base_version` to `new_version`."""

    base_version: int
    new_version: int
    modifications: tuple[QuerySetModification, ...]

    TYPE: ClassVar[str] = "ModifyQuerySet"


_Request = TypeVar("_Request", bound="_FunctionRequest")


@dataclass(frozen=True, slots=True)
class _FunctionRequest:
    """A request to run a function: a mutation or an action."""

    request_id: int
    udf_path: str
    args: dict[str, Any]
    component_path: str | None = None


@dataclass(frozen=True, slots=True)
class MutationRequest(_FunctionRequest):
    """Run a mutation (`type: "Mutation"` on the wire)."""

    TYPE: ClassVar[str] = "Mutation"


@dataclass(frozen=True, slots=True)
class ActionRequest(_FunctionRequest):
    """Run an action (`type: "Action"` on the wire)."""

    TYPE: ClassVar[str] = "Action"


@dataclass(frozen=True, slots=True)
class Authenticate:
    """Set (Admin/User, with a token in `value`) or clear (None) the session's identity."""

    token_type: Literal["Admin", "User", "None"]
    value: str | None
    base_version: int
    impersonating: dict[str, Any] | None = None

    TYPE: ClassVar[str] = "Authenticate"


@dataclass(frozen=True, slots=True)
class Event:
    """A client-side telemetry event; `event` is arbitrary JSON, kept as parsed."""

    event_type: str
    event: Any = None

    TYPE: ClassVar[str] = "Event"


ClientMessage = Connect | ModifyQuerySet | MutationRequest | ActionRequest | Authenticate | Event


_MISSING: Final = object()


def _describe(value: Any) -> str:
    """A short rendering of a parsed JSON value for an error message."""
    if value is _MISSING:
        return "nothing"
    try:
        text = orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):  # pragma: no cover - parsed JSON always encodes
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _as_uint(value: Any) -> int | None:
    """A JSON number that is a whole, non-negative, safe integer, as an int; else None."""
    t = type(value)
    if t is int:
        n = value
    elif t is float and math.isfinite(value) and value.is_integer():
        n = int(value)
    else:
        return None
    return n if 0 <= n <= _MAX_SAFE_INTEGER else None


class _Fields:
    """Typed access to one JSON object's fields, with errors naming `Message.field`."""

    __slots__ = ("name", "obj")

    def __init__(self, obj: dict[str, Any], name: str) -> None:
        self.obj = obj
        self.name = name

    def fail(self, key: str, expected: str, got: Any) -> ProtocolError:
        return ProtocolError(f"{self.name}.{key} must be {expected}, got {_describe(got)}")

    def uint(self, key: str) -> int:
        value = self.obj.get(key, _MISSING)
        n = _as_uint(value)
        if n is None:
            raise self.fail(key, "a non-negative integer", value)
        return n

    def string(self, key: str) -> str:
        value = self.obj.get(key, _MISSING)
        if type(value) is not str:
            raise self.fail(key, "a string", value)
        return value

    def optional_string(self, key: str) -> str | None:
        """Absent or null -> None."""
        value = self.obj.get(key)
        if value is not None and type(value) is not str:
            raise self.fail(key, "a string when present", value)
        return value

    def optional_number(self, key: str) -> float | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if type(value) not in (int, float) or not math.isfinite(value):
            raise self.fail(key, "a number when present", value)
        return float(value)

    def args(self) -> dict[str, Any]:
        """`args`: a one-element array holding the arguments object in Convex wire JSON."""
        raw = self.obj.get("args", _MISSING)
        if type(raw) is not list or len(raw) != 1:
            raise self.fail("args", "a one-element array", raw)
        element = raw[0]
        if type(element) is not dict:
            raise ProtocolError(
                f"{self.name}.args[0] must be an object of arguments, got {_describe(element)}"
            )
        try:
            value = from_json(element)
        except InvalidValueError as e:
            raise ProtocolError(f"{self.name}.args[0] is not a valid Convex value: {e}") from None
        if type(value) is not dict:  # a lone "$integer"/"$bytes"/"$float" wrapper
            raise ProtocolError(
                f"{self.name}.args[0] must be an object of arguments, got {_describe(element)}"
            )
        return value


def _parse_connect(f: _Fields) -> Connect:
    session_id = f.string("sessionId")
    if not session_id or len(session_id) > MAX_SESSION_ID_LENGTH:
        raise ProtocolError(
            f"Connect.sessionId must be a non-empty string of at most {MAX_SESSION_ID_LENGTH} "
            f"characters, got {len(session_id)} characters"
        )
    raw_ts = f.obj.get("maxObservedTimestamp")
    max_observed: int | None = None
    if raw_ts is not None:
        if type(raw_ts) is not str:
            raise f.fail("maxObservedTimestamp", "a base64-encoded u64 when present", raw_ts)
        try:
            max_observed = decode_ts(raw_ts)
        except InvalidValueError:
            raise f.fail(
                "maxObservedTimestamp", "a base64-encoded u64 (8 bytes) when present", raw_ts
            ) from None
    return Connect(
        session_id=session_id,
        connection_count=f.uint("connectionCount"),
        last_close_reason=f.optional_string("lastCloseReason"),
        max_observed_timestamp=max_observed,
        client_ts=f.optional_number("clientTs"),
    )


def _parse_modification(raw: Any, index: int) -> QuerySetModification:
    where = f"ModifyQuerySet.modifications[{index}]"
    if type(raw) is not dict:
        raise ProtocolError(f"{where} must be an object, got {_describe(raw)}")
    kind = raw.get("type", _MISSING)
    try:
        if kind == "Add":
            f = _Fields(raw, "Add")
            return AddQuery(
                query_id=f.uint("queryId"),
                udf_path=f.string("udfPath"),
                args=f.args(),
                journal=f.optional_string("journal"),
                component_path=f.optional_string("componentPath"),
            )
        if kind == "Remove":
            return RemoveQuery(query_id=_Fields(raw, "Remove").uint("queryId"))
    except ProtocolError as e:
        raise ProtocolError(f"{e} (in {where})") from None
    raise ProtocolError(f"{where}.type must be 'Add' or 'Remove', got {_describe(kind)}")


def _parse_modify_query_set(f: _Fields) -> ModifyQuerySet:
    base_version = f.uint("baseVersion")
    new_version = f.uint("newVersion")
    if new_version != base_version + 1:
        raise ProtocolError(
            "ModifyQuerySet.newVersion must be baseVersion + 1 "
            f"(got baseVersion {base_version}, newVersion {new_version})"
        )
    raw = f.obj.get("modifications", _MISSING)
    if type(raw) is not list:
        raise f.fail("modifications", "an array", raw)
    if len(raw) > MAX_MODIFICATIONS:
        raise ProtocolError(
            f"ModifyQuerySet has {len(raw)} modifications, more than the "
            f"{MAX_MODIFICATIONS} allowed in one message"
        )
    return ModifyQuerySet(
        base_version=base_version,
        new_version=new_version,
        modifications=tuple(_parse_modification(m, i) for i, m in enumerate(raw)),
    )


def _parse_request(kind: type[_Request]) -> Callable[[_Fields], _Request]:
    def parse(f: _Fields) -> _Request:
        return kind(
            request_id=f.uint("requestId"),
            udf_path=f.string("udfPath"),
            args=f.args(),
            component_path=f.optional_string("componentPath"),
        )
    return parse


_parse_mutation = _parse_request(MutationRequest)
_parse_action = _parse_request(ActionRequest)


def _parse_authenticate(f: _Fields) -> Authenticate:
    token_type = f.obj.get("tokenType", _MISSING)
    if type(token_type) is not str or token_type not in ("Admin", "User", "None"):
        raise f.fail("tokenType", "'Admin', 'User' or 'None'", token_type)
    base_version = f.uint("baseVersion")
    value = f.obj.get("value")
    if token_type == "None":
        if value is not None:
            raise ProtocolError("Authenticate.value must be absent when tokenType is 'None'")
    elif type(value) is not str:
        expected = f"a string when tokenType is '{token_type}'"
        raise f.fail("value", expected, f.obj.get("value", _MISSING))
    impersonating = f.obj.get("impersonating")
    if impersonating is not None:
        if token_type != "Admin":
            raise ProtocolError(
                "Authenticate.impersonating is only allowed when tokenType is 'Admin'"
            )
        if type(impersonating) is not dict:
            raise f.fail("impersonating", "an object of user identity attributes", impersonating)
    return Authenticate(
        token_type=token_type, value=value, base_version=base_version, impersonating=impersonating
    )


def _parse_event(f: _Fields) -> Event:
    return Event(event_type=f.string("eventType"), event=f.obj.get("event"))


_PARSERS: Final = {
    "Connect": _parse_connect,
    "ModifyQuerySet": _parse_modify_query_set,
    "Mutation": _parse_mutation,
    "Action": _parse_action,
    "Authenticate": _parse_authenticate,
    "Event": _parse_event,
}


def _text_size(text: str | bytes) -> int:
    if isinstance(text, bytes | bytearray | memoryview):
        return len(text)
    if len(text) * 4 <= MAX_CLIENT_MESSAGE_BYTES:  # cannot be over, whatever it holds
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def parse_client_message(text: str | bytes) -> ClientMessage:
    """Parse and validate one WebSocket frame from a client.

    Raises `ProtocolError` with a precise reason for anything the official
    client would never send. Fields this version does not know are ignored, so
    newer clients keep working.
    """
    size = _text_size(text)
    if size > MAX_CLIENT_MESSAGE_BYTES:
        raise ProtocolError(
            f"message is {size} bytes, over the {MAX_CLIENT_MESSAGE_BYTES // (1024 * 1024)} MiB "
            "limit for a client message"
        )
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise ProtocolError(f"invalid JSON: {e}") from None
    if type(obj) is not dict:
        raise ProtocolError(f"message must be a JSON object, got {_describe(obj)}")
    kind = obj.get("type", _MISSING)
    if type(kind) is not str:
        raise ProtocolError(f"message 'type' must be a string, got {_describe(kind)}")
    parser = _PARSERS.get(kind)
    if parser is None:
        shown = kind if len(kind) <= 60 else kind[:57] + "..."
        raise ProtocolError(f"unknown message type {shown!r}")
    return parser(_Fields(obj, kind))


def encode_client_message(message: ClientMessage) -> dict[str, Any]:
    """The JSON object the official client sends for `message` (optional fields absent).

    The inverse of `parse_client_message`, for test clients and tools.
    """
    if isinstance(message, Connect):
        out: dict[str, Any] = {
            "type": "Connect",
            "sessionId": message.session_id,
            "connectionCount": message.connection_count,
            "lastCloseReason": message.last_close_reason,
        }
        if message.max_observed_timestamp is not None:
            out["maxObservedTimestamp"] = encode_ts(message.max_observed_timestamp)
        if message.client_ts is not None:
            out["clientTs"] = message.client_ts
        return out
    if isinstance(message, ModifyQuerySet):
        return {
            "type": "ModifyQuerySet",
            "baseVersion": message.base_version,
            "newVersion": message.new_version,
            "modifications": [_encode_modification(m) for m in message.modifications],
        }
    if isinstance(message, MutationRequest | ActionRequest):
        out = {
            "type": message.TYPE,
            "requestId": message.request_id,
            "udfPath": message.udf_path,
            "args": [to_json(message.args)],
        }
        if message.component_path is not None:
            out["componentPath"] = message.component_path
        return out
    if isinstance(message, Authenticate):
        out = {"type": "Authenticate", "tokenType": message.token_type}
        if message.token_type != "None":
            out["value"] = message.value
        out["baseVersion"] = message.base_version
        if message.impersonating is not None:
            out["impersonating"] = message.impersonating
        return out
    if isinstance(message, Event):
        return {"type": "Event", "eventType": message.event_type, "event": message.event}
    raise TypeError(f"not a client message: {message!r:.100}")


def _encode_modification(m: QuerySetModification) -> dict[str, Any]:
    if isinstance(m, RemoveQuery):
        return {"type": "Remove", "queryId": m.query_id}
    out: dict[str, Any] = {
        "type": "Add",
        "queryId": m.query_id,
        "udfPath": m.udf_path,
        "args": [to_json(m.args)],
    }
    if m.journal is not None:
        out["journal"] = m.journal
    if m.component_path is not None:
        out["componentPath"] = m.component_path
    return out


# ----------------------------------------------------------------------------- server messages


@dataclass(frozen=True, slots=True)
class StateVersion:
    """Where a client's view stands: query set version, snapshot timestamp, identity version."""

    query_set: int
    ts: int
    identity: int

    def to_json(self) -> dict[str, Any]:
        return {"querySet": self.query_set, "ts": encode_ts(self.ts), "identity": self.identity}


def transition(
    start: StateVersion,
    end: StateVersion,
    modifications: list[dict[str, Any]],
    server_ts_ms: float | None = None,
    *,
    client_clock_skew_ms: float | None = None,
) -> dict[str, Any]:
    """A Transition moving the client from `start` to `end`.

    `modifications` are built with `query_updated`, `query_failed` and
    `query_removed`. `server_ts_ms` (wall-clock milliseconds when sent) goes on
    the wire as `serverTs` in nanoseconds, the unit the client divides out;
    `client_clock_skew_ms` is the client's `clientTs` minus the server's clock
    when Connect arrived. The client uses both only for telemetry and, for the
    skew, to schedule refreshing a cached auth token.
    """
    msg: dict[str, Any] = {
        "type": "Transition",
        "startVersion": start.to_json(),
        "endVersion": end.to_json(),
        "modifications": modifications,
    }
    if client_clock_skew_ms is not None:
        msg["clientClockSkew"] = client_clock_skew_ms
    if server_ts_ms is not None:
        msg["serverTs"] = round(server_ts_ms * 1000) * 1000  # whole microseconds, in ns
    return msg


def query_updated(
    query_id: int, value: Any, log_lines: list[str], journal: str | None, *,
    value_json: Any = None,
) -> dict[str, Any]:
    """A Transition modification: query `query_id` now returns `value` (a Convex value),
    or `value_json` if given: the value already converted, shared by many subscribers."""
    return {
        "type": "QueryUpdated",
        "queryId": query_id,
        "value": to_json(value) if value_json is None else value_json,
        "logLines": list(log_lines),
        "journal": journal,
    }


def query_failed(
    query_id: int,
    error_message: str,
    log_lines: list[str],
    error_data: Any = UNDEFINED,
    journal: str | None = None,
) -> dict[str, Any]:
    """A Transition modification: query `query_id` now throws.

    `error_data` is the ConvexError's data (a Convex value); for any other
    error leave it UNDEFINED and the `errorData` key is omitted, which the
    client reads as "no data" (null would be data: ConvexError(null)).
    """
    msg: dict[str, Any] = {
        "type": "QueryFailed",
        "queryId": query_id,
        "errorMessage": error_message,
        "logLines": list(log_lines),
    }
    if error_data is not UNDEFINED:
        msg["errorData"] = to_json(error_data)
    msg["journal"] = journal
    return msg


def query_removed(query_id: int) -> dict[str, Any]:
    """A Transition modification: query `query_id` has left the query set."""
    return {"type": "QueryRemoved", "queryId": query_id}


def mutation_response_success(
    request_id: int, result: Any, ts: int, log_lines: list[str]
) -> dict[str, Any]:
    """A mutation committed at `ts` and returned `result`.

    The client holds the result back until a Transition reaches `ts`, so the
    caller sees its own writes.
    """
    return {
        "type": "MutationResponse",
        "requestId": request_id,
        "success": True,
        "result": to_json(result),
        "ts": encode_ts(ts),
        "logLines": list(log_lines),
    }


def _failure(
    kind: str, request_id: int, error_message: str, log_lines: list[str], error_data: Any
) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "type": kind,
        "requestId": request_id,
        "success": False,
        "result": error_message,
        "logLines": list(log_lines),
    }
    if error_data is not UNDEFINED:
        msg["errorData"] = to_json(error_data)
    return msg


def mutation_response_failure(
    request_id: int, error_message: str, log_lines: list[str], error_data: Any = UNDEFINED
) -> dict[str, Any]:
    """A mutation failed; on failure `result` carries the error message."""
    return _failure("MutationResponse", request_id, error_message, log_lines, error_data)


def action_response_success(request_id: int, result: Any, log_lines: list[str]) -> dict[str, Any]:
    """An action returned `result`."""
    return {
        "type": "ActionResponse",
        "requestId": request_id,
        "success": True,
        "result": to_json(result),
        "logLines": list(log_lines),
    }


def action_response_failure(
    request_id: int, error_message: str, log_lines: list[str], error_data: Any = UNDEFINED
) -> dict[str, Any]:
    """An action failed; on failure `result` carries the error message."""
    return _failure("ActionResponse", request_id, error_message, log_lines, error_data)


def auth_error(error: str, base_version: int, auth_update_attempted: bool) -> dict[str, Any]:
    """Authentication failed. `auth_update_attempted` is true when this answers an
    Authenticate message, false when a function ran into an expired identity."""
    return {
        "type": "AuthError",
        "error": error,
        "baseVersion": base_version,
        "authUpdateAttempted": auth_update_attempted,
    }


def fatal_error(error: str) -> dict[str, Any]:
    """The session is over; the client logs `error` and stops reconnecting."""
    return {"type": "FatalError", "error": error}


def ping() -> dict[str, Any]:
    """Keeps an idle connection alive: the client reconnects after 60 s of silence."""
    return {"type": "Ping"}


def encode_server_message(msg: dict[str, Any], max_frame_bytes: int = MAX_FRAME_BYTES) -> list[str]:
    """The WebSocket text frames that carry `msg`.

    Every message is one frame, except a Transition whose JSON is longer than
    `max_frame_bytes` (UTF-8): that is cut into TransitionChunk messages, each
    at most `max_frame_bytes` as a frame, whose `chunk` strings concatenate to
    the Transition's JSON text (the client joins them and parses the result).
    """
    raw = orjson.dumps(msg)
    if len(raw) <= max_frame_bytes or msg.get("type") != "Transition":
        return [raw.decode()]
    return _chunk_transition(raw.decode(), max_frame_bytes)


def _chunk_transition(text: str, max_frame_bytes: int) -> list[str]:
    transition_id = uuid.uuid4().hex
    # What a frame costs besides its chunk's characters. There are never more
    # parts than characters, so numbering with len(text) over-reserves safely.
    envelope = {
        "type": "TransitionChunk",
        "chunk": "",
        "partNumber": len(text),
        "totalParts": len(text),
        "transitionId": transition_id,
    }
    budget = max_frame_bytes - len(orjson.dumps(envelope))
    if budget < _MAX_ESCAPED_CHAR_BYTES:
        raise ValueError(
            f"max_frame_bytes={max_frame_bytes} is too small to carry a TransitionChunk"
        )
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        # A character costs at least one byte inside the chunk's JSON string, so
        # `budget` characters is the most that can fit; shrink until it does.
        length = min(budget, len(text) - start)
        while True:
            cost = len(orjson.dumps(text[start : start + length])) - 2  # minus the quotes
            if cost <= budget:
                break
            length = max(1, min(length - 1, length * budget // cost))
        spans.append((start, start + length))
        start += length
    total = len(spans)
    return [
        orjson.dumps(
            {
                "type": "TransitionChunk",
                "chunk": text[a:b],
                "partNumber": i,
                "totalParts": total,
                "transitionId": transition_id,
            }
        ).decode()
        for i, (a, b) in enumerate(spans)
    ]
