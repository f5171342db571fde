"""`syncline init`: copy the example app template into a new folder."""

from __future__ import annotations

import shutil
from pathlib import Path

TEMPLATE = Path(__file__).with_name("app_template")


class ScaffoldError(Exception):
    pass


def create_app(directory: Path) -> list[Path]:
    """Copy the template into `directory`, refusing to overwrite an existing app."""
    if (directory / "convex").exists():
        raise ScaffoldError(f"{directory}/convex already exists: not overwriting an existing app")
    created = []
    for source in sorted(TEMPLATE.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        target = directory / source.relative_to(TEMPLATE)
        if target.exists():
            raise ScaffoldError(f"{target} already exists: not overwriting it")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        created.append(target)
    gitignore = directory / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(".syncline/\n__pycache__/\n")
        created.append(gitignore)
    return created
