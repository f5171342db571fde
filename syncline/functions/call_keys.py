"""Canonical keys of a function call, for the caches of results: equal arguments (as
Convex values) and equal callers give equal keys, whatever the order of their fields."""

from __future__ import annotations

from typing import Any

import orjson

from syncline.functions.identity import UserIdentity
from syncline.values import normalize, to_json

ANONYMOUS_KEY = ""  # the key of a call without a user identity


def identity_key(identity: UserIdentity | None) -> str:
    if identity is None:
        return ANONYMOUS_KEY
    return orjson.dumps(identity.to_dict(), option=orjson.OPT_SORT_KEYS).decode()


def args_key(args: dict[str, Any]) -> bytes:
    return orjson.dumps(to_json(normalize(args)), option=orjson.OPT_SORT_KEYS)
