"""Batches of environment variable changes (`POST /api/update_environment_variables`):
validated first, applied in one transaction, all or none."""

from __future__ import annotations

import os

import pytest

from syncline.functions.environment import (
    MAX_VARIABLES,
    EnvironmentVariableError,
    EnvironmentVariables,
    read_variables,
    validate_changes,
)


def test_changes_are_validated_as_a_whole():
    assert validate_changes([{"name": "A", "value": "1"}, {"name": "B", "value": None}]) \
        == [("A", "1"), ("B", None)]
    for bad, code in [
        ("A=1", "InvalidEnvVarChanges"),
        ([{"value": "1"}], "InvalidEnvVarChanges"),
        ([{"name": "1A", "value": "1"}], "InvalidEnvVarName"),
        ([{"name": "A", "value": 3}], "InvalidEnvVarValue"),
        ([{"name": "CONVEX_SITE_URL", "value": None}], "ReservedEnvVarName"),
        ([{"name": "A", "value": "1"}, {"name": "A", "value": None}], "DuplicateEnvVarName"),
    ]:
        with pytest.raises(EnvironmentVariableError) as info:
            validate_changes(bad)
        assert info.value.code == code


async def test_update_sets_and_removes_in_one_go(db):
    env = EnvironmentVariables(db)
    await env.load()
    try:
        await env.update([("SYNCLINE_TEST_C1", "one"), ("SYNCLINE_TEST_C2", "two")])
        assert os.environ["SYNCLINE_TEST_C1"] == "one"
        await env.update([("SYNCLINE_TEST_C1", None), ("SYNCLINE_TEST_C2", "2"),
                          ("SYNCLINE_TEST_NEVER_SET", None)])  # removing an unset one: no-op
        assert await read_variables(db) == {"SYNCLINE_TEST_C2": "2"}
        assert "SYNCLINE_TEST_C1" not in os.environ
        assert os.environ["SYNCLINE_TEST_C2"] == "2"
    finally:
        env.close()


async def test_a_batch_past_the_limit_changes_nothing(db):
    env = EnvironmentVariables(db)
    await env.load()
    try:
        await env.update([(f"SYNCLINE_TEST_L{i}", "x") for i in range(MAX_VARIABLES - 1)])
        too_many = [("SYNCLINE_TEST_L0", None), ("SYNCLINE_TEST_M1", "y"),
                    ("SYNCLINE_TEST_M2", "y"), ("SYNCLINE_TEST_M3", "y")]
        with pytest.raises(EnvironmentVariableError) as info:
            await env.update(too_many)
        assert info.value.code == "TooManyEnvVars"
        stored = await read_variables(db)
        assert len(stored) == MAX_VARIABLES - 1 and "SYNCLINE_TEST_L0" in stored
        assert "SYNCLINE_TEST_M1" not in os.environ
    finally:
        env.close()
