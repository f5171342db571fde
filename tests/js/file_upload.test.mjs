// The upload flow of the Convex file-storage docs, from Node with the official client:
// a mutation gives an upload URL, fetch POSTs the bytes, a mutation saves the id, a query
// gives a download URL, fetch downloads the bytes, which must match.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { ConvexHttpClient } from "convex/browser";
import { anyApi } from "convex/server";

const url = process.env.SYNCLINE_URL;
const client = new ConvexHttpClient(url, { skipConvexDeploymentUrlCheck: true, logger: false });
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

async function main() {
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const uploadUrl = await client.mutation(anyApi.files.generate_upload_url, {});
  assert.match(uploadUrl, /^http:\/\/127\.0\.0\.1:\d+\/api\/storage\/upload\?token=/);
  const posted = await fetch(uploadUrl, {
    method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: data,
  });
  assert.equal(posted.status, 200, await posted.clone().text());
  const { storageId } = await posted.json();
  assert.equal(typeof storageId, "string");
  console.log("ok - uploaded", storageId);

  await client.mutation(anyApi.files.save, { storage_id: storageId, name: "random.bin" });
  const metadata = await client.query(anyApi.files.metadata, { storage_id: storageId });
  assert.equal(metadata.size, data.length);
  assert.equal(metadata.sha256, sha256(data));
  assert.equal(metadata.contentType, "application/octet-stream");
  console.log("ok - metadata");

  const downloadUrl = await client.query(anyApi.files.url, { storage_id: storageId });
  const downloaded = await fetch(downloadUrl);
  assert.equal(downloaded.status, 200);
  assert.equal(downloaded.headers.get("content-type"), "application/octet-stream");
  const bytes = Buffer.from(await downloaded.arrayBuffer());
  assert.equal(sha256(bytes), sha256(data));
  console.log("ok - downloaded and compared");

  const ranged = await fetch(downloadUrl, { headers: { Range: "bytes=100-199" } });
  assert.equal(ranged.status, 206);
  assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), data.subarray(100, 200));
  console.log("ok - range");

  const tampered = await fetch(uploadUrl.replace(/token=./, "token=x"), { method: "POST", body: "x" });
  assert.ok(tampered.status === 401 || tampered.status === 403, `got ${tampered.status}`);
  console.log("ok - tampered upload URL refused");
  console.log("all checks passed");
}

main().catch((error) => {
  console.error("FAILED:", error);
  process.exitCode = 1;
});
