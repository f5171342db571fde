"""A real small disk for tests of a full disk: a tmpfs mounted over a folder.

Mounting needs root (CI runs as root); without it the test is skipped with the reason.
The filler file takes every free block, so the next write that needs a new block
fails with ENOSPC, as on a real full disk; deleting it frees the space again.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

FILLER = "filler.bin"


@contextlib.contextmanager
def small_tmpfs(directory: Path, size_kib: int) -> Iterator[Path]:
    """Mount a `size_kib` tmpfs on `directory` (created if missing) for the block; it is
    unmounted afterwards, also when the block fails."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs",
                        str(directory)], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        reason = getattr(e, "stderr", "") or str(e)
        pytest.skip(f"cannot mount a tmpfs to simulate a full disk (needs root): {reason}")
    try:
        yield directory
    finally:
        result = subprocess.run(["umount", str(directory)], capture_output=True, text=True)
        if result.returncode != 0:  # something still holds a file open: lazily
            subprocess.run(["umount", "-l", str(directory)], check=False)


def fill(directory: Path, name: str = FILLER) -> int:
    """Take every free block of `directory`'s file system with one file; its size."""
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    written = 0
    block = b"\0" * 4096
    try:
        while True:
            try:
                written += os.write(fd, block)
            except OSError:  # ENOSPC: full (a short last block is taken byte by byte)
                try:
                    written += os.write(fd, b"\0")
                    continue
                except OSError:
                    break
    finally:
        os.close(fd)
    return written


def free(directory: Path, name: str = FILLER) -> None:
    (directory / name).unlink(missing_ok=True)


def free_bytes(directory: Path) -> int:
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize
