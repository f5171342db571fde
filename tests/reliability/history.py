"""A history checker for serializability: Elle-style list-append, bank invariants, write skew.

Clients record a Jepsen-style history: an `invoke` event when they send an operation and one
completion: `ok` (it committed; its result is known), `fail` (it certainly did not commit)
or `info` (unknown: a timeout or a lost connection; it may or may not have committed).
`History.operations()` pairs them into `Op`s for the checkers.

list-append (after Kingsbury & Alvaro, "Elle", VLDB 2020): a transaction is a list of micro-ops
`("append", key, value)` and `("r", key, [values...])`, each appended value unique per key.
A key's list only grows, so every read is a prefix of the longest one, which gives the key's
version order. From it come the dependencies between committed transactions:
  ww  T1 appended the element right before T2's in a key's order;
  wr  T2 read a list whose last element T1 appended;
  rw  T1 read a list that ends right before T2's element (an anti-dependency);
  rt  T1 ended before T2 started (optional: needs start and end times).
A serializable history has an acyclic ww/wr/rw graph (strict serializability: with rt too).
Cycles are found with Tarjan's strongly connected components, then each component is
explained by its weakest cycle: G0 (ww only), G1c (ww and wr), G-single (exactly one rw),
G2 (several rw), with "-realtime" when it needs an rt edge. The other anomalies are
reported directly: G1a (a read saw a failed transaction's append), G1b (a read saw another
transaction's intermediate list), incompatible-order (a read that is not a prefix of the
longest), duplicate-elements, unknown-element, internal (a transaction's read does not match
its own earlier reads and appends), lost-append (an acknowledged append missing from the
final read) and partial-commit (some of an unknown transaction's appends are in the final
read, others not).

bank: transfers between accounts; every read of all balances sums to the total, none is
negative, and the final balances are the initial ones plus the applied transfers (some subset
of the unknown-outcome ones).

write skew ("on-call doctors"): each doctor of a group goes off call only if another one is on
call; every read and the final state keep at least `minimum` on call, and the outcomes of
each group's attempts must be explained by some serial order of them.
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

OK, FAIL, INFO = "ok", "fail", "info"
WW, WR, RW, RT = "ww", "wr", "rw", "rt"
# When one pair of transactions has several dependencies, a cycle step is named by the
# strongest-ordering one: a cycle made of ww edges is a G0 even if some also carry rw.
_PREFERENCE = (WW, WR, RT, RW)


# -- the history -------------------------------------------------------------------------------

@dataclass
class Op:
    """One operation: its invocation paired with its completion."""

    index: int
    process: Hashable
    f: str
    type: str  # ok | fail | info
    invoke: Any  # what was sent
    value: Any  # the result (ok), the error (fail), None (info)
    start: float | None = None
    end: float | None = None  # None when the outcome is unknown


class History:
    """A thread-safe recorder of invoke/ok/fail/info events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _add(self, event: dict[str, Any]) -> int:
        with self._lock:
            self.events.append(event)
            return len(self.events) - 1

    def invoke(self, process: Hashable, f: str, value: Any, at: float | None = None) -> int:
        """Record a sent operation; returns the handle for its completion."""
        return self._add({"type": "invoke", "process": process, "f": f, "value": value,
                          "time": time.monotonic() if at is None else at})

    def complete(self, handle: int, type: str, value: Any = None,
                 at: float | None = None) -> None:
        if type not in (OK, FAIL, INFO):
            raise ValueError(f"a completion is ok, fail or info, not {type!r}")
        self._add({"type": type, "invoke": handle, "value": value,
                   "time": time.monotonic() if at is None else at})

    def operations(self) -> list[Op]:
        """Pair invocations with completions; one never completed is `info`."""
        ops: dict[int, Op] = {}
        completed: set[int] = set()
        for i, event in enumerate(self.events):
            if event["type"] == "invoke":
                ops[i] = Op(len(ops), event["process"], event["f"], INFO, event["value"], None,
                            event["time"], None)
            else:
                if event["invoke"] in completed:
                    raise ValueError(f"operation {event['invoke']} completed twice")
                completed.add(event["invoke"])
                op = ops[event["invoke"]]
                op.type, op.value = event["type"], event["value"]
                op.end = event["time"] if event["type"] != INFO else None
        return list(ops.values())


# -- results -----------------------------------------------------------------------------------

