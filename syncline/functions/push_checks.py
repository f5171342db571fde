"""Checks a push runs over the source of `convex/`, for mistakes TypeScript would catch.

They read each module's syntax tree (never run it), so they can name the file and
line: an absolute import of a sibling module, a module-level name bound twice where a
function is involved, a table name the schema does not list, an index that does not
exist, and a schema index on a field its table's validator does not have. Each check
returns `Problem`s; the loader reports them all at once as one PushError.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncline.database.catalog import unknown_index, unknown_table
from syncline.functions.diagnostics import did_you_mean
from syncline.schema import DatabaseSchema
from syncline.schema.validators import ObjectValidator, UnionValidator, Validator

REGISTRARS = frozenset({"query", "mutation", "action", "internal_query",
                        "internal_mutation", "internal_action", "http_action"})
_TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_TABLE_FIRST = {"query": 1, "insert": 2, "get": 2, "patch": 3, "replace": 3, "delete": 2,
                "normalize_id": 2}  # method -> argument count when the table comes first


@dataclass(frozen=True, order=True)
class Problem:
    file: str  # relative to the app folder: `convex/todos.py`
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def parse(file: Path) -> ast.Module | None:
    """The module's tree, or None if it does not parse (importing it reports why)."""
    try:
        return ast.parse(file.read_text(encoding="utf-8"), str(file))
    except (SyntaxError, ValueError, UnicodeDecodeError, OSError):
        return None


