"""Loads an app's `convex/` folder as a fresh Python package and finds its functions.

Each load imports the folder under a new private package name
(`_syncline_app_<n>`), so relative imports between the app's modules work, a
reload never mixes old and new code, and the folder never shadows the `convex`
PyPI client (the app folder is never put on `sys.path`).
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import sys
import threading
import traceback
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from syncline.errors import SynclineError
from syncline.functions.registration import RegisteredFunction
from syncline.schema import DatabaseSchema

PACKAGE_PREFIX = "_syncline_app_"
_generation = itertools.count(1)
_import_lock = threading.Lock()


class PushError(SynclineError):
    """The app's code could not be loaded (syntax error, import error, invalid schema)."""


@dataclass
class LoadedApp:
    """One loaded version of an app's code."""

    convex_dir: Path
    package: str
    functions: dict[str, RegisteredFunction]
    schema: DatabaseSchema | None
    modules: dict[str, types.ModuleType] = field(default_factory=dict)

    def module(self, path: str) -> types.ModuleType | None:
        """A loaded module by its path under `convex/` (`"crons"`, `"admin/users"`)."""
        return self.modules.get(path)

    def unload(self) -> None:
        """Drop this version's modules from `sys.modules` (running calls keep their refs)."""
        for name in [n for n in sys.modules if n == self.package or
                     n.startswith(self.package + ".")]:
            del sys.modules[name]


def module_paths(convex_dir: Path) -> Iterator[str]:
    """Every module under `convex/` as a path like `admin/users`, sorted."""
    found = []
    for file in convex_dir.rglob("*.py"):
        relative = file.relative_to(convex_dir)
        parts = relative.with_suffix("").parts
        if any(p.startswith((".", "_")) or p == "node_modules" for p in parts):
            continue  # __init__, _generated, private helpers, hidden folders
        found.append("/".join(parts))
    return iter(sorted(found))


def load_app(app_dir: str | Path) -> LoadedApp:
    """Import every module of `app_dir/convex` and collect functions and the schema.

    Raises PushError with the user's traceback if any module fails to import.
    """
    convex_dir = Path(app_dir).resolve() / "convex"
    if not convex_dir.is_dir():
        raise PushError(f"No convex/ folder found in {Path(app_dir).resolve()}")
    _keep_off_sys_path(convex_dir.parent)
    package = f"{PACKAGE_PREFIX}{next(_generation)}"
    app = LoadedApp(convex_dir, package, {}, None)
    with _import_lock:
        try:
            _create_package(package, convex_dir)
            for path in module_paths(convex_dir):
                app.modules[path] = _import(package, path)
            for path, module in app.modules.items():
                _collect_functions(app, path, module)
            app.schema = _find_schema(app)
        except BaseException:
            app.unload()
            raise
    return app


def _keep_off_sys_path(app_dir: Path) -> None:
    """Drop the app folder from `sys.path` (`python -m` and `''` put the working directory
    there), so `import convex` finds the installed client, never the app's folder."""
    def resolves_to_app(entry: str) -> bool:
        try:
            return Path(entry or ".").resolve() == app_dir
        except OSError:
            return False

    sys.path[:] = [entry for entry in sys.path if not resolves_to_app(entry)]
    importlib.invalidate_caches()


def _create_package(package: str, convex_dir: Path) -> None:
    init = convex_dir / "__init__.py"
    if init.exists():
        spec = importlib.util.spec_from_file_location(
            package, init, submodule_search_locations=[str(convex_dir)]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[package] = module
        try:
            spec.loader.exec_module(module)
        except Exception as e:
            raise PushError(_describe_failure("__init__", e)) from None
    else:
        module = types.ModuleType(package, f"The app's convex/ folder ({convex_dir})")
        module.__path__ = [str(convex_dir)]
        module.__package__ = package
        sys.modules[package] = module
    # Subfolders without __init__.py still import, as namespace packages of this one.


def _import(package: str, path: str) -> types.ModuleType:
    name = package + "." + path.replace("/", ".")
    try:
        return importlib.import_module(name)
    except Exception as e:
        raise PushError(_describe_failure(path, e)) from None


def _describe_failure(path: str, error: BaseException) -> str:
    """The error with the traceback frames that belong to the app, not to the loader."""
    frames = [
        f for f in traceback.extract_tb(error.__traceback__)
        if "importlib" not in f.filename and f.filename != __file__
    ]
    where = "".join(traceback.format_list(frames))
    detail = "".join(traceback.format_exception_only(type(error), error)).rstrip()
    return f"Failed to load convex/{path}.py:\n{where}{detail}"


def _collect_functions(app: LoadedApp, path: str, module: types.ModuleType) -> None:
    for name, value in vars(module).items():
        if not isinstance(value, RegisteredFunction):
            continue
        if value.handler.__module__ != module.__name__:
            continue  # imported from another module: it is registered there
        function_path = f"{path}:{name}"
        if value.path is None:
            value.path = function_path
        app.functions[function_path] = value


def _find_schema(app: LoadedApp) -> DatabaseSchema | None:
    module = app.modules.get("schema")
    if module is None:
        return None
    schema = getattr(module, "schema", None)
    if not isinstance(schema, DatabaseSchema):
        raise PushError(
            "convex/schema.py must define `schema = define_schema({...})`"
            + ("" if schema is None else f"; found {type(schema).__name__}")
        )
    return schema