@dataclass
class Anomaly:
    kind: str
    detail: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass
class Result:
    """What a checker found, and the sizes it checked (for reports)."""

    anomalies: list[Anomaly] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.anomalies

    def kinds(self) -> set[str]:
        return {a.kind for a in self.anomalies}

    def of(self, kind: str) -> list[Anomaly]:
        return [a for a in self.anomalies if a.kind == kind]

    def report(self, limit: int = 10) -> str:
        lines = [f"stats: {self.stats}"]
        by_kind: dict[str, list[Anomaly]] = defaultdict(list)
        for a in self.anomalies:
            by_kind[a.kind].append(a)
        for kind, found in sorted(by_kind.items()):
            lines.append(f"{kind}: {len(found)}")
            lines.extend(f"  {a.detail}" for a in found[:limit])
        return "\n".join(lines)


# -- list-append -------------------------------------------------------------------------------

MicroOp = tuple[str, Hashable, Any]


@dataclass
class Txn:
    """A list-append transaction as the checker sees it."""

    id: Hashable
    type: str  # ok | fail | info
    ops: list[MicroOp]  # reads carry their lists when ok; unknown reads carry None
    start: float | None = None
    end: float | None = None


def txns_from_ops(ops: Iterable[Op]) -> list[Txn]:
    """List-append `Op`s (value and invoke: lists of micro-ops) as `Txn`s."""
    out = []
    for op in ops:
        micro = op.value if op.type == OK else op.invoke
        out.append(Txn(op.index, op.type, [(f, k, v) for f, k, v in micro], op.start,
                       op.end if op.type == OK else None))
    return out


class _Graph:
    """A dependency graph: node -> successor -> the set of edge kinds."""

    def __init__(self) -> None:
        self.out: dict[Hashable, dict[Hashable, set[str]]] = defaultdict(dict)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, a: Hashable, b: Hashable, kind: str) -> None:
        if a == b:
            return
        kinds = self.out[a].setdefault(b, set())
        if kind not in kinds:
            kinds.add(kind)
            self.counts[kind] += 1

    def successors(self, a: Hashable, allowed: frozenset[str],
                   within: set[Hashable] | None = None) -> Iterable[Hashable]:
        for b, kinds in self.out.get(a, {}).items():
            if kinds & allowed and (within is None or b in within):
                yield b

    def kind(self, a: Hashable, b: Hashable, allowed: frozenset[str]) -> str:
        kinds = self.out[a][b] & allowed
        return next(k for k in _PREFERENCE if k in kinds)


