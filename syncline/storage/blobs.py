"""Blob storage for files: an interface, and the local-disk implementation used by default.

Files never sit whole in memory: `put` consumes an async stream of chunks and
hashes it as it goes, `read` yields chunks of a byte range. A blob is written
to a temporary file and renamed into place only when complete, so a crash
mid-upload leaves no partial blob under a real key. Which blobs are in use is
the database's business (the `_storage` table); `keys()` lets a sweeper find
blobs no committed row refers to. An S3 implementation fills the same interface.
Disk reads and writes run in worker threads, so a large upload never stalls the
event loop that serves everyone else. A full disk fails a `put` with DiskFullError,
leaving nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncline.errors import DiskFullError
from syncline.storage.disk_full import is_disk_full

CHUNK_SIZE = 1 << 20  # 1 MiB


class BlobNotFoundError(LookupError):
    """No blob with that key."""


class BlobTooLargeError(ValueError):
    """A stream went past the size the caller allowed."""


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    sha256: str  # hex


class BlobStore(ABC):
    @abstractmethod
    async def put(self, chunks: AsyncIterable[bytes], *, max_size: int | None = None) -> StoredBlob:
        """Store a stream; raises BlobTooLargeError past `max_size`, DiskFullError when
        the store has no room, storing nothing either way."""

    @abstractmethod
    def size(self, key: str) -> int: ...

    @abstractmethod
    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Bytes `[start, end)` of the blob (end None: to its end), in chunks."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob; deleting a missing blob is not an error."""

    @abstractmethod
    def keys(self) -> Iterator[str]: ...

    def modified_at(self, key: str) -> float:
        """When the blob was written (Unix seconds): the sweeper spares young blobs."""
        raise NotImplementedError

    def sweep_partial(self, older_than: float) -> None:
        """Remove leftovers of uploads that crashed before `older_than` (Unix seconds)."""
        return None


class LocalBlobStore(BlobStore):
    """Blobs as files under `root`, spread over 256 subfolders by key prefix."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(exist_ok=True)

    def _path(self, key: str) -> Path:
        if len(key) < 3 or not all(c in "0123456789abcdef" for c in key):
            raise BlobNotFoundError(key)
        return self.root / key[:2] / key

    async def put(self, chunks: AsyncIterable[bytes], *, max_size: int | None = None) -> StoredBlob:
        key = secrets.token_hex(16)
        digest = hashlib.sha256()
        size = 0
        tmp = self._tmp / f"{key}.part"
        try:
            with open(tmp, "wb") as out:
                async for chunk in chunks:
                    if not chunk:
                        continue
                    size += len(chunk)
                    if max_size is not None and size > max_size:
                        raise BlobTooLargeError(f"The file is larger than {max_size} bytes")
                    digest.update(chunk)
                    # Disk IO in a worker thread: the event loop keeps serving meanwhile.
                    await asyncio.to_thread(out.write, chunk)
                await asyncio.to_thread(_flush_and_sync, out)
            final = self._path(key)
            final.parent.mkdir(exist_ok=True)
            os.replace(tmp, final)
        except OSError as error:
            if is_disk_full(error):
                raise DiskFullError() from error
            raise
        finally:
            tmp.unlink(missing_ok=True)
        return StoredBlob(key, size, digest.hexdigest())

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise BlobNotFoundError(key) from None

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        try:
            handle = open(self._path(key), "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise BlobNotFoundError(key) from None
        with handle:
            handle.seek(start)
            remaining = None if end is None else max(0, end - start)
            while remaining is None or remaining > 0:
                want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def delete(self, key: str) -> None:
        with contextlib.suppress(BlobNotFoundError):  # not a key: nothing to delete
            self._path(key).unlink(missing_ok=True)

    def modified_at(self, key: str) -> float:
        try:
            return self._path(key).stat().st_mtime
        except FileNotFoundError:
            raise BlobNotFoundError(key) from None

    def sweep_partial(self, older_than: float) -> None:
        for part in self._tmp.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if part.stat().st_mtime < older_than:
                    part.unlink()

    def keys(self) -> Iterator[str]:
        for folder in self.root.iterdir():
            if folder.is_dir() and len(folder.name) == 2:
                for blob in folder.iterdir():
                    yield blob.name


def _flush_and_sync(handle: Any) -> None:
    handle.flush()
    os.fsync(handle.fileno())