def sibling_imports(convex_dir: Path, file: Path, tree: ast.Module) -> Iterator[Problem]:
    """`from helpers import x` / `import helpers` where `helpers` is a module of convex/:
    the folder is a package, so it has to be `from .helpers import x`."""
    depth = len(file.relative_to(convex_dir).parts) - 1
    here = _module_names(file.parent)
    root = _module_names(convex_dir)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            top, names = node.module.split(".")[0], [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            top, names = "", []
            for alias in node.names:
                candidate = alias.name.split(".")[0]
                if candidate in here or candidate in root:
                    top = candidate
                    break
        else:
            continue
        if not top or top in sys.stdlib_module_names or top == file.stem or _installed(top):
            continue  # the standard library, itself, or a package: `import stripe` in stripe.py
        if top in here:
            dots = "."
        elif top in root:
            dots = "." * (depth + 1)
        else:
            continue
        if isinstance(node, ast.ImportFrom):
            assert node.module is not None
            fix = f"from {dots}{node.module} import {', '.join(names)}"
            wrote = f"from {node.module} import {', '.join(names)}"
        else:
            fix, wrote = f"from {dots} import {top}", f"import {top}"
        yield Problem(_relative(convex_dir, file), node.lineno,
                      f"`{wrote}` imports a module of convex/ by an absolute name; convex/ "
                      f"is a package, so its modules import each other relatively: "
                      f"use `{fix}`")


def _installed(name: str) -> bool:
    """Whether `name` imports from sys.path (never the app folder: the loader keeps it off)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _module_names(folder: Path) -> set[str]:
    names = set()
    for entry in folder.iterdir():
        if entry.suffix == ".py" and entry.stem != "__init__":
            names.add(entry.stem)
        elif entry.is_dir() and not entry.name.startswith((".", "_")) and any(
                entry.glob("*.py")):
            names.add(entry.name)
    return names


def _relative(convex_dir: Path, file: Path) -> str:
    return str(Path("convex") / file.relative_to(convex_dir))


def names_bound_twice(convex_dir: Path, file: Path, tree: ast.Module,
                      module_vars: dict[str, Any], is_function: Any) -> Iterator[Problem]:
    """A module-level name bound more than once where a registered function is involved:
    the later binding silently replaces the earlier function (TypeScript refuses to
    redeclare an export)."""
    bindings: dict[str, list[tuple[int, bool]]] = {}
    for node in tree.body:
        for name, line, registers in _bindings(node):
            bindings.setdefault(name, []).append((line, registers))
    for name, found in bindings.items():
        if len(found) < 2:
            continue
        if not (is_function(module_vars.get(name)) or any(r for _, r in found)):
            continue
        lines = [line for line, _ in found]
        yield Problem(
            _relative(convex_dir, file), lines[-1],
            f"`{name}` is bound {len(lines)} times in this module (lines "
            f"{', '.join(map(str, lines))}): each binding replaces the one before, so a "
            "function defined earlier would be silently dropped. Give each function its "
            "own name")


def _bindings(node: ast.stmt) -> Iterator[tuple[str, int, bool]]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        registers = any(_callee_name(d) in REGISTRARS for d in node.decorator_list)
        yield node.name, node.lineno, registers
    elif isinstance(node, ast.Assign):
        registers = _callee_name(node.value) in REGISTRARS
        for target in node.targets:
            for name in _target_names(target):
                yield name, node.lineno, registers
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        for name in _target_names(node.target):
            yield name, node.lineno, _callee_name(node.value) in REGISTRARS
    elif isinstance(node, ast.Import | ast.ImportFrom):
        for alias in node.names:
            if alias.name != "*":
                yield (alias.asname or alias.name.split(".")[0]), node.lineno, False


def _target_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _target_names(element)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


def _callee_name(node: ast.expr) -> str | None:
    """`query` for `query`, `syncline.query`, `query(args=...)`, `query(...)(fn)`."""
    while isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def database_names(convex_dir: Path, file: Path, tree: ast.Module,
                   schema: DatabaseSchema) -> Iterator[Problem]:
    """Table and index names written as literals in `ctx.db.query("t")`,
    `ctx.db.insert("t", ...)`, `.with_index("i", ...)` that the schema does not define."""
    where = _relative(convex_dir, file)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        method = node.func.attr
        if method in _TABLE_FIRST and _is_db(node.func.value, strict=method not in (
                "query", "insert")):
            table = _literal(node.args[0]) if len(node.args) == _TABLE_FIRST[method] else None
            if table is not None and not _TABLE_NAME.fullmatch(table):
                continue  # not a table name (`conn.db.query("SELECT ...")` of another library)
            error = None if table is None else unknown_table(schema, table)
            if error is not None:
                yield Problem(where, _line(node), str(error))
        elif method in ("with_index", "with_search_index") and node.args:
            base = node.func.value
            if not (isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute)
                    and base.func.attr == "query" and _is_db(base.func.value)
                    and len(base.args) == 1):
                continue
            table, index = _literal(base.args[0]), _literal(node.args[0])
            if table is None or index is None:
                continue
            error = unknown_index(schema, table, index, search=method == "with_search_index")
            if error is not None:
                yield Problem(where, _line(node), str(error))


def _line(call: ast.Call) -> int:
    """The line of the method name in a call that may span lines (a chained `.index(`)."""
    return call.func.end_lineno or call.lineno


def _is_db(node: ast.expr, strict: bool = False) -> bool:
    """`ctx.db` (or any `x.db` / `db` unless `strict`: `get`, `delete` are common names)."""
    if isinstance(node, ast.Attribute) and node.attr == "db":
        return not strict or (isinstance(node.value, ast.Name) and node.value.id == "ctx")
    return not strict and isinstance(node, ast.Name) and node.id == "db"


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def index_fields(schema: DatabaseSchema, schema_file: Path | None,
                 convex_dir: Path) -> Iterator[Problem]:
    """Indexes (database, search, vector) on a field the table's validator does not have."""
    tree = parse(schema_file) if schema_file is not None else None
    where = "convex/schema.py"
    for table_name, table in schema.tables.items():
        validator = table.document_validator
        checks: list[tuple[str, str]] = []
        for index in table.indexes:
            checks += [(index.name, f) for f in index.fields]
        for search in table.search_indexes:
            checks += [(search.name, f) for f in (search.search_field, *search.filter_fields)]
        for vector in table.vector_indexes:
            checks += [(vector.name, f) for f in (vector.vector_field, *vector.filter_fields)]
        for index_name, field_path in checks:
            missing = _missing_field(validator, field_path.split("."))
            if missing is None:
                continue
            part, known = missing
            yield Problem(
                where, _index_line(tree, index_name),
                f"Index {index_name!r} of table {table_name!r} is on field {field_path!r}, "
                f"but the table's validator has no field {part!r}."
                f"{did_you_mean(part, known)}")


def _missing_field(validator: Validator, parts: list[str]) -> tuple[str, list[str]] | None:
    """(the missing part, the fields there were) if `parts` cannot be in a document the
    validator accepts; None if it can or the validator cannot tell (v.any(), records)."""
    objects = _objects(validator)
    if objects is None:
        return None
    name, rest = parts[0], parts[1:]
    holders = [o.fields[name] for o in objects if name in o.fields]
    if not holders:
        return name, sorted({f for o in objects for f in o.fields})
    if not rest:
        return None
    results = [_missing_field(h, rest) for h in holders]
    return None if any(r is None for r in results) else results[0]


def _objects(validator: Validator) -> list[ObjectValidator] | None:
    if isinstance(validator, ObjectValidator):
        return [validator]
    if isinstance(validator, UnionValidator):
        found: list[ObjectValidator] = []
        for member in validator.members:
            objects = _objects(member)
            if objects is None:
                return None
            found += objects
        return found
    return None  # any, record, or a scalar (whose nested fields no document has)


def _index_line(tree: ast.Module | None, index_name: str) -> int:
    if tree is None:
        return 1
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("index", "search_index", "vector_index")
                and node.args and _literal(node.args[0]) == index_name):
            return _line(node)
    return 1
