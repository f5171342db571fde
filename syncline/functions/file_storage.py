"""File storage: `_storage` rows, blob contents, signed upload URLs and `ctx.storage`.

A stored file is a blob in the deployment's BlobStore plus a document in the
`_storage` system table:

    {_id, _creationTime, sha256, size, contentType?, blobKey}

`sha256` is the hex (base16) SHA-256 of the contents, as Convex's file-metadata
docs describe; `size` is in bytes; `contentType` is whatever the uploader sent
(absent if nothing was sent). `blobKey` is internal: the key of the blob in the
BlobStore. The row is the file: deleting it (in a mutation, so only if the
mutation commits) makes the file unreachable at once, and the blob itself is
removed later by `sweep_unreferenced_blobs`, which deletes blobs no row refers to.
Blobs younger than an hour are left alone so an upload whose row is not yet
committed is never swept.

Contents are never held whole in memory: uploads stream into the BlobStore,
downloads stream out of it (`open_blob`), and actions may store an async stream.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any, Protocol

from syncline.database import Database, Transaction
from syncline.database.catalog import SYSTEM_TABLES
from syncline.errors import InvalidIdError
from syncline.storage.blobs import BlobNotFoundError, BlobStore
from syncline.values import decode_id

STORAGE_TABLE = "_storage"
UPLOAD_URL_VALIDITY_S = 3600.0
DEFAULT_MAX_UPLOAD_SIZE = 64 * 1024 * 1024 * 1024  # 64 GiB: generous, but a bound


def check_storage_id(storage_id: Any) -> str:
    """`storage_id` if it is an ID of the `_storage` table; InvalidIdError otherwise."""
    number = None
    if isinstance(storage_id, str):
        try:
            number, _ = decode_id(storage_id)
        except InvalidIdError:
            number = None
    if number != SYSTEM_TABLES[STORAGE_TABLE]:
        raise InvalidIdError(f"{storage_id!r} is not a storage ID (an ID of `_storage`)")
    return storage_id


def is_storage_id(storage_id: Any) -> bool:
    try:
        check_storage_id(storage_id)
    except InvalidIdError:
        return False
    return True


def storage_document(blob_key: str, size: int, sha256: str,
                     content_type: str | None) -> dict[str, Any]:
    document: dict[str, Any] = {"sha256": sha256, "size": size, "blobKey": blob_key}
    if content_type:
        document["contentType"] = content_type
    return document


async def _as_chunks(data: Any) -> AsyncIterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
    elif isinstance(data, AsyncIterable):
        async for chunk in data:
            yield bytes(chunk)
    elif isinstance(data, Iterable) and not isinstance(data, str):
        for chunk in data:
            yield bytes(chunk)
    else:
        raise TypeError(f"ctx.storage.store expects bytes or an (async) iterable of bytes, "
                        f"got {type(data).__name__}")


def file_metadata(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """Convex's `FileMetadata` for a `_storage` row (what the deprecated
    `storage.getMetadata()` returns): `storageId`, `sha256`, `size` and `contentType`
    (null when the upload gave none). Not the row itself: no `_creationTime`, no `blobKey`."""
    if row is None:
        return None
    return {"storageId": row["_id"], "sha256": row["sha256"], "size": row["size"],
            "contentType": row.get("contentType")}


class UrlSigner(Protocol):
    """Signs upload tokens (the auth layer provides it: `syncline.auth.signed_urls`)."""

    def sign(self, valid_for_s: float) -> str: ...

class FileStorage:
    """One deployment's files: the blob store, the database, and the URL signer."""

    def __init__(self, db: Database, blobs: BlobStore, signer: UrlSigner, *,
                 base_url: Callable[[], str | None],
                 upload_url_validity_s: float = UPLOAD_URL_VALIDITY_S,
                 max_upload_size: int = DEFAULT_MAX_UPLOAD_SIZE) -> None:
        self.db = db
        self.blobs = blobs
        self.signer = signer
        self._base_url = base_url
        self.upload_url_validity_s = upload_url_validity_s
        self.max_upload_size = max_upload_size

    def _url(self, rest: str) -> str:
        base = self._base_url()
        if not base:
            raise RuntimeError("File URLs need the deployment's URL, known once it listens")
        return f"{base.rstrip('/')}/api/storage/{rest}"

    def upload_url(self) -> str:
        return self._url(f"upload?token={self.signer.sign(self.upload_url_validity_s)}")

    def file_url(self, storage_id: str) -> str:
        return self._url(storage_id)

    async def store(self, data: Any, content_type: str | None = None) -> str:
        """Stream `data` into a blob and commit its `_storage` row; the new storage ID."""
        blob = await self.blobs.put(_as_chunks(data), max_size=self.max_upload_size)
        document = storage_document(blob.key, blob.size, blob.sha256, content_type)

        async def insert(tx: Transaction) -> str:
            return await tx.insert(STORAGE_TABLE, document, system=True)

        try:
            return await self.db.run_transaction(insert)
        except BaseException:
            self.blobs.delete(blob.key)
            raise

    async def metadata(self, storage_id: str) -> dict[str, Any] | None:
        check_storage_id(storage_id)
        return await self.db.read(lambda tx: tx.get(storage_id))

    async def delete(self, storage_id: str) -> None:
        """Delete the row in a transaction of its own, then the blob (actions)."""
        check_storage_id(storage_id)

        async def remove(tx: Transaction) -> dict[str, Any] | None:
            row = await tx.get(storage_id)
            if row is not None:
                await tx.delete(storage_id, system=True)
            return row

        row = await self.db.run_transaction(remove)
        if row is not None:
            self.blobs.delete(row["blobKey"])

    def open_blob(self, row: dict[str, Any], start: int = 0,
                  end: int | None = None) -> AsyncIterator[bytes]:
        return self.blobs.read(row["blobKey"], start, end)


