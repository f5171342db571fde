"""Defining `_system/...` functions: the decorators and the catalog they fill.

A system function is defined once, at import time, with its full path:

    @system_query("_system/cli/tables")
    async def tables(ctx): ...

The catalog holds definitions, not runnable functions: each deployment binds them to
its own services when it starts (install.py), so one process may serve several
deployments (tests do).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from syncline.functions.references import InvalidFunctionPathError, canonical_path
from syncline.functions.registration import (
    FunctionDefinitionError,
    FunctionKind,
    Handler,
    _args_validator,
    _check_handler,
    _check_parameters,
)
from syncline.functions.runner import SYSTEM_PREFIX
from syncline.schema import Validator


@dataclass(frozen=True)
class SystemFunction:
    """One system function's definition: path, kind, validators and its handler, which
    takes a system context (context.py) and the validated arguments."""

    path: str
    kind: FunctionKind
    handler: Handler
    args: Validator | None
    returns: Validator | None
    absent_as_none: tuple[str, ...]


# Every defined system function by canonical path (`_system/cli/tables:default`).
SYSTEM_FUNCTIONS: dict[str, SystemFunction] = {}


def system_path(path: str) -> str:
    """The canonical path of a system function; it must lie under `_system/`."""
    try:
        canonical = canonical_path(path)
    except InvalidFunctionPathError as e:
        raise FunctionDefinitionError(str(e)) from None
    if not canonical.startswith(SYSTEM_PREFIX):
        raise FunctionDefinitionError(
            f"System function path {path!r} must start with {SYSTEM_PREFIX!r}, "
            "for example '_system/cli/tables'")
    return canonical


def _decorator(kind: FunctionKind) -> Callable[..., Callable[[Handler], SystemFunction]]:
    def define(path: str, *, args: Mapping[str, Validator] | Validator | None = None,
               returns: Validator | None = None) -> Callable[[Handler], SystemFunction]:
        canonical = system_path(path)
        args_validator = _args_validator(args)
        if returns is not None and not isinstance(returns, Validator):
            raise FunctionDefinitionError(f"returns must be a validator (v.*), got {returns!r}")

        def wrap(fn: Handler) -> SystemFunction:
            handler = _check_handler(fn, kind)
            absent = _check_parameters(handler, args_validator, kind)
            if canonical in SYSTEM_FUNCTIONS and \
                    SYSTEM_FUNCTIONS[canonical].handler.__qualname__ != handler.__qualname__:
                raise FunctionDefinitionError(f"System function {canonical!r} is defined twice")
            definition = SystemFunction(canonical, kind, handler, args_validator, returns,
                                        absent)
            SYSTEM_FUNCTIONS[canonical] = definition
            return definition

        return wrap

    define.__name__ = define.__qualname__ = f"system_{kind}"
    define.__doc__ = (f"Define a system {kind}: `@system_{kind}('_system/area/name', "
                      "args={...}, returns=...)` over `async def handler(ctx, ...)`.")
    return define


system_query = _decorator("query")
system_mutation = _decorator("mutation")
system_action = _decorator("action")


def definitions() -> dict[str, Any]:
    """The catalog after importing every module that defines system functions."""
    from syncline.system import catalog  # noqa: F401 - importing it defines them

    return SYSTEM_FUNCTIONS
