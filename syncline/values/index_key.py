"""Order-preserving ("memcomparable") byte encoding of values for index keys.

`encode_key(a) < encode_key(b)` (as bytes) exactly when `compare(a, b) < 0`, and
every encoding is self-delimiting, so concatenations compare as tuples: an index
entry key is `encode_key_tuple(field values...)` and a range over a prefix of the
fields is a byte range. The storage layer only ever compares bytes.

Layout (one tag byte per type, tags ordered like the types; all tags are in
0x10..0xFE so 0x00 can end a sequence and 0xFF can mark an escaped 0x00):

    undefined  0x10                      (a missing field)
    null       0x20
    int64      0x30 + 8 bytes big-endian, sign bit flipped
    float64    0x40 + 8 bytes big-endian IEEE bits: negative -> all bits inverted,
                      otherwise sign bit set (IEEE total order). NaNs are stored as the
                      canonical quiet NaN of their sign, so same-sign NaNs are equal.
    false      0x50
    true       0x51
    string     0x60 + UTF-8 with 0x00 written 0x00 0xFF, then 0x00
    bytes      0x70 + payload escaped the same way, then 0x00
    array      0x80 + element encodings + 0x00
    object     0x90 + (key encoded as a string incl. its 0x60 tag, value)* sorted
                      by key + 0x00

This is the FoundationDB tuple-layer technique. The single 0x00 terminator works
because whatever follows a terminator (a tag, another terminator, or the end) is
below 0xFF. Object keys carry the string tag so that even an empty key sorts
after the object's end marker.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from math import copysign
from typing import Any, Final

from syncline.errors import InvalidValueError
from syncline.values.model import UNDEFINED, Int64

TAG_UNDEFINED: Final = 0x10
TAG_NULL: Final = 0x20
TAG_INT64: Final = 0x30
TAG_FLOAT64: Final = 0x40
TAG_FALSE: Final = 0x50
TAG_TRUE: Final = 0x51
TAG_STRING: Final = 0x60
TAG_BYTES: Final = 0x70
TAG_ARRAY: Final = 0x80
TAG_OBJECT: Final = 0x90
TERMINATOR: Final = 0x00
ESCAPE: Final = 0xFF

_NoneType: Final = type(None)
_UndefinedType: Final = type(UNDEFINED)

_SIGN: Final = 1 << 63
_ALL: Final = (1 << 64) - 1

_pack_tag_u64 = struct.Struct(">BQ").pack
_unpack_u64_at = struct.Struct(">Q").unpack_from
_pack_f64 = struct.Struct(">d").pack
_unpack_f64 = struct.Struct(">d").unpack
_unpack_u64 = struct.Struct(">Q").unpack
_pack_u64 = struct.Struct(">Q").pack

_B_UNDEFINED: Final = bytes([TAG_UNDEFINED])
_B_NULL: Final = bytes([TAG_NULL])
_B_FALSE: Final = bytes([TAG_FALSE])
_B_TRUE: Final = bytes([TAG_TRUE])
_B_ARRAY: Final = bytes([TAG_ARRAY])
_B_OBJECT: Final = bytes([TAG_OBJECT])
_B_END: Final = b"\x00"
_B_EMPTY_ARRAY: Final = bytes([TAG_ARRAY, TERMINATOR])
_B_EMPTY_OBJECT: Final = bytes([TAG_OBJECT, TERMINATOR])
# Canonical NaNs: 0x7FF8... (positive quiet NaN) and 0xFFF8... (negative).
_B_POS_NAN: Final = _pack_tag_u64(TAG_FLOAT64, 0x7FF8_0000_0000_0000 | _SIGN)
_B_NEG_NAN: Final = _pack_tag_u64(TAG_FLOAT64, 0xFFF8_0000_0000_0000 ^ _ALL)


def _enc_int64(v: int) -> bytes:
    return _pack_tag_u64(TAG_INT64, v + _SIGN)


def _enc_float(v: float) -> bytes:
    if v != v:
        return _B_NEG_NAN if copysign(1.0, v) < 0 else _B_POS_NAN
    (bits,) = _unpack_u64(_pack_f64(v))
    return _pack_tag_u64(TAG_FLOAT64, bits ^ _ALL if bits & _SIGN else bits | _SIGN)


def _enc_str(v: str) -> bytes:
    return b"\x60%b\x00" % v.encode("utf-8").replace(b"\x00", b"\x00\xff")


def _enc_bytes(v: bytes) -> bytes:
    return b"\x70%b\x00" % v.replace(b"\x00", b"\x00\xff")


def _enc_bool(v: bool) -> bytes:
    return _B_TRUE if v else _B_FALSE


def _enc_none(_v: None) -> bytes:
    return _B_NULL


def _enc_undefined(_v: Any) -> bytes:
    return _B_UNDEFINED


def _enc_list(v: list[Any]) -> bytes:
    if not v:
        return _B_EMPTY_ARRAY
    return b"\x80%b\x00" % b"".join(map(encode_key, v))


def _enc_dict(v: dict[str, Any]) -> bytes:
    if not v:
        return _B_EMPTY_OBJECT
    parts = []
    append = parts.append
    for k in sorted(v):
        append(_enc_str(k))
        append(encode_key(v[k]))
    return b"\x90%b\x00" % b"".join(parts)


_ENCODERS: Final[dict[type, Any]] = {
    float: _enc_float,
    str: _enc_str,
    Int64: _enc_int64,
    bool: _enc_bool,
    _NoneType: _enc_none,
    bytes: _enc_bytes,
    list: _enc_list,
    dict: _enc_dict,
    _UndefinedType: _enc_undefined,
}


def _not_canonical(value: Any) -> InvalidValueError:
    return InvalidValueError(
        f"{type(value).__name__} {value!r:.100} is not a canonical Convex value "
        "(normalize it first)"
    )


def encode_key(value: Any) -> bytes:
    """Encode one canonical value (or UNDEFINED) so that byte order == Convex order."""
    try:
        return _ENCODERS[type(value)](value)
    except KeyError:
        raise _not_canonical(value) from None
    except UnicodeEncodeError:
        raise InvalidValueError("Strings must be valid Unicode (unpaired surrogate)") from None


def encode_key_tuple(values: Sequence[Any]) -> bytes:
    """Concatenate the encodings of `values`; the result orders like the tuple."""
    return b"".join(map(encode_key, values))


# ----------------------------------------------------------------------------- decoding


def _corrupt(msg: str, pos: int) -> InvalidValueError:
    return InvalidValueError(f"Corrupt index key at byte {pos}: {msg}")


def _read_escaped(data: bytes, pos: int) -> tuple[bytes, int]:
    """Read an escaped, 0x00-terminated payload starting at `pos`."""
    end = data.find(b"\x00", pos)
    if end < 0:
        raise _corrupt("unterminated string or bytes", pos)
    if end + 1 >= len(data) or data[end + 1] != ESCAPE:
        return data[pos:end], end + 1
    parts = []
    while True:
        parts.append(data[pos:end])
        if end + 1 < len(data) and data[end + 1] == ESCAPE:
            parts.append(b"\x00")
            pos = end + 2
            end = data.find(b"\x00", pos)
            if end < 0:
                raise _corrupt("unterminated string or bytes", pos)
            continue
        return b"".join(parts), end + 1


def _decode_float_bits(bits: int) -> float:
    bits = bits ^ _SIGN if bits & _SIGN else bits ^ _ALL
    return _unpack_f64(_pack_u64(bits))[0]


def _dec(data: bytes, pos: int) -> tuple[Any, int]:
    try:
        tag = data[pos]
    except IndexError:
        raise _corrupt("unexpected end of key", pos) from None
    pos += 1
    if tag == TAG_STRING:
        raw, pos = _read_escaped(data, pos)
        try:
            return raw.decode("utf-8"), pos
        except UnicodeDecodeError:
            raise _corrupt("string is not UTF-8", pos) from None
    if tag in (TAG_FLOAT64, TAG_INT64):
        if pos + 8 > len(data):
            raise _corrupt("truncated number", pos)
        (bits,) = _unpack_u64_at(data, pos)
        if tag == TAG_INT64:
            return int.__new__(Int64, bits - _SIGN), pos + 8
        return _decode_float_bits(bits), pos + 8
    if tag == TAG_NULL:
        return None, pos
    if tag == TAG_TRUE:
        return True, pos
    if tag == TAG_FALSE:
        return False, pos
    if tag == TAG_BYTES:
        return _read_escaped(data, pos)
    if tag == TAG_ARRAY:
        items = []
        while True:
            if pos >= len(data):
                raise _corrupt("unterminated array", pos)
            if data[pos] == TERMINATOR:
                return items, pos + 1
            item, pos = _dec(data, pos)
            items.append(item)
    if tag == TAG_OBJECT:
        obj: dict[str, Any] = {}
        while True:
            if pos >= len(data):
                raise _corrupt("unterminated object", pos)
            if data[pos] == TERMINATOR:
                return obj, pos + 1
            if data[pos] != TAG_STRING:
                raise _corrupt("object key is not a string", pos)
            key, pos = _dec(data, pos)
            obj[key], pos = _dec(data, pos)
    if tag == TAG_UNDEFINED:
        return UNDEFINED, pos
    raise _corrupt(f"unknown tag 0x{tag:02x}", pos - 1)


def decode_key(data: bytes) -> Any:
    """Inverse of `encode_key` (exact, including -0.0, Int64 and NaN's sign)."""
    data = bytes(data)
    value, pos = _dec(data, 0)
    if pos != len(data):
        raise _corrupt("trailing bytes after value", pos)
    return value


def decode_key_tuple(data: bytes) -> list[Any]:
    """Inverse of `encode_key_tuple`."""
    data = bytes(data)
    out = []
    pos = 0
    n = len(data)
    while pos < n:
        value, pos = _dec(data, pos)
        out.append(value)
    return out


def prefix_successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string that starts with `prefix`.

    None when there is none (empty prefix or all 0xFF): the range is unbounded above.
    """
    stripped = bytes(prefix).rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])
