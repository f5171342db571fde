"""Shared fixtures: a fresh on-disk database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syncline.database import Database


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite3"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    # "normal" durability survives a killed process (tested separately) and keeps the suite fast.
    database = Database(db_path, durability="normal")
    yield database
    database.close()
