"""The modules of `syncline.database` import downward only: no module imports, at run time
(at the top or inside a function), one that imports it back. Imports under TYPE_CHECKING are
for annotations and are not counted."""

from __future__ import annotations

import ast
from pathlib import Path

import syncline.database

PACKAGE = Path(syncline.database.__file__).parent
ROOT = "syncline.database"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((ROOT, *parts))


def runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports outside `if TYPE_CHECKING:` blocks."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.ImportFrom) and child.module:
                for alias in child.names:
                    full = f"{child.module}.{alias.name}"
                    if full in modules:
                        found.add(full)
                    elif child.module in modules:
                        found.add(child.module)
            elif isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name in modules)
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def test_the_database_package_has_no_import_cycles() -> None:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    # A package's __init__ re-exports its modules; a module importing from the package
    # itself would go through it, so it stays in the graph.
    graph = {name: runtime_imports(path, modules) - {name} for name, path in paths.items()}
    cycles = []
    for start in graph:
        stack = [(start, (start,))]
        while stack:
            node, path = stack.pop()
            for dep in graph[node]:
                if dep == start:
                    cycles.append(" -> ".join((*path, dep)))
                elif dep not in path and dep != ROOT:
                    stack.append((dep, (*path, dep)))
    assert cycles == []
