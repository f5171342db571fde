"""Scheduled functions across a SIGKILL: mutations run exactly once, actions at most once."""

from __future__ import annotations

import collections
import signal
import time

from tests.e2e.conftest import copy_app, start_server

MUTATIONS = 300
ACTIONS = 5


def summary(server) -> dict:
    result = server.run("query", "work:summary")
    assert result["status"] == "success", result
    return result["value"]


def test_a_killed_server_runs_every_mutation_once_and_no_action_twice(tmp_path):
    app = copy_app("jobs", tmp_path)
    server = start_server(app, "serve")
    try:
        scheduled = server.run("mutation", "work:schedule",
                               {"mutations": MUTATIONS, "actions": ACTIONS, "delay": 300})
        assert scheduled["status"] == "success", scheduled
        # Kill it while jobs are running: mutations done, running and pending, actions in flight.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = summary(server)["runs"]
            if sum(key.startswith("m") for key in runs) > 20:  # actions are mid-sleep now
                killed_at = len(runs)
                break
            time.sleep(0.01)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
    finally:
        server.stop()

    restarted = start_server(app, "serve")
    try:
        deadline = time.monotonic() + 60
        while True:
            state = summary(restarted)
            unfinished = [k for k, s in state["states"] if s in ("pending", "inProgress")]
            if not unfinished:
                break
            assert time.monotonic() < deadline, f"jobs never finished: {unfinished[:5]}"
            time.sleep(0.05)
    finally:
        restarted.stop()

    runs = collections.Counter(state["runs"])
    states = dict(state["states"])
    # The kill did land mid-flight: some action was interrupted and failed.
    interrupted = [k for k, s in states.items() if k.startswith("a") and s == "failed"]
    print(f"killed after {killed_at} runs; interrupted actions: {len(interrupted)}")
    assert interrupted, "the kill happened when no action was running: the test proved nothing"
    # Every mutation ran exactly once, whatever the kill interrupted.
    for i in range(MUTATIONS):
        assert runs[f"m{i}"] == 1, (f"m{i}", runs[f"m{i}"], states[f"m{i}"])
        assert states[f"m{i}"] == "success"
    # No action ran twice; one the kill interrupted is failed, not re-run.
    for i in range(ACTIONS):
        key = f"a{i}"
        assert runs[key] <= 1, (key, runs[key])
        assert states[key] in ("success", "failed")
