// Uploading files from the browser the way an app does: ask the deployment for an upload
// URL (`_system/frontend/generateUploadUrl`, the same kind `ctx.storage.generate_upload_url()`
// gives), then POST the file to it. XMLHttpRequest rather than fetch: it reports upload
// progress.
import { mutation } from "../../lib/client.js";

/** Upload one File; `onProgress(loaded, total)` as bytes go out. Resolves to the storage ID,
 * rejects with an Error carrying the server's message. */
export async function uploadFile(file, onProgress) {
  const url = await mutation("_system/frontend/generateUploadUrl", {});
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    if (file.type) xhr.setRequestHeader("Content-Type", file.type);
    xhr.upload.onprogress = (e) => onProgress && onProgress(e.loaded, e.total || file.size);
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status === 200 && body && body.storageId) resolve(body.storageId);
      else reject(new Error((body && body.message) || `Upload failed (HTTP ${xhr.status})`));
    };
    xhr.onerror = () => reject(new Error("Upload failed: the deployment could not be reached"));
    xhr.send(file);
  });
}
