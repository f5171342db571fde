"""Function paths and the `api` / `internal` reference objects.

A function's path is its module path under `convex/` plus `:` plus its name:
`"messages:send"`, `"admin/users:list"`. `api.admin.users.list` is a reference
to that path, exactly like Convex's `anyApi`; `internal` builds the same kind of
reference, the name only documents intent (visibility is checked on the callee).
"""

from __future__ import annotations

from typing import Any

from syncline.errors import SynclineError


class InvalidFunctionPathError(SynclineError):
    """A string or object does not name a function."""


class FunctionReference:
    """A reference to `module/path:name`. Build one with `api.module.name`."""

    __slots__ = ("_segments",)

    def __init__(self, segments: tuple[str, ...]) -> None:
        self._segments = segments

    def __getattr__(self, name: str) -> FunctionReference:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return FunctionReference((*self._segments, name))

    def __getitem__(self, name: str) -> FunctionReference:
        """For names that are Python keywords: `api.admin.users["del"]`."""
        return FunctionReference((*self._segments, name))

    @property
    def path(self) -> str:
        segments = self._segments
        if len(segments) < 2:
            raise InvalidFunctionPathError(
                f"api.{'.'.join(segments)} is not a function reference: name a module and a "
                "function, for example api.messages.send"
            )
        return "/".join(segments[:-1]) + ":" + segments[-1]

    def __repr__(self) -> str:
        return f"FunctionReference({'.'.join(self._segments) or 'api'})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FunctionReference) and other._segments == self._segments

    def __hash__(self) -> int:
        return hash(self._segments)


api = FunctionReference(())
internal = FunctionReference(())


def function_path(ref: Any) -> str:
    """The canonical path of a reference, a registered function or a path string.

    `"messages"` means `"messages:default"`; a `.py` suffix on the module is
    accepted and dropped, as Convex drops `.js`.
    """
    if isinstance(ref, FunctionReference):
        return ref.path
    path = getattr(ref, "__syncline_path__", None)
    if isinstance(path, str):
        return path
    if not isinstance(ref, str):
        raise InvalidFunctionPathError(
            f"Expected a function reference (api.module.name) or a path string, got {ref!r}"
        )
    return canonical_path(ref)


def canonical_path(path: str) -> str:
    module, sep, name = path.partition(":")
    if not sep:
        name = "default"
    module = module.strip("/")
    for suffix in (".py", ".js", ".ts"):
        if module.endswith(suffix):
            module = module[: -len(suffix)]
    if not module or not name or ":" in name or not _valid_module(module):
        raise InvalidFunctionPathError(
            f"Invalid function path {path!r}: expected 'module:function', for example "
            "'messages:send' or 'admin/users:list'"
        )
    return f"{module}:{name}"


def path_from_url(identifier: str) -> str:
    """`/api/run/messages/list` names `messages:list`: the last segment is the function."""
    module, sep, name = identifier.strip("/").rpartition("/")
    if not sep:
        raise InvalidFunctionPathError(
            f"Invalid function identifier {identifier!r}: expected 'module/function'"
        )
    return canonical_path(f"{module}:{name}")


def _valid_module(module: str) -> bool:
    return all(part and not part.startswith(".") for part in module.split("/"))
