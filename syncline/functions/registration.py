"""The `query`, `mutation`, `action` decorators and what they register.

`@query` (bare) or `@query(args={...}, returns=...)` turns an `async def
handler(ctx, **args)` into a RegisteredFunction. The loader later gives it
its path from the module it lives in and the name it is bound to.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, overload

from syncline.errors import SynclineError
from syncline.schema import Validator, v

FunctionKind = Literal["query", "mutation", "action"]
Visibility = Literal["public", "internal"]
Handler = Callable[..., Awaitable[Any]]


class FunctionDefinitionError(SynclineError):
    """A decorator was used with a handler or validators it cannot take."""


@dataclass(eq=False)
class RegisteredFunction:
    """A function the deployment can run: its kind, visibility, validators and handler."""

    kind: FunctionKind
    visibility: Visibility
    handler: Handler
    args: Validator | None
    returns: Validator | None
    path: str | None = None

    @property
    def __syncline_path__(self) -> str | None:  # lets `ctx.run_query(fn, ...)` take the object
        return self.path

    @property
    def __name__(self) -> str:
        return self.handler.__name__

    @property
    def __doc__(self) -> str | None:  # type: ignore[override]
        return self.handler.__doc__

    def __call__(self, ctx: Any, **args: Any) -> Awaitable[Any]:
        """Calling the function directly runs its handler, skipping validation (a helper call)."""
        return self.handler(ctx, **args)

    def __repr__(self) -> str:
        where = self.path or self.handler.__qualname__
        internal = "internal " if self.visibility == "internal" else ""
        return f"<{internal}{self.kind} {where}>"


def _args_validator(args: Mapping[str, Validator] | Validator | None) -> Validator | None:
    if args is None:
        return None
    if isinstance(args, Validator):
        if args.kind != "object":
            raise FunctionDefinitionError(
                f"args must be a dict of validators or v.object(...), got {args!r}"
            )
        return args
    if not isinstance(args, Mapping):
        raise FunctionDefinitionError(
            f"args must be a dict of validators, for example args={{'body': v.string()}}; "
            f"got {args!r}"
        )
    return v.object(dict(args))


def _check_handler(handler: Any, kind: FunctionKind) -> Handler:
    if isinstance(handler, RegisteredFunction):
        raise FunctionDefinitionError(f"{handler!r} is already registered; decorate it once")
    if not inspect.iscoroutinefunction(handler):
        name = getattr(handler, "__qualname__", repr(handler))
        raise FunctionDefinitionError(
            f"{kind} handler {name} must be defined with `async def {name}(ctx, ...)`"
        )
    return handler


def _decorator(kind: FunctionKind, visibility: Visibility) -> Any:
    @overload
    def register(handler: Handler, /) -> RegisteredFunction: ...

    @overload
    def register(
        *, args: Mapping[str, Validator] | Validator | None = None,
        returns: Validator | None = None,
    ) -> Callable[[Handler], RegisteredFunction]: ...

    def register(
        handler: Handler | None = None, /, *,
        args: Mapping[str, Validator] | Validator | None = None,
        returns: Validator | None = None,
    ) -> Any:
        args_validator = _args_validator(args)
        if returns is not None and not isinstance(returns, Validator):
            raise FunctionDefinitionError(f"returns must be a validator (v.*), got {returns!r}")

        def wrap(fn: Handler) -> RegisteredFunction:
            return RegisteredFunction(
                kind, visibility, _check_handler(fn, kind), args_validator, returns
            )

        return wrap if handler is None else wrap(handler)

    prefix = "internal_" if visibility == "internal" else ""
    register.__name__ = register.__qualname__ = prefix + kind
    register.__doc__ = (
        f"Register an {'internal ' if visibility == 'internal' else ''}{kind}: "
        f"`@{prefix}{kind}` or `@{prefix}{kind}(args={{...}}, returns=...)`."
    )
    return register


query = _decorator("query", "public")
mutation = _decorator("mutation", "public")
action = _decorator("action", "public")
internal_query = _decorator("query", "internal")
internal_mutation = _decorator("mutation", "internal")
internal_action = _decorator("action", "internal")
