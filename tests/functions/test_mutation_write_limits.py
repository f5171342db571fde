"""A mutation can read and patch the documented 16,000 documents (`ctx.db.patch` is a
write, not a `db.get`), and its 16,001st write fails with the documented limit."""

from __future__ import annotations

import pytest

from syncline.functions import FunctionRunner, load_app

APP = '''
from syncline import mutation

@mutation
async def fill(ctx, count):
    return [await ctx.db.insert("items", {"n": 0.0}) for _ in range(int(count))]

@mutation
async def patch_all(ctx):
    docs = await ctx.db.query("items").collect()
    for doc in docs:
        await ctx.db.patch(doc["_id"], {"n": doc["n"] + 1})
    return len(docs)
'''


@pytest.fixture
async def runner(tmp_path, db):
    (tmp_path / "convex").mkdir()
    (tmp_path / "convex" / "bulk.py").write_text(APP)
    app = load_app(tmp_path)
    # The time limit is not what this test is about: a loaded machine must not fail it.
    runner = FunctionRunner(db, app, user_time_limit_s=120.0)
    yield runner
    runner.close()
    app.unload()


async def value(runner, path, args):
    outcome = await runner.run(path, args)
    assert outcome.ok, outcome.failure
    return outcome.value


async def test_a_mutation_patches_16000_documents_and_not_16001(runner) -> None:
    await value(runner, "bulk:fill", {"count": 8000})
    await value(runner, "bulk:fill", {"count": 8000})
    assert await value(runner, "bulk:patch_all", {}) == 16_000
    await value(runner, "bulk:fill", {"count": 1})
    outcome = await runner.run("bulk:patch_all", {})
    assert not outcome.ok
    assert "Too many documents written in a single function execution (limit: 16000)" in (
        outcome.failure.message)
