"""Concurrent clients against one real server; their histories must show no anomaly.

One `syncline serve` process (production mode, so repeated HTTP queries are answered
from its results cache) serves tests/reliability/apps/histories. Clients of three kinds
run at once: HTTP (`/api/mutation`, `/api/query`, httpx), the WebSocket sync protocol spoken
directly (`Mutation` messages, queries as one-shot subscriptions), and the official Python
client (PyPI `convex`) in worker processes. They run three workloads together, on few keys
so that transactions conflict and the server's OCC retries them:

- list-append (Elle-style) transactions and read-only queries on a rotating set of keys,
  some deliberately aborted after writing (their appends must never be seen);
- bank transfers between accounts and reads of every balance;
- write skew: the doctors of each shift try to go off call at the same moment.

Every call is recorded as invoke + ok / fail / info (info: a timeout or a lost connection,
outcome unknown). After the clients stop, a final read of everything is checked with
tests/reliability/history.py: dependency cycles (with realtime edges), aborted and
intermediate reads, lost appends, bank invariants and write-skew invariants.

The seed is printed; HISTORY_SEED=<n> replays the same plan (not the same interleaving).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.e2e.conftest import Server, start_server
from tests.reliability.history import (
    FAIL,
    INFO,
    OK,
    Attempt,
    History,
    Op,
    Transfer,
    check_bank,
    check_list_append,
    check_write_skew,
    txns_from_ops,
)

APP = Path(__file__).parent / "apps" / "histories"
ROOT = Path(__file__).resolve().parents[2]

# Sizes: about 4,500 operations, checked in about 10 s on an idle 2-core machine.
LIST_OPS = 3_000  # list-append transactions (mutations) and read-only queries
ACTIVE_KEYS = 5  # keys in use at once: few, for contention
APPENDS_PER_KEY = 40  # then the key is retired and a fresh one takes its place
BANK_OPS = 1_200  # transfers and reads of all balances
ACCOUNTS = {f"acct{i}": 100.0 for i in range(8)}
SHIFTS, DOCTORS = 100, ("ann", "bob", "cy")  # 300 write-skew attempts
HTTP_CLIENTS, WS_CLIENTS, PYPI_PROCESSES = 10, 8, 2
PYPI_SHARE = 0.12  # of the list-append and bank operations
SHIFTS_AT_ONCE = 4
CALL_TIMEOUT_S = 30.0  # a call unanswered this long has an unknown outcome
# A server that hangs must not hang CI: no operation starts after this many seconds, and
# Python-client workers (which wait forever for an answer) are killed then.
DEADLINE_S = 150.0


# -- the plan --------------------------------------------------------------------------------

@dataclass
class Planned:
    id: str
    kind: str  # mutation | query
    path: str
    args: dict[str, Any]


def list_append_plan(rng: random.Random) -> list[Planned]:
    """Transactions of 1-4 micro-ops on a few active keys, rotated after APPENDS_PER_KEY
    appends; 10% are read-only queries, 3% of the mutations abort after writing."""
    made = 0

    def fresh() -> str:
        nonlocal made
        made += 1
        return f"k{made}"

    active = [fresh() for _ in range(ACTIVE_KEYS)]
    appended: Counter[str] = Counter()
    value = 0
    plan = []
    for i in range(LIST_OPS):
        if rng.random() < 0.10:
            keys = rng.sample(active, rng.randint(1, 3))
            plan.append(Planned(f"l{i}", "query", "lists:read", {"keys": keys}))
            continue
        ops = []
        for _ in range(rng.randint(1, 4)):
            key = rng.choice(active)
            if rng.random() < 0.5:
                value += 1
                appended[key] += 1
                ops.append({"f": "append", "key": key, "value": value})
            else:
                ops.append({"f": "r", "key": key})
        args: dict[str, Any] = {"id": f"l{i}", "ops": ops}
        if rng.random() < 0.03:
            args["abort"] = True
        plan.append(Planned(f"l{i}", "mutation", "lists:txn", args))
        active = [k if appended[k] < APPENDS_PER_KEY else fresh() for k in active]
    return plan


def bank_plan(rng: random.Random) -> list[Planned]:
    names = list(ACCOUNTS)
    plan = []
    for i in range(BANK_OPS):
        if rng.random() < 0.12:
            plan.append(Planned(f"b{i}", "query", "bank:read_all", {}))
        else:
            source, target = rng.sample(names, 2)
            plan.append(Planned(f"b{i}", "mutation", "bank:transfer",
                                {"id": f"b{i}", "source": source, "target": target,
                                 "amount": float(rng.randint(1, 40))}))
    return plan


def interleave(rng: random.Random, *plans: list[Planned]) -> list[Planned]:
    """Merge the plans at random, keeping each one's order (keys rotate in plan order)."""
    queues = [list(reversed(p)) for p in plans]
    out = []
    while any(queues):
        pick = rng.choices([q for q in queues if q], [len(q) for q in queues if q])[0]
        out.append(pick.pop())
    return out


