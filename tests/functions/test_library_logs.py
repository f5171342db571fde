"""Libraries' DEBUG/INFO logging (httpx, openai, ...) stays out of function logs unless the
app lowers the level; the app's own loggers keep DEBUG (functions/logs.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from syncline.functions import logs
from syncline.functions.loader import PACKAGE_PREFIX
from syncline.functions.logs import LIBRARY_LOG_LEVEL, LogCollector, capture_logs
from syncline.functions.runner import FunctionRunner
from tests.functions.conftest import running, write_app

APP = {
    "calls.py": """
import logging

import httpx

from syncline import action, query

log = logging.getLogger(__name__)


def answer(request):
    return httpx.Response(200, json={"echo": request.url.path})


@action
async def fetch(ctx):
    # A real httpx client (its transport answers in-process): httpx logs each request at
    # INFO on the "httpx" logger, httpcore traces at DEBUG.
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        response = await client.get("https://api.example.com/things")
    log.debug("fetched %s", response.json()["echo"])
    return response.status_code


@query
async def chatty(ctx):
    logging.getLogger("httpx").info("library info")
    logging.getLogger("httpx").debug("library debug")
    logging.getLogger("httpx").warning("library warning")
    logging.getLogger("my_own_logger").debug("own named logger")
    logging.info("root info")
    return None
""",
}


@pytest.fixture
def httpx_logger() -> Iterator[logging.Logger]:
    """The "httpx" logger, its level restored afterwards (levels are process-wide)."""
    logger = logging.getLogger("httpx")
    level = logger.level
    yield logger
    logger.setLevel(level)


@pytest.fixture
async def runner(tmp_path, db) -> FunctionRunner:
    async with running(write_app(tmp_path, APP), db, dev=True) as runner:
        yield runner


async def lines_of(runner: FunctionRunner, path: str) -> list[str]:
    outcome = await runner.run(path, {})
    assert outcome.ok, outcome.failure
    return [line.formatted() for line in outcome.log_lines]


def test_app_modules_are_told_apart_by_the_loaders_package_prefix() -> None:
    assert logs._APP_PACKAGE_PREFIX == PACKAGE_PREFIX
    assert LIBRARY_LOG_LEVEL == logging.WARNING


async def test_httpx_requests_do_not_flood_an_actions_logs(runner, httpx_logger) -> None:
    httpx_logger.setLevel(logging.NOTSET)  # as a fresh process has it
    lines = await lines_of(runner, "calls:fetch")
    assert lines == ["[DEBUG] fetched /things"]  # the app's own debug line, nothing of httpx


async def test_an_app_that_lowers_a_librarys_level_sees_its_lines(runner, httpx_logger) -> None:
    httpx_logger.setLevel(logging.INFO)  # what the app does to see its requests
    lines = await lines_of(runner, "calls:fetch")
    assert lines == ['[INFO] HTTP Request: GET https://api.example.com/things "HTTP/1.1 200 OK"',
                     "[DEBUG] fetched /things"]


async def test_library_loggers_from_warning_the_apps_own_from_debug(runner, httpx_logger):
    httpx_logger.setLevel(logging.NOTSET)
    assert await lines_of(runner, "calls:chatty") == [
        "[WARN] library warning", "[DEBUG] own named logger", "[INFO] root info"]
    httpx_logger.setLevel(logging.DEBUG)
    assert await lines_of(runner, "calls:chatty") == [
        "[INFO] library info", "[DEBUG] library debug", "[WARN] library warning",
        "[DEBUG] own named logger", "[INFO] root info"]


def test_a_librarys_child_logger_counts_as_the_library(httpx_logger) -> None:
    httpx_logger.setLevel(logging.NOTSET)
    child = logging.getLogger("httpx.some.part")
    collector = LogCollector()
    with capture_logs(collector):
        child.info("dropped")
        child.error("kept")
    assert collector.formatted() == ["[ERROR] kept"]
