"""What the runner tests share: an app written to disk and a runner over it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from syncline.database import Database
from syncline.functions import FunctionRunner, load_app


def write_app(root: Path, files: dict[str, str]) -> Path:
    """`files` (name -> source) under `root/convex/`; returns `root`."""
    for name, text in files.items():
        path = root / "convex" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@contextlib.asynccontextmanager
async def running(app_dir: Path, db: Database, **options: Any) -> AsyncIterator[FunctionRunner]:
    """A runner of the app in `app_dir` on `db`, its schema applied."""
    app = load_app(app_dir)
    await db.apply_schema(app.schema)
    runner = FunctionRunner(db, app, **options)
    try:
        yield runner
    finally:
        runner.close()
        app.unload()
