"""Tests for the app's functions, run on a real local deployment in a temp folder."""

from pathlib import Path

import pytest

from syncline import api
from syncline.server.deployment import Deployment

APP_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
async def deployment(tmp_path):
    deployment = Deployment(APP_DIR, data_dir=tmp_path)
    await deployment.push()
    yield deployment
    deployment.close()


async def test_add_toggle_and_report(deployment):
    run = deployment.runner.run
    added = await run(api.tasks.add, {"text": "write tests"})
    assert added.ok, added.failure
    assert (await run(api.tasks.toggle, {"id": added.value})).ok
    listed = await run(api.tasks.list, {})
    assert [t["is_completed"] for t in listed.value] == [True]
    report = await run(api.summary.report, {})
    assert report.value == "1 of 1 tasks done"


async def test_empty_text_is_an_application_error(deployment):
    outcome = await deployment.runner.run(api.tasks.add, {"text": "  "})
    assert outcome.failure.data["code"] == "EMPTY_TEXT"
