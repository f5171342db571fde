"""The official clients against a real `syncline dev` process, over the WebSocket sync protocol.

A. The Python client (PyPI `convex`, a wrapper around the Rust `convex` crate):
   round trips, int64, errors, live subscriptions and `watch_all` consistency.
B. The npm `convex` package's ConvexClient in Node: the checks live in
   tests/js/sync_client.test.mjs; each test here runs one of them (so a known
   server bug fails only its own check). The npm dependencies must be installed
   first (`npm ci --prefix tests/js`).

Both drive tests/e2e/apps/live.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, copy_app, run_node_script, start_server

try:
    from convex import ConvexClient, ConvexError, ConvexInt64
except ImportError:  # the npm tests below run without it
    ConvexClient = ConvexError = ConvexInt64 = None

JS_DIR = Path(__file__).resolve().parent.parent / "js"
SCRIPT = JS_DIR / "sync_client.test.mjs"

# -- fixtures and helpers ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_app("live", tmp_path_factory.mktemp("live")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def python_client_problem(live_server) -> Exception | None:
    """Why the Python client cannot talk to the server, or None: checked once, so that a
    server it cannot reach costs one timeout rather than one per test."""
    if ConvexClient is None:
        return ImportError("the `convex` package is missing: pip install -e '.[test]'")
    client = ConvexClient(live_server.url)
    try:
        with deadline(5, "the Python client's first query"):
            assert client.query("numbers:echo", {"value": "ping"}) == "ping"
    except Exception as e:
        return e
    return None


@pytest.fixture
def connect(live_server, python_client_problem):
    """Call in a test to get a new ConvexClient (each test owns its clients)."""
    def connect() -> ConvexClient:
        if python_client_problem is not None:
            raise AssertionError(
                f"the Python client cannot reach the server: {python_client_problem!r}")
        return ConvexClient(live_server.url)
    return connect


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Fail a blocking client call that takes longer than `seconds`.

    The Python client blocks in Rust holding the GIL, so no watchdog thread can run;
    it does check for signals about once a second, so a SIGALRM handler can raise."""
    def expire(signum, frame):
        raise TimeoutError(f"{what}: no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def raw(value):
    """`watch_all()` results: the blocking iterator wraps values as {"type": "value",
    "value": v}, the async one does not."""
    if isinstance(value, dict) and value.get("type") == "value" and "value" in value:
        return value["value"]
    return value


# -- A. the Python client ---------------------------------------------------------------------

def test_python_query_mutation_action_round_trips(connect):
    client = connect()
    with deadline(10, "round trips"):
        assert client.query("numbers:double", {"value": ConvexInt64(21)}) == ConvexInt64(42)
        big = client.query("numbers:big")
        assert big == {"max": ConvexInt64(2**63 - 1), "min": ConvexInt64(-(2**63)),
                       "float": 1.5}
        assert type(big["max"]) is ConvexInt64
        assert type(big["float"]) is float
        echoed = client.query("numbers:echo", {"value": [ConvexInt64(-5), 3, b"\x00\xff"]})
        # A plain Python int is a float64 on the wire.
        assert echoed == [ConvexInt64(-5), 3.0, b"\x00\xff"]
        assert type(echoed[1]) is float

        channel = unique("py-rt")
        message_id = client.mutation(
            "messages:send", {"channel": channel, "author": "py", "body": "hello"})
        assert isinstance(message_id, str) and message_id
        assert client.action("messages:send_via_action", {"channel": channel, "body": "x"}) == 2
        listed = client.query("messages:list", {"channel": channel})
        assert [(m["author"], m["body"]) for m in listed] == [("py", "hello"), ("action", "x")]
        assert listed[0]["_id"] == message_id


def test_python_errors(connect):
    client = connect()
    channel = unique("py-errors")
    with deadline(10, "errors"):
        with pytest.raises(ConvexError) as from_query:
            client.query("messages:query_error")
        assert from_query.value.data == "plain string data"

        with pytest.raises(ConvexError) as from_action:
            client.action("messages:action_error")
        assert from_action.value.data == {"from": "action"}

        # A plain exception is not a ConvexError; its message reaches the client (dev).
        with pytest.raises(Exception) as plain:
            client.mutation("messages:fail_after_write", {"channel": channel})
        assert not isinstance(plain.value, ConvexError)
        assert "exploded after writing" in str(plain.value)
        assert client.query("messages:list", {"channel": channel}) == []  # rolled back


def test_python_mutation_convex_error(connect):
    client = connect()  # its own: a hung mutation must not block others
    with deadline(5, "a mutation raising ConvexError"), pytest.raises(ConvexError) as error:
        client.mutation("messages:application_error", {"code": "PY"})
    assert error.value.data == {"code": "PY", "n": 1}
    assert "ConvexError" in str(error.value)


def test_python_subscribe_live_updates(live_server, connect):
    client, other = connect(), connect()
    name = unique("py-sub")
    with deadline(10, "subscription updates"):
        subscription = client.subscribe("counter:get", {"name": name})
        assert next(subscription) == 0
        assert other.mutation("counter:increment", {"name": name}) == 1
        assert next(subscription) == 1
        live_server.run("mutation", "counter:increment", {"name": name})  # over HTTP
        assert next(subscription) == 2
    subscription.unsubscribe()


def test_python_watch_all_list_and_count_never_disagree(live_server, connect):
    """Every snapshot `watch_all()` yields shows the list and its count at one timestamp,
    while waves of concurrent inserts land."""
    channel = unique("py-watch")
    waves, per_wave = 6, 15
    total = waves * per_wave
    client = connect()
    with deadline(10, "subscribing"):
        listed = client.subscribe("messages:list", {"channel": channel})
        counted = client.subscribe("messages:count", {"channel": channel})
        watch = client.watch_all()

    async def insert_waves() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            async def send(i: int) -> None:
                response = await http.post(f"{live_server.url}/api/mutation", json={
                    "path": "messages:send", "format": "json",
                    "args": {"channel": channel, "author": "w", "body": str(i)}})
                assert response.status_code == 200, response.text
            for wave in range(waves):
                await asyncio.gather(*(send(wave * per_wave + i) for i in range(per_wave)))
                await asyncio.sleep(0.01)

    async def collect() -> list[tuple[list, float]]:
        # The async iterator lets the inserts run in this loop meanwhile (the blocking
        # one holds the GIL).
        writer = asyncio.create_task(insert_waves())
        snapshots: list[tuple[list, float]] = []
        give_up = time.monotonic() + 20
        while True:
            snapshot = await asyncio.wait_for(watch.__anext__(), give_up - time.monotonic())
            if listed.id in snapshot and counted.id in snapshot:
                messages, count = raw(snapshot[listed.id]), raw(snapshot[counted.id])
                snapshots.append((messages, count))
                if count == total:
                    break
        await writer
        return snapshots

    snapshots = asyncio.run(collect())
    assert snapshots, "watch_all yielded no snapshot with both queries"
    counts = [count for _, count in snapshots]
    for messages, count in snapshots:
        assert len(messages) == count, f"list of {len(messages)} shown with count {count}"
        assert len({m["_id"] for m in messages}) == len(messages)
    assert counts == sorted(counts), f"the count went backwards: {counts}"
    assert counts[-1] == total
    assert sorted(int(m["body"]) for m in snapshots[-1][0]) == list(range(total))


# -- B. the npm client ------------------------------------------------------------------------

def run_node_check(server: Server, check: str) -> None:
    stdout = run_node_script(server, "sync_client.test.mjs", check, timeout=60)
    assert "all checks passed" in stdout, stdout


@pytest.mark.parametrize("check", [
    "live_updates",
    "round_trips",
    "exactly_once_request_or_transition_lost",
    "exactly_once_response_lost",
    "optimistic_update",
    "paginated_client",
    "paginated_pages",
    "paginated_last_page_grows",
])
def test_npm_client(live_server, check):
    run_node_check(live_server, check)


def test_npm_client_socket_killed_right_after_sending(tmp_path):
    # Its own server. Killing the socket while mutations await their commit used to kill
    # the committer thread (a cancelled commit future) and lose the mutation log entry;
    # 4 rounds of 5 mutations hit that 11 times in 12 single rounds.
    server = start_server(copy_app("live", tmp_path))
    try:
        run_node_check(server, "exactly_once_socket_killed_after_send")
    finally:
        server.stop()
