"""The `query`, `mutation`, `action` decorators and what they register.

`@query` (bare) or `@query(args={...}, returns=...)` turns an `async def
handler(ctx, **args)` into a RegisteredFunction. The loader later gives it
its path from the module it lives in and the name it is bound to.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from syncline.errors import SynclineError
from syncline.functions.diagnostics import did_you_mean
from syncline.schema import Validator, v

FunctionKind = Literal["query", "mutation", "action"]
# "system": a `_system/...` function of the deployment itself (syncline/system/), admin-only.
Visibility = Literal["public", "internal", "system"]
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
    # Optional arguments the handler names without a default: absent, they arrive as None.
    absent_as_none: tuple[str, ...] = field(default=(), repr=False)

    @property
    def __syncline_path__(self) -> str | None:  # lets `ctx.run_query(fn, ...)` take the object
        return self.path

    @property
    def __name__(self) -> str:
        return self.handler.__name__

    @property
    def __doc__(self) -> str | None:  # type: ignore[override]
        return self.handler.__doc__

    def with_absent_arguments(self, args: dict[str, Any]) -> dict[str, Any]:
        """`args` (validated) plus None for each optional argument that is absent and that
        the handler names without a default, so it gets None instead of a TypeError."""
        missing = [name for name in self.absent_as_none if name not in args]
        if not missing:
            return args
        return {**args, **dict.fromkeys(missing)}

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


def _check_parameters(handler: Handler, args: Validator | None,
                      kind: FunctionKind) -> tuple[str, ...]:
    """Refuse a handler whose parameters cannot take the arguments `args` validates (the
    mistake TypeScript reports for a Convex handler); return the optional arguments it
    names without a default."""
    try:
        # The handler's own parameters: a wrapper (functools.wraps) may add arguments on
        # the way to the function it wraps, so that function's signature does not count.
        parameters = list(inspect.signature(handler, follow_wrapped=False).parameters.values())
    except (TypeError, ValueError):
        return ()  # a callable inspect cannot read: nothing to check
    where = _where(handler)
    name = getattr(handler, "__qualname__", repr(handler))
    if not parameters or parameters[0].kind not in (
            inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.VAR_POSITIONAL):
        raise FunctionDefinitionError(
            f"{where}{kind} handler {name} must take the context first: "
            f"`async def {name}(ctx, ...)`")
    named: dict[str, inspect.Parameter] = {}
    takes_any = False
    for parameter in parameters[1:]:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            takes_any = True
        elif parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise FunctionDefinitionError(
                f"{where}{kind} handler {name}: parameter {parameter.name!r} is "
                "positional-only, but arguments are passed by name")
        elif parameter.kind is not inspect.Parameter.VAR_POSITIONAL:
            named[parameter.name] = parameter
    if args is None:
        return ()
    fields = getattr(args, "fields", {})
    for parameter in named.values():
        if parameter.name not in fields:
            raise FunctionDefinitionError(
                f"{where}{kind} handler {name} has a parameter {parameter.name!r} that its "
                f"args validator does not have (args: {', '.join(fields) or 'none'}), so it "
                f"would never get a value.{did_you_mean(parameter.name, fields)} Add "
                f"{parameter.name!r} to args, or remove the parameter")
    if not takes_any:
        for field_name in fields:
            if field_name not in named:
                raise FunctionDefinitionError(
                    f"{where}{kind} handler {name} takes no parameter {field_name!r}, but "
                    f"its args validator has it.{did_you_mean(field_name, named)} Add "
                    f"`{field_name}` to the handler's parameters, or take `**args`")
    return tuple(
        field_name for field_name, validator in fields.items()
        if validator.is_optional and field_name in named
        and named[field_name].default is inspect.Parameter.empty)


def _where(handler: Any) -> str:
    """`path/to/file.py:12: ` for a handler's definition, or nothing."""
    code = getattr(inspect.unwrap(handler), "__code__", None)
    return "" if code is None else f"{code.co_filename}:{code.co_firstlineno}: "


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
            handler = _check_handler(fn, kind)
            absent = _check_parameters(handler, args_validator, kind)
            return RegisteredFunction(kind, visibility, handler, args_validator, returns,
                                      absent_as_none=absent)

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
