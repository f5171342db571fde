"""Reads deployment environment variables, in functions and at module level."""

import os

from syncline import action, mutation, query

# Module-level code runs at push time and sees the variables stored by then.
AT_IMPORT = os.environ.get("AT_IMPORT")


@query
async def get(ctx, name):
    return os.environ.get(name)


@query
async def at_import(ctx):
    return AT_IMPORT


@mutation
async def read_in_mutation(ctx, name):
    try:
        return os.environ[name]
    except KeyError:
        return None


@action
async def read_in_action(ctx, name):
    return os.getenv(name)
