"""Commit timestamps on the wire: a u64 as base64 of its 8 little-endian bytes.

The sync protocol and the HTTP API's `query_ts` share this form, so a client
can pass a timestamp from one to the other unchanged.
"""

from __future__ import annotations

import base64
import binascii

from syncline.errors import InvalidValueError


def encode_ts(ts: int) -> str:
    return base64.b64encode(ts.to_bytes(8, "little")).decode()


def decode_ts(text: str) -> int:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raw = b""
    if len(raw) != 8:
        raise InvalidValueError(f"Invalid timestamp {text!r}: expected base64 of 8 bytes")
    return int.from_bytes(raw, "little")
