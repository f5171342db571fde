"""File storage endpoints (functions/file_storage.py; docs/file-storage.md).

- `POST /api/storage/upload?token=...`: the body (any content type) is streamed into
  the blob store and a `_storage` row committed; answers `{"storageId": id}`. The
  token comes from `ctx.storage.generate_upload_url()`: a tampered one is 401, an
  expired one 403, a body past the size limit 413, one that stops arriving 408 (see
  http_protocol.py), and a full disk 507 (Insufficient Storage). A body that does not
  arrive whole, or finds the disk full, leaves no file behind.
- `GET /api/storage/{id}`: the file, streamed, with its content type,
  `Content-Length` and `Accept-Ranges: bytes`; one `Range: bytes=a-b | a- | -n`
  gives 206 with `Content-Range` (416 if unsatisfiable; a malformed or invalid range, such
  as `bytes=5-3`, is ignored and the whole file sent); unknown IDs are 404.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from syncline.auth.signed_urls import ExpiredTokenError, InvalidTokenError
from syncline.errors import DiskFullError
from syncline.functions.file_storage import (
    STORAGE_TABLE,
    FileStorage,
    is_storage_id,
    storage_document,
)
from syncline.server.request_bodies import CLOSE, declared_length, stream_body
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    disk_full_response,
    json_response,
)
from syncline.storage.blobs import BlobNotFoundError, BlobTooLargeError

# One range of the `bytes` unit (RFC 9110 14.1.2); anything else is ignored.
_RANGE = re.compile(r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*", re.ASCII | re.IGNORECASE)
_BEYOND_ANY_FILE = 1 << 63


def _position(digits: str) -> int:
    """A byte position or suffix length; one of 19 digits or more is past any file (and
    `int()` of thousands of digits is refused)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) < 19 else _BEYOND_ANY_FILE


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """`[start, end)` of a single-range `Range` header; None to send the whole file.

    A header that is not one valid byte range (another unit, several ranges, `bytes=5-3`
    whose last position is before its first) is ignored, as RFC 9110 (14.2) lets a server
    do. Raises ValueError when a valid range cannot be satisfied (416)."""
    if not header:
        return None
    match = _RANGE.fullmatch(header)
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last n bytes
        n = _position(last)
        if n == 0 or size == 0:
            raise ValueError
        return max(0, size - n), size
    start = _position(first)
    if last and _position(last) < start:
        return None  # an invalid range (RFC 9110 14.1.1): ignored, the whole file
    if start >= size:
        raise ValueError
    end = size if not last else min(size, _position(last) + 1)
    return start, end


class StorageApi:
    def __init__(self, files: FileStorage) -> None:
        self.files = files

    async def upload(self, request: Request) -> Response:
        try:
            self.files.signer.verify(request.query_params.get("token"))
        except ExpiredTokenError:
            return bad_request_response(BadRequest(
                "StorageTokenExpired", "This upload URL has expired: generate a new one with "
                "ctx.storage.generate_upload_url()", 403))
        except InvalidTokenError as e:
            return bad_request_response(BadRequest(
                "InvalidStorageToken", f"This upload URL's token is not valid: {e}", 401))
        limit = self.files.max_upload_size
        declared = declared_length(request.headers)
        too_large = BadRequest("PayloadTooLarge",
                               f"The file is larger than the {limit} bytes uploads may be", 413,
                               CLOSE)
        if declared is not None and declared > limit:
            return bad_request_response(too_large)
        try:
            # Streamed to a temporary file, which `put` removes if the body does not
            # arrive whole (too large, idle past the timeout, or the client went away).
            blob = await self.files.blobs.put(stream_body(request.receive),
                                              max_size=limit)
        except BlobTooLargeError:
            return bad_request_response(too_large)
        except BadRequest as e:  # a disconnect, or the idle timeout: no one reads the answer
            return bad_request_response(e)
        except DiskFullError as e:
            return disk_full_response(request, e)
        content_type = request.headers.get("content-type")
        document = storage_document(blob.key, blob.size, blob.sha256, content_type)

        async def insert(tx: Any) -> str:
            return await tx.insert(STORAGE_TABLE, document, system=True)

        try:
            storage_id = await self.files.db.run_transaction(insert)
        except DiskFullError as e:
            self.files.blobs.delete(blob.key)
            return disk_full_response(request, e)
        except BaseException:
            self.files.blobs.delete(blob.key)
            raise
        return json_response({"storageId": storage_id})

    async def download(self, request: Request) -> Response:
        storage_id = request.path_params["storage_id"]
        not_found = bad_request_response(BadRequest(
            "FileNotFound", f"There is no stored file {storage_id!r}", 404))
        if not is_storage_id(storage_id):
            return not_found
        row = await self.files.metadata(storage_id)
        if row is None:
            return not_found
        try:
            size = self.files.blobs.size(row["blobKey"])
        except BlobNotFoundError:
            return not_found
        headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=2592000"}
        media_type = row.get("contentType") or "application/octet-stream"
        try:
            wanted = parse_range(request.headers.get("range"), size)
        except ValueError:
            return Response(status_code=416, headers={**headers,
                                                      "Content-Range": f"bytes */{size}"})
        start, end, status = 0, size, 200
        if wanted is not None:
            start, end = wanted
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        headers["Content-Length"] = str(end - start)
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers, media_type=media_type)
        return StreamingResponse(self.files.open_blob(row, start, end), status_code=status,
                                 headers=headers, media_type=media_type)


def storage_routes(files: FileStorage) -> list[Route]:
    api = StorageApi(files)
    return [
        Route("/api/storage/upload", api.upload, methods=["POST"]),
        Route("/api/storage/{storage_id}", api.download, methods=["GET", "HEAD"]),
    ]
