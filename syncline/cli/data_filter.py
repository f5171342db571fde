"""`syncline data TABLE --filter 'FIELD OP VALUE'`: the dashboard's filter language as text.

A filter is a field (a dotted path reaches into nested objects), an operator and a
value: `age gte 18`, `author.name eq "Ada"`, `status != done`, `email is string`,
`deletedAt is not unset`. The value is read as JSON where it parses (`"x"`, `3`, `true`,
`null`, `[1, 2]`) and as a string otherwise. The server checks the field and the
operator again (syncline.server.data_filters) and applies the filters as it pages.
"""

from __future__ import annotations

import re
from typing import Any

import click
import orjson

from syncline.server.data_filters import OPERATORS, TYPES

SYMBOLS = {"==": "eq", "=": "eq", "!=": "neq", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
_SYMBOL_FORM = re.compile(r"\s*(?P<field>[^\s=!<>]+)\s*(?P<op>==|!=|>=|<=|=|>|<)\s*(?P<value>.*)",
                          re.DOTALL)
EXAMPLE = "write FIELD OP VALUE, e.g. 'age gte 18', 'author.name eq \"Ada\"' or 'email is string'"


def _value(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def parse_filter(text: str) -> dict[str, Any]:
    """One --filter option as the wire condition `{"field", "op", "value"}`."""
    parts = text.split(None, 2)
    if len(parts) >= 2 and (parts[1].lower() in OPERATORS or parts[1].lower() == "is"):
        field, op = parts[0], parts[1].lower()
        rest = parts[2].strip() if len(parts) == 3 else ""
        if op == "is":
            negated = re.match(r"not\s+", rest)
            op, rest = ("notype", rest[negated.end():]) if negated else ("type", rest)
        if op in ("type", "notype"):
            if rest not in TYPES:
                raise click.BadParameter(
                    f"{text!r}: {rest or 'the type'!s} is not a type: use one of "
                    f"{', '.join(TYPES)}", param_hint="--filter")
            return {"field": field, "op": op, "value": rest}
        if not rest:
            raise click.BadParameter(f"{text!r} has no value to compare with: {EXAMPLE}",
                                     param_hint="--filter")
        return {"field": field, "op": op, "value": _value(rest)}
    symbol = _SYMBOL_FORM.fullmatch(text)
    if symbol is not None and symbol["value"].strip():
        return {"field": symbol["field"], "op": SYMBOLS[symbol["op"]],
                "value": _value(symbol["value"].strip())}
    if len(parts) == 3 and parts[1].isalpha():
        raise click.BadParameter(
            f"{text!r}: unknown operator {parts[1]!r}: use one of {', '.join(OPERATORS)} "
            f"(or {' '.join(SYMBOLS)}), 'is TYPE' or 'is not TYPE'", param_hint="--filter")
    raise click.BadParameter(f"Cannot read {text!r}: {EXAMPLE}", param_hint="--filter")
