// Drives a live syncline server with the official `convex` npm package's ConvexHttpClient.
//
//   SYNCLINE_URL=http://127.0.0.1:PORT SYNCLINE_ADMIN_KEY=... node tests/js/http_client.test.mjs
//
// The server must serve tests/e2e/apps/basic as a dev deployment (dev shows
// error details). tests/e2e/test_js_http_client.py starts one and runs this
// script. Prints one line per check; exits non-zero on the first failure.

import assert from "node:assert/strict";

import { ConvexHttpClient } from "convex/browser";
import { anyApi } from "convex/server";
import { ConvexError } from "convex/values";
import { requireEnv } from "./env.mjs";

const REQUEST_ID = /\[Request ID: [^\]\s]+\]$/;

const url = requireEnv("SYNCLINE_URL");
const adminKey = requireEnv("SYNCLINE_ADMIN_KEY");

function newClient() {
  // The URL is a loopback address, not a *.convex.cloud one.
  return new ConvexHttpClient(url, { skipConvexDeploymentUrlCheck: true, logger: false });
}

async function check(name, fn) {
  await fn();
  console.log(`ok - ${name}`);
}

/** Awaits `promise`, asserts that it rejects, and returns the rejection. */
async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected the call to reject, but it resolved");
}

async function main() {
  const client = newClient();
  const unique = `js ${Date.now()} ${Math.random().toString(36).slice(2)}`;

  await check("mutation messages:send returns an id; query messages:list sees it", async () => {
    const id = await client.mutation(anyApi.messages.send, { author: "js", body: unique });
    assert.equal(typeof id, "string");
    assert.ok(id.length > 0);
    const messages = await client.query(anyApi.messages.list, {});
    assert.ok(Array.isArray(messages));
    const mine = messages.find((m) => m._id === id);
    assert.ok(mine, `message ${id} not in ${JSON.stringify(messages)}`);
    assert.equal(mine.author, "js");
    assert.equal(mine.body, unique.toUpperCase());
    assert.equal(typeof mine._creationTime, "number");
  });

  await check("action messages:send_via_action returns a number", async () => {
    const before = (await client.query(anyApi.messages.list, {})).length;
    const count = await client.action(anyApi.messages.send_via_action, { body: "via action" });
    assert.equal(typeof count, "number");
    // messages:list returns at most 50 documents.
    assert.equal(count, Math.min(before + 1, 50));
  });

  await check("nested module admin/users:list", async () => {
    assert.deepEqual(await client.query(anyApi.admin.users.list, {}), ["ada", "grace"]);
  });

  await check("default export greet (anyApi.greet.default)", async () => {
    assert.equal(await client.query(anyApi.greet.default, { name: "js" }), "hello js");
    assert.equal(await client.query(anyApi.greet.default), "hello world");
  });

  await check("ConvexError from a mutation arrives as ConvexError with data", async () => {
    const error = await rejection(client.mutation(anyApi.messages.application_error, {}));
    assert.ok(error instanceof ConvexError, `not a ConvexError: ${error}`);
    assert.equal(error.name, "ConvexError");
    assert.equal(error.data.code, "NOPE");
    assert.equal(error.data.n, 1);
    assert.deepEqual(error.data, { code: "NOPE", n: 1 });
  });

  await check("ConvexError relayed by an action keeps its data", async () => {
    const error = await rejection(client.action(anyApi.messages.relay_error, {}));
    assert.ok(error instanceof ConvexError, `not a ConvexError: ${error}`);
    assert.deepEqual(error.data, { relayed: { code: "FROM_ACTION", n: 1 } });
  });

  await check("a server error rejects with an Error carrying details and a request id", async () => {
    const before = (await client.query(anyApi.messages.list, {})).length;
    const error = await rejection(client.mutation(anyApi.messages.fail_after_write, {}));
    assert.ok(error instanceof Error);
    assert.ok(!(error instanceof ConvexError), "a plain server error must not be a ConvexError");
    assert.equal(error.data, undefined);
    assert.match(error.message, /exploded after writing/);
    assert.match(error.message, REQUEST_ID);
    // The write before the exception was rolled back.
    assert.equal((await client.query(anyApi.messages.list, {})).length, before);
  });

  await check("internal function refused without admin auth, allowed with it", async () => {
    const error = await rejection(client.mutation(anyApi.messages.internal_send, { body: "x" }));
    assert.ok(error instanceof Error);
    assert.ok(!(error instanceof ConvexError));
    assert.match(error.message, /Could not find public function/);
    assert.match(error.message, REQUEST_ID);

    const admin = newClient();
    admin.setAdminAuth(adminKey);
    const id = await admin.mutation(anyApi.messages.internal_send, { body: "from admin" });
    assert.equal(typeof id, "string");
    const messages = await admin.query(anyApi.messages.list, {});
    const sent = messages.find((m) => m._id === id);
    assert.ok(sent, `message ${id} not listed`);
    assert.deepEqual([sent.author, sent.body], ["internal", "from admin"]);
  });

  await check("consistentQuery reads one snapshot for the client's lifetime", async () => {
    const name = `js-snap-${Date.now()}`;
    const consistent = newClient();
    const first = await consistent.consistentQuery(anyApi.counter.get, { name });
    assert.equal(first, 0);
    assert.equal(await client.mutation(anyApi.counter.increment, { name }), 1);
    assert.equal(await consistent.consistentQuery(anyApi.counter.get, { name }), 0);
    assert.equal(await client.query(anyApi.counter.get, { name }), 1);
    // A fresh client gets a fresh timestamp.
    assert.equal(await newClient().consistentQuery(anyApi.counter.get, { name }), 1);
  });

  await check("generic function() through /api/function", async () => {
    const name = `js-fn-${Date.now()}`;
    assert.equal(await client.function("counter:get", undefined, {}), await client.query(anyApi.counter.get, {}));
    assert.equal(await client.function("counter:increment", undefined, { name }), 1);
    assert.equal(await client.function(anyApi.counter.get, undefined, { name }), 1);
    assert.equal(await client.function("greet", undefined, { name: "fn" }), "hello fn");
    const error = await rejection(client.function("messages:application_error", undefined, {}));
    assert.ok(error instanceof ConvexError, `not a ConvexError: ${error}`);
    assert.deepEqual(error.data, { code: "NOPE", n: 1 });
  });

  await check("bigint round trip through $integer", async () => {
    for (const value of [5n, 0n, -1n, 2n ** 63n - 1n, -(2n ** 63n)]) {
      const echoed = await client.query(anyApi.sandbox.echo, { value });
      assert.equal(typeof echoed, "bigint", `${value} came back as ${typeof echoed}`);
      assert.equal(echoed, value);
    }
    const nested = await client.query(anyApi.sandbox.echo, { value: { big: 5n, list: [1, 7n] } });
    assert.deepEqual(nested, { big: 5n, list: [1, 7n] });
  });

  await check("bytes round trip as ArrayBuffer", async () => {
    const bytes = new Uint8Array([0, 1, 2, 254, 255, 128, 10]);
    const echoed = await client.query(anyApi.sandbox.echo, { value: bytes.buffer });
    assert.ok(echoed instanceof ArrayBuffer, `got ${Object.prototype.toString.call(echoed)}`);
    assert.deepEqual(new Uint8Array(echoed), bytes);
    const empty = await client.query(anyApi.sandbox.echo, { value: new ArrayBuffer(0) });
    assert.ok(empty instanceof ArrayBuffer);
    assert.equal(empty.byteLength, 0);
  });

  console.log("all checks passed");
}

main().catch((error) => {
  console.error("FAILED:", error);
  process.exitCode = 1;
});
