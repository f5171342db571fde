"""The streaming export HTTP API that Fivetran and Airbyte connectors use (docs/streaming-export.md).

- `GET /api/json_schemas[?deltaSchema=true]`: a JSON Schema per user table;
- `GET /api/list_snapshot[?snapshot=&cursor=&tableName=]`: pages of a consistent snapshot;
- `GET /api/document_deltas?cursor=[&tableName=]`: pages of the change log after `cursor`.

Every route needs `Authorization: Convex <admin key>`. A snapshot or delta cursor
stays valid while it is within the document retention window (database/retention.py); an
older one is a 400 InvalidWindowToReadDocuments. System
tables (`_scheduled_functions`, `_storage`, ...) are not exported. A `tableName` that is a
valid user table name but names no table (yet) gives empty pages, so a connector can ask
for a table the schema declares before it holds a document; a malformed or system table
name is a 400.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import struct
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncline.database.catalog import FIRST_USER_TABLE_NUMBER, check_table_name
from syncline.errors import InvalidValueError
from syncline.schema.validators import (
    AnyValidator,
    ArrayValidator,
    BooleanValidator,
    BytesValidator,
    Float64Validator,
    IdValidator,
    Int64Validator,
    LiteralValidator,
    NullValidator,
    ObjectValidator,
    RecordValidator,
    StringValidator,
    UnionValidator,
    Validator,
)
from syncline.server.deployment import Deployment
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    require_admin_key,
)
from syncline.storage.interface import DocumentRevision
from syncline.values import encode_id, to_export_json, unpack

PAGE_SIZE = 1_000
ROOT_COMPONENT = ""  # the `_component` of the app's own tables (syncline has no components)
FORMATS = ("json",)
JSON_SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
_TIMESTAMP = re.compile(r"[0-9]{1,19}")
_CURSOR = struct.Struct(">QQ")  # snapshot ts, table number; then the internal id


# -- parameters ------------------------------------------------------------------------------


def _format(request: Request) -> None:
    fmt = request.query_params.get("format")
    if fmt not in (None, "", *FORMATS):
        raise BadRequest("InvalidFormat",
                         f"Unsupported format {fmt!r}: use one of {', '.join(FORMATS)}")


def _timestamp(raw: str, name: str) -> int:
    """A timestamp parameter: 1-19 ASCII digits (`isdigit()` would pass `²` and `١٢`)."""
    if _TIMESTAMP.fullmatch(raw) is None:
        shown = repr(raw) if len(raw) <= 40 else f"{raw[:40]!r}... ({len(raw)} characters)"
        raise BadRequest(f"Invalid{name[0].upper()}{name[1:]}",
                         f"{name} must be a database timestamp: a non-negative integer in "
                         f"ASCII digits (at most 19), got {shown}")
    return int(raw)


def _not_future(ts: int, name: str, latest: int) -> None:
    if ts > latest:
        raise BadRequest(f"Invalid{name[0].upper()}{name[1:]}",
                         f"{name} {ts} is in the future: the latest database timestamp is "
                         f"{latest}")


def _bool(raw: str | None, name: str) -> bool:
    if raw in (None, "", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise BadRequest("InvalidParameter", f"{name} must be true or false, got {raw!r}")


def encode_cursor(snapshot: int, table_number: int, internal_id: bytes) -> str:
    raw = _CURSOR.pack(snapshot, table_number) + internal_id
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(text: str) -> tuple[int, int, bytes]:
    """(snapshot, table number, internal id) of a `list_snapshot` cursor."""
    try:
        raw = base64.urlsafe_b64decode(text.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) < _CURSOR.size:
        raise BadRequest("InvalidCursor", f"{text!r} is not a list_snapshot cursor: pass the "
                         "cursor of the previous page unchanged")
    snapshot, table_number = _CURSOR.unpack_from(raw)
    return snapshot, table_number, raw[_CURSOR.size:]


class ExportApi:
    """Route handlers bound to one deployment."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    @property
    def _db(self) -> Any:
        return self.deployment.db

    def _table_filter(self, request: Request) -> tuple[bool, int | None]:
        """(filtered?, table number or None when the table does not exist yet)."""
        name = request.query_params.get("tableName")
        if name is None or name == "":
            return False, None
        if name.startswith("_"):
            raise BadRequest("InvalidTableName",
                             f"{name!r} is a system table: streaming export covers user tables")
        try:
            check_table_name(name)
        except InvalidValueError as e:
            raise BadRequest("InvalidTableName", str(e)) from None
        info = self._db.tables.get(name)
        return True, None if info is None else info.number

    def _table_name(self, number: int) -> str:
        info = self._db.tables.by_number(number)
        return info.name if info is not None else f"#{number}"

    def _value(self, revision: DocumentRevision) -> dict[str, Any]:
        """A record as Convex emits it: the document (or just its `_id` for a deletion)
        plus `_ts`, `_table`, `_component` and `_deleted` on every record."""
        table = self._table_name(revision.table_number)
        if revision.value is None:
            value = {"_id": encode_id(revision.table_number, revision.internal_id)}
        else:
            value = to_export_json(unpack(revision.value))
        value["_ts"] = revision.ts
        value["_table"] = table
        value["_component"] = ROOT_COMPONENT
        value["_deleted"] = revision.value is None
        return value

    # -- routes ----------------------------------------------------------------------------

    async def list_snapshot(self, request: Request) -> Response:
        try:
            require_admin_key(self.deployment.admin_keys, request)
            _format(request)
            params = request.query_params
            latest = self._db.visible_ts
            snapshot = None
            if params.get("snapshot"):
                snapshot = _timestamp(params["snapshot"], "snapshot")
                _not_future(snapshot, "snapshot", latest)
            after_table, after_id = FIRST_USER_TABLE_NUMBER, b""
            if params.get("cursor"):
                cursor_snapshot, after_table, after_id = decode_cursor(params["cursor"])
                if snapshot is None:
                    snapshot = cursor_snapshot
                elif snapshot != cursor_snapshot:
                    raise BadRequest("InvalidCursor", f"The cursor belongs to snapshot "
                                     f"{cursor_snapshot}, not {snapshot}")
                _not_future(snapshot, "snapshot", latest)
            filtered, only = self._table_filter(request)
        except BadRequest as e:
            return bad_request_response(e)
        if snapshot is None:
            snapshot = latest
        rows: list[DocumentRevision] = []
        if not (filtered and only is None):
            # One extra row tells whether another page follows.
            rows = await asyncio.to_thread(
                self._db.persistence.snapshot_page, after_table, after_id, snapshot,
                PAGE_SIZE + 1, only)
        has_more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        if rows:
            after_table, after_id = rows[-1].table_number, rows[-1].internal_id
        # System tables (scheduled jobs, env vars, history, ...) are not exported: their
        # revisions are skipped here, after the page and its end were decided on all rows.
        return json_response({
            "values": [self._value(row) for row in rows
                       if row.table_number >= FIRST_USER_TABLE_NUMBER],
            "hasMore": has_more,
            "snapshot": snapshot,
            "cursor": encode_cursor(snapshot, after_table, after_id),
        })

    async def document_deltas(self, request: Request) -> Response:
        try:
            require_admin_key(self.deployment.admin_keys, request)
            _format(request)
            raw = request.query_params.get("cursor")
            if raw is None or raw == "":
                raise BadRequest("MissingCursor", "document_deltas needs a cursor: the snapshot "
                                 "of list_snapshot, then the cursor of the previous page")
            cursor = _timestamp(raw, "cursor")
            upto = self._db.visible_ts
            _not_future(cursor, "cursor", upto)
            filtered, only = self._table_filter(request)
        except BadRequest as e:
            return bad_request_response(e)
        persistence = self._db.persistence
        rows: list[DocumentRevision] = []
        has_more = False
        if not (filtered and only is None):
            rows = await asyncio.to_thread(
                persistence.revisions_after, cursor, upto, PAGE_SIZE, only)
            if len(rows) >= PAGE_SIZE:
                has_more = bool(await asyncio.to_thread(
                    persistence.revisions_after, rows[-1].ts, upto, 1, only))
        # Nothing else lies in (last returned ts, upto] unless has_more.
        end = rows[-1].ts if has_more else upto
        # System tables (scheduled jobs, env vars, history, ...) are not exported: their
        # revisions are skipped here, after the page and its end were decided on all rows.
        return json_response({
            "values": [self._value(row) for row in rows
                       if row.table_number >= FIRST_USER_TABLE_NUMBER],
            "hasMore": has_more,
            "cursor": end,
        })

    async def json_schemas(self, request: Request) -> Response:
        try:
            require_admin_key(self.deployment.admin_keys, request)
            _format(request)
            delta = _bool(request.query_params.get("deltaSchema"), "deltaSchema")
        except BadRequest as e:
            return bad_request_response(e)
        return json_response(json_schemas(self._db, delta=delta))


