"""Environment variables: validation, storage in `_environment_variables`, os.environ."""

from __future__ import annotations

import os

import pytest

from syncline.database.catalog import SYSTEM_TABLES
from syncline.functions.environment import (
    ENVIRONMENT_VARIABLES,
    MAX_VALUE_BYTES,
    MAX_VARIABLES,
    EnvironmentVariableError,
    EnvironmentVariables,
    read_variables,
    validate_name,
    validate_settable,
    validate_value,
)
from syncline.values import decode_id


@pytest.mark.parametrize("name", ["A", "api_key", "OPENAI_API_KEY", "x1_2", "A" * 40])
def test_valid_names(name):
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "1ABC", "_X", "A-B", "A B", "É", "A" * 41, None, 3])
def test_invalid_names(name):
    with pytest.raises(EnvironmentVariableError) as info:
        validate_name(name)
    assert info.value.code == "InvalidEnvVarName"


def test_name_length_error_says_the_limit():
    with pytest.raises(EnvironmentVariableError, match="at most 40 characters"):
        validate_name("A" * 41)


def test_values():
    assert validate_value("X", "") == ""
    assert validate_value("X", "a" * MAX_VALUE_BYTES) == "a" * MAX_VALUE_BYTES
    with pytest.raises(EnvironmentVariableError, match="at most 8 KiB"):
        validate_value("X", "a" * (MAX_VALUE_BYTES + 1))
    # the limit is in UTF-8 bytes, not characters
    with pytest.raises(EnvironmentVariableError, match="at most 8 KiB"):
        validate_value("X", "é" * (MAX_VALUE_BYTES // 2 + 1))
    for bad in (None, 3, b"x", "a\x00b", "\ud800"):
        with pytest.raises(EnvironmentVariableError) as info:
            validate_value("X", bad)
        assert info.value.code == "InvalidEnvVarValue"


def test_system_variables_are_reserved():
    for name in ("CONVEX_CLOUD_URL", "CONVEX_SITE_URL"):
        with pytest.raises(EnvironmentVariableError) as info:
            validate_settable(name, "x")
        assert info.value.code == "ReservedEnvVarName"


async def test_set_publishes_to_os_environ_and_stores(db):
    env = EnvironmentVariables(db)
    await env.load()
    try:
        assert await env.set("SYNCLINE_TEST_A", "one") is True
        assert os.environ["SYNCLINE_TEST_A"] == "one"
        assert await env.set("SYNCLINE_TEST_A", "two") is False
        assert os.environ["SYNCLINE_TEST_A"] == "two"
        assert await read_variables(db) == {"SYNCLINE_TEST_A": "two"}
        rows = await db.read(lambda tx: tx.query(ENVIRONMENT_VARIABLES, system=True).collect())
        assert decode_id(rows[0]["_id"])[0] == SYSTEM_TABLES[ENVIRONMENT_VARIABLES]
        assert db.table_names() == []  # a system table, not a user table
        assert await env.remove("SYNCLINE_TEST_A") is True
        assert "SYNCLINE_TEST_A" not in os.environ
        assert await env.remove("SYNCLINE_TEST_A") is False
    finally:
        env.close()


async def test_load_publishes_stored_variables_and_close_takes_them_back(db):
    writer = EnvironmentVariables(db)
    await writer.set("SYNCLINE_TEST_B", "stored")
    writer.close()
    assert "SYNCLINE_TEST_B" not in os.environ
    reader = EnvironmentVariables(db)
    assert await reader.load() == {"SYNCLINE_TEST_B": "stored"}
    assert os.environ["SYNCLINE_TEST_B"] == "stored"
    reader.close()
    assert "SYNCLINE_TEST_B" not in os.environ


async def test_removing_a_shadowing_variable_restores_the_inherited_value(db, monkeypatch):
    monkeypatch.setenv("SYNCLINE_TEST_INHERITED", "from the process")
    env = EnvironmentVariables(db)
    await env.set("SYNCLINE_TEST_INHERITED", "from the deployment")
    assert os.environ["SYNCLINE_TEST_INHERITED"] == "from the deployment"
    await env.remove("SYNCLINE_TEST_INHERITED")
    assert os.environ["SYNCLINE_TEST_INHERITED"] == "from the process"
    env.close()


async def test_system_urls(db):
    env = EnvironmentVariables(db)
    env.set_urls("http://127.0.0.1:1", "http://127.0.0.1:2")
    await env.set("SYNCLINE_TEST_C", "c")
    assert os.environ["CONVEX_CLOUD_URL"] == "http://127.0.0.1:1"
    assert os.environ["CONVEX_SITE_URL"] == "http://127.0.0.1:2"
    assert await read_variables(db) == {"SYNCLINE_TEST_C": "c"}  # the URLs are not stored
    env.close()
    assert "CONVEX_CLOUD_URL" not in os.environ
    assert "SYNCLINE_TEST_C" not in os.environ


async def test_at_most_100_variables(db):
    env = EnvironmentVariables(db)
    try:
        for i in range(MAX_VARIABLES):
            await env.set(f"SYNCLINE_TEST_{i}", str(i))
        with pytest.raises(EnvironmentVariableError, match="at most 100") as info:
            await env.set("SYNCLINE_TEST_ONE_TOO_MANY", "x")
        assert info.value.code == "TooManyEnvVars"
        assert "SYNCLINE_TEST_ONE_TOO_MANY" not in os.environ
        await env.set("SYNCLINE_TEST_0", "updating an existing one is fine")
        await env.remove("SYNCLINE_TEST_1")
        await env.set("SYNCLINE_TEST_ONE_TOO_MANY", "now it fits")
        assert len(await read_variables(db)) == MAX_VARIABLES
    finally:
        env.close()
