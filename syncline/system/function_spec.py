"""The function spec: every function of the loaded app and every HTTP route of
`convex/http.py`, in the shape `npx convex function-spec` prints.

Each function is `{"functionType": "Query"|"Mutation"|"Action", "identifier":
"messages.js:list", "visibility": {"kind": "public"|"internal"}, "args": <validator
JSON>, "returns": <validator JSON>}` (args default to `{"type": "any"}`, returns to
`{"type": "any"}` when not declared); each route `{"functionType": "HttpAction",
"method": "GET", "path": "/hello"}` (a prefix route's path ends with `*`). The module
gets the `.js` suffix Convex's identifiers carry, so tools that strip it (the CLI's
list of available functions) show `messages:list`.
"""

from __future__ import annotations

from typing import Any

from syncline.functions.http_router import find_router
from syncline.functions.loader import LoadedApp
from syncline.functions.registration import RegisteredFunction

_TYPES = {"query": "Query", "mutation": "Mutation", "action": "Action"}
ANY = {"type": "any"}


def spec_identifier(path: str) -> str:
    """`messages:list` -> `messages.js:list`, Convex's identifier of the same function."""
    module, _, name = path.partition(":")
    return f"{module}.js:{name}"


def function_entry(path: str, fn: RegisteredFunction) -> dict[str, Any]:
    return {
        "functionType": _TYPES[fn.kind],
        "identifier": spec_identifier(path),
        "visibility": {"kind": fn.visibility},
        "args": fn.args.to_json() if fn.args is not None else dict(ANY),
        "returns": fn.returns.to_json() if fn.returns is not None else dict(ANY),
    }


def http_routes(app: LoadedApp) -> list[dict[str, Any]]:
    """The routes of `convex/http.py`, in the order they were registered."""
    try:
        router = find_router(app.module("http"))
    except Exception:  # noqa: BLE001 - a push refuses an invalid router; nothing to list
        return []
    if router is None:
        return []
    return [{"functionType": "HttpAction", "method": route.method,
             "path": route.path if route.path is not None else f"{route.path_prefix}*"}
            for route in router.routes()]


def function_spec(app: LoadedApp | None) -> list[dict[str, Any]]:
    """The app's functions sorted by path, then its HTTP routes."""
    if app is None:
        return []
    functions = [function_entry(path, fn) for path, fn in sorted(app.functions.items())]
    return functions + http_routes(app)
