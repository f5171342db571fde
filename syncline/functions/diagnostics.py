"""Messages for the mistakes TypeScript would catch for a Convex user.

A Python app has no type checker between it and the deployment, so misspelled
tables, indexes and function paths, Convex's camelCase names, a capability the
context does not have and a forgotten `await` are caught here instead, with a
message that says what to write. Everything in this module runs only once a
mistake has happened (or once per push), never on the happy path of a call.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Iterable
from typing import Any

from syncline.errors import SynclineError

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def did_you_mean(name: str, choices: Iterable[str], quote: str = "'") -> str:
    """` Did you mean 'x'?` for the closest choice, or an empty string."""
    matches = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {quote}{matches[0]}{quote}?" if matches else ""


def snake_case(name: str) -> str:
    """`withIndex` -> `with_index`; a name without capitals is returned as is."""
    return _CAMEL.sub(lambda m: "_" + m.group(1).lower(), name)


def missing_attribute(owner: str, target: Any, name: str,
                      capabilities: dict[str, str] | None = None) -> AttributeError:
    """The AttributeError for `owner.name`: a capability this context lacks (its rule),
    Convex's camelCase spelling of a syncline name, a close misspelling, or plain."""
    snake = snake_case(name)
    if capabilities and snake in capabilities:
        spelled = f"{owner}.{name}" + (f" (syncline's {snake})" if snake != name else "")
        return AttributeError(f"{spelled} is not available here: {capabilities[snake]}")
    try:  # not dir(target): that looks up __dict__, which may land in __getattr__ again
        own = list(object.__getattribute__(target, "__dict__"))
    except AttributeError:
        own = []
    known = [n for n in [*dir(type(target)), *own] if not n.startswith("_")]
    if snake != name and snake in known:
        return AttributeError(
            f"{owner} has no attribute {name!r}: syncline uses snake_case: {snake}")
    return AttributeError(f"{owner} has no attribute {name!r}.{did_you_mean(name, known)}")


# Convex's rules for what each kind of function may do, and what to do instead.
QUERY_CAPABILITIES = {
    "run_mutation": "queries only read, so a query cannot run a mutation. Make this function "
                    "a mutation, or call the mutation from the client or an action.",
    "run_action": "queries must be deterministic, so a query cannot run an action. Call the "
                  "action from the client, or schedule it from a mutation with "
                  "`await ctx.scheduler.run_after(0, api.module.name, args)`.",
    "scheduler": "queries only read, so a query cannot schedule functions. Schedule them "
                 "from a mutation or an action.",
    "vector_search": "vector search runs in actions only: run it in an action, then read "
                     "the documents with ctx.run_query.",
}
MUTATION_CAPABILITIES = {
    "run_action": "a mutation is a transaction and cannot run an action (actions have side "
                  "effects that cannot be rolled back). Schedule it instead: "
                  "`await ctx.scheduler.run_after(0, api.module.name, args)` runs it once the "
                  "mutation commits.",
    "vector_search": "vector search runs in actions only: run it in an action, then read "
                     "the documents with ctx.run_query.",
}
ACTION_CAPABILITIES = {
    "db": "actions have no direct database access. Read with "
          "`await ctx.run_query(internal.module.name, args)` and write with "
          "`await ctx.run_mutation(internal.module.name, args)` (an internal_query or "
          "internal_mutation next to the action).",
}


class CapabilityHints:
    """`__getattr__` for context objects: only reached for a name they do not have."""

    _label = "ctx"
    _capabilities: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise missing_attribute(self._label, self, name, self._capabilities)


class SnakeCaseProxy:
    """Forwards everything to `target`; a missing name gets `missing_attribute`'s message
    (`ctx.scheduler.runAfter` -> run_after)."""

    __slots__ = ("_target", "_label")

    def __init__(self, target: Any, label: str) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_label", label)

    def __getattr__(self, name: str) -> Any:
        try:
            return getattr(self._target, name)
        except AttributeError:
            if name.startswith("__"):
                raise
            raise missing_attribute(self._label, self._target, name) from None

    def __repr__(self) -> str:
        return repr(self._target)


# -- missing `await` --------------------------------------------------------------------


def awaitable_path(value: Any, path: str = "", depth: int = 0) -> str | None:
    """Where in `value` an awaitable sits (`""` for the value itself, `.a[2]`), or None.
    Only called once a value failed to convert, so its cost does not matter."""
    if inspect.isawaitable(value):
        return path
    if depth > 64:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = awaitable_path(item, f"{path}.{key}", depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = awaitable_path(item, f"{path}[{index}]", depth + 1)
            if found is not None:
                return found
    return None


class MissingAwaitError(SynclineError):
    """A coroutine (or another awaitable) was used as a value: an `await` is missing."""


def missing_await(value: Any, what: str) -> MissingAwaitError | None:
    """The error for `what` when `value` holds an awaitable, else None."""
    path = awaitable_path(value)
    if path is None:
        return None
    where = f" at {path}" if path else ""
    item = _item(value, path)
    if inspect.iscoroutine(item):
        name = f"a coroutine ({item.__qualname__})"
        item.close()  # so Python does not also warn that it was never awaited
    else:
        name = f"an awaitable ({type(item).__name__})"
    return MissingAwaitError(
        f"{what}{where} is {name}, not a value: did you forget `await`? "
        f"(write `await ctx.db.get(...)`, `await ctx.run_query(...)`)")


def _item(value: Any, path: str) -> Any:
    for key, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path):
        value = value[key] if key else value[int(index)]
    return value


# -- function paths ---------------------------------------------------------------------


def missing_function_hint(raw: Any, path: str, known: Iterable[str]) -> str:
    """What to add to "Could not find function for 'x'": a close path, or the
    `module:function` form for `todos.list`."""
    known = list(known)
    if isinstance(raw, str) and ":" not in raw and "." in raw.strip("/").removesuffix(".py"):
        module, _, name = raw.strip("/").removesuffix(".py").rpartition(".")
        suggestion = f"{module.replace('.', '/')}:{name}"
        return (f" Function paths have the form 'module:function' (a colon, folders with "
                f"'/'): did you mean '{suggestion}'?")
    match = difflib.get_close_matches(path, known, n=1, cutoff=0.6)
    if match:
        return f" Did you mean {match[0]}?"
    module = path.partition(":")[0]
    in_module = sorted(p for p in known if p.partition(":")[0] == module)
    if in_module:
        return f" {module} defines: {', '.join(in_module[:10])}."
    return ""
