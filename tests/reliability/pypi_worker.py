"""Run operations with the official Python client (PyPI `convex`) and write their history.

The client blocks in Rust holding the GIL, so threads in one process would run one call at a
time: the concurrency comes from several of these processes. Usage:

    python -m tests.reliability.pypi_worker URL OPS.json OUT.jsonl

OPS.json is a list of {"id", "kind": "mutation"|"query", "path", "args"}. Each operation
writes an "invoke" line before the call and an "ok" or "fail" line after it, flushed, so a
killed worker leaves a history whose last operation has an unknown outcome. Times are
`time.monotonic()`, one clock for every process on the machine.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from convex import ConvexClient, ConvexError


def _write(out: TextIO, record: dict[str, Any]) -> None:
    out.write(json.dumps(record) + "\n")
    out.flush()


def main(url: str, ops_path: str, out_path: str) -> None:
    with open(ops_path) as f:
        ops = json.load(f)
    client = ConvexClient(url)
    with open(out_path, "w") as out:
        for op in ops:
            call = client.mutation if op["kind"] == "mutation" else client.query
            _write(out, {"op": op["id"], "type": "invoke", "time": time.monotonic()})
            try:
                value = call(op["path"], op["args"])
            except ConvexError as e:  # the function threw: it did not commit
                record = {"type": "fail", "value": {"error": str(e), "data": e.data}}
            except Exception as e:  # noqa: BLE001 - the outcome is unknown
                record = {"type": "info", "value": {"error": repr(e)}}
            else:
                record = {"type": "ok", "value": value}
            _write(out, {"op": op["id"], **record, "time": time.monotonic()})


if __name__ == "__main__":
    main(*sys.argv[1:4])
