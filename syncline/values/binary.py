"""The storage codec: canonical values <-> compact bytes (msgpack).

msgpack maps the value model almost one to one: nil, bool, float 64 (always the
8-byte form, so NaN payloads, -0.0 and inf survive), str, bin, array, map. The one
gap is int64 vs float64: Int64 is packed as ext type 1 holding 8 bytes big-endian
two's complement, so it reads back as Int64 and plain msgpack ints never occur.
`strict_types` makes the packer hand Int64 (an int subclass) to `_default`.

`unpack` runs on every document read: it is a single C call plus the ext hook for
Int64 values.
"""

from __future__ import annotations

import struct
import threading
from typing import Any, Final

import msgpack

from syncline.errors import InvalidValueError
from syncline.values.model import Int64

EXT_INT64: Final = 1

_pack_i64 = struct.Struct(">q").pack
_unpack_i64 = struct.Struct(">q").unpack
_ExtType = msgpack.ExtType


def _default(obj: Any) -> Any:
    if type(obj) is Int64:
        return _ExtType(EXT_INT64, _pack_i64(obj))
    if type(obj) is tuple:
        return list(obj)
    raise InvalidValueError(
        f"{type(obj).__name__} {obj!r:.100} is not a canonical Convex value (normalize it first)"
    )


def _ext_hook(code: int, data: bytes) -> Any:
    if code == EXT_INT64 and len(data) == 8:
        return int.__new__(Int64, _unpack_i64(data)[0])
    raise InvalidValueError(f"Corrupt stored value: unknown msgpack extension {code}")


# A Packer keeps an internal buffer, so each thread gets its own.
_local = threading.local()


def _new_packer() -> msgpack.Packer:
    packer = msgpack.Packer(
        default=_default,
        use_bin_type=True,
        strict_types=True,
        use_single_float=False,
        autoreset=True,
    )
    _local.packer = packer
    return packer


def pack(value: Any) -> bytes:
    """Serialize a canonical value for storage."""
    try:
        packer = _local.packer
    except AttributeError:
        packer = _new_packer()
    try:
        return packer.pack(value)
    except InvalidValueError:
        packer.reset()
        raise
    except (TypeError, ValueError, OverflowError) as e:
        packer.reset()
        raise InvalidValueError(f"Value cannot be stored: {e}") from None


_unpackb = msgpack.unpackb


def unpack(data: bytes | bytearray | memoryview) -> Any:
    """Deserialize bytes written by `pack`."""
    try:
        return _unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=True, use_list=True)
    except InvalidValueError:
        raise
    except Exception as e:  # msgpack raises several unrelated exception types
        raise InvalidValueError(f"Corrupt stored value: {e}") from None