# -- transports ------------------------------------------------------------------------------

Outcome = tuple[str, Any]  # (ok | fail | info, value)


async def http_call(client: httpx.AsyncClient, url: str, op: Planned) -> Outcome:
    try:
        response = await client.post(f"{url}/api/{op.kind}", json={
            "path": op.path, "args": op.args, "format": "json"}, timeout=CALL_TIMEOUT_S)
        body = response.json()
    except (httpx.HTTPError, ValueError) as e:
        return INFO, {"error": repr(e)}
    if body.get("status") == "success":
        return OK, body["value"]
    if body.get("status") == "error":  # the function failed: nothing committed
        return FAIL, {"error": body.get("errorMessage"), "data": body.get("errorData")}
    return INFO, {"error": f"unexpected response {response.status_code}: {body!r}"}


class SyncSocket:
    """A minimal client of the sync protocol: one session, one call at a time."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("http://", "ws://") + "/api/1.48.0/sync"
        self.ws: Any = None

    async def _open(self) -> None:
        self.ws = await websockets.connect(self.url, max_size=None)
        self.request_id = self.query_id = self.query_set = 0
        await self._send({"type": "Connect", "sessionId": str(uuid.uuid4()),
                          "connectionCount": 0, "lastCloseReason": None, "clientTs": 0})

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
            self.ws = None

    async def _send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def _until(self, match) -> dict[str, Any]:
        while True:
            message = json.loads(await self.ws.recv())
            if message["type"] == "FatalError":
                raise ConnectionError(f"FatalError: {message}")
            if match(message):
                return message

    async def call(self, op: Planned) -> Outcome:
        """The outcome; on a timeout or a broken connection `info`, and a new session next."""
        try:
            async with asyncio.timeout(CALL_TIMEOUT_S):
                if self.ws is None:
                    await self._open()
                if op.kind == "mutation":
                    return await self._mutation(op)
                return await self._query(op)
        except (TimeoutError, OSError, websockets.WebSocketException, ConnectionError) as e:
            await self.close()
            return INFO, {"error": repr(e)}

    async def _mutation(self, op: Planned) -> Outcome:
        rid = self.request_id
        self.request_id += 1
        await self._send({"type": "Mutation", "requestId": rid, "udfPath": op.path,
                          "args": [op.args]})
        response = await self._until(
            lambda m: m["type"] == "MutationResponse" and m["requestId"] == rid)
        if response["success"]:
            return OK, response["result"]
        return FAIL, {"error": response["result"], "data": response.get("errorData")}

    async def _query(self, op: Planned) -> Outcome:
        """A one-shot subscription: add the query, take its first value, remove it."""
        qid, base = self.query_id, self.query_set
        self.query_id += 1
        self.query_set += 2
        await self._send({"type": "ModifyQuerySet", "baseVersion": base, "newVersion": base + 1,
                          "modifications": [{"type": "Add", "queryId": qid,
                                             "udfPath": op.path, "args": [op.args]}]})

        def answer(m: dict[str, Any]) -> dict[str, Any] | None:
            if m["type"] != "Transition":
                return None
            return next((mod for mod in m["modifications"] if mod.get("queryId") == qid
                         and mod["type"] in ("QueryUpdated", "QueryFailed")), None)

        transition = await self._until(lambda m: answer(m) is not None)
        await self._send({"type": "ModifyQuerySet", "baseVersion": base + 1,
                          "newVersion": base + 2,
                          "modifications": [{"type": "Remove", "queryId": qid}]})
        update = answer(transition)
        if update["type"] == "QueryUpdated":
            return OK, update["value"]
        return FAIL, {"error": update.get("errorMessage"), "data": update.get("errorData")}


# -- running it ------------------------------------------------------------------------------

@dataclass
class Run:
    history: History = field(default_factory=History)
    planned: dict[int, Planned] = field(default_factory=dict)  # history handle -> plan
    final: dict[str, Any] = field(default_factory=dict)
    transports: Counter[str] = field(default_factory=Counter)

    def record(self, process: str, op: Planned, at: float | None = None) -> int:
        handle = self.history.invoke(process, op.path, op.args, at=at)
        self.planned[handle] = op
        self.transports[process.split("-")[0]] += 1
        return handle

    def operations(self, path: str) -> list[tuple[Op, Planned]]:
        """Completed operations of `path` with their plans, in invocation order."""
        ops = self.history.operations()
        handles = [i for i, e in enumerate(self.history.events) if e["type"] == "invoke"]
        return [(op, self.planned[h]) for op, h in zip(ops, handles, strict=True)
                if self.planned[h].path == path]


async def timed(run: Run, process: str, op: Planned, call) -> Outcome:
    handle = run.record(process, op)
    kind, value = await call(op)
    run.history.complete(handle, kind, value)
    return kind, value


def start_pypi_workers(server: Server, ops: list[Planned], workdir: Path
                       ) -> list[tuple[subprocess.Popen, Path, list[Planned]]]:
    workers = []
    for n in range(PYPI_PROCESSES):
        share = ops[n::PYPI_PROCESSES]
        ops_path, out_path = workdir / f"pypi-{n}.json", workdir / f"pypi-{n}.jsonl"
        ops_path.write_text(json.dumps([{"id": op.id, "kind": op.kind, "path": op.path,
                                         "args": op.args} for op in share]))
        with out_path.with_suffix(".stderr").open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.pypi_worker", server.url,
                 str(ops_path), str(out_path)], cwd=ROOT, stdout=subprocess.DEVNULL,
                stderr=stderr, env={**os.environ, "PYTHONPATH": str(ROOT)})
        workers.append((process, out_path, share))
    return workers


def collect_pypi(run: Run, server: Server, workers, deadline: float) -> None:
    """Wait for the workers (killing any still running at `deadline`, or once the server
    has exited: the client would wait for it forever), then merge their histories."""
    for process, _, _ in workers:
        while process.poll() is None:
            if time.monotonic() > deadline or server.process.poll() is not None:
                process.kill()
                process.wait()
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.2)
    for n, (process, out_path, share) in enumerate(workers):
        # One that crashed is a broken test; one killed leaves its last operation unknown
        # (invoked, never completed: info), perhaps half a line, and the rest not invoked.
        assert process.returncode in (0, -9), out_path.with_suffix(".stderr").read_text()
        by_id = {op.id: op for op in share}
        handles: dict[str, int] = {}
        lines = out_path.read_text().splitlines() if out_path.exists() else []
        for i, line in enumerate(lines):
            try:
                record = json.loads(line)
            except ValueError:
                assert process.returncode == -9 and i == len(lines) - 1, line
                break
            if record["type"] == "invoke":
                handles[record["op"]] = run.record(f"pypi-{n}", by_id[record["op"]],
                                                   at=record["time"])
            else:
                run.history.complete(handles[record["op"]], record["type"], record["value"],
                                     at=record["time"])


async def run_workloads(server: Server, seed: int, workdir: Path) -> Run:
    rng = random.Random(seed)
    run = Run()
    deadline = time.monotonic() + DEADLINE_S
    mixed = interleave(rng, list_append_plan(rng), bank_plan(rng))
    to_pypi = [op for op in mixed if rng.random() < PYPI_SHARE]
    pypi_ids = {op.id for op in to_pypi}
    shared: asyncio.Queue[Planned] = asyncio.Queue()
    for op in mixed:
        if op.id not in pypi_ids:
            shared.put_nowait(op)

    limits = httpx.Limits(max_connections=HTTP_CLIENTS + 2 * SHIFTS_AT_ONCE)
    async with httpx.AsyncClient(limits=limits) as http:
        setup = [Planned("open-accounts", "mutation", "bank:open_accounts",
                         {"balances": ACCOUNTS}),
                 Planned("open-shifts", "mutation", "doctors:open_shifts",
                         {"shifts": [f"s{i}" for i in range(SHIFTS)], "names": list(DOCTORS)})]
        for op in setup:
            assert await http_call(http, server.url, op) == (OK, None)

        sockets = [SyncSocket(server.url) for _ in range(WS_CLIENTS + 2 * SHIFTS_AT_ONCE)]
        ws_pool: asyncio.Queue[tuple[int, SyncSocket]] = asyncio.Queue()
        for n, sock in enumerate(sockets[WS_CLIENTS:]):
            ws_pool.put_nowait((WS_CLIENTS + n, sock))

        async def http_worker(n: int) -> None:
            while not shared.empty() and time.monotonic() < deadline:
                await timed(run, f"http-{n}", shared.get_nowait(),
                            lambda op: http_call(http, server.url, op))

        async def ws_worker(n: int) -> None:
            while not shared.empty() and time.monotonic() < deadline:
                await timed(run, f"ws-{n}", shared.get_nowait(), sockets[n].call)

        async def attempt(shift: str, name: str, transport: str) -> None:
            op = Planned(f"{shift}-{name}", "mutation", "doctors:go_off_call",
                         {"id": f"{shift}-{name}", "shift": shift, "name": name})
            if transport == "http":
                await timed(run, "http-doctors", op, lambda op: http_call(http, server.url, op))
                return
            n, sock = await ws_pool.get()
            try:
                await timed(run, f"ws-{n}", op, sock.call)
            finally:
                ws_pool.put_nowait((n, sock))

        async def doctors() -> None:
            gate = asyncio.Semaphore(SHIFTS_AT_ONCE)

            async def shift(i: int) -> None:
                async with gate:
                    if time.monotonic() > deadline:
                        return
                    transports = ["http", "ws", "http" if i % 2 else "ws"]
                    await asyncio.gather(*(attempt(f"s{i}", name, t)
                                           for name, t in zip(DOCTORS, transports, strict=True)))
                    if i % 5 == 0:
                        roster = Planned(f"roster-{i}", "query", "doctors:roster", {})
                        await timed(run, "http-doctors", roster,
                                    lambda op: http_call(http, server.url, op))

            await asyncio.gather(*(shift(i) for i in range(SHIFTS)))

        workers = start_pypi_workers(server, to_pypi, workdir)
        try:
            await asyncio.gather(*(http_worker(n) for n in range(HTTP_CLIENTS)),
                                 *(ws_worker(n) for n in range(WS_CLIENTS)), doctors())
        except BaseException:
            deadline = time.monotonic()  # do not wait for the workers: kill them
            raise
        finally:
            for sock in sockets:
                await sock.close()
            await asyncio.to_thread(collect_pypi, run, server, workers, deadline)

        for path, args in (("lists:final", {}), ("bank:read_all", {}), ("doctors:roster", {})):
            kind, value = await http_call(http, server.url, Planned("final", "query", path,
                                                                    args))
            assert kind == OK, f"final read: {value}\nserver log:\n{server.output()[-3000:]}"
            run.final[path] = value
    return run


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Iterator[Run]:
    seed = int(os.environ.get("HISTORY_SEED", random.randrange(2**32)))
    print(f"\nhistory seed: {seed} (HISTORY_SEED={seed} replays this plan)")
    workdir = tmp_path_factory.mktemp("histories")
    app = workdir / "histories"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__", ".syncline"))
    server = start_server(app, "serve")  # production: HTTP query results are cached
    try:
        yield asyncio.run(run_workloads(server, seed, workdir))
    finally:
        server.stop()


# -- the checks ------------------------------------------------------------------------------

def _ints(values: list[Any]) -> list[int]:
    return [int(x) for x in values]


def _micro(ops: list[Any]) -> list[tuple[str, str, Any]]:
    """Micro-ops from either side (planned: dicts; results: [f, key, value] lists)."""
    out = []
    for op in ops:
        f, key, value = (op["f"], op["key"], op.get("value")) if isinstance(op, dict) else op
        if f == "append":
            out.append((f, key, int(value)))
        else:
            out.append((f, key, None if value is None else _ints(value)))
    return out


def _retries(run: Run, *paths: str) -> Counter[int]:
    """How many committed mutations took 1, 2, ... attempts (OCC re-runs)."""
    return Counter(int(op.value["attempt"]) for path in paths
                   for op, _ in run.operations(path) if op.type == OK)


def test_list_append_history_is_strictly_serializable(run):
    ops = []
    for op, plan in run.operations("lists:txn"):
        result = op.value["ops"] if op.type == OK else None
        ops.append(Op(plan.id, op.process, op.f, op.type, _micro(plan.args["ops"]),
                      _micro(result) if result is not None else None, op.start, op.end))
    for op, plan in run.operations("lists:read"):
        # Over HTTP a query reads the newest commit, so realtime order applies. Over the
        # WebSocket it is a subscription, computed at the sync engine's current version:
        # consistent, but it may trail a commit another client was already told of (the
        # engine catches up asynchronously), so it gets no realtime edges.
        timed = op.process.startswith("http")
        ops.append(Op(plan.id, op.process, op.f, op.type,
                      [("r", k, None) for k in plan.args["keys"]],
                      _micro(op.value) if op.type == OK else None,
                      op.start if timed else None, op.end if timed else None))
    final = run.final["lists:final"]
    duplicated = {key: entry["rows"] for key, entry in final.items() if entry["rows"] != 1}
    result = check_list_append(txns_from_ops(ops), realtime=True,
                               final={key: _ints(entry["values"])
                                      for key, entry in final.items()})
    retries = _retries(run, "lists:txn")
    failures = Counter("aborted as planned" if "aborted" in str(op.value) else
                       str(op.value)[:100] for op, _ in run.operations("lists:txn")
                       if op.type != OK)
    print(f"\nlist-append: {result.stats}"
          f"\n  attempts per committed transaction: {sorted(retries.items())}"
          f"\n  not ok: {dict(failures)}\n  calls per transport: {dict(run.transports)}")
    assert result.valid and not duplicated, \
        f"{result.report()}\nkeys inserted twice: {duplicated}"
    # The run exercised what it is meant to: every transport, aborts, OCC retries.
    assert {"http", "ws", "pypi"} <= set(run.transports)
    assert result.stats["fail"] > 0
    assert sum(n for attempts, n in retries.items() if attempts > 1) > 0


def test_bank_history_keeps_the_total(run):
    transfers, reads = [], []
    for op, plan in run.operations("bank:transfer"):
        applied = bool(op.value["applied"]) if op.type == OK else None
        transfers.append(Transfer(plan.id, op.type, plan.args["source"], plan.args["target"],
                                  plan.args["amount"], applied))
    for op, plan in run.operations("bank:read_all"):
        if op.type == OK:
            reads.append((plan.id, op.value))
    result = check_bank(transfers, reads, accounts=ACCOUNTS, final=run.final["bank:read_all"])
    print(f"\nbank: {result.stats}\n  attempts per committed transfer: "
          f"{sorted(_retries(run, 'bank:transfer').items())}")
    assert result.valid, result.report()


def test_write_skew_history_keeps_a_doctor_on_call(run):
    attempts = []
    for op, plan in run.operations("doctors:go_off_call"):
        saw = off = None
        if op.type == OK:
            saw, off = op.value["saw"], op.value["off"]
        attempts.append(Attempt(plan.id, op.type, plan.args["shift"], plan.args["name"],
                                saw, off))
    reads = [(plan.id, op.value) for op, plan in run.operations("doctors:roster")
             if op.type == OK]
    initial = {f"s{i}": dict.fromkeys(DOCTORS, True) for i in range(SHIFTS)}
    result = check_write_skew(attempts, reads, initial=initial,
                              final=run.final["doctors:roster"])
    retries = _retries(run, "doctors:go_off_call")
    print(f"\nwrite skew: {result.stats}"
          f"\n  attempts per committed try: {sorted(retries.items())}")
    assert result.valid, result.report()
