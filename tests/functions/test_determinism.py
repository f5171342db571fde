"""Queries and mutations see a frozen clock, seeded randomness and no outside IO, through
the standard library itself; other threads, other tasks and code after the block do not."""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import datetime
import importlib
import os
import pickle
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncline.errors import SynclineError
from syncline.functions.determinism import (
    DeterminismError,
    deterministic,
    in_deterministic_execution,
    install,
    real_time,
    real_time_ns,
)

# A frozen instant far from the real clock, so "frozen" and "real" cannot be confused.
NOW_MS = 1_000_000_000_123.0
NOW_S = NOW_MS / 1000
# The classes the constructors really return, whether or not install() already ran.
REAL_DATETIME = type(datetime.datetime(2000, 1, 1))
REAL_DATE = type(datetime.date(2000, 1, 1))


@pytest.fixture(autouse=True, scope="module")
def _installed() -> None:
    install()


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on 127.0.0.1, opened outside any execution; yields its port."""
    server = socket.create_server(("127.0.0.1", 0))
    yield server.getsockname()[1]
    server.close()


def is_real_now(seconds: float) -> bool:
    return abs(seconds - real_time()) < 60


# -- the clock --------------------------------------------------------------------------------


async def test_time_is_frozen_for_the_whole_execution() -> None:
    with deterministic(NOW_MS, 1, "query"):
        first, first_ns = time.time(), time.time_ns()
        start = time.monotonic()
        await asyncio.sleep(0)
        await asyncio.sleep(0.02)
        assert time.time() == first == NOW_S
        assert time.time_ns() == first_ns == 1_000_000_000_123_000_000
        # The clocks asyncio and the runtime rely on keep running.
        assert time.monotonic() - start >= 0.015
        assert time.perf_counter() > 0
    assert is_real_now(time.time())
    assert abs(time.time_ns() - real_time_ns()) < 60 * 10**9


def test_time_module_calls_that_read_the_clock_are_frozen() -> None:
    with deterministic(NOW_MS, 1, "query"):
        assert time.localtime() == time.localtime(NOW_S)
        assert time.gmtime() == time.gmtime(NOW_S)
        assert time.ctime() == time.ctime(NOW_S)
        assert time.asctime() == time.asctime(time.localtime(NOW_S))
        assert time.strftime("%Y-%m-%d %H:%M:%S") == time.strftime(
            "%Y-%m-%d %H:%M:%S", time.localtime(NOW_S))
        assert time.clock_gettime(time.CLOCK_REALTIME) == NOW_S
        assert time.clock_gettime_ns(time.CLOCK_REALTIME) == 1_000_000_000_123_000_000
        # Explicit arguments are honoured.
        assert time.gmtime(0).tm_year == 1970
    assert time.gmtime().tm_year == time.gmtime(real_time()).tm_year


def test_datetime_now_is_frozen() -> None:
    utc = datetime.UTC
    with deterministic(NOW_MS, 1, "mutation"):
        expected_utc = REAL_DATETIME.fromtimestamp(NOW_S, utc)
        assert datetime.datetime.now(tz=utc) == expected_utc
        assert datetime.datetime.now(utc).microsecond == 123_000
        assert datetime.datetime.now() == REAL_DATETIME.fromtimestamp(NOW_S)
        assert datetime.datetime.today() == REAL_DATETIME.fromtimestamp(NOW_S)
        assert datetime.datetime.utcnow() == expected_utc.replace(tzinfo=None)
        assert datetime.date.today() == REAL_DATE.fromtimestamp(NOW_S)
        for value in (datetime.datetime.now(), datetime.datetime.utcnow(),
                      datetime.datetime.today()):
            assert type(value) is REAL_DATETIME
        assert type(datetime.date.today()) is REAL_DATE
    assert is_real_now(datetime.datetime.now(utc).timestamp())
    assert datetime.date.today() == REAL_DATE.fromtimestamp(real_time())


def test_datetime_classes_keep_working_with_real_instances() -> None:
    made = datetime.datetime(2020, 1, 1, 12, tzinfo=datetime.UTC)
    assert type(made) is REAL_DATETIME and type(datetime.date(2020, 1, 1)) is REAL_DATE
    # isinstance/issubclass both ways, with the patched name and the real class.
    assert isinstance(made, datetime.datetime) and isinstance(made, REAL_DATETIME)
    assert isinstance(made, datetime.date) and not isinstance(REAL_DATE(2020, 1, 1),
                                                                datetime.datetime)
    assert issubclass(REAL_DATETIME, datetime.datetime)
    assert issubclass(datetime.datetime, REAL_DATETIME)
    assert issubclass(datetime.datetime, datetime.date)
    # Dicts keyed by either class (adapter and dispatch tables) find the other.
    assert type(made) == datetime.datetime  # noqa: E721
    assert {datetime.datetime: "x"}[type(made)] == "x"
    assert {REAL_DATETIME: "y"}[datetime.datetime] == "y"
    # Alternate constructors, arithmetic and class attributes give real instances.
    for value in (
        datetime.datetime.fromtimestamp(0, datetime.UTC),
        datetime.datetime.fromisoformat("2020-01-01T00:00:00"),
        datetime.datetime.strptime("2020-01-02", "%Y-%m-%d"),
        datetime.datetime.combine(datetime.date(2020, 1, 1), datetime.time(3)),
        datetime.datetime.fromordinal(737425),
        made + datetime.timedelta(days=1),
        made.replace(year=2021),
        datetime.datetime.min,
        datetime.datetime.max,
    ):
        assert type(value) is REAL_DATETIME
    assert datetime.datetime.strptime("2020-01-02", "%Y-%m-%d") == REAL_DATETIME(2020, 1, 2)
    assert made - datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC) == datetime.timedelta(
        hours=12)
    assert type(datetime.date.fromisoformat("2020-01-01")) is REAL_DATE
    # pickle and copy round-trip.
    for value in (made, datetime.date(2020, 1, 1), REAL_DATETIME(2020, 1, 1, fold=1)):
        assert pickle.loads(pickle.dumps(value)) == value
        assert type(pickle.loads(pickle.dumps(value))) is type(value)
        assert copy.deepcopy(value) == value and type(copy.copy(value)) is type(value)
    assert pickle.loads(pickle.dumps(datetime.datetime)) is datetime.datetime


def test_datetime_subclasses_keep_their_type() -> None:
    class Stamp(datetime.datetime):
        pass

    assert type(Stamp(2020, 1, 1)) is Stamp
    assert type(Stamp.fromtimestamp(0)) is Stamp
    assert not isinstance(REAL_DATETIME(2020, 1, 1), Stamp)
    with deterministic(NOW_MS, 1, "query"):
        assert type(Stamp.now()) is Stamp
        assert Stamp.now() == REAL_DATETIME.fromtimestamp(NOW_S)


def test_real_time_ignores_the_frozen_clock() -> None:
    with deterministic(NOW_MS, 1, "query"):
        assert is_real_now(real_time())
        assert abs(real_time_ns() / 1e9 - real_time()) < 60


# -- randomness -------------------------------------------------------------------------------


def draw() -> list[object]:
    items = list(range(10))
    random.shuffle(items)
    return [
        random.random(), random.randint(0, 10**9), random.choice("abcdef"), items,
        random.uniform(0, 1), random.randrange(0, 10**9, 7), random.sample(range(100), 5),
        random.gauss(0, 1), random.getrandbits(64), random.randbytes(8),
        random.choices("abc", k=5), random.triangular(), random.expovariate(1.0),
    ]


def test_random_is_seeded_per_execution() -> None:
    with deterministic(NOW_MS, 42, "query"):
        first = draw()
        assert random.random() != random.random()
    with deterministic(NOW_MS, 42, "mutation"):
        again = draw()
    with deterministic(NOW_MS, 43, "query"):
        other = draw()
    assert first == again
    assert first != other


def test_executions_do_not_consume_the_global_generator() -> None:
    random.seed(5)
    expected = [random.random() for _ in range(3)]
    random.seed(5)
    got = [random.random()]
    with deterministic(NOW_MS, 1, "query"):
        random.seed(99)  # reseeds the execution's generator, not the global one
        [random.random() for _ in range(10)]
    got += [random.random() for _ in range(2)]
    assert got == expected


def test_unseeded_generators_and_reseeding_are_deterministic() -> None:
    def run(seed: int) -> tuple[float, float]:
        with deterministic(NOW_MS, seed, "query"):
            local = random.Random().random()
            random.seed()
            return local, random.random()

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_os_urandom_uuid4_and_secrets_are_seeded() -> None:
    def run(seed: int) -> tuple[bytes, uuid.UUID, uuid.UUID, str]:
        with deterministic(NOW_MS, seed, "mutation"):
            return os.urandom(16), uuid.uuid4(), uuid.uuid4(), secrets.token_hex(16)

    first = run(1)
    assert first == run(1)
    assert first != run(2)
    assert first[1] != first[2] and first[1].version == 4
    assert uuid.uuid4() != uuid.uuid4()
    assert os.urandom(16) != os.urandom(16)
    with deterministic(NOW_MS, 1, "query"), pytest.raises(ValueError):
        os.urandom(-1)


# -- refused IO -------------------------------------------------------------------------------


def test_network_is_refused(listener: int) -> None:
    sock = socket.socket()
    try:
        with deterministic(NOW_MS, 1, "query"):
            with pytest.raises(DeterminismError) as caught:
                sock.connect(("127.0.0.1", listener))
            assert str(caught.value) == (
                "Network access (socket.connect) is not allowed in a query: queries and "
                "mutations must be deterministic. Do it in an action instead."
            )
            with pytest.raises(DeterminismError, match=r"socket\.getaddrinfo.*action"):
                socket.create_connection(("localhost", listener))
            with pytest.raises(DeterminismError, match="urllib.Request"):
                urllib.request.urlopen(f"http://127.0.0.1:{listener}/")
            with socket.socket() as other, pytest.raises(DeterminismError, match=r"socket\.bind"):
                other.bind(("127.0.0.1", 0))
    finally:
        sock.close()
    assert isinstance(caught.value, SynclineError)


def test_processes_are_refused() -> None:
    with deterministic(NOW_MS, 1, "mutation"):
        with pytest.raises(DeterminismError) as caught:
            subprocess.run([sys.executable, "-c", "pass"])
        assert "subprocess.Popen" in str(caught.value)
        assert "not allowed in a mutation" in str(caught.value)
        assert "action" in str(caught.value)
        with pytest.raises(DeterminismError, match=r"os\.system"):
            os.system("true")
        with pytest.raises(DeterminismError, match=r"os\.kill"):
            os.kill(os.getpid(), 0)


def test_writing_files_is_refused_and_reading_allowed(tmp_path: Path) -> None:
    existing = tmp_path / "existing.txt"
    existing.write_text("hello")
    new = tmp_path / "new.txt"
    with deterministic(NOW_MS, 1, "query"):
        assert existing.read_text() == "hello"
        with open(existing, "rb") as file:
            assert file.read() == b"hello"
        assert os.listdir(tmp_path) == ["existing.txt"]
        for mode in ("w", "a", "x", "r+", "wb"):
            with pytest.raises(DeterminismError, match="Writing to the file system.*action"), open(
                new if mode in "wx" else existing, mode
            ):
                pass
        with pytest.raises(DeterminismError):
            os.open(new, os.O_WRONLY | os.O_CREAT)
        with pytest.raises(DeterminismError):
            new.write_text("nope")
        with pytest.raises(DeterminismError, match=r"os\.remove"):
            os.remove(existing)
        with pytest.raises(DeterminismError, match=r"os\.rename"):
            os.rename(existing, new)
        with pytest.raises(DeterminismError, match=r"os\.mkdir"):
            os.mkdir(tmp_path / "dir")
        with pytest.raises(DeterminismError, match=r"shutil\.copyfile"):
            shutil.copy(existing, new)
        with pytest.raises(DeterminismError, match=r"os\.chmod"):
            os.chmod(existing, 0o600)
        with pytest.raises(DeterminismError):
            tempfile.mkstemp()
    assert os.listdir(tmp_path) == ["existing.txt"]
    assert existing.read_text() == "hello"
    new.write_text("after the block")
    os.remove(new)


def test_importing_inside_an_execution_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The import system caches bytecode, tolerating only OSError; refusing its write
    # would fail the import.
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "determinism_fresh_module.py").write_text("VALUE = 42\n")
    importlib.invalidate_caches()
    try:
        with deterministic(NOW_MS, 1, "query"):
            module = importlib.import_module("determinism_fresh_module")
        assert module.VALUE == 42
        assert list((tmp_path / "__pycache__").glob("determinism_fresh_module.*.pyc"))
    finally:
        sys.modules.pop("determinism_fresh_module", None)


def test_finalizers_of_outside_objects_may_clean_up(tmp_path: Path) -> None:
    # Finalizers run wherever the last reference drops or the collector runs; the IO
    # of an object the server made is not the execution's.
    class Holder:
        pass

    class Cleaner:
        def __init__(self, path: Path) -> None:
            self.path = path

        def __del__(self) -> None:
            os.remove(self.path)

    finalized, deleted = tmp_path / "finalized", tmp_path / "deleted.txt"
    finalized.mkdir()
    deleted.write_text("x")
    holder, cleaner = Holder(), Cleaner(deleted)
    weakref.finalize(holder, shutil.rmtree, finalized)
    with deterministic(NOW_MS, 1, "query"):
        del holder, cleaner  # the last references drop here, so the finalizers run here
        assert not finalized.exists()
        assert not deleted.exists()


# -- scope: tasks, threads, nesting -----------------------------------------------------------


async def test_tasks_spawned_inside_see_the_execution() -> None:
    async def probe(delay: float) -> tuple[float, datetime.datetime, bool, float]:
        await asyncio.sleep(delay)
        return time.time(), datetime.datetime.now(), in_deterministic_execution(), (
            random.random())

    with deterministic(NOW_MS, 3, "mutation"):
        results = await asyncio.gather(*(probe(0.001 * i) for i in range(5)))
    assert {r[0] for r in results} == {NOW_S}
    assert {r[1] for r in results} == {REAL_DATETIME.fromtimestamp(NOW_S)}
    assert all(r[2] for r in results)
    assert len({r[3] for r in results}) == 5
    assert not in_deterministic_execution()


async def test_tasks_started_outside_are_unaffected() -> None:
    seen: list[tuple[float, bool]] = []
    stop = asyncio.Event()

    async def outside() -> None:
        while not stop.is_set():
            seen.append((time.time(), in_deterministic_execution()))
            await asyncio.sleep(0.001)

    task = asyncio.create_task(outside())
    await asyncio.sleep(0.005)
    with deterministic(NOW_MS, 1, "query"):
        for _ in range(5):
            await asyncio.sleep(0.002)
            assert time.time() == NOW_S
    stop.set()
    await task
    assert seen and all(is_real_now(t) and not inside for t, inside in seen)


def test_other_threads_are_unaffected(listener: int, tmp_path: Path) -> None:
    entered = threading.Event()

    def other_thread() -> tuple[float, bool, bytes]:
        assert entered.wait(10)
        with socket.create_connection(("127.0.0.1", listener), timeout=10):
            pass
        (tmp_path / "other.txt").write_text("written by another thread")
        os.remove(tmp_path / "other.txt")
        return time.time(), in_deterministic_execution(), os.urandom(8)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(other_thread)
        with deterministic(NOW_MS, 1, "query"):
            entered.set()
            seen_time, inside, noise = future.result(timeout=10)
            assert time.time() == NOW_S
            assert in_deterministic_execution()
    assert is_real_now(seen_time)
    assert not inside
    with deterministic(NOW_MS, 1, "query"):
        assert noise != os.urandom(8)


def test_concurrent_executions_on_worker_threads_are_independent() -> None:
    barrier = threading.Barrier(2)

    def worker(now_ms: float, seed: int) -> list[object]:
        async def execution() -> list[object]:
            with deterministic(now_ms, seed, "query"):
                values: list[object] = []
                for _ in range(5):
                    barrier.wait(10)  # both executions are live at once
                    await asyncio.sleep(0)
                    values += [time.time(), random.random(), uuid.uuid4()]
                return values

        return asyncio.run(execution())

    def sequential(now_ms: float, seed: int) -> list[object]:
        with deterministic(now_ms, seed, "query"):
            return [v for _ in range(5)
                    for v in (time.time(), random.random(), uuid.uuid4())]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        a = pool.submit(worker, 1_000.0, 1)
        b = pool.submit(worker, 2_000.0, 2)
        results = a.result(timeout=30), b.result(timeout=30)
    assert results[0] == sequential(1_000.0, 1)
    assert results[1] == sequential(2_000.0, 2)
    assert not in_deterministic_execution()


def test_nesting_restores_the_outer_execution() -> None:
    assert not in_deterministic_execution()
    with deterministic(NOW_MS, 1, "mutation"):
        with deterministic(5_000.0, 2, "query"):
            assert time.time() == 5.0
            with socket.socket() as sock, pytest.raises(DeterminismError, match="in a query"):
                sock.connect(("127.0.0.1", 9))
        assert time.time() == NOW_S
        with socket.socket() as sock, pytest.raises(DeterminismError, match="in a mutation"):
            sock.connect(("127.0.0.1", 9))
    assert not in_deterministic_execution()


def test_the_block_ends_even_on_error() -> None:
    with pytest.raises(RuntimeError), deterministic(NOW_MS, 1, "query"):
        raise RuntimeError("boom")
    assert not in_deterministic_execution()
    assert is_real_now(time.time())


def test_bad_arguments_and_idempotent_install() -> None:
    with pytest.raises(ValueError, match="function_kind"), deterministic(NOW_MS, 1, "action"):
        pass
    with pytest.raises(ValueError, match="finite"), deterministic(float("nan"), 1, "query"):
        pass
    patched = time.time, datetime.datetime, random.random, os.urandom
    install()
    install()
    assert (time.time, datetime.datetime, random.random, os.urandom) == patched
