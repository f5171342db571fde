"""The history checker finds known anomalies and passes valid histories (no server here).

Each anomalous history is the smallest one that shows its anomaly; the valid ones include
large random histories of a serial execution with overlapping (concurrent) time intervals,
unknown outcomes and failed transactions, which must pass with realtime edges on."""

from __future__ import annotations

import random

import pytest

from tests.reliability.history import (
    FAIL,
    INFO,
    OK,
    Attempt,
    History,
    Transfer,
    Txn,
    check_bank,
    check_list_append,
    check_write_skew,
    txns_from_ops,
)


def ok(tid, *ops, start=None, end=None):
    return Txn(tid, OK, list(ops), start, end)


def append(key, value):
    return ("append", key, value)


def r(key, values):
    return ("r", key, values)


def cycle_kinds(result):
    return [step[1] for a in result.anomalies for step in a.detail.get("cycle", [])]


# -- list-append: anomalies ------------------------------------------------------------------

def test_g0_write_cycle():
    # T1 and T2 both append to x and y, in opposite orders: ww both ways.
    result = check_list_append(
        [ok(1, append("x", 1), append("y", 1)), ok(2, append("x", 2), append("y", 2))],
        final={"x": [1, 2], "y": [2, 1]})
    assert result.kinds() == {"G0"}
    (anomaly,) = result.anomalies
    assert {(a, kind, b) for a, kind, b in anomaly.detail["cycle"]} == {(1, "ww", 2),
                                                                         (2, "ww", 1)}


def test_g1c_circular_information_flow():
    # Each reads the other's append: wr both ways.
    result = check_list_append(
        [ok(1, append("x", 1), r("y", [2])), ok(2, append("y", 2), r("x", [1]))],
        final={"x": [1], "y": [2]})
    assert result.kinds() == {"G1c"}
    assert sorted(cycle_kinds(result)) == ["wr", "wr"]


def test_g_single_lost_update():
    # Both read x empty, then append: the second append overwrote a read it did not see.
    result = check_list_append(
        [ok(1, r("x", []), append("x", 1)), ok(2, r("x", []), append("x", 2))],
        final={"x": [1, 2]})
    assert result.kinds() == {"G-single"}
    assert sorted(cycle_kinds(result)) == ["rw", "ww"]


def test_g_single_read_skew():
    # T3 sees T2's y but not T1's x, although T2 read T1's x.
    result = check_list_append(
        [ok(1, append("x", 1)), ok(2, r("x", [1]), append("y", 1)),
         ok(3, r("x", []), r("y", [1]))],
        final={"x": [1], "y": [1]})
    assert result.kinds() == {"G-single"}


def test_g2_write_skew():
    # Both read x and y empty and each appends to a different one: two anti-dependencies.
    result = check_list_append(
        [ok(1, r("x", []), r("y", []), append("x", 1)),
         ok(2, r("x", []), r("y", []), append("y", 1))],
        final={"x": [1], "y": [1]})
    assert result.kinds() == {"G2"}
    assert sorted(cycle_kinds(result)) == ["rw", "rw"]


def test_g1a_aborted_read():
    result = check_list_append(
        [Txn(1, FAIL, [append("x", 1)]), ok(2, r("x", [1]))], final={"x": [1]})
    assert "G1a" in result.kinds()
    (g1a,) = result.of("G1a")[:1]
    assert g1a.detail["writer"] == 1 and g1a.detail["reader"] == 2


def test_g1b_intermediate_read():
    result = check_list_append(
        [ok(1, append("x", 1), append("x", 2)), ok(2, r("x", [1]))], final={"x": [1, 2]})
    assert result.kinds() == {"G1b"}


def test_lost_acknowledged_append():
    result = check_list_append(
        [ok(1, append("x", 1)), ok(2, append("x", 2)), ok(3, r("x", [1]))], final={"x": [1]})
    assert result.kinds() == {"lost-append"}
    assert result.anomalies[0].detail == {"txn": 2, "key": "x", "missing": [2]}


def test_non_prefix_read():
    result = check_list_append(
        [ok(1, append("x", 1)), ok(2, append("x", 2)), ok(3, r("x", [2, 1])),
         ok(4, r("x", [1])), ok(5, r("x", [1, 2]))],
        final={"x": [1, 2]})
    assert "incompatible-order" in result.kinds()
    assert {a.detail["txn"] for a in result.of("incompatible-order")} == {3}


def test_duplicate_and_unknown_elements():
    result = check_list_append([ok(1, append("x", 1)), ok(2, r("x", [1, 1, 7]))],
                               final={"x": [1, 1, 7]})
    assert {"duplicate-elements", "unknown-element"} <= result.kinds()


def test_internal_inconsistency():
    result = check_list_append([ok(1, append("x", 1)), ok(2, r("x", [1]), append("x", 2),
                                                          r("x", [1]))],
                               final={"x": [1, 2]})
    assert result.kinds() == {"internal"}


