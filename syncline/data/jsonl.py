"""JSON Lines input: one JSON value per line, errors naming the line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from syncline.errors import DataImportError

# A document plus the line it came from (1-based; 0 when there is no line).
Row = tuple[int, dict[str, Any]]


def json_object(obj: Any, line: int) -> dict[str, Any]:
    """`obj` if it is a JSON object, else an error naming `line`."""
    if not isinstance(obj, dict):
        raise DataImportError(f"line {line}: expected a JSON object, got {type(obj).__name__}")
    return obj


def jsonl_lines(data: bytes) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line."""
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, orjson.loads(line)
        except orjson.JSONDecodeError as e:
            raise DataImportError(f"line {number}: not valid JSON: {e}") from None
