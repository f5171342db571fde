"""Per-execution capture of print and logging output as Convex-style log lines."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import threading
import time
from collections.abc import Callable

import pytest

from syncline.functions.logs import (
    MAX_LOG_LINE_BYTES,
    MAX_LOG_LINES,
    LogCollector,
    LogLine,
    capture_logs,
    install,
)

OVERFLOW_LINE = "[WARN] Log overflow (maximum 256). Remaining log lines omitted."


@pytest.fixture
def log() -> logging.Logger:
    """A logger with no level of its own: its effective level comes from the root."""
    logger = logging.getLogger("my_app.user")
    logger.setLevel(logging.NOTSET)
    return logger


def capture(fn: Callable[[], object]) -> list[str]:
    collector = LogCollector()
    with capture_logs(collector):
        fn()
    return collector.formatted()


# ---------------------------------------------------------------------------------------------
# print and the standard streams


def test_print_becomes_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    collector = LogCollector()
    with capture_logs(collector) as returned:
        print("hello", 42)
        print("two\nlines")
        print()
    assert returned is collector
    assert collector.formatted() == ["[LOG] hello 42", "[LOG] two", "[LOG] lines", "[LOG] "]
    assert [line.level for line in collector.lines] == ["LOG"] * 4
    assert capsys.readouterr() == ("", "")


def test_partial_line_is_joined_and_flushed_at_exit(capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> None:
        print("a", end="")
        print("b", end="", flush=True)  # a flush does not end the line
        print("c")
        sys.stdout.write("tail without newline")
        sys.stderr.write("err tail")

    assert capture(body) == ["[LOG] abc", "[LOG] tail without newline", "[ERROR] err tail"]
    assert capsys.readouterr() == ("", "")


def test_stderr_becomes_error_lines(capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> None:
        print("out")
        print("bad thing", file=sys.stderr)
        sys.stderr.writelines(["x\n", "y\n"])

    assert capture(body) == ["[LOG] out", "[ERROR] bad thing", "[ERROR] x", "[ERROR] y"]
    assert capsys.readouterr() == ("", "")


def test_output_outside_the_block_is_untouched(capsys: pytest.CaptureFixture[str]) -> None:
    print("before")
    collector = LogCollector()
    with capture_logs(collector):
        print("inside")
        print("inside err", file=sys.stderr)
    print("after")
    print("after err", file=sys.stderr)
    assert collector.formatted() == ["[LOG] inside", "[ERROR] inside err"]
    assert capsys.readouterr() == ("before\nafter\n", "after err\n")


def test_stream_proxy_delegates_attributes() -> None:
    install()
    install()  # idempotent: no proxy around a proxy
    proxy = sys.stdout
    assert type(proxy).__name__ == "_StreamProxy"
    assert type(proxy._wrapped).__name__ != "_StreamProxy"  # type: ignore[attr-defined]
    assert proxy.encoding == proxy._wrapped.encoding  # type: ignore[attr-defined]
    assert proxy.isatty() == proxy._wrapped.isatty()  # type: ignore[attr-defined]


def test_streams_replaced_after_install_are_wrapped_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    install()
    saved = sys.stdout
    sys.stdout = replacement = io.StringIO()  # as pytest's capsys or redirect_stdout would
    try:
        collector = LogCollector()
        with capture_logs(collector):
            print("captured")
        print("to the replacement")
        assert collector.formatted() == ["[LOG] captured"]
        assert replacement.getvalue() == "to the replacement\n"
        assert type(sys.stdout).__name__ == "_StreamProxy"
    finally:
        sys.stdout = saved


def test_write_of_bytes_is_a_type_error() -> None:
    with capture_logs(LogCollector()), pytest.raises(TypeError):
        sys.stdout.write(b"bytes")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# logging


def test_logging_levels_map_to_convex_levels(
    log: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)  # below the root level is captured all the same

    def body() -> None:
        log.debug("d %s", 1)
        log.info("i")
        log.warning("w")
        log.error("e")
        log.critical("c")
        logging.info("root %d", 2)

    assert capture(body) == [
        "[DEBUG] d 1",
        "[INFO] i",
        "[WARN] w",
        "[ERROR] e",
        "[ERROR] c",
        "[INFO] root 2",
    ]
    assert caplog.records == []  # captured records reach no other handler


def test_explicit_logger_levels_are_respected(log: logging.Logger) -> None:
    quiet = logging.getLogger("my_app.quiet")
    child = logging.getLogger("my_app.quiet.child")
    quiet.setLevel(logging.WARNING)
    try:
        lines = capture(
            lambda: [
                quiet.info("dropped"),
                child.debug("dropped too"),
                child.warning("kept"),
            ]
        )
    finally:
        quiet.setLevel(logging.NOTSET)
    assert lines == ["[WARN] kept"]


def test_logging_disable_is_respected(log: logging.Logger) -> None:
    logging.disable(logging.INFO)
    try:
        lines = capture(lambda: [log.info("dropped"), log.warning("kept")])
    finally:
        logging.disable(logging.NOTSET)
    assert lines == ["[WARN] kept"]


def test_logger_exception_includes_the_traceback(log: logging.Logger) -> None:
    def body() -> None:
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            log.exception("failed on %s", "purpose")

    [line] = capture(body)
    assert line.startswith("[ERROR] failed on purpose\nTraceback (most recent call last):\n")
    assert "1 / 0" in line
    assert line.endswith("ZeroDivisionError: division by zero")


def test_bad_format_arguments_do_not_raise(log: logging.Logger) -> None:
    [line] = capture(lambda: log.warning("%d", "not a number"))
    assert line.startswith("[WARN] '%d'")


def test_no_duplicate_output_to_other_handlers(
    log: logging.Logger, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    stream_handler = logging.StreamHandler(sys.stderr)
    log.addHandler(handler)
    logging.getLogger().addHandler(stream_handler)
    try:
        lines = capture(lambda: log.error("only once"))
        assert lines == ["[ERROR] only once"]
        assert seen == [] and caplog.records == []
        assert capsys.readouterr() == ("", "")

        log.error("outside")  # outside a capture every handler still gets the record
        assert [r.getMessage() for r in seen] == ["outside"]
        assert [r.getMessage() for r in caplog.records] == ["outside"]
        assert capsys.readouterr().err == "outside\n"
    finally:
        log.removeHandler(handler)
        logging.getLogger().removeHandler(stream_handler)


def test_logging_outside_the_block_behaves_as_without_syncline(
    log: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)  # the default root level, whatever pytest's --log-level
    collector = LogCollector()
    log.info("before, below the root level")
    log.warning("before")
    with capture_logs(collector):
        log.debug("inside")
    log.debug("after, below the root level")
    log.warning("after")
    assert collector.formatted() == ["[DEBUG] inside"]
    assert [r.getMessage() for r in caplog.records] == ["before", "after"]
    assert not log.isEnabledFor(logging.DEBUG)


def test_server_loggers_are_not_captured(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    server = logging.getLogger("syncline.database.committer")
    lines = capture(lambda: [server.debug("hidden"), server.warning("server trouble")])
    assert lines == []
    assert [r.getMessage() for r in caplog.records] == ["server trouble"]


def test_server_stream_handler_inside_an_execution_writes_to_the_real_stream(
    capsys: pytest.CaptureFixture[str],
) -> None:
    install()
    server = logging.getLogger("syncline.test_logs_server")
    handler = logging.StreamHandler(sys.stderr)  # the proxy, as a server would get it
    server.addHandler(handler)
    try:
        lines = capture(lambda: server.warning("to the console"))
    finally:
        server.removeHandler(handler)
    assert lines == []
    assert capsys.readouterr().err == "to the console\n"


# ---------------------------------------------------------------------------------------------
# isolation


def test_concurrent_threads_capture_only_their_own_lines(
    log: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    threads_count = 4
    rounds = 50
    barrier = threading.Barrier(threads_count)
    results: dict[int, list[str]] = {}

    def worker(n: int) -> None:
        collector = LogCollector()
        barrier.wait()
        with capture_logs(collector):
            for i in range(rounds):
                print(f"t{n}", end="")
                time.sleep(0)
                print(f" line {i}")
                log.info("t%d log %d", n, i)
        results[n] = collector.formatted()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    print("server output while they run")
    for thread in threads:
        thread.join()

    for n in range(threads_count):
        expected = []
        for i in range(rounds):
            expected += [f"[LOG] t{n} line {i}", f"[INFO] t{n} log {i}"]
        assert results[n] == expected
    assert capsys.readouterr().out == "server output while they run\n"


def test_asyncio_tasks_inside_the_block_share_its_collector(log: logging.Logger) -> None:
    async def task(name: str) -> None:
        print(f"{name} start")
        await asyncio.sleep(0.01)
        log.warning("%s done", name)

    async def main() -> None:
        await asyncio.gather(task("a"), task("b"), asyncio.to_thread(print, "in a thread"))

    collector = LogCollector()
    with capture_logs(collector):
        asyncio.run(main())  # the loop's own "Using selector" debug record is not captured
    assert sorted(collector.formatted()) == [
        "[LOG] a start",
        "[LOG] b start",
        "[LOG] in a thread",
        "[WARN] a done",
        "[WARN] b done",
    ]


def test_concurrent_event_loops_in_threads_stay_separate(log: logging.Logger) -> None:
    results: dict[str, list[str]] = {}

    def execution(name: str) -> None:
        async def step(i: int) -> None:
            await asyncio.sleep(0.001)
            print(f"{name} {i}")

        async def main() -> None:
            await asyncio.gather(*(step(i) for i in range(20)))

        collector = LogCollector()
        with capture_logs(collector):
            asyncio.run(main())
        results[name] = collector.formatted()

    threads = [threading.Thread(target=execution, args=(name,)) for name in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in ("x", "y"):
        assert sorted(results[name]) == sorted(f"[LOG] {name} {i}" for i in range(20))


def test_a_task_outliving_its_block_logs_like_the_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def main() -> list[str]:
        release = asyncio.Event()

        async def straggler() -> None:
            await release.wait()
            print("late")

        collector = LogCollector()
        with capture_logs(collector):
            task = asyncio.create_task(straggler())
            print("on time")
        release.set()
        await task
        return collector.formatted()

    assert asyncio.run(main()) == ["[LOG] on time"]
    assert capsys.readouterr().out == "late\n"


def test_nested_blocks_collect_into_the_innermost() -> None:
    outer, inner = LogCollector(), LogCollector()
    with capture_logs(outer):
        print("outer 1")
        with capture_logs(inner):
            print("inner")
        print("outer 2")
    assert outer.formatted() == ["[LOG] outer 1", "[LOG] outer 2"]
    assert inner.formatted() == ["[LOG] inner"]


# ---------------------------------------------------------------------------------------------
# limits and the collector


def test_long_line_is_truncated_without_splitting_a_character() -> None:
    # "é" is two bytes and straddles the cut, wherever the marker puts it.
    for filler in range(MAX_LOG_LINE_BYTES - 20, MAX_LOG_LINE_BYTES):
        message = "x" * filler + "é" * 20
        collector = LogCollector()
        collector.add("LOG", message)
        [line] = collector.lines
        encoded = line.message.encode("utf-8")
        assert len(encoded) <= MAX_LOG_LINE_BYTES
        assert len(encoded) >= MAX_LOG_LINE_BYTES - 1  # at most the half character is lost
        assert line.message.endswith(" (truncated)")
        head = line.message.removesuffix(" (truncated)")
        assert message.startswith(head) and "\ufffd" not in head


def test_line_at_the_limit_is_kept_whole() -> None:
    message = "x" * (MAX_LOG_LINE_BYTES - 2) + "é"
    assert len(message.encode()) == MAX_LOG_LINE_BYTES
    [line] = capture(lambda: print(message))
    assert line == f"[LOG] {message}"
    [line] = capture(lambda: print(message + "x"))
    assert (
        line.endswith(" (truncated)") and len(line.encode()) == len("[LOG] ") + MAX_LOG_LINE_BYTES
    )


def test_huge_partial_line_is_truncated() -> None:
    def body() -> None:
        for _ in range(100):
            sys.stdout.write("y" * 1000)

    [line] = capture(body)
    assert line == "[LOG] " + "y" * (MAX_LOG_LINE_BYTES - len(" (truncated)")) + " (truncated)"


def test_overflow_adds_one_warning_and_drops_the_rest(log: logging.Logger) -> None:
    def body() -> None:
        for i in range(MAX_LOG_LINES + 50):
            print(f"line {i}")
        log.error("dropped as well")

    lines = capture(body)
    assert len(lines) == MAX_LOG_LINES + 1
    assert lines[:MAX_LOG_LINES] == [f"[LOG] line {i}" for i in range(MAX_LOG_LINES)]
    assert lines[-1] == OVERFLOW_LINE


def test_log_line_shape() -> None:
    before = time.time() * 1000
    collector = LogCollector()
    collector.add("INFO", "hi")
    after = time.time() * 1000
    [line] = collector.lines
    assert isinstance(line, LogLine)
    assert (line.level, line.message) == ("INFO", "hi")
    assert before <= line.timestamp_ms <= after
    assert line.formatted() == "[INFO] hi"
    with pytest.raises(AttributeError):
        line.level = "LOG"  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown log level"):
        collector.add("WARNING", "x")