def test_partial_commit_of_an_unknown_transaction():
    # Half of an unknown transaction is visible: it committed, so all of it must be.
    result = check_list_append(
        [Txn(1, INFO, [append("x", 1), append("y", 1)]), ok(2, r("x", [1]))],
        final={"x": [1], "y": []})
    assert result.kinds() == {"partial-commit"}


def test_stale_read_is_a_realtime_anomaly_only():
    # T2 started after T1's append was acknowledged, and did not see it.
    txns = [ok(1, append("x", 1), start=0, end=1), ok(2, r("x", []), start=2, end=3)]
    assert check_list_append(txns, final={"x": [1]}).valid
    result = check_list_append(txns, final={"x": [1]}, realtime=True)
    assert result.kinds() == {"G-single-realtime"}
    assert sorted(cycle_kinds(result)) == ["rt", "rw"]


def test_a_cycle_is_explained_by_its_weakest_anomaly():
    # T1 -ww-> T2 -ww-> T1 also carries rw edges: it is still a G0.
    result = check_list_append(
        [ok(1, r("y", []), append("x", 1), append("y", 1)),
         ok(2, r("x", []), append("x", 2), append("y", 2))],
        final={"x": [1, 2], "y": [2, 1]})
    assert result.kinds() == {"G0"}


# -- list-append: valid histories ------------------------------------------------------------

def test_unknown_and_failed_transactions_are_not_anomalies():
    txns = [
        ok(1, append("x", 1), start=0, end=1),
        Txn(2, INFO, [append("x", 2), append("y", 1)], start=0.5),  # committed, seen
        Txn(3, INFO, [append("x", 3)], start=0.5),  # never committed
        Txn(4, FAIL, [append("y", 2)], start=0.5, end=0.6),
        ok(5, r("x", [1, 2]), r("y", [1]), start=2, end=3),
    ]
    result = check_list_append(txns, final={"x": [1, 2], "y": [1]}, realtime=True)
    assert result.valid, result.report()
    assert result.stats["committed_unknown"] == 1


def serial_history(seed: int, n: int = 1500, keys: int = 8) -> tuple[list[Txn], dict]:
    """A random serial execution (each transaction at a point in time) whose transactions
    are given overlapping intervals around their points; some fail, some are unknown."""
    rng = random.Random(seed)
    state: dict[str, list[int]] = {}
    txns, counter, point = [], 0, 0.0
    for tid in range(n):
        point += rng.expovariate(1.0)
        ops = []
        outcome = rng.choices([OK, FAIL, INFO], [90, 5, 5])[0]
        scratch = {k: list(v) for k, v in state.items()}
        for _ in range(rng.randint(1, 5)):
            key = f"k{rng.randrange(keys)}"
            if rng.random() < 0.5:
                counter += 1
                scratch.setdefault(key, []).append(counter)
                ops.append(append(key, counter))
            else:
                ops.append(r(key, list(scratch.get(key, []))))
        committed = outcome == OK or (outcome == INFO and rng.random() < 0.5)
        if committed:
            state = scratch
        if outcome != OK:
            ops = [(f, k, None if f == "r" else v) for f, k, v in ops]
        start = point - rng.uniform(0, 5)
        end = point + rng.uniform(0, 5) if outcome != INFO else None
        txns.append(Txn(tid, outcome, ops, start, end))
    return txns, state


@pytest.mark.parametrize("seed", range(5))
def test_random_serial_histories_pass(seed):
    txns, final = serial_history(seed)
    result = check_list_append(txns, final=final, realtime=True)
    assert result.valid, result.report()
    assert result.stats["edges"]["rw"] > 0 and result.stats["edges"]["rt"] > 0


@pytest.mark.parametrize("seed", range(5))
def test_a_stale_read_in_a_random_history_is_found(seed):
    """Drop the last element of a read whose writer ended before the reader started: the
    reader now misses an acknowledged write (rw against rt). The read is the reader's only
    op on its key, and what remains ends at its writer's last append (else it is a G1b)."""
    txns, final = serial_history(seed)
    by_id = {t.id: t for t in txns}
    writer = {v: t.id for t in txns for f, _, v in t.ops if f == "append"}
    last_append = {(t.id, key): v for t in txns for f, key, v in t.ops if f == "append"}
    victims = [(t, i) for t in txns if t.type == OK
               for i, (f, key, v) in enumerate(t.ops)
               if f == "r" and len(v) > 1 and [op[1] for op in t.ops].count(key) == 1
               and by_id[writer[v[-1]]].type == OK and by_id[writer[v[-1]]].end < t.start
               and last_append[(writer[v[-2]], key)] == v[-2]]
    t, i = random.Random(seed).choice(victims)
    f, key, v = t.ops[i]
    t.ops[i] = (f, key, v[:-1])
    result = check_list_append(txns, final=final, realtime=True)
    assert result.kinds() & {"G-single", "G2", "G-single-realtime", "G2-realtime"}, \
        result.report()
    assert check_list_append(txns, final=final).kinds() <= {"G-single", "G2"}


