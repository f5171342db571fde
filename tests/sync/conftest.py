"""What the sync tests share: a deployment of an app written to disk, engine running."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from syncline.server.deployment import Deployment
from tests.functions.conftest import write_app


@contextlib.asynccontextmanager
async def deployed(root: Path, files: dict[str, str]) -> AsyncIterator[Deployment]:
    """A pushed deployment of `files` (name -> source under convex/) in `root`."""
    deployment = Deployment(write_app(root / "app", files), data_dir=root / "data",
                            durability="normal")
    await deployment.push()
    try:
        yield deployment
    finally:
        await deployment.sync.stop()
        deployment.close()
