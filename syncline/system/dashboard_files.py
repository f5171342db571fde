"""System functions of the dashboard's Files page (`_system/frontend/...`).

- `generateUploadUrl` (mutation): an upload URL, the same kind `ctx.storage.
  generate_upload_url()` gives an app (POST the file to it: `{"storageId"}`), so the
  dashboard uploads through the one upload path there is;
- `fileUrl` `{id}` (query): the file's download URL (`GET /api/storage/{id}`, as
  `ctx.storage.get_url` gives), or null when there is no such file;
- `deleteFiles` `{ids}` (mutation): delete files as `ctx.storage.delete` does (the
  `_storage` row in this transaction; the blob goes with the next sweep), recorded in
  the history as an admin edit of `_storage`. IDs of files already gone are skipped (two
  tabs deleting the same file is not an error); an ID that is not a storage ID is.

The list itself is `_system/frontend/files` (dashboard.py).
"""

from __future__ import annotations

from typing import Any

from syncline.errors import ConvexError
from syncline.functions.file_storage import STORAGE_TABLE, is_storage_id
from syncline.schema import v
from syncline.system.history import record_admin_edit
from syncline.system.registry import system_mutation, system_query

MAX_DELETED = 1_000  # files one deleteFiles call may name


def _files(ctx: Any) -> Any:
    files = ctx.deployment.files
    if files is None:
        raise ConvexError({"code": "StorageUnavailable",
                           "message": "This deployment has no file storage"})
    return files


def _check_id(storage_id: str) -> str:
    if not is_storage_id(storage_id):
        raise ConvexError({"code": "InvalidStorageId",
                           "message": f"{storage_id!r} is not a storage ID (an ID of _storage)"})
    return storage_id


@system_mutation("_system/frontend/generateUploadUrl")
async def generate_upload_url(ctx: Any) -> str:
    return str(_files(ctx).upload_url())


@system_query("_system/frontend/fileUrl", args={"id": v.string()})
async def file_url(ctx: Any, id: str) -> str | None:  # noqa: A002 - the dashboard's name
    if await ctx.db.get(_check_id(id)) is None:
        return None
    return str(_files(ctx).file_url(id))


@system_mutation("_system/frontend/deleteFiles", args={"ids": v.array(v.string())})
async def delete_files(ctx: Any, ids: list[str]) -> dict[str, Any]:
    if len(ids) > MAX_DELETED:
        raise ConvexError({"code": "TooManyFiles", "message": f"At most {MAX_DELETED} files "
                           f"can be deleted at once, got {len(ids)}"})
    for storage_id in ids:
        _check_id(storage_id)
    deleted = []
    for storage_id in dict.fromkeys(ids):
        if await ctx.db.get(storage_id) is not None:
            await ctx.db.delete(storage_id)
            deleted.append(storage_id)
    if deleted:
        await record_admin_edit(ctx.db.transaction, STORAGE_TABLE, "delete", deleted)
    return {"deleted": len(deleted)}