def test_history_recorder_pairs_events():
    history = History()
    a = history.invoke("p1", "txn", [append("x", 1)], at=0)
    b = history.invoke("p2", "txn", [r("x", None)], at=0.1)
    c = history.invoke("p3", "txn", [append("x", 2)], at=0.2)
    history.complete(b, OK, [r("x", [1])], at=0.3)
    history.complete(a, OK, [append("x", 1)], at=0.4)
    ops = history.operations()
    assert [(op.process, op.type, op.end) for op in ops] == [("p1", OK, 0.4), ("p2", OK, 0.3),
                                                             ("p3", INFO, None)]
    txns = txns_from_ops(ops)
    assert [t.end for t in txns] == [0.4, 0.3, None]
    assert check_list_append(txns, final={"x": [1]}, realtime=True).valid
    history.complete(c, INFO, at=0.5)
    history.complete(c, FAIL, "late", at=0.6)
    with pytest.raises(ValueError, match="completed twice"):
        history.operations()


# -- bank ------------------------------------------------------------------------------------

ACCOUNTS = {"a": 10.0, "b": 10.0, "c": 0.0}


def test_bank_sum_violation_and_negative_balance():
    result = check_bank([], [("r1", {"a": 10.0, "b": 5.0, "c": 0.0}),
                             ("r2", {"a": 25.0, "b": -5.0, "c": 0.0})],
                        accounts=ACCOUNTS)
    assert result.kinds() == {"bank-sum", "bank-negative"}
    assert [a.detail["read_id"] for a in result.anomalies] == ["r1", "r2"]


def test_bank_lost_transfer_in_the_final_state():
    transfers = [Transfer(1, OK, "a", "c", 5.0, True), Transfer(2, OK, "b", "c", 5.0, True)]
    result = check_bank(transfers, [], accounts=ACCOUNTS,
                        final={"a": 5.0, "b": 10.0, "c": 5.0})  # the sum holds
    assert result.kinds() == {"bank-final-mismatch"}
    result = check_bank(transfers, [], accounts=ACCOUNTS,
                        final={"a": 5.0, "b": 5.0, "c": 10.0})
    assert result.valid, result.report()


def test_bank_unknown_transfers_may_or_may_not_apply():
    transfers = [Transfer(1, OK, "a", "c", 5.0, True), Transfer(2, INFO, "b", "c", 3.0, None),
                 Transfer(3, INFO, "b", "a", 1.0, None), Transfer(4, FAIL, "a", "b", 2.0, None),
                 Transfer(5, OK, "c", "a", 50.0, False)]
    for final in ({"a": 5.0, "b": 10.0, "c": 5.0}, {"a": 5.0, "b": 7.0, "c": 8.0},
                  {"a": 6.0, "b": 6.0, "c": 8.0}):
        result = check_bank(transfers, [("r", final)], accounts=ACCOUNTS, final=final)
        assert result.valid, result.report()
    # The failed transfer applied: not explained.
    result = check_bank(transfers, [], accounts=ACCOUNTS, final={"a": 3.0, "b": 12.0, "c": 5.0})
    assert result.kinds() == {"bank-final-mismatch"}


# -- write skew ------------------------------------------------------------------------------

ROSTER = {"s1": {"ann": True, "bob": True}}


def test_write_skew_both_doctors_leave():
    attempts = [Attempt(1, OK, "s1", "ann", {"ann": True, "bob": True}, True),
                Attempt(2, OK, "s1", "bob", {"ann": True, "bob": True}, True)]
    result = check_write_skew(attempts, [("r", {"s1": {"ann": False, "bob": False}})],
                              initial=ROSTER, final={"s1": {"ann": False, "bob": False}})
    assert result.kinds() == {"G2-write-skew", "write-skew-read"}
    assert result.of("G2-write-skew")[0].detail["went_off"] == [1, 2]


def test_write_skew_outcomes_without_a_serial_order():
    # Both saw the other on call and say they left, but only one row changed: no serial
    # order gives both those views (the second would have seen the first one off).
    attempts = [Attempt(1, OK, "s1", "ann", {"ann": True, "bob": True}, True),
                Attempt(2, OK, "s1", "bob", {"ann": True, "bob": True}, True)]
    result = check_write_skew(attempts, [], initial=ROSTER,
                              final={"s1": {"ann": False, "bob": True}})
    assert result.kinds() == {"no-serial-order"}


def test_write_skew_valid_histories():
    attempts = [Attempt(1, OK, "s1", "ann", {"ann": True, "bob": True}, True),
                Attempt(2, OK, "s1", "bob", {"ann": False, "bob": True}, False),
                Attempt(3, INFO, "s2", "ann", None, None),
                Attempt(4, OK, "s2", "bob", {"ann": True, "bob": True}, True),
                Attempt(5, FAIL, "s3", "ann", None, None)]
    initial = {**ROSTER, "s2": {"ann": True, "bob": True}, "s3": {"ann": True, "bob": True}}
    result = check_write_skew(attempts, [("r", {"s1": {"ann": False, "bob": True}})],
                              initial=initial,
                              final={"s1": {"ann": False, "bob": True},
                                     "s2": {"ann": True, "bob": False},
                                     "s3": {"ann": True, "bob": True}})
    assert result.valid, result.report()
    assert result.stats["groups_serial_checked"] == 3
