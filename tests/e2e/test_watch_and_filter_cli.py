"""`syncline run --watch` and `syncline data TABLE --filter`, against a real `syncline dev`."""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest

from .conftest import Server, copy_app, start_server

# Inserted in this order, so creation order is ada, bob, cy, dee, typed.
THINGS = [
    {"name": "ada", "age": 36, "tags": ["x"], "address": {"city": "London", "zip": 1}},
    {"name": "bob", "age": 17, "address": {"city": "Paris"}},
    {"name": "cy", "age": None, "nickname": None},
    {"name": "dee", "age": 50, "address": {"city": "London"}, "nickname": "d"},
]
ALL = {"ada", "bob", "cy", "dee", "typed"}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_app("cliviews", tmp_path_factory.mktemp("owncli")))
    try:
        for doc in THINGS:
            assert server.run("mutation", "things:put", {"doc": doc})["status"] == "success"
        assert server.run("mutation", "things:put_typed")["status"] == "success"
        yield server
    finally:
        server.stop()


def cli(server: Server, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("SYNCLINE_URL", "CONVEX_URL", "SYNCLINE_ADMIN_KEY", "CONVEX_ADMIN_KEY")}
    return subprocess.run([sys.executable, "-m", "syncline.cli.main", *args,
                           "--dir", str(server.app_dir)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout,
                          env={**clean, "COLUMNS": "200"})


# -- data --filter ----------------------------------------------------------------------------


def filtered(server: Server, *filters: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The names of the documents `syncline data things --filter ...` prints, in order."""
    args = [arg for f in filters for arg in ("--filter", f)]
    result = cli(server, "data", "things", "--format", "jsonl", *args, *extra)
    assert result.returncode == 0, result.stderr
    return [json.loads(line)["name"] for line in result.stdout.splitlines()]


@pytest.mark.parametrize(("condition", "expected"), [
    ("age eq 36", {"ada"}),
    ("age neq 36", ALL - {"ada"}),
    ("age gt 17", {"ada", "dee"}),
    ("age gte 17", {"ada", "bob", "dee"}),
    # As in a query's .filter(): null and a missing field sort below every number.
    ("age lt 36", {"bob", "cy", "typed"}),
    ("age lte 36", {"ada", "bob", "cy", "typed"}),
    ("age >= 50", {"dee"}),
    ("age!=36", ALL - {"ada"}),
    ("name eq ada", {"ada"}),  # not JSON: a string
    ('name eq "ada"', {"ada"}),
    ('name eq "36"', set()),
    ('tags eq ["x"]', {"ada"}),
    ('address eq {"city": "Paris"}', {"bob"}),
    ("nickname eq null", {"cy"}),
    ("age is number", {"ada", "bob", "dee"}),
    ("age is null", {"cy"}),
    ("age is unset", {"typed"}),
    ("age is not unset", ALL - {"typed"}),
    ("nickname is not null", ALL - {"cy"}),
    ("n is bigint", {"typed"}),
    ("raw is bytes", {"typed"}),
    ("address is object", {"ada", "bob", "dee"}),
    ("tags is array", {"ada"}),
    ("name is string", ALL),
    ("_id is id", ALL),
    ("name is id", set()),
    ("age type boolean", set()),
])
def test_each_operator(server, condition, expected):
    assert set(filtered(server, condition)) == expected


def test_nested_fields_and_multiple_filters(server):
    assert set(filtered(server, "address.city eq London")) == {"ada", "dee"}
    assert filtered(server, "address.zip eq 1") == ["ada"]
    assert filtered(server, "address.city eq London", "age gt 40") == ["dee"]
    assert filtered(server, "address.city eq London", "age gt 60") == []


def test_filters_with_limit_and_order(server):
    assert filtered(server, "age is number", extra=("--order", "asc", "--limit", "2")) == [
        "ada", "bob"]
    assert filtered(server, "age is number", extra=("--limit", "2")) == ["dee", "bob"]
    pretty = cli(server, "data", "things", "--filter", "age is number", "--limit", "2")
    assert pretty.returncode == 0, pretty.stderr
    assert len(pretty.stdout.splitlines()) == 3  # the header and two documents
    assert "dee" in pretty.stdout and "bob" in pretty.stdout and "ada" not in pretty.stdout
    assert "Showing the 2 newest matching documents" in pretty.stderr
    none = cli(server, "data", "things", "--filter", "age gt 100")
    assert none.returncode == 0, none.stderr
    assert "There are no documents in things matching the filters." in none.stdout


@pytest.mark.parametrize(("condition", "message"), [
    ("age like 3", "unknown operator 'like'"),
    ("age", "Cannot read 'age'"),
    ("age eq", "has no value to compare with"),
    ("age is float", "float is not a type"),
    ("$age eq 1", "starts with '$', which is reserved"),
    ("address..city eq 1", "Field name cannot be empty"),
])
def test_a_bad_filter_is_a_clear_error(server, condition, message):
    result = cli(server, "data", "things", "--filter", condition)
    assert result.returncode != 0
    assert message in result.stderr
    assert result.stdout == ""


def test_the_documents_api_checks_its_filters(server):
    def get(filters: str) -> httpx.Response:
        return httpx.get(f"{server.url}/api/data/documents", timeout=30,
                         params={"table": "things", "filters": filters},
                         headers={"Authorization": f"Convex {server.admin_key}"})

    ok = get(json.dumps([{"field": "n", "op": "eq", "value": {"$integer": "BwAAAAAAAAA="}}]))
    assert ok.status_code == 200, ok.text
    assert [doc["name"] for doc in ok.json()["documents"]] == ["typed"]
    for bad, words in [
        ("not json", "JSON array"),
        (json.dumps({"field": "age"}), "JSON array"),
        (json.dumps([{"field": "age", "op": "like", "value": 1}]), 'unknown operator "like"'),
        (json.dumps([{"field": 3, "op": "eq", "value": 1}]), "field must be a string"),
        (json.dumps([{"field": "age", "op": "eq"}]), "value to compare age with is missing"),
        (json.dumps([{"field": "age", "op": "type", "value": "float"}]), 'unknown type "float"'),
        (json.dumps([{"field": "age", "op": "eq", "value": {"$bad": 1}}]), "not a Convex value"),
        (json.dumps([{"field": "age", "op": "eq", "value": 1}] * 33), "At most 32 filters"),
    ]:
        response = get(bad)
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["code"] == "InvalidFilter"
        assert words in response.json()["message"], (bad, response.json())


# -- run --watch ------------------------------------------------------------------------------


class Watch:
    """`syncline run --watch` started with SIGINT in a given state, its stdout lines queued.

    The state is set by a parent that then execs the CLI, as a shell or supervisor would:
    an ignored signal stays ignored across exec (`nohup`, pytest without a terminal)."""

    def __init__(self, server: Server, sigint: signal.Handlers, *args: str) -> None:
        command = [sys.executable, "-m", "syncline.cli.main", "run", "--watch", *args,
                   "--dir", str(server.app_dir)]
        launcher = (f"import os, signal, sys; signal.signal(signal.SIGINT, "
                    f"signal.{sigint.name}); os.execv(sys.executable, {command!r})")
        self.process = subprocess.Popen([sys.executable, "-c", launcher],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: queue.Queue[str] = queue.Queue()
        self.readers = [
            threading.Thread(target=lambda s=stream, q=lines: [q.put(line) for line in s],
                             daemon=True)
            for stream, lines in ((self.process.stdout, self.lines),
                                  (self.process.stderr, self.errors))]
        for reader in self.readers:
            reader.start()

    def next_result(self) -> object:
        try:
            return json.loads(self.lines.get(timeout=30))
        except queue.Empty:
            raise AssertionError(f"no result printed; exit status {self.process.poll()}, "
                                 f"stderr: {self.stderr()}") from None

    def stderr(self) -> str:
        """What stderr printed that no wait_for_stderr took."""
        return "".join(self.errors.get_nowait() for _ in range(self.errors.qsize()))

    def wait_for_stderr(self, text: str) -> None:
        seen = ""
        while text not in seen:
            try:
                seen += self.errors.get(timeout=30)
            except queue.Empty:
                raise AssertionError(f"{text!r} not printed; stderr: {seen}") from None

    def stop(self, how: signal.Signals) -> tuple[int | None, str]:
        """Send `how`: (exit status, stderr), or (None, ...) if it did not stop."""
        self.process.send_signal(how)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            return None, f"still running 15 s after {how.name}"
        for reader in self.readers:  # the pipes are at their end: read them out
            reader.join(timeout=15)
        return self.process.returncode, self.stderr()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_watch_prints_each_new_result_and_stops_on_ctrl_c(server):
    watch = Watch(server, signal.Handlers.SIG_DFL, "events:labels")
    try:
        first = watch.next_result()
        assert isinstance(first, list) and "sigint-1" not in first
        assert server.run("mutation", "events:add", {"label": "sigint-1"})["status"] == "success"
        assert watch.next_result() == [*first, "sigint-1"]
        status, err = watch.stop(signal.SIGINT)  # Ctrl+C
    finally:
        watch.kill()
    assert status == 0, err
    assert watch.lines.empty()  # one line per result, nothing more


def test_watch_stops_on_sigterm_when_sigint_is_ignored(server):
    # An internal query with arguments: the watch authenticates with the admin key.
    watch = Watch(server, signal.Handlers.SIG_IGN, "events:count_prefixed",
                  '{"prefix": "term-"}')
    try:
        assert watch.next_result() == 0
        assert server.run("mutation", "events:add", {"label": "term-1"})["status"] == "success"
        assert watch.next_result() == 1
        status, err = watch.stop(signal.SIGTERM)
    finally:
        watch.kill()
    assert status == 0, err


def test_only_queries_can_be_watched(server):
    result = cli(server, "run", "--watch", "events:add", '{"label": "never"}', timeout=30)
    assert result.returncode == 1
    assert "defined as Mutation" in result.stderr
    assert "Only queries can be watched" in result.stderr
    assert result.stdout == ""
    assert "never" not in server.run("query", "events:labels")["value"]


def test_a_failing_or_unknown_query_ends_the_watch(server):
    broken = cli(server, "run", "--watch", "events:broken", timeout=30)
    assert broken.returncode == 1
    assert "this query always fails" in broken.stderr
    unknown = cli(server, "run", "--watch", "events:nope", timeout=30)
    assert unknown.returncode == 1
    assert "Could not find function for 'events:nope'" in unknown.stderr
    bad_args = cli(server, "run", "--watch", "events:labels", "[1]", timeout=30)
    assert bad_args.returncode == 1
    assert "ARGS must be a JSON object" in bad_args.stderr
    nowhere = cli(server, "run", "--watch", "events:labels",
                  "--url", f"http://127.0.0.1:{free_port()}", timeout=30)
    assert nowhere.returncode == 1
    assert "Could not reach the deployment" in nowhere.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_watch_reconnects_after_a_restart_and_shows_only_new_results(tmp_path):
    port = free_port()
    app = copy_app("cliviews", tmp_path)
    first = start_server(app, extra=["--port", str(port)])
    watch: Watch | None = None
    second: Server | None = None
    try:
        assert first.run("mutation", "events:add", {"label": "before"})["status"] == "success"
        watch = Watch(first, signal.Handlers.SIG_DFL, "events:labels")
        assert watch.next_result() == ["before"]
        first.stop()
        watch.wait_for_stderr("Lost the connection")
        second = start_server(app, extra=["--port", str(port)])
        assert second.url == first.url
        watch.wait_for_stderr("Reconnected.")
        assert second.run("mutation", "events:add", {"label": "after"})["status"] == "success"
        # The unchanged result seen again on reconnecting is not printed twice.
        assert watch.next_result() == ["before", "after"]
        status, err = watch.stop(signal.SIGINT)
    finally:
        if watch is not None:
            watch.kill()
        first.stop()
        if second is not None:
            second.stop()
    assert status == 0, err
    assert "Lost the connection" not in err  # said once, before the restart


def test_filtered_pages_that_stop_short_are_read_on(server):
    """A page ends after 8 MiB read, matches or not: the CLI follows the cursor."""
    for i in range(10):
        result = server.run("mutation", "things:put_big", {"name": f"b{i}", "size": 1_000_000})
        assert result["status"] == "success", result
    first_page = httpx.get(
        f"{server.url}/api/data/documents", timeout=30,
        params={"table": "big", "filters": json.dumps([{"field": "name", "op": "eq",
                                                        "value": "b0"}])},
        headers={"Authorization": f"Convex {server.admin_key}"}).json()
    assert first_page["documents"] == [] and first_page["isDone"] is False
    result = cli(server, "data", "big", "--format", "jsonl", "--filter", "name eq b0")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["name"] for line in result.stdout.splitlines()] == ["b0"]


def test_watch_ends_quietly_when_its_reader_goes_away(server):
    """`syncline run --watch q | head -1`: the next result finds stdout closed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "syncline.cli.main", "run", "--watch", "events:labels",
         "--dir", str(server.app_dir)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stderr is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "no result printed"
        json.loads(process.stdout.readline())
        process.stdout.close()  # as `head -1` exits
        assert server.run("mutation", "events:add", {"label": "pipe"})["status"] == "success"
        status = process.wait(timeout=30)
        err = process.stderr.read().decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert status == 0, err
    assert "Traceback" not in err


def test_watch_acts_as_the_given_identity(server):
    watch = Watch(server, signal.Handlers.SIG_DFL, "events:whoami",
                  "--identity", '{"subject": "user-7", "issuer": "https://issuer.example"}')
    try:
        assert watch.next_result() == "user-7"
        status, err = watch.stop(signal.SIGTERM)
    finally:
        watch.kill()
    assert status == 0, err
