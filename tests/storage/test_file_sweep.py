"""sweep_unreferenced_blobs and the signed upload tokens."""

import os
import time

import pytest

from syncline.auth.signed_urls import ExpiredTokenError, InvalidTokenError, UrlSigner
from syncline.database import Database
from syncline.functions.file_storage import (
    STORAGE_TABLE,
    storage_document,
    sweep_unreferenced_blobs,
)
from syncline.storage.blobs import LocalBlobStore


async def _chunks(data: bytes):
    yield data


def _age(blobs: LocalBlobStore, key: str, seconds: float) -> None:
    path = blobs.root / key[:2] / key
    old = time.time() - seconds
    os.utime(path, (old, old))


async def test_sweep_deletes_only_old_unreferenced_blobs(tmp_path):
    blobs = LocalBlobStore(tmp_path / "files")
    with Database(tmp_path / "db.sqlite3") as db:
        kept = await blobs.put(_chunks(b"referenced"))
        orphan = await blobs.put(_chunks(b"orphan"))
        young = await blobs.put(_chunks(b"in flight"))
        for key in (kept.key, orphan.key):
            _age(blobs, key, 7200)

        async def insert(tx):
            return await tx.insert(STORAGE_TABLE, storage_document(
                kept.key, kept.size, kept.sha256, None), system=True)

        await db.run_transaction(insert)
        partial = blobs.root / "tmp" / "dead.part"
        partial.write_bytes(b"x")
        os.utime(partial, (time.time() - 7200,) * 2)

        assert await sweep_unreferenced_blobs(db, blobs, older_than_s=3600) == 1
        assert set(blobs.keys()) == {kept.key, young.key}
        assert not partial.exists()
        # With no grace period the young orphan goes too.
        assert await sweep_unreferenced_blobs(db, blobs, older_than_s=0) == 1
        assert set(blobs.keys()) == {kept.key}


def test_signed_tokens():
    signer = UrlSigner(b"s" * 32, "storage upload")
    token = signer.sign(60)
    assert signer.verify(token) > time.time()
    expires, nonce, signature = token.split(".")
    with pytest.raises(InvalidTokenError):
        signer.verify(f"{int(expires) + 1000}.{nonce}.{signature}")
    with pytest.raises(InvalidTokenError):
        signer.verify("garbage")
    with pytest.raises(InvalidTokenError):
        UrlSigner(b"t" * 32, "storage upload").verify(token)
    with pytest.raises(InvalidTokenError):
        UrlSigner(b"s" * 32, "other purpose").verify(token)
    with pytest.raises(ExpiredTokenError):
        signer.verify(signer.sign(-10))
