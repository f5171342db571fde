"""Real consumers of syncline's exports for tests/e2e/test_export_consumers.py: a PyPI tool
installed in its own venv, and a throwaway PostgreSQL cluster.

A tool's venv lives beside pytest's temporary directories (`<pytest tmp root>/syncline-tool-
venvs/<name>`), so later runs reuse it; a test skips only if the package does not install.
PostgreSQL must be installed (Debian's `postgresql`; `.ci/run` installs it): a missing
server fails the test. The cluster runs as the `postgres` user when the tests run as root
(PostgreSQL refuses root), on a free loopback port, and is stopped and deleted afterwards.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# -- tool venvs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolVenv:
    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"


def tool_venv(factory: pytest.TempPathFactory, name: str, requirement: str) -> ToolVenv:
    """A venv with `requirement` installed (created once, then reused); skips the test if
    pip cannot install it here."""
    base = factory.getbasetemp().parent / "syncline-tool-venvs"
    base.mkdir(parents=True, exist_ok=True)
    venv = ToolVenv(base / name)
    marker = venv.root / "installed.txt"
    with (base / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest session may be installing it
        if marker.is_file() and marker.read_text() == requirement:
            return venv
        shutil.rmtree(venv.root, ignore_errors=True)
        created = subprocess.run([sys.executable, "-m", "venv", str(venv.root)],
                                 capture_output=True, text=True, timeout=300)
        assert created.returncode == 0, created.stderr
        installed = subprocess.run(
            [str(venv.bin / "python"), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", requirement],
            capture_output=True, text=True, timeout=900)
        if installed.returncode != 0:
            shutil.rmtree(venv.root, ignore_errors=True)
            pytest.skip(f"{requirement} does not install here: "
                        f"{(installed.stdout + installed.stderr)[-1500:]}")
        marker.write_text(requirement)
    return venv


# -- PostgreSQL ----------------------------------------------------------------------------------


def _postgres_bindir() -> Path:
    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path.parent.parent.name))

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=version)
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        pytest.fail("PostgreSQL is not installed: `apt-get install -y postgresql` "
                    "(.ci/run installs it)")
    return Path(pg_ctl).resolve().parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresCluster:
    bindir: Path
    port: int

    def psql(self, database: str, sql: str) -> str:
        """Run `sql` (stopping at the first error); the unaligned, tuples-only output."""
        result = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database],
            input=sql, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"psql failed:\n{result.stderr[-5000:]}"
        return result.stdout.strip()

    def create_database(self, name: str) -> str:
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return name


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A fresh cluster (trust auth, loopback only) for the duration of the block."""
    bindir = _postgres_bindir()
    as_user: dict[str, Any] = {}
    root = Path(tempfile.mkdtemp(prefix="syncline-pg-"))
    if os.geteuid() == 0:
        as_user = {"user": "postgres", "group": "postgres"}
        shutil.chown(root, "postgres", "postgres")
    data, log = root / "data", root / "server.log"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(bindir / args[0]), *args[1:]], capture_output=True,
                              text=True, timeout=120, cwd=root, **as_user)

    started = False
    try:
        init = run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust",
                   "--no-locale", "-E", "UTF8")
        assert init.returncode == 0, init.stdout + init.stderr
        port = _free_port()
        start = run("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "start")
        started = True
        assert start.returncode == 0, start.stdout + start.stderr + (
            log.read_text() if log.exists() else "")
        yield PostgresCluster(bindir, port)
    finally:
        if started:
            run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop")
        shutil.rmtree(root, ignore_errors=True)
