"""The function log store (syncline/system/function_logs.py): bounds, persistence, batching."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from syncline.errors import InvalidSettingError
from syncline.functions import ExecutionRecord
from syncline.functions.logs import LogLine
from syncline.system.function_log_file import FILE_NAME
from syncline.system.function_logs import FLUSH_ROWS, FunctionLogPolicy, FunctionLogs

HOUR = 3600.0


def rec(i: int, lines: int = 1) -> ExecutionRecord:
    return ExecutionRecord(f"req{i}", "m:f", "query", 1_000.0 + i, 2.5, i % 2 == 0,
                           None if i % 2 == 0 else f"error {i}",
                           tuple(LogLine("LOG", f"line {i}.{n}", 1_000.5 + i) for n in range(lines)))


def rows_on_disk(directory: Path) -> int:
    with sqlite3.connect(directory / FILE_NAME) as conn:
        return conn.execute("SELECT count(*) FROM entries").fetchone()[0]


class FakeClock:
    def __init__(self, ms: float = 1_000_000_000.0) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms


def test_entries_survive_reopening_with_their_numbers(tmp_path: Path) -> None:
    log = FunctionLogs(tmp_path)
    for i in range(30):
        log.record(rec(i, lines=i % 3))
    before = log.last(30)
    log.close()

    reopened = FunctionLogs(tmp_path)
    try:
        after = reopened.last(100)
        assert [(e.seq, e.ts_ms, e.record) for e in after] == [
            (e.seq, e.ts_ms, e.record) for e in before]
        assert [e.seq for e in after] == list(range(1, 31))
        reopened.record(rec(99))
        newest = reopened.last(1)[0]
        assert newest.seq == 31 and newest.ts_ms > before[-1].ts_ms  # numbering goes on
        assert [e.seq for e in reopened.after_seq(28, 10)] == [29, 30, 31]
        assert [e.seq for e in reopened.after_ts(before[-2].ts_ms, 10)] == [30, 31]
    finally:
        reopened.close()


def test_count_bound_holds_in_memory_and_on_disk(tmp_path: Path) -> None:
    log = FunctionLogs(tmp_path, FunctionLogPolicy(max_entries=7))
    for i in range(50):
        log.record(rec(i))
    assert len(log) == 7
    assert [e.seq for e in log.last(100)] == list(range(44, 51))
    log.close()
    assert rows_on_disk(tmp_path) == 7
    # A lower bound at the next start prunes what is on disk too.
    smaller = FunctionLogs(tmp_path, FunctionLogPolicy(max_entries=3))
    try:
        assert [e.seq for e in smaller.last(100)] == [48, 49, 50]
        assert rows_on_disk(tmp_path) == 3
    finally:
        smaller.close()


def test_age_bound_holds_in_memory_on_disk_and_at_start(tmp_path: Path) -> None:
    clock = FakeClock()
    log = FunctionLogs(tmp_path, FunctionLogPolicy(max_age_s=HOUR), now_ms=clock)
    for i in range(5):
        log.record(rec(i))
    clock.ms += 30 * 60_000
    for i in range(5, 8):
        log.record(rec(i))
    clock.ms += 40 * 60_000  # the first five are now 70 minutes old
    assert [e.seq for e in log.last(100)] == [6, 7, 8]  # reading drops them
    log.record(rec(8))
    log.close()  # the last write prunes the file
    assert rows_on_disk(tmp_path) == 4

    clock.ms += 2 * 3_600_000  # everything expired while stopped
    reopened = FunctionLogs(tmp_path, FunctionLogPolicy(max_age_s=HOUR), now_ms=clock)
    try:
        assert len(reopened) == 0 and reopened.last(10) == []
        assert rows_on_disk(tmp_path) == 0
        reopened.record(rec(9))
        assert reopened.last(1)[0].seq == 10  # numbering survives an emptied file
    finally:
        reopened.close()


def test_no_disk_write_per_call(tmp_path: Path) -> None:
    """Appends are written in batches by the writer thread: never one per call."""
    log = FunctionLogs(tmp_path, FunctionLogPolicy(flush_interval_s=HOUR))
    try:
        for i in range(FLUSH_ROWS - 1):
            log.record(rec(i))
        # Fewer than FLUSH_ROWS wait and the interval is an hour: nothing was written.
        assert log.write_batches == 0 and log.stats()["pending"] == FLUSH_ROWS - 1
        calls = 5 * FLUSH_ROWS
        for i in range(FLUSH_ROWS - 1, calls):
            log.record(rec(i))
    finally:
        log.close()
    assert log.rows_written == calls == rows_on_disk(tmp_path)
    # Each wake-up of the writer takes at least FLUSH_ROWS entries, plus one final write.
    assert 1 <= log.write_batches <= calls // FLUSH_ROWS + 1


def test_memory_only_log_is_bounded_and_writes_nothing(tmp_path: Path) -> None:
    log = FunctionLogs(None, FunctionLogPolicy(max_entries=4))
    for i in range(10):
        log.record(rec(i))
    assert len(log) == 4 and log.stats()["pending"] == 0 and log.write_batches == 0
    log.close()
    assert not (tmp_path / FILE_NAME).exists()


async def test_a_long_poll_wakes_on_a_record_from_another_thread() -> None:
    log = FunctionLogs(None)
    log.record(rec(0))
    cursor = log.last(1)[0].ts_ms
    waiting = asyncio.create_task(log.wait_after(cursor, 3600))
    await asyncio.sleep(0)  # registered
    assert not waiting.done()
    thread = threading.Thread(target=log.record, args=(rec(1),))
    thread.start()
    thread.join()
    await asyncio.wait_for(waiting, 60)  # woken, far before its hour
    assert [e.record.request_id for e in log.after_ts(cursor, 10)] == ["req1"]
    assert log._waiters == []


async def test_release_waiters_ends_long_polls() -> None:
    log = FunctionLogs(None)
    waiting = asyncio.create_task(log.wait_after(log.position(), 3600))
    await asyncio.sleep(0)
    log.release_waiters()
    await asyncio.wait_for(waiting, 60)
    await asyncio.wait_for(log.wait_after(log.position(), 3600), 60)  # no longer waits


def test_position_is_above_every_later_entry() -> None:
    clock = FakeClock()
    log = FunctionLogs(None, now_ms=clock)
    log.record(rec(0))
    clock.ms -= 5_000  # the wall clock went back
    cursor = log.position()
    log.record(rec(1))
    assert [e.record.request_id for e in log.after_ts(cursor, 10)] == ["req1"]


@pytest.mark.parametrize(("env", "raw"), [
    ("SYNCLINE_FUNCTION_LOGS_MAX", "0"), ("SYNCLINE_FUNCTION_LOGS_MAX", "1e4"),
    ("SYNCLINE_FUNCTION_LOGS_MAX", "100001"), ("SYNCLINE_FUNCTION_LOGS_RETENTION_S", "0.5"),
    ("SYNCLINE_FUNCTION_LOGS_RETENTION_S", "a week"), ("SYNCLINE_FUNCTION_LOGS_FLUSH_S", "0"),
])
def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch, env: str, raw: str) -> None:
    monkeypatch.setenv(env, raw)
    with pytest.raises(InvalidSettingError, match=env):
        FunctionLogPolicy.from_env()


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert FunctionLogPolicy.from_env() == FunctionLogPolicy(10_000, 7 * 24 * HOUR, 1.0)
    monkeypatch.setenv("SYNCLINE_FUNCTION_LOGS_MAX", "500")
    monkeypatch.setenv("SYNCLINE_FUNCTION_LOGS_RETENTION_S", "86400")
    monkeypatch.setenv("SYNCLINE_FUNCTION_LOGS_FLUSH_S", "0.25")
    assert FunctionLogPolicy.from_env() == FunctionLogPolicy(500, 86400.0, 0.25)


def test_an_unreadable_log_file_is_moved_aside_and_the_log_starts_afresh(tmp_path: Path) -> None:
    garbage = b"this is not an SQLite database, " * 100
    (tmp_path / FILE_NAME).write_bytes(garbage)
    log = FunctionLogs(tmp_path)
    try:
        log.record(rec(0))
    finally:
        log.close()
    assert rows_on_disk(tmp_path) == 1
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(f"{FILE_NAME}.unreadable-")]
    assert [p.read_bytes() for p in kept] == [garbage]  # nothing is lost


def test_a_log_file_that_cannot_be_opened_leaves_the_log_in_memory(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).mkdir()  # a directory where the file should be
    log = FunctionLogs(tmp_path)
    try:
        log.record(rec(0))
        assert len(log) == 1 and log.stats()["persistent"] is False
    finally:
        log.close()
