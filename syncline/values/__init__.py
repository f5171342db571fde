"""The Convex value model: normalization, ordering, index keys, wire JSON, IDs,
size limits and the storage codec. The bottom layer: imports nothing above it."""

from syncline.values.binary import pack, unpack
from syncline.values.ids import decode_id, encode_id, is_valid_id, new_internal_id
from syncline.values.index_key import (
    decode_key,
    decode_key_tuple,
    encode_key,
    encode_key_tuple,
    prefix_successor,
)
from syncline.values.json_codec import (
    dumps,
    format_value,
    from_json,
    loads,
    to_export_json,
    to_json,
)
from syncline.values.limits import check_document, check_value, value_size
from syncline.values.model import UNDEFINED, Int64, type_name
from syncline.values.normalize import normalize
from syncline.values.ordering import compare, values_equal

__all__ = [
    "UNDEFINED",
    "Int64",
    "check_document",
    "check_value",
    "compare",
    "decode_id",
    "decode_key",
    "decode_key_tuple",
    "dumps",
    "encode_id",
    "encode_key",
    "encode_key_tuple",
    "format_value",
    "from_json",
    "is_valid_id",
    "loads",
    "new_internal_id",
    "normalize",
    "pack",
    "prefix_successor",
    "to_export_json",
    "to_json",
    "type_name",
    "unpack",
    "value_size",
    "values_equal",
]
