"""Kill a process mid-stream of commits: no acknowledged commit lost, no partial commit kept."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from syncline.database import Database

WRITER = Path(__file__).with_name("crash_writer.py")
REPO = Path(__file__).resolve().parents[2]


def run_and_kill(path: Path, durability: str, acks_before_kill: int, first_seq: int) -> set[int]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), durability, str(first_seq)],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    acked: set[int] = set()
    try:
        assert child.stdout is not None
        for line in child.stdout:
            acked.add(int(line))
            if len(acked) >= acks_before_kill:
                child.send_signal(signal.SIGKILL)
                break
    finally:
        child.kill()
        child.wait()
    return acked


@pytest.mark.parametrize("durability", ["full", "normal"])
def test_killed_writer_loses_no_acknowledged_commit_and_keeps_no_partial_one(
    tmp_path: Path, durability: str,
) -> None:
    path = tmp_path / "crash.sqlite3"
    acked: set[int] = set()
    for round_number in range(2):  # crash twice: recovery must also survive a crash
        acked |= run_and_kill(path, durability, 150, first_seq=1_000_000 * round_number)
        db = Database(path)
        try:
            left = asyncio.run(db.read(lambda tx: tx.query("left").collect()))
            right = asyncio.run(db.read(lambda tx: tx.query("right").collect()))
        finally:
            db.close()
        left_parts = collections.Counter(d["seq"] for d in left)
        right_seqs = collections.Counter(d["seq"] for d in right)
        # every commit is whole: two left rows and one right row per sequence number
        assert all(n == 2 for n in left_parts.values())
        assert set(left_parts) == set(right_seqs)
        assert all(n == 1 for n in right_seqs.values())
        assert acked <= {int(s) for s in right_seqs}
