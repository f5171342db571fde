"""The write log's conflict check, including the bound on how far back it looks."""

from syncline.database.read_set import ReadSet
from syncline.database.write_log import LoggedCommit, WriteLog, WrittenDocument


def read_set(*keys: bytes):
    reads = ReadSet()
    for key in keys:
        reads.add_point(1, key)
    return reads.freeze()


def commit(ts: int, key: bytes) -> LoggedCommit:
    return LoggedCommit(ts, ((1, key, 0),), (WrittenDocument("t", f"doc{ts}"),))


def test_a_conflict_is_the_newest_commit_into_the_read_set():
    log = WriteLog(horizon_ts=0)
    for ts, key in ((1, b"a"), (2, b"b"), (3, b"a"), (4, b"c")):
        log.append(commit(ts, key))
    assert log.find_conflict(read_set(b"a"), 0).ts == 3
    assert log.find_conflict(read_set(b"a"), 3) is None
    assert log.find_conflict(read_set(b"z"), 0) is None


def test_past_max_commits_the_answer_is_a_conflict_without_a_document():
    log = WriteLog(horizon_ts=0)
    for ts in range(1, 11):
        log.append(commit(ts, b"other"))
    assert log.find_conflict(read_set(b"a"), 0) is None
    assert log.find_conflict(read_set(b"a"), 0, max_commits=10) is None
    bounded = log.find_conflict(read_set(b"a"), 0, max_commits=9)
    assert bounded is not None and bounded.document is None
    assert log.find_conflict(read_set(b"a"), 5, max_commits=9) is None


def test_a_snapshot_older_than_the_log_conflicts():
    log = WriteLog(horizon_ts=5)
    assert log.find_conflict(read_set(b"a"), 4).ts == 5