# -- JSON Schema ---------------------------------------------------------------------------------


_FLOAT_SPECIALS = ["NaN", "Infinity", "-Infinity"]


def _literal_schema(value: Any) -> dict[str, Any]:
    exported = to_export_json(value)
    out: dict[str, Any] = {"const": exported}
    if isinstance(exported, str) and not isinstance(value, str):
        out["$description"] = ("int64 literal as a decimal string" if isinstance(value, int)
                               else "special float64 literal as a string")
    return out


def validator_schema(validator: Validator) -> dict[str, Any]:
    """The JSON Schema of `format=json` export values matching `validator`."""
    if isinstance(validator, StringValidator):
        return {"type": "string"}
    if isinstance(validator, Float64Validator):
        return {"anyOf": [{"type": "number"}, {"type": "string", "enum": _FLOAT_SPECIALS}],
                "$description": "float64: a JSON number; NaN and infinities are the strings "
                                "\"NaN\", \"Infinity\" and \"-Infinity\""}
    if isinstance(validator, Int64Validator):
        return {"type": "string", "pattern": "^-?[0-9]+$",
                "$description": "int64 as a decimal string"}
    if isinstance(validator, BooleanValidator):
        return {"type": "boolean"}
    if isinstance(validator, NullValidator):
        return {"type": "null"}
    if isinstance(validator, BytesValidator):
        return {"type": "string", "contentEncoding": "base64",
                "$description": "bytes, base64-encoded"}
    if isinstance(validator, AnyValidator):
        return {"$description": "any Convex value (int64 as a decimal string, bytes as "
                                "base64)"}
    if isinstance(validator, IdValidator):
        return {"type": "string", "$description": f"Id({validator.table_name})"}
    if isinstance(validator, ArrayValidator):
        return {"type": "array", "items": validator_schema(validator.element)}
    if isinstance(validator, ObjectValidator):
        return _object_schema(validator)
    if isinstance(validator, RecordValidator):
        return {"type": "object", "additionalProperties": validator_schema(validator.values),
                "$description": "record: an object with arbitrary keys"}
    if isinstance(validator, UnionValidator):
        return {"anyOf": [validator_schema(member) for member in validator.members]}
    if isinstance(validator, LiteralValidator):
        return _literal_schema(validator.value)
    return {}  # pragma: no cover - every validator kind is handled above


