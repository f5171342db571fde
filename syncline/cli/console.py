"""Terminal output for the CLI.

Bound to the process's original streams, so nothing the CLI prints is ever
mistaken for a function's own log output while that function is running.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson
from rich.console import Console

out = Console(file=sys.__stdout__, highlight=False, soft_wrap=True)
err = Console(file=sys.__stderr__, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    out.print_json(orjson.dumps(value).decode())
