"""Telling a full disk apart from other storage failures.

A full disk shows up differently in each component: SQLite says SQLITE_FULL (or an
I/O error while growing its shared-memory file), Python file writes raise OSError
ENOSPC or EDQUOT, and tantivy wraps the OS error in a ValueError whose text names
"StorageFull". Callers turn all of them into one DiskFullError, so a client is
told plainly what happened and that nothing was written.
"""

from __future__ import annotations

import errno
import os
import sqlite3

from syncline.errors import DiskFullError

_NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# How tantivy (Rust's io::ErrorKind) and OS messages spell a full disk.
_NO_SPACE_TEXT = ("StorageFull", "QuotaExceeded", "No space left on device",
                  "os error 28", "Disk quota exceeded")
_SQLITE_IOERR = 10
# Below this much free space, an I/O error of SQLite (which carries no errno) is taken
# for a full disk: growing its shared-memory file alone needs 32 KiB.
LOW_SPACE_BYTES = 1 << 20


def is_disk_full(error: BaseException, path: str | os.PathLike[str] | None = None) -> bool:
    """Whether `error` (or what caused it) says the disk, or the user's quota, is full.
    SQLite's I/O errors count when the disk holding `path` has (almost) no room left."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DiskFullError):
            return True
        if isinstance(current, OSError) and current.errno in _NO_SPACE_ERRNOS:
            return True
        if isinstance(current, sqlite3.Error):
            code = getattr(current, "sqlite_errorcode", None)
            if code == sqlite3.SQLITE_FULL:
                return True
            # An I/O error carries no errno (growing the -shm file fails as
            # SQLITE_IOERR_SHMSIZE): look at the room left on the disk.
            if code is not None and code & 0xFF == _SQLITE_IOERR and path is not None \
                    and _free_bytes(path) < LOW_SPACE_BYTES:
                return True
        elif isinstance(current, ValueError) and _mentions_no_space(str(current)):
            return True  # tantivy
        current = current.__cause__ or current.__context__
    return False


def _mentions_no_space(text: str) -> bool:
    return any(marker in text for marker in _NO_SPACE_TEXT)


def _free_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes an unprivileged writer may still use on the file system holding `path`."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    try:
        stats = os.statvfs(directory)
    except OSError:
        return LOW_SPACE_BYTES  # unknown: not taken for a full disk
    return stats.f_bavail * stats.f_frsize
