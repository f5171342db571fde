"""The worker pool: core threads normally, extra ones while slow jobs hold them."""

import threading
from concurrent.futures import wait

import pytest

from syncline.functions.workers import WorkerPool


@pytest.fixture
def pool():
    pool = WorkerPool("test-pool", core=2, maximum=4, grow_after_s=0.01, idle_timeout_s=0.2)
    yield pool
    pool.shutdown(cancel_futures=True)


def test_quick_jobs_use_only_the_core_threads(pool):
    futures = [pool.submit(lambda i=i: i * 2) for i in range(200)]
    assert [f.result(timeout=10) for f in futures] == [i * 2 for i in range(200)]
    assert pool.thread_count <= 2


def test_a_quick_job_is_not_stuck_behind_slow_ones(pool):
    release = threading.Event()
    slow = [pool.submit(release.wait, 30) for _ in range(3)]  # more than the core threads
    quick = pool.submit(lambda: "done")
    # The pool grows past its two core threads, so the quick job finishes while every slow
    # job still waits: if it did not grow, this would time out.
    assert quick.result(timeout=10) == "done"
    assert not any(f.done() for f in slow)
    assert 2 < pool.thread_count <= 4
    release.set()
    wait(slow, timeout=10)
    assert all(f.result() is True for f in slow)


def test_never_more_than_maximum_threads(pool):
    release = threading.Event()
    slow = [pool.submit(release.wait, 30) for _ in range(6)]
    quick = pool.submit(lambda: "done")
    done, _ = wait([quick], timeout=0.5)
    assert not done  # four threads, all held by slow jobs: the fifth job waits its turn
    assert pool.thread_count == 4
    release.set()
    assert quick.result(timeout=10) == "done"
    wait(slow, timeout=10)


def test_exceptions_reach_the_future(pool):
    future = pool.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        future.result(timeout=10)


def test_submit_after_shutdown_is_refused():
    pool = WorkerPool("closed", core=1, maximum=1)
    pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)


def test_growth_does_not_depend_on_when_threads_take_their_jobs():
    """Regression: the pool only noticed it was full if no thread looked idle at submit
    time, and a thread about to take a job looks idle, so it sometimes never grew."""
    for _ in range(50):
        pool = WorkerPool("race", core=2, maximum=3, grow_after_s=0.005)
        release = threading.Event()
        slow = [pool.submit(release.wait, 30) for _ in range(2)]
        quick = pool.submit(lambda: "done")
        try:
            assert quick.result(timeout=10) == "done"
        finally:
            release.set()
            wait(slow, timeout=10)
            pool.shutdown()
