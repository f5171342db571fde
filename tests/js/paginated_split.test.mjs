// The official `convex` npm client splits a reactive page that grew too large, as it does
// against Convex: syncline's paginate results carry `splitCursor` and `pageStatus`.
//
//   SYNCLINE_URL=http://127.0.0.1:PORT SYNCLINE_ADMIN_KEY=... node tests/js/paginated_split.test.mjs
//
// The server must serve tests/e2e/apps/live (tests/e2e/test_paginated_split.py starts one).
// ConvexClient.onPaginatedUpdate_experimental is the PaginatedQueryClient, whose split
// rule is the same as usePaginatedQuery's: split when the result has a `splitCursor` and
// `pageStatus` is "SplitRecommended"/"SplitRequired" (or the page is over twice its size).

import assert from "node:assert/strict";

import WebSocket from "ws";
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { anyApi } from "convex/server";
import { requireEnv } from "./env.mjs";

const url = requireEnv("SYNCLINE_URL");
const channel = `split-${Date.now()}-${Math.random().toString(36).slice(2)}`;
const PAGE = 3;

/** The page queries the client has subscribed to (Add minus Remove), by query id. */
const live = new Map();
const added = [];

class RecordingWebSocket extends WebSocket {
  send(data, ...rest) {
    const message = JSON.parse(data);
    if (message.type === "ModifyQuerySet") {
      for (const change of message.modifications) {
        if (change.type === "Add" && change.udfPath.startsWith("messages:page")) {
          live.set(change.queryId, change.args[0].paginationOpts);
          added.push(change.args[0].paginationOpts);
        } else if (change.type === "Remove") {
          live.delete(change.queryId);
        }
      }
    }
    super.send(data, ...rest);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(predicate, description, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = predicate();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${description()}`);
    }
    await sleep(5);
  }
}

async function main() {
  const http = new ConvexHttpClient(url, { skipConvexDeploymentUrlCheck: true, logger: false });
  const client = new ConvexClient(url, {
    webSocketConstructor: RecordingWebSocket,
    skipConvexDeploymentUrlCheck: true,
    logger: false,
    unsavedChangesWarning: false,
  });
  try {
    await http.mutation(anyApi.messages.send_many,
      { channel, author: "seed", ranks: [1, 2, 3, 4, 5, 6, 7] });
    let latest;
    const errors = [];
    const unsubscribe = client.onPaginatedUpdate_experimental(
      anyApi.messages.page, { channel }, { initialNumItems: PAGE },
      (result) => { latest = result; }, (error) => errors.push(error));
    for (;;) {
      await waitFor(() => latest && !latest.status.startsWith("Loading"),
        () => `a page to load (status ${latest?.status})`);
      if (latest.status === "Exhausted") {
        break;
      }
      assert.ok(latest.loadMore(PAGE), "loadMore refused");
    }
    assert.deepEqual(latest.results.map((m) => m.rank), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(live.size, 3, "three pages: [1, 2, 3], [4, 5, 6], [7]");
    const before = added.length;

    // Ten documents inside the first page's pinned range (before rank 3), in one commit:
    // its re-run holds 13 > 2 * 3 documents, so the server recommends a split.
    const ranks = Array.from({ length: 10 }, (_, i) => 0.05 + i * 0.1);
    await http.mutation(anyApi.messages.send_many, { channel, author: "grow", ranks });
    const split = await waitFor(() => {
      const fresh = added.slice(before);
      const first = fresh.find((o) => o.cursor === null && typeof o.endCursor === "string");
      const second = first && fresh.find((o) => o.cursor === first.endCursor);
      return second && { first, second };
    }, () => `the client to split the grown page (added since: ${JSON.stringify(added.slice(before))})`);

    const expected = [...ranks, 1, 2, 3, 4, 5, 6, 7];
    // 13 documents split at the middle give 7 + 6; 7 is still over 2 * 3, so that half is
    // split again: 5 pages in the end, none over twice its size.
    await waitFor(() => live.size >= 4 && latest.results.length === expected.length,
      () => `the split pages to hold ${expected.length} documents (have ${live.size} pages, ` +
            `${latest.results.length} documents)`);
    await sleep(200); // let any further split and transition arrive
    assert.equal(live.size, 5, "13 + 3 + 1 documents in pages of at most 6");
    assert.deepEqual(latest.results.map((m) => m.rank), expected, "a gap or a duplicate");
    assert.equal(latest.status, "Exhausted");
    assert.deepEqual(errors, []);
    unsubscribe();
    console.log(`ok - the grown page was split (${added.length - before} page queries added)`);
  } finally {
    await client.close();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    console.error("FAILED:", error);
    process.exit(1);
  },
);
