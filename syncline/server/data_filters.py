"""The dashboard's document filters for `GET /api/data/documents?filters=...`.

The wire form is a JSON array of `{"field", "op", "value"}` with `value` a Convex wire
JSON value; the conditions themselves (and the index a listing uses) are
syncline.system.document_filters', shared with the dashboard's system functions. A bad
condition is a 400 InvalidFilter.
"""

from __future__ import annotations

import orjson

from syncline.server.responses import BadRequest
from syncline.system.document_filters import (
    MAX_FILTERS,
    OPERATORS,
    TYPES,
    Condition,
    FilterError,
    parse_conditions,
)
from syncline.values import from_json

__all__ = ["MAX_FILTERS", "OPERATORS", "TYPES", "Condition", "parse_filters"]


def _bad(message: str) -> BadRequest:
    return BadRequest("InvalidFilter", message)


def parse_filters(text: str | None) -> list[Condition]:
    """The `filters` query parameter (a JSON array), or 400 InvalidFilter saying why not."""
    if not text:
        return []
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise _bad(f"filters must be a JSON array of {{\"field\", \"op\", \"value\"}}: {e}") \
            from None
    if type(raw) is not list:
        raise _bad('filters must be a JSON array of {"field", "op", "value"}')
    try:
        return parse_conditions(raw, from_json)
    except FilterError as e:
        raise _bad(str(e)) from None
