import pytest

from syncline import api, internal
from syncline.functions.references import (
    InvalidFunctionPathError,
    canonical_path,
    function_path,
    path_from_url,
)


def test_references_build_paths_like_any_api():
    assert api.messages.send.path == "messages:send"
    assert api.admin.users.list.path == "admin/users:list"
    assert internal.jobs.run.path == "jobs:run"
    assert api.admin.users["del"].path == "admin/users:del"
    assert api.messages.send == api.messages.send and hash(api.a.b) == hash(api.a.b)
    with pytest.raises(InvalidFunctionPathError, match="name a module and a function"):
        _ = api.messages.path


@pytest.mark.parametrize(("given", "expected"), [
    ("messages:send", "messages:send"),
    ("messages", "messages:default"),
    ("admin/users:list", "admin/users:list"),
    ("messages.py:send", "messages:send"),
    ("messages.js:send", "messages:send"),
])
def test_canonical_paths(given, expected):
    assert canonical_path(given) == expected
    assert function_path(given) == expected


@pytest.mark.parametrize("bad", ["", ":x", "a:b:c", "a/../b:c", "a:"])
def test_invalid_paths_are_refused(bad):
    with pytest.raises(InvalidFunctionPathError):
        canonical_path(bad)


def test_paths_from_run_urls():
    assert path_from_url("messages/list") == "messages:list"
    assert path_from_url("/admin/users/list") == "admin/users:list"
    with pytest.raises(InvalidFunctionPathError):
        path_from_url("list")


def test_function_path_rejects_other_objects():
    with pytest.raises(InvalidFunctionPathError, match="Expected a function reference"):
        function_path(42)
