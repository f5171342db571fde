"""The local blob store: streamed in and out, hashed on the way, all or nothing."""

import hashlib
import os

import pytest

from syncline.storage.blobs import BlobNotFoundError, BlobTooLargeError, LocalBlobStore


async def stream(data: bytes, chunk: int = 1000):
    for i in range(0, len(data), chunk):
        yield data[i:i + chunk]


async def read_all(store, key, start=0, end=None) -> bytes:
    return b"".join([c async for c in store.read(key, start, end)])


async def test_put_read_ranges_and_delete(tmp_path):
    store = LocalBlobStore(tmp_path)
    data = os.urandom(3_000_001)
    blob = await store.put(stream(data, 65_536))
    assert blob.size == len(data)
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert store.size(blob.key) == len(data)
    assert await read_all(store, blob.key) == data
    assert await read_all(store, blob.key, 10, 20) == data[10:20]
    assert await read_all(store, blob.key, 2_999_990) == data[2_999_990:]
    assert list(store.keys()) == [blob.key]
    store.delete(blob.key)
    store.delete(blob.key)  # twice is fine
    with pytest.raises(BlobNotFoundError):
        store.size(blob.key)
    with pytest.raises(BlobNotFoundError):
        await read_all(store, blob.key)


async def test_a_stream_over_the_limit_stores_nothing(tmp_path):
    store = LocalBlobStore(tmp_path)
    with pytest.raises(BlobTooLargeError):
        await store.put(stream(b"x" * 5000), max_size=4096)
    assert list(store.keys()) == []
    assert list((tmp_path / "tmp").iterdir()) == []


async def test_a_failing_stream_leaves_no_partial_blob(tmp_path):
    store = LocalBlobStore(tmp_path)

    async def broken():
        yield b"some bytes"
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        await store.put(broken())
    assert list(store.keys()) == []
    assert list((tmp_path / "tmp").iterdir()) == []


async def test_keys_are_not_paths(tmp_path):
    store = LocalBlobStore(tmp_path)
    for bad in ("../../etc/passwd", "", "zz", "ABCDEF"):
        with pytest.raises(BlobNotFoundError):
            store.size(bad)
