"""Loading an app's convex/ folder: registration, paths, schema, failures, reloads."""

import sys

import pytest

from syncline.functions import PushError, load_app


def write(root, files):
    for name, text in files.items():
        path = root / "convex" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


FUNCS = "from syncline import query, mutation, internal_action\n"


def test_functions_are_registered_under_every_module_that_binds_them(tmp_path):
    write(tmp_path, {
        "messages.py": FUNCS + "@query\nasync def list(ctx):\n    return 1\n",
        "reexport.py": "from .messages import list\n" + FUNCS +
                       "@internal_action\nasync def go(ctx):\n    return 2\n",
        "nested/deep.py": FUNCS + "@mutation\nasync def default(ctx):\n    return 3\n",
        "_private.py": FUNCS + "@query\nasync def hidden(ctx):\n    return 4\n",
    })
    app = load_app(tmp_path)
    try:
        assert sorted(app.functions) == ["messages:list", "nested/deep:default", "reexport:go",
                                         "reexport:list"]
        assert app.functions["reexport:list"] is app.functions["messages:list"]
        assert app.functions["messages:list"].path == "messages:list"  # its defining module
        assert app.functions["reexport:go"].visibility == "internal"
        assert app.functions["nested/deep:default"].kind == "mutation"
        assert app.schema is None
        assert app.package in sys.modules
    finally:
        app.unload()
    assert app.package not in sys.modules


def test_each_load_is_a_fresh_package(tmp_path):
    write(tmp_path, {"state.py": FUNCS + "CALLS = []\n@query\nasync def f(ctx):\n    return 0\n"})
    first, second = load_app(tmp_path), load_app(tmp_path)
    try:
        assert first.package != second.package
        assert first.modules["state"] is not second.modules["state"]
    finally:
        first.unload()
        second.unload()


@pytest.mark.parametrize(("files", "message"), [
    ({"bad.py": "def broken(:\n"}, "SyntaxError"),
    ({"bad.py": "from .missing import x\n"}, "ModuleNotFoundError"),
    ({"bad.py": "raise RuntimeError('at import')\n"}, "RuntimeError: at import"),
    ({"bad.py": FUNCS + "@query\ndef sync(ctx):\n    return 1\n"}, "async def sync"),
    ({"schema.py": "x = 1\n"}, "must define `schema = define_schema"),
    ({"schema.py": "from syncline import define_table, define_schema, v\n"
                   "schema = define_schema({'t': define_table({'a': v.string()})"
                   ".index('by_a', ['missing', 'missing'])})\n"}, "Failed to load convex/schema.py"),
])
def test_broken_code_raises_push_error_with_the_cause(tmp_path, files, message):
    write(tmp_path, files)
    with pytest.raises(PushError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_app(tmp_path)
    assert not [n for n in sys.modules if n.startswith("_syncline_app_") and
                getattr(sys.modules[n], "__path__", [None])[0] == str(tmp_path / "convex")]


def test_missing_convex_folder(tmp_path):
    with pytest.raises(PushError, match="No convex/ folder"):
        load_app(tmp_path)


def test_schema_is_found(tmp_path):
    write(tmp_path, {"schema.py": "from syncline import define_schema, define_table, v\n"
                                  "schema = define_schema({'t': define_table({'a': v.string()})})\n"})
    app = load_app(tmp_path)
    try:
        assert list(app.schema.tables) == ["t"]
    finally:
        app.unload()
