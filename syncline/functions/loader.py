"""Loads an app's `convex/` folder as a fresh Python package and finds its functions.

Each load imports the folder under a new private package name
(`_syncline_app_<n>`), so relative imports between the app's modules work, a
reload never mixes old and new code, and the folder never shadows the `convex`
PyPI client (the app folder is never put on `sys.path`).
"""

from __future__ import annotations

import ast
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
from syncline.functions import push_checks
from syncline.functions.push_checks import Problem
from syncline.functions.registration import FunctionDefinitionError, RegisteredFunction
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
    trees = {file: push_checks.parse(file) for file in _source_files(convex_dir)}
    _report([problem for file, tree in trees.items() if tree is not None
             for problem in push_checks.sibling_imports(convex_dir, file, tree)])
    with _import_lock:
        try:
            _create_package(package, convex_dir)
            for path in module_paths(convex_dir):
                app.modules[path] = _import(package, path, convex_dir)
            _collect_functions(app)
            app.schema = _find_schema(app)
            _report(_problems(app, trees))
        except BaseException:
            app.unload()
            raise
    return app


def _source_files(convex_dir: Path) -> list[Path]:
    """Every Python file of the app, private helpers included (not hidden folders)."""
    return sorted(
        file for file in convex_dir.rglob("*.py")
        if not any(p.startswith(".") or p in ("node_modules", "__pycache__")
                   for p in file.relative_to(convex_dir).parts))


def _problems(app: LoadedApp, trees: dict[Path, ast.Module | None]) -> list[Problem]:
    """What the push checks find in the loaded modules (see push_checks)."""
    problems: list[Problem] = []
    for path, module in app.modules.items():
        file = app.convex_dir / f"{path}.py"
        tree = trees.get(file)
        if tree is None:
            continue
        problems += push_checks.names_bound_twice(
            app.convex_dir, file, tree, vars(module),
            lambda value: isinstance(value, RegisteredFunction))
        if app.schema is not None:
            problems += push_checks.database_names(app.convex_dir, file, tree, app.schema)
    if app.schema is not None:
        problems += push_checks.index_fields(app.schema, app.convex_dir / "schema.py",
                                             app.convex_dir)
    return problems


def _report(problems: list[Problem]) -> None:
    if problems:
        lines = list(dict.fromkeys(str(p) for p in sorted(problems)))
        raise PushError("The app's code has mistakes to fix before it can run:\n"
                        + "\n".join(lines))


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
            raise PushError(_describe_failure("__init__", e, convex_dir)) from None
    else:
        module = types.ModuleType(package, f"The app's convex/ folder ({convex_dir})")
        module.__path__ = [str(convex_dir)]
        module.__package__ = package
        sys.modules[package] = module
    # Subfolders without __init__.py still import, as namespace packages of this one.


def _import(package: str, path: str, convex_dir: Path) -> types.ModuleType:
    name = package + "." + path.replace("/", ".")
    try:
        return importlib.import_module(name)
    except Exception as e:
        raise PushError(_describe_failure(path, e, convex_dir)) from None


_SYNCLINE_DIR = str(Path(__file__).resolve().parent.parent)


def _describe_failure(path: str, error: BaseException, convex_dir: Path | None = None) -> str:
    """The error with the traceback frames that belong to the app: not importlib's, not
    syncline's own, each shown once; paths relative to the app folder."""
    frames: list[traceback.FrameSummary] = []
    if not isinstance(error, (FunctionDefinitionError, SyntaxError)):
        # A definition error names its file and line itself; a SyntaxError shows the line.
        for frame in traceback.extract_tb(error.__traceback__):
            if ("importlib" in frame.filename or frame.filename.startswith(_SYNCLINE_DIR)
                    or frame.filename.startswith("<frozen")):
                continue
            if frames and (frames[-1].filename, frames[-1].lineno) == (
                    frame.filename, frame.lineno):
                continue
            frames.append(frame)
    where = "".join(traceback.format_list(frames))
    if isinstance(error, SynclineError):  # syncline's own errors: no module prefix
        detail = f"{type(error).__name__}: {error}"
    else:
        detail = "".join(traceback.format_exception_only(type(error), error)).rstrip()
    hint = _import_hint(error, convex_dir)
    text = f"Failed to load convex/{path}.py:\n{where}{detail}{hint}"
    if convex_dir is not None:
        text = text.replace(str(convex_dir.parent) + "/", "")
    return text


def _import_hint(error: BaseException, convex_dir: Path | None) -> str:
    """For `import helpers` failing where convex/helpers.py exists: the relative form."""
    if not isinstance(error, ModuleNotFoundError) or convex_dir is None or not error.name:
        return ""
    top = error.name.split(".")[0]
    if (convex_dir / f"{top}.py").exists() or (convex_dir / top).is_dir():
        return (f"\nconvex/ is a package: import its modules relatively, "
                f"`from .{top} import ...`")
    return ""


def _collect_functions(app: LoadedApp) -> None:
    """Register every RegisteredFunction bound at module level, under that module's path
    and binding name, wherever it was defined (a factory, a wrapper, another module, an
    installed package): a module's bindings are its exports. An object bound in several
    places has all those paths; its own `path` (what `ctx.run_query(fn)` calls) is the
    one in the module that defines it, if that module registers it, else the first."""
    paths: dict[int, list[tuple[bool, str]]] = {}
    for path, module in app.modules.items():
        for name, value in vars(module).items():
            if not isinstance(value, RegisteredFunction):
                continue
            function_path = f"{path}:{name}"
            app.functions[function_path] = value
            home = (getattr(value.handler, "__module__", None) == module.__name__
                    and getattr(value.handler, "__name__", None) == name)
            paths.setdefault(id(value), []).append((not home, function_path))
    for path_list in paths.values():
        value = app.functions[path_list[0][1]]
        value.path = min(path_list)[1]


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