class StoredFile:
    """A stored file opened by an action: metadata now, contents streamed on demand.

    `async for chunk in file` reads it in chunks (1 MiB); `await file.read()` reads it
    whole, which is only sensible for small files."""

    def __init__(self, storage: FileStorage, row: dict[str, Any]) -> None:
        self._storage = storage
        self._row = row
        self.storage_id: str = row["_id"]
        self.size: int = row["size"]
        self.sha256: str = row["sha256"]
        self.content_type: str | None = row.get("contentType")

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._storage.open_blob(self._row)

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self])


class QueryStorage:
    """`ctx.storage` in a query: `get_url` only (reads `_storage` in the query's snapshot)."""

    def __init__(self, tx: Transaction, files: FileStorage) -> None:
        self._tx = tx
        self._files = files

    async def get_url(self, storage_id: str) -> str | None:
        """A URL serving the file (GET, with Range support), or None if there is no such
        file. The URL does not expire; it stops working when the file is deleted."""
        check_storage_id(storage_id)
        if await self._tx.get(storage_id) is None:
            return None
        return self._files.file_url(storage_id)

    async def get_metadata(self, storage_id: str) -> dict[str, Any] | None:
        """Deprecated in Convex (read `ctx.db.system.get(storage_id)` instead), kept for
        ported code: the file's `{storageId, sha256, size, contentType}`, or None. Read in
        this function's transaction, so a query re-runs when the file changes."""
        check_storage_id(storage_id)
        return file_metadata(await self._tx.get(storage_id))

    # Convex's JS name, for people porting code.
    getUrl = get_url  # noqa: N815
    getMetadata = get_metadata  # noqa: N815


class MutationStorage(QueryStorage):
    """`ctx.storage` in a mutation: upload URLs, file URLs, and transactional deletes."""

    async def generate_upload_url(self) -> str:
        """A URL to POST a file to, valid for one hour; the response is `{"storageId"}`."""
        return self._files.upload_url()

    async def delete(self, storage_id: str) -> None:
        """Delete the file in this mutation's transaction: it is gone only if the mutation
        commits. Deleting a file that does not exist is an error, as in Convex."""
        check_storage_id(storage_id)
        if await self._tx.get(storage_id) is None:
            raise InvalidIdError(f"Storage ID {storage_id!r} does not refer to a stored file")
        await self._tx.delete(storage_id, system=True)

    generateUploadUrl = generate_upload_url  # noqa: N815


class ActionStorage:
    """`ctx.storage` in an action: each call reads or commits at once."""

    def __init__(self, files: FileStorage) -> None:
        self._files = files

    async def generate_upload_url(self) -> str:
        return self._files.upload_url()

    async def get_url(self, storage_id: str) -> str | None:
        if await self._files.metadata(storage_id) is None:
            return None
        return self._files.file_url(storage_id)

    async def store(self, data: Any, content_type: str | None = None) -> str:
        """Store bytes, or an (async) iterable of byte chunks (streamed, never held whole);
        returns the new file's storage ID."""
        return await self._files.store(data, content_type)

    async def get(self, storage_id: str) -> bytes | None:
        """The file's contents as bytes, or None if there is no such file.

        This reads the whole file into memory: for large files use `open()` (which
        streams) or serve them with `get_url()`."""
        opened = await self.open(storage_id)
        return None if opened is None else await opened.read()

    async def open(self, storage_id: str) -> StoredFile | None:
        """The file as a StoredFile (`async for chunk in file`), or None."""
        row = await self._files.metadata(storage_id)
        if row is None:
            return None
        return StoredFile(self._files, row)

    async def delete(self, storage_id: str) -> None:
        """Delete the file now (its own transaction); a missing file is not an error."""
        await self._files.delete(storage_id)

    async def get_metadata(self, storage_id: str) -> dict[str, Any] | None:
        """Deprecated in Convex, kept for ported code: `{storageId, sha256, size,
        contentType}` of the file, or None if there is no such file."""
        return file_metadata(await self._files.metadata(storage_id))

    getUrl = get_url  # noqa: N815
    getMetadata = get_metadata  # noqa: N815
    generateUploadUrl = generate_upload_url  # noqa: N815


async def sweep_unreferenced_blobs(db: Database, blobs: BlobStore,
                                   older_than_s: float = 3600.0) -> int:
    """Delete blobs no `_storage` row refers to and not modified within `older_than_s`
    (younger ones may belong to an upload whose row is not committed yet), and stale
    partial uploads. Returns how many blobs it deleted."""

    async def referenced(tx: Transaction) -> set[str]:
        keys = set()
        async for row in tx.query(STORAGE_TABLE, system=True):
            keys.add(row["blobKey"])
        return keys

    in_use = await db.read(referenced)
    cutoff = time.time() - older_than_s
    deleted = 0
    for key in list(blobs.keys()):
        if key in in_use:
            continue
        try:
            if blobs.modified_at(key) > cutoff:
                continue
        except BlobNotFoundError:
            continue
        blobs.delete(key)
        deleted += 1
    blobs.sweep_partial(cutoff)
    return deleted
