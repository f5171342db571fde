"""Binding the catalog of system functions to one deployment's runner and services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncline.functions.registration import RegisteredFunction
from syncline.functions.runner import FunctionRunner
from syncline.system.context import SystemActionCtx, SystemMutationCtx, SystemQueryCtx
from syncline.system.registry import SystemFunction, definitions
from syncline.system.services import SystemServices

_CONTEXTS: dict[str, Callable[[Any, SystemServices], Any]] = {
    "query": SystemQueryCtx, "mutation": SystemMutationCtx, "action": SystemActionCtx,
}


def bind(definition: SystemFunction, services: SystemServices) -> RegisteredFunction:
    """A runnable function whose handler gets a system context for `services`."""
    make_ctx = _CONTEXTS[definition.kind]
    handler = definition.handler

    async def system_handler(ctx: Any, **args: Any) -> Any:
        return await handler(make_ctx(ctx, services), **args)

    system_handler.__name__ = handler.__name__
    system_handler.__qualname__ = handler.__qualname__
    system_handler.__doc__ = handler.__doc__
    return RegisteredFunction(definition.kind, "system", system_handler, definition.args,
                              definition.returns, definition.path,
                              absent_as_none=definition.absent_as_none)


def install_system_functions(runner: FunctionRunner, services: SystemServices) -> int:
    """Give `runner` every defined system function, bound to `services`; returns how many.
    The runner keeps them apart from the app's functions, so pushes never touch them."""
    runner.system_functions = {
        path: bind(definition, services) for path, definition in definitions().items()
    }
    return len(runner.system_functions)