def _object_schema(validator: ObjectValidator) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: validator_schema(field)
                       for name, field in validator.fields.items()},
        "required": [name for name, field in validator.fields.items()
                     if not field.is_optional],
        "additionalProperties": False,
    }


def _system_fields(table: str) -> dict[str, Any]:
    return {
        "_id": {"type": "string", "$description": f"Id({table})"},
        "_creationTime": {"type": "number",
                          "$description": "creation time, in milliseconds since the epoch"},
    }


# The metadata fields of every list_snapshot / document_deltas record, typed as Convex
# declares them: a deletion carries them and `_id` only, so they are all that is required.
_DELTA_FIELDS: dict[str, Any] = {
    "_ts": {"type": "integer",
            "$description": "timestamp of the commit that wrote this revision"},
    "_deleted": {"type": "boolean",
                 "$description": "true for a deletion, which carries only _id and the "
                                 "metadata fields"},
    "_table": {"type": "string"},
    "_component": {"type": "string",
                   "$description": "component path; \"\" for the app's own tables"},
}


def _document_schema(table: str, body: dict[str, Any], delta: bool) -> dict[str, Any]:
    """`body` (an object schema) with the system fields, and with the record metadata
    fields if `delta`."""
    schema = dict(body)
    schema["properties"] = {**_system_fields(table), **body.get("properties", {})}
    if not delta:
        schema["required"] = ["_id", "_creationTime", *body.get("required", [])]
        return schema
    schema["properties"].update(_DELTA_FIELDS)
    schema["required"] = ["_id", *_DELTA_FIELDS]
    return schema


def _merge_objects(members: list[dict[str, Any]]) -> dict[str, Any]:
    """One object schema for a union of object schemas, as connectors need a top-level
    `properties`: every member's fields, a field typed `anyOf` its members' types where
    they differ, required only where every member requires it."""
    properties: dict[str, Any] = {}
    for member in members:
        for name, field in member["properties"].items():
            options = properties.setdefault(name, [])
            if field not in options:
                options.append(field)
    required = [name for name in properties
                if all(name in member["required"] for member in members)]
    return {
        "type": "object",
        "properties": {name: options[0] if len(options) == 1 else {"anyOf": options}
                       for name, options in properties.items()},
        "required": required,
        "additionalProperties": False,
        "$description": f"union of {len(members)} object shapes, merged",
    }


def table_schema(table: str, validator: Validator | None, *, delta: bool) -> dict[str, Any]:
    """A top-level object schema with `properties` for every table, whatever its
    validator (Airbyte's connector reads `properties` of each one)."""
    permissive: dict[str, Any] = {"type": "object", "additionalProperties": True}
    if isinstance(validator, ObjectValidator):
        schema = _document_schema(table, _object_schema(validator), delta)
    elif isinstance(validator, UnionValidator) and all(
            isinstance(m, ObjectValidator) for m in validator.members):
        merged = _merge_objects([_object_schema(m) for m in validator.members])
        schema = _document_schema(table, merged, delta)
    else:
        schema = _document_schema(table, permissive, delta)
        schema["$description"] = f"documents of {table} (the schema does not constrain them)"
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def json_schemas(db: Any, *, delta: bool) -> dict[str, Any]:
    """Table name -> JSON Schema, for the tables in storage and those the schema declares."""
    schema = db.schema
    names = set(db.table_names())
    if schema is not None:
        names |= set(schema.tables)
    out = {}
    for name in sorted(names):
        validator = None
        if schema is not None and schema.schema_validation:
            definition = schema.table(name)
            validator = definition.document_validator if definition is not None else None
        out[name] = table_schema(name, validator, delta=delta)
    return out


def streaming_export_routes(deployment: Deployment) -> list[Route]:
    api = ExportApi(deployment)
    return [
        Route("/api/json_schemas", api.json_schemas, methods=["GET"]),
        Route("/api/list_snapshot", api.list_snapshot, methods=["GET"]),
        Route("/api/document_deltas", api.document_deltas, methods=["GET"]),
    ]