def strongly_connected(nodes: Iterable[Hashable], graph: _Graph, allowed: frozenset[str],
                       within: set[Hashable] | None = None) -> list[list[Hashable]]:
    """Tarjan's algorithm, iterative (histories are deeper than Python's recursion limit).
    Returns only the components that can hold a cycle (more than one node)."""
    index: dict[Hashable, int] = {}
    low: dict[Hashable, int] = {}
    on_stack: set[Hashable] = set()
    stack: list[Hashable] = []
    components: list[list[Hashable]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(graph.successors(root, allowed, within)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(graph.successors(succ, allowed, within))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
    return components


def _path(graph: _Graph, source: Hashable, target: Hashable, allowed: frozenset[str],
          within: set[Hashable]) -> list[Hashable] | None:
    """The shortest path source ... target over `allowed` edges inside `within` (BFS)."""
    parent: dict[Hashable, Hashable | None] = {source: None}
    queue = deque([source])
    while queue:
        node = queue.popleft()
        for succ in graph.successors(node, allowed, within):
            if succ in parent:
                continue
            parent[succ] = node
            if succ == target:
                path = [succ]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return path[::-1]
            queue.append(succ)
    return None


def _cycle_in(graph: _Graph, component: Sequence[Hashable], allowed: frozenset[str]
              ) -> list[Hashable] | None:
    """A cycle (first node repeated at the end) over `allowed` edges inside `component`."""
    within = set(component)
    for sub in strongly_connected(component, graph, allowed, within):
        start = sub[0]
        for succ in graph.successors(start, allowed, set(sub)):
            back = _path(graph, succ, start, allowed, set(sub))
            if back is not None:
                return [start, *back]
    return None


def _single_rw_cycle(graph: _Graph, component: Sequence[Hashable], others: frozenset[str],
                     tries: int = 500) -> list[Hashable] | None:
    """A cycle with exactly one rw edge a -> b closed by a path b ... a over `others`.
    Tries the first `tries` rw edges only (each is a search of the component): a huge
    component that has none of them this way is reported as G2."""
    within = set(component)
    rw_edges = ((a, b) for a in component for b, kinds in graph.out.get(a, {}).items()
                if RW in kinds and b in within)
    for a, b in itertools.islice(rw_edges, tries):
        back = _path(graph, b, a, others, within)
        if back is not None:
            return [a, *back]
    return None


def _describe(graph: _Graph, cycle: list[Hashable], allowed: frozenset[str],
              rw_step: int | None = None) -> list[tuple[Hashable, str, Hashable]]:
    steps = []
    for i, (a, b) in enumerate(itertools.pairwise(cycle)):
        steps.append((a, RW if i == rw_step else graph.kind(a, b, allowed), b))
    return steps


def _explain(graph: _Graph, component: list[Hashable], realtime: bool
             ) -> tuple[str, list[tuple[Hashable, str, Hashable]]]:
    """The weakest anomaly a cyclic component holds, and a cycle that shows it."""
    extras = (frozenset(), frozenset({RT})) if realtime else (frozenset(),)
    for extra in extras:
        suffix = "-realtime" if extra else ""
        for name, allowed in (("G0", frozenset({WW}) | extra),
                              ("G1c", frozenset({WW, WR}) | extra)):
            cycle = _cycle_in(graph, component, allowed)
            if cycle is not None:
                return name + suffix, _describe(graph, cycle, allowed)
        others = frozenset({WW, WR}) | extra
        cycle = _single_rw_cycle(graph, component, others)
        if cycle is not None:
            return "G-single" + suffix, _describe(graph, cycle, others | {RW}, rw_step=0)
        allowed = frozenset({WW, WR, RW}) | extra
        cycle = _cycle_in(graph, component, allowed)
        if cycle is not None:
            return "G2" + suffix, _describe(graph, cycle, allowed)
    raise AssertionError("a strongly connected component without a cycle")  # pragma: no cover


def _realtime_edges(graph: _Graph, txns: Sequence[Txn]) -> None:
    """T1 -> T2 when T1 ended before T2 started, reduced to the edges not implied by others:
    among the T1 that ended before T2 started, those that ended before the latest start M of
    them precede one that precedes T2, so only the ones ending at or after M get an edge."""
    ended = sorted((t for t in txns if t.start is not None and t.end is not None),
                   key=lambda t: t.end)
    ends = [t.end for t in ended]
    latest_start = list(itertools.accumulate((t.start for t in ended), max))
    for t2 in txns:
        if t2.start is None:
            continue
        count = bisect.bisect_left(ends, t2.start)
        if count == 0:
            continue
        horizon = latest_start[count - 1]
        j = count - 1
        while j >= 0 and ends[j] >= horizon:
            graph.add(ended[j].id, t2.id, RT)
            j -= 1


def _external_reads(txn: Txn, anomalies: list[Anomaly]) -> dict[Hashable, list[Any]]:
    """Per key, the list the transaction saw from others: its first read, without its own
    earlier appends. Checks its later reads against its own reads and appends (internal)."""
    external: dict[Hashable, list[Any]] = {}
    known: dict[Hashable, list[Any]] = {}  # the key's list as this transaction knows it
    own: dict[Hashable, list[Any]] = defaultdict(list)  # appends before the first read
    for f, key, value in txn.ops:
        if f == "append":
            if key in known:
                known[key] = [*known[key], value]
            else:
                own[key].append(value)
            continue
        if value is None:
            continue
        if key in known:
            if list(value) != known[key]:
                anomalies.append(Anomaly("internal", {"txn": txn.id, "key": key,
                                                      "expected": known[key],
                                                      "read": list(value)}))
            continue
        mine = own.get(key, [])
        if mine and list(value[len(value) - len(mine):]) != mine:
            anomalies.append(Anomaly("internal", {"txn": txn.id, "key": key,
                                                  "own_appends": mine, "read": list(value)}))
        external[key] = list(value[:len(value) - len(mine)])
        known[key] = list(value)
    return external


def _version_order(key_reads: list[list[Any]]) -> list[Any]:
    """A key's version order: its longest read; when reads of that length disagree, the one
    the most reads are a prefix of (so one bad read is the one reported)."""
    length = max(len(r) for r in key_reads)
    candidates = {tuple(r) for r in key_reads if len(r) == length}
    if len(candidates) == 1:
        return list(candidates.pop())
    return list(max(sorted(candidates, key=repr),
                    key=lambda c: sum(tuple(r) == c[:len(r)] for r in key_reads)))


def check_list_append(txns: Sequence[Txn], *, final: dict[Hashable, list[Any]] | None = None,
                      realtime: bool = False) -> Result:
    """Check a list-append history; `final` is a last read of every key taken after all
    clients stopped (it makes lost appends visible), `realtime` adds rt edges."""
    result = Result()
    anomalies = result.anomalies
    by_id = {t.id: t for t in txns}
    if len(by_id) != len(txns):
        raise ValueError("transaction ids must be unique")
    final_id = ("final",)
    if final is not None:
        if final_id in by_id:
            raise ValueError("('final',) is reserved for the final read")
        last_end = max((t.end or t.start or 0.0 for t in txns), default=0.0)
        final_txn = Txn(final_id, OK, [("r", k, list(v)) for k, v in final.items()],
                        last_end + 1, last_end + 2)
        txns = [*txns, final_txn]
        by_id[final_id] = final_txn

    # Who appended what (any outcome).
    writer: dict[Hashable, dict[Any, Hashable]] = defaultdict(dict)
    appends_of: dict[Hashable, dict[Hashable, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for t in txns:
        for f, key, value in t.ops:
            if f == "append":
                if value in writer[key]:
                    raise ValueError(f"value {value!r} appended to {key!r} twice: "
                                     "appended values must be unique per key")
                writer[key][value] = t.id
                appends_of[t.id][key].append(value)

    # Every read of a committed transaction, per key.
    reads: dict[Hashable, list[tuple[Hashable, list[Any]]]] = defaultdict(list)
    for t in txns:
        if t.type != OK:
            continue
        for f, key, value in t.ops:
            if f == "r" and value is not None:
                reads[key].append((t.id, list(value)))

    # Version orders: the longest read; every other read must be a prefix of it.
    order: dict[Hashable, list[Any]] = {}
    bad_reads: set[tuple[Hashable, Hashable]] = set()
    for key, key_reads in reads.items():
        longest = _version_order([r for _, r in key_reads])
        order[key] = longest
        for tid, r in key_reads:
            if len(set(r)) != len(r):
                dup = sorted({x for x in r if r.count(x) > 1}, key=repr)
                anomalies.append(Anomaly("duplicate-elements",
                                         {"txn": tid, "key": key, "duplicates": dup, "read": r}))
                bad_reads.add((tid, key))
            if r != longest[:len(r)]:
                anomalies.append(Anomaly("incompatible-order",
                                         {"txn": tid, "key": key, "read": r, "longest": longest}))
                bad_reads.add((tid, key))
            for x in r:
                w = writer[key].get(x)
                if w is None:
                    anomalies.append(Anomaly("unknown-element",
                                             {"txn": tid, "key": key, "element": x}))
                elif by_id[w].type == FAIL:
                    anomalies.append(Anomaly("G1a", {"reader": tid, "writer": w, "key": key,
                                                     "element": x}))
            if r and tid != (w := writer[key].get(r[-1])) and w is not None:
                mine = appends_of[w][key]
                if r[-1] != mine[-1]:
                    anomalies.append(Anomaly("G1b", {"reader": tid, "writer": w, "key": key,
                                                     "read": r, "writer_appends": mine}))
                    bad_reads.add((tid, key))  # its wr/rw edges would only repeat this

    # Which transactions committed: the ok ones, and unknown ones whose appends were seen.
    observed = {writer[key][x] for key, vo in order.items() for x in vo if x in writer[key]}
    committed = {t.id for t in txns if t.type == OK or (t.type == INFO and t.id in observed)}

    # Lost and partial appends, against the final read.
    if final is not None:
        in_final = {key: set(values) for key, values in final.items()}
        for t in txns:
            if t.type == FAIL or t.id == final_id:
                continue
            for key, values in appends_of[t.id].items():
                present = [x for x in values if x in in_final.get(key, ())]
                missing = [x for x in values if x not in in_final.get(key, ())]
                if t.type == OK and missing:
                    anomalies.append(Anomaly("lost-append", {"txn": t.id, "key": key,
                                                             "missing": missing}))
                elif t.type == INFO and missing and (present or t.id in observed):
                    anomalies.append(Anomaly("partial-commit", {"txn": t.id, "key": key,
                                                                "missing": missing}))

    # The dependency graph.
    graph = _Graph()
    for key, vo in order.items():
        writers = [writer[key].get(x) for x in vo]
        for a, b in itertools.pairwise(writers):
            if a in committed and b in committed:
                graph.add(a, b, WW)
    for t in txns:
        if t.type != OK:
            continue
        for key, seen in _external_reads(t, anomalies).items():
            if (t.id, key) in bad_reads:
                continue
            vo = order[key]
            if seen:
                w = writer[key].get(seen[-1])
                if w in committed:
                    graph.add(w, t.id, WR)
            if len(seen) < len(vo):
                w = writer[key].get(vo[len(seen)])
                if w in committed:
                    graph.add(t.id, w, RW)
    if realtime:
        _realtime_edges(graph, [t for t in txns if t.id in committed])

    # Cycles.
    nodes = [t.id for t in txns if t.id in committed]
    for component in strongly_connected(nodes, graph, frozenset({WW, WR, RW, RT})):
        kind, steps = _explain(graph, component, realtime)
        anomalies.append(Anomaly(kind, {"cycle": steps, "component_size": len(component)}))

    result.stats = {
        "transactions": len(txns) - (final is not None),
        "ok": sum(t.type == OK for t in txns) - (final is not None),
        "fail": sum(t.type == FAIL for t in txns),
        "info": sum(t.type == INFO for t in txns),
        "committed_unknown": sum(by_id[i].type == INFO for i in committed),
        "keys": len(writer.keys() | reads.keys()),
        "appends": sum(len(w) for w in writer.values()),
        "reads": sum(len(r) for r in reads.values()),
        "edges": {kind: graph.counts.get(kind, 0) for kind in (WW, WR, RW, RT)},
    }
    return result


# -- bank --------------------------------------------------------------------------------------

@dataclass
class Transfer:
    id: Hashable
    type: str  # ok | fail | info
    source: str
    target: str
    amount: float
    applied: bool | None  # known for ok transfers: False when the source was short


def _balance_problems(balances: dict[str, float], accounts: dict[str, float], total: float,
                      allow_negative: bool) -> list[tuple[str, dict[str, Any]]]:
    problems = []
    if set(balances) != set(accounts):
        problems.append(("bank-wrong-accounts", {"read": balances}))
    if not math.isclose(sum(balances.values()), total, abs_tol=1e-9):
        problems.append(("bank-sum", {"sum": sum(balances.values()), "total": total,
                                      "read": balances}))
    negative = {k: b for k, b in balances.items() if b < 0}
    if negative and not allow_negative:
        problems.append(("bank-negative", {"negative": negative, "read": balances}))
    return problems


def check_bank(transfers: Sequence[Transfer], reads: Sequence[tuple[Hashable, dict[str, float]]],
               *, accounts: dict[str, float], final: dict[str, float] | None = None,
               allow_negative: bool = False, max_unknown: int = 16) -> Result:
    """Every read (id, balances) and the final balances sum to the initial total, none is
    negative, and the final balances are explained by the applied transfers plus some
    subset of the unknown ones (searched when there are at most `max_unknown` of them)."""
    result = Result()
    total = sum(accounts.values())
    for rid, balances in reads:
        for kind, detail in _balance_problems(balances, accounts, total, allow_negative):
            result.anomalies.append(Anomaly(kind, {"read_id": rid, **detail}))
    unknown = [t for t in transfers if t.type == INFO]
    exact = None
    if final is not None:
        for kind, detail in _balance_problems(final, accounts, total, allow_negative):
            result.anomalies.append(Anomaly(kind, {"read_id": "final", **detail}))
        expected = dict(accounts)
        for t in transfers:
            if t.type == OK and t.applied:
                expected[t.source] -= t.amount
                expected[t.target] += t.amount
        if len(unknown) <= max_unknown:
            exact = False
            for r in range(len(unknown) + 1):
                for subset in itertools.combinations(unknown, r):
                    trial = dict(expected)
                    for t in subset:
                        trial[t.source] -= t.amount
                        trial[t.target] += t.amount
                    if all(math.isclose(trial[k], final.get(k, math.nan), abs_tol=1e-9)
                           for k in trial):
                        exact = True
                        break
                if exact:
                    break
            if not exact:
                result.anomalies.append(Anomaly("bank-final-mismatch", {
                    "final": final, "expected_from_acknowledged": expected,
                    "unknown_transfers": len(unknown)}))
    result.stats = {
        "transfers": len(transfers),
        "applied": sum(t.type == OK and bool(t.applied) for t in transfers),
        "refused": sum(t.type == OK and t.applied is False for t in transfers),
        "fail": sum(t.type == FAIL for t in transfers), "info": len(unknown),
        "reads": len(reads), "accounts": len(accounts), "total": total,
        "final_checked_exactly": bool(exact),
    }
    return result


# -- write skew --------------------------------------------------------------------------------

@dataclass
class Attempt:
    """One doctor's try to go off call: what it saw of its group, and whether it left."""

    id: Hashable
    type: str  # ok | fail | info
    group: str
    name: str
    saw: dict[str, bool] | None  # name -> on call, before its own write (ok only)
    off: bool | None  # ok only


def _serial_order_exists(attempts: list[Attempt], unknown: list[Attempt],
                         initial: dict[str, bool], final: dict[str, bool] | None) -> bool:
    """Whether some serial order of the committed attempts (the ok ones and any subset of
    the unknown ones) gives every ok attempt what it saw and did, and the final state."""
    for r in range(len(unknown) + 1):
        for extra in itertools.combinations(unknown, r):
            for order in itertools.permutations([*attempts, *extra]):
                state = dict(initial)
                fits = True
                for a in order:
                    others_on = any(on for n, on in state.items() if n != a.name)
                    leaves = state[a.name] and others_on
                    if a.type == OK and (a.saw != state or a.off != leaves):
                        fits = False
                        break
                    if leaves:
                        state[a.name] = False
                if fits and (final is None or state == final):
                    return True
    return False


def check_write_skew(attempts: Sequence[Attempt], reads: Sequence[tuple[Hashable, dict]], *,
                     initial: dict[str, dict[str, bool]],
                     final: dict[str, dict[str, bool]] | None = None, minimum: int = 1,
                     max_serial_search: int = 7) -> Result:
    """`reads` are (id, {group: {name: on_call}}); `initial`/`final` the same shape.

    Invariant: at least `minimum` on call in every group in every read, every attempt's view
    and the final state. Serializability: per group (of at most `max_serial_search`
    attempts), some serial order explains the outcomes."""
    result = Result()
    anomalies = result.anomalies

    def low(state: dict[str, bool]) -> bool:
        return sum(state.values()) < minimum

    by_group: dict[str, list[Attempt]] = defaultdict(list)
    for a in attempts:
        by_group[a.group].append(a)
        if a.type == OK and a.saw is not None and low(a.saw):
            anomalies.append(Anomaly("write-skew-read", {"attempt": a.id, "group": a.group,
                                                         "saw": a.saw}))
    for rid, state in reads:
        for group, roster in state.items():
            if low(roster):
                anomalies.append(Anomaly("write-skew-read", {"read_id": rid, "group": group,
                                                             "saw": roster}))
    searched = 0
    for group, roster in initial.items():
        group_attempts = by_group.get(group, [])
        known = [a for a in group_attempts if a.type == OK]
        unknown = [a for a in group_attempts if a.type == INFO]
        end = None if final is None else final.get(group)
        left = [a.id for a in known if a.off]
        if end is not None and low(end):
            anomalies.append(Anomaly("G2-write-skew", {"group": group, "final": end,
                                                       "went_off": left}))
            continue
        if len(known) + len(unknown) <= max_serial_search:
            searched += 1
            if not _serial_order_exists(known, unknown, roster, end):
                anomalies.append(Anomaly("no-serial-order", {
                    "group": group, "final": end,
                    "attempts": [(a.id, a.type, a.name, a.saw, a.off) for a in group_attempts]}))
    result.stats = {
        "attempts": len(attempts), "went_off": sum(a.type == OK and bool(a.off) for a in attempts),
        "stayed": sum(a.type == OK and a.off is False for a in attempts),
        "fail": sum(a.type == FAIL for a in attempts),
        "info": sum(a.type == INFO for a in attempts), "groups": len(initial),
        "groups_serial_checked": searched, "reads": len(reads),
    }
    return result
