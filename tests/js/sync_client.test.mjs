// Drives a live syncline server over the WebSocket sync protocol with the official
// `convex` npm package's ConvexClient (convex/browser), running in Node with `ws`.
//
//   SYNCLINE_URL=http://127.0.0.1:PORT SYNCLINE_ADMIN_KEY=... node tests/js/sync_client.test.mjs [check ...]
//
// The server must serve tests/e2e/apps/live as a dev deployment.
// tests/e2e/test_sync_clients.py starts one and runs this script once per check
// (so a known server bug fails only its own check). With no arguments every check
// runs but exactly_once_socket_killed_after_send (it can wedge a buggy server, so
// it gets a server of its own). Prints one line per check; exits non-zero on the
// first failure.
// SYNC_DEBUG=1 logs the frames of the connections the drop checks cut.

import assert from "node:assert/strict";

import WebSocket from "ws";
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { anyApi } from "convex/server";
import { ConvexError } from "convex/values";
import { requireEnv } from "./env.mjs";

const url = requireEnv("SYNCLINE_URL");
requireEnv("SYNCLINE_ADMIN_KEY");
const RUN = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
const DEBUG = !!process.env.SYNC_DEBUG;

// --- a WebSocket the tests can cut -------------------------------------------------------

/**
 * A `ws` WebSocket class that records its instances and can lose frames: when
 * `state.dropOutgoing(message)` or `state.dropIncoming(message)` returns true for
 * a client or server message, that frame is not delivered and the connection is
 * killed at once (as by a network failure); the hook then disarms itself.
 */
function droppableWebSocket() {
  const sockets = [];
  const state = { dropOutgoing: null, dropIncoming: null, dropped: [] };
  class DroppableWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      sockets.push(this);
      if (DEBUG) {
        const n = sockets.length;
        this.on("open", () => console.error(`#${n} open`));
        this.on("close", (code, reason) => console.error(`#${n} close ${code} ${reason}`));
        this.on("message", (data) => console.error(`#${n} S> ${String(data).slice(0, 400)}`));
      }
    }

    send(data, ...rest) {
      const drop = state.dropOutgoing;
      if (drop !== null && drop(JSON.parse(data))) {
        state.dropOutgoing = null;
        state.dropped.push(JSON.parse(data));
        this.terminate();
        return;
      }
      if (DEBUG) {
        console.error(`#${sockets.indexOf(this) + 1} C> ${String(data).slice(0, 400)}`);
      }
      super.send(data, ...rest);
    }

    get onmessage() {
      return super.onmessage;
    }

    set onmessage(handler) {
      super.onmessage = (event) => {
        const drop = state.dropIncoming;
        if (drop !== null && drop(JSON.parse(event.data))) {
          state.dropIncoming = null;
          state.dropped.push(JSON.parse(event.data));
          this.terminate();
          return;
        }
        handler(event);
      };
    }
  }
  return { DroppableWebSocket, sockets, state };
}

function newClient(webSocketConstructor = WebSocket) {
  return new ConvexClient(url, {
    webSocketConstructor,
    skipConvexDeploymentUrlCheck: true,
    logger: false,
    unsavedChangesWarning: false,
  });
}

const http = new ConvexHttpClient(url, { skipConvexDeploymentUrlCheck: true, logger: false });

// --- helpers ----------------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` until it returns a truthy value; fails after `timeoutMs`. */
async function waitFor(predicate, description, timeoutMs = 10_000) {
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

/** Rejects if `promise` does not settle within `timeoutMs`. */
async function within(promise, description, timeoutMs = 10_000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms: ${description}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected the call to reject, but it resolved");
}

/** Subscribes with onUpdate and records every value the callback receives. */
function record(client, ref, args) {
  const values = [];
  const errors = [];
  const unsubscribe = client.onUpdate(ref, args, (v) => values.push(v), (e) => errors.push(e));
  return { values, errors, unsubscribe, last: () => values[values.length - 1] };
}

/** Inserts `n` messages into `channel` concurrently over HTTP, at random ranks below `below`. */
async function insertConcurrently(channel, n, author, below = 1) {
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      http.mutation(anyApi.messages.send,
        { channel, author, body: `${author} ${i}`, rank: Math.random() * below })),
  );
}

/** A paginated subscription through ConvexClient.onPaginatedUpdate_experimental. */
function subscribePaginated(client, channel, pageSize) {
  let latest;
  const errors = [];
  const unsubscribe = client.onPaginatedUpdate_experimental(
    anyApi.messages.page, { channel }, { initialNumItems: pageSize },
    (result) => { latest = result; },
    (error) => errors.push(error),
  );
  return {
    errors,
    unsubscribe,
    latest: () => latest,
    /** Loads pages until the last one is done, as a "load more" button would. */
    async loadAll() {
      for (;;) {
        await waitFor(() => latest && !latest.status.startsWith("Loading"),
          () => `a page to load (status ${latest?.status})`);
        if (latest.status === "Exhausted") {
          return;
        }
        assert.equal(latest.status, "CanLoadMore");
        assert.ok(latest.loadMore(pageSize), "loadMore refused");
      }
    },
  };
}

/** Every rank in `channel`, sorted: what a gapless walk over all pages must give. */
async function allRanks(channel) {
  const messages = await http.query(anyApi.messages.list, { channel });
  return messages.map((m) => m.rank).sort((a, b) => a - b);
}

/**
 * Runs `scenario(dropped, name, state)` against a fresh client whose sockets can be
 * cut, then checks that every increment it made ran exactly once: the promises
 * resolved in order to 1..n, the stored counter is n and the subscription ends at n.
 */
async function exactlyOnce(scenario) {
  const { DroppableWebSocket, sockets, state } = droppableWebSocket();
  const client = newClient(DroppableWebSocket);
  const name = `once-${Math.random().toString(36).slice(2)}`;
  try {
    const seen = record(client, anyApi.counter.get, { name });
    await waitFor(() => seen.values.length >= 1, () => "the initial value");
    const results = [];
    const increment = () => {
      const promise = client.mutation(anyApi.counter.increment, { name });
      return promise.then((value) => { results.push(value); return value; });
    };
    await scenario({ increment, sockets, state });
    const n = results.length;
    assert.ok(n > 0);
    assert.deepEqual(results, Array.from({ length: n }, (_, i) => i + 1),
      "each mutation resolves once, in order, with its own result");
    assert.equal(await http.query(anyApi.counter.get, { name }), n,
      "the stored counter moved by exactly the number of mutations");
    await waitFor(() => seen.last() === n, () => `the subscription to reach ${n} (seen ${seen.values})`);
    assert.ok(seen.values.every((v) => v <= n), `values: ${seen.values}`);
    assert.deepEqual(seen.errors, []);
  } finally {
    await client.close();
  }
}

// A reconnect waits for the client's backoff (0.5 to 1.5 s at first).
const RECONNECT_MS = 5_000;

// --- checks -----------------------------------------------------------------------------

const CHECKS = {
  async live_updates(client) {
    // onUpdate: the initial value, then one update per write from another client.
    const name = `live-${RUN}`;
    const seen = record(client, anyApi.counter.get, { name });
    await waitFor(() => seen.values.length >= 1, () => "the initial value");
    assert.deepEqual(seen.values, [0]);
    for (let i = 1; i <= 3; i++) {
      assert.equal(await http.mutation(anyApi.counter.increment, { name }), i);
      await waitFor(() => seen.last() === i, () => `the update to ${i} (seen ${seen.values})`);
    }
    assert.deepEqual(seen.values, [0, 1, 2, 3]);
    assert.deepEqual(seen.errors, []);
    seen.unsubscribe();
  },

  async round_trips(client) {
    // query/mutation/action over the WebSocket; int64 as bigint; errors.
    assert.equal(await client.query(anyApi.numbers.double, { value: 21n }), 42n);
    assert.deepEqual(await client.query(anyApi.numbers.big, {}), {
      max: 2n ** 63n - 1n,
      min: -(2n ** 63n),
      float: 1.5,
    });
    const channel = `rt-${RUN}`;
    const id = await client.mutation(anyApi.messages.send, { channel, author: "js", body: "hi" });
    assert.equal(typeof id, "string");
    assert.equal(await client.action(anyApi.messages.send_via_action, { channel, body: "a" }), 2);

    const error = await rejection(within(client.mutation(anyApi.messages.application_error, {}),
      "a mutation raising ConvexError"));
    assert.ok(error instanceof ConvexError, `not a ConvexError: ${error}`);
    assert.deepEqual(error.data, { code: "NOPE", n: 1 });

    const plain = await rejection(within(
      client.mutation(anyApi.messages.fail_after_write, { channel }), "a failing mutation"));
    assert.ok(!(plain instanceof ConvexError));
    assert.match(plain.message, /exploded after writing/);
    assert.equal((await client.query(anyApi.messages.list, { channel })).length, 2);

    const fromAction = await rejection(client.action(anyApi.messages.action_error, {}));
    assert.ok(fromAction instanceof ConvexError, `not a ConvexError: ${fromAction}`);
    assert.deepEqual(fromAction.data, { from: "action" });

    const fromQuery = await rejection(within(client.query(anyApi.messages.query_error, {}),
      "a query raising ConvexError"));
    assert.ok(fromQuery instanceof ConvexError, `not a ConvexError: ${fromQuery}`);
    assert.equal(fromQuery.data, "plain string data");
  },

  async exactly_once_request_or_transition_lost() {
    await exactlyOnce(async ({ increment, sockets, state }) => {
      // The request never reaches the server: the client re-sends it on reconnect.
      state.dropOutgoing = (message) => message.type === "Mutation";
      await within(increment(), "a mutation whose request was lost", RECONNECT_MS);
      assert.equal(state.dropped.length, 1, "the request was never intercepted");
      assert.equal(sockets.length, 2);

      // The response arrives, the transition showing the write does not: the client
      // re-sends the (completed) mutation on reconnect; the server must not run it again.
      state.dropIncoming = (message) => message.type === "Transition";
      await within(increment(), "a mutation whose transition was lost", RECONNECT_MS);
      assert.equal(state.dropped.length, 2, "the transition was never intercepted");
      assert.equal(sockets.length, 3);
      await within(increment(), "a mutation on the new connection", RECONNECT_MS);
    });
  },

  async exactly_once_response_lost() {
    await exactlyOnce(async ({ increment, sockets, state }) => {
      // The server runs the mutation, the connection dies before its response
      // arrives: the client re-sends it, and the server must answer from its record
      // of the first run (same result), not run it again.
      state.dropIncoming = (message) => message.type === "MutationResponse";
      await within(increment(), "a mutation whose response was lost", RECONNECT_MS);
      assert.equal(state.dropped.length, 1, "the response was never intercepted");
      assert.equal(sockets.length, 2);
      await within(increment(), "a mutation on the new connection", RECONNECT_MS);
    });
  },

  async exactly_once_socket_killed_after_send() {
    // The socket is killed right after a burst of mutations is handed to it: each
    // may be lost on the way, running, committing or done on the server. Whatever the
    // timing, each must run exactly once. A few rounds, to meet several timings.
    for (let round = 0; round < 4; round++) {
      await exactlyOnce(async ({ increment, sockets }) => {
        const burst = [increment(), increment(), increment(), increment(), increment()];
        sockets[sockets.length - 1].terminate();
        await within(Promise.all(burst), `round ${round}: mutations sent just before a socket drop`,
          RECONNECT_MS);
        assert.equal(sockets.length, 2);
      });
    }
  },

  async optimistic_update(client) {
    const name = `optimistic-${RUN}`;
    await http.mutation(anyApi.counter.set, { name, value: 10 });
    const seen = record(client, anyApi.counter.get, { name });
    await waitFor(() => seen.last() === 10, () => "the initial value");

    // A right guess: 10 -> 11 at once (synchronously), and never back to 10.
    const right = client.mutation(anyApi.counter.increment, { name }, {
      optimisticUpdate: (store, args) => {
        const current = store.getQuery(anyApi.counter.get, { name: args.name });
        if (current !== undefined) {
          store.setQuery(anyApi.counter.get, { name: args.name }, current + 1);
        }
      },
    });
    assert.equal(seen.last(), 11, "the optimistic value was not shown at once");
    assert.equal(await within(right, "the optimistic mutation"), 11);
    assert.equal(seen.last(), 11);
    await sleep(50); // a late transition would show up now
    const afterGuess = seen.values.slice(seen.values.indexOf(11));
    assert.ok(afterGuess.every((v) => v === 11), `flicker: ${seen.values}`);

    // A wrong guess: the optimistic value is replaced by the server's when the
    // mutation resolves -- never by the value from before the mutation.
    const mark = seen.values.length;
    const wrong = client.mutation(anyApi.counter.increment, { name }, {
      optimisticUpdate: (store) => store.setQuery(anyApi.counter.get, { name }, 1000),
    });
    assert.equal(seen.last(), 1000);
    assert.equal(await within(wrong, "the mis-guessed optimistic mutation"), 12);
    assert.equal(seen.last(), 12, "the server value was not shown when the mutation resolved");
    await sleep(50);
    const tail = seen.values.slice(mark);
    assert.deepEqual([...new Set(tail)], [1000, 12], `values after the guess: ${tail}`);

    // A failing mutation rolls its optimistic value back.
    const failing = client.mutation(anyApi.messages.application_error, {}, {
      optimisticUpdate: (store) => store.setQuery(anyApi.counter.get, { name }, -1),
    });
    assert.equal(seen.last(), -1);
    await rejection(within(failing, "a failing optimistic mutation"));
    await waitFor(() => seen.last() === 12, () => `the rollback to 12 (seen ${seen.values})`);
    assert.deepEqual(seen.errors, []);
    seen.unsubscribe();
  },

  async paginated_client(client) {
    // ConvexClient.onPaginatedUpdate_experimental (the PaginatedQueryClient that
    // usePaginatedQuery builds on): load every page, then insert concurrently into
    // the loaded pages; the concatenated pages stay the whole ordered set.
    const channel = `paginated-${RUN}`;
    await insertConcurrently(channel, 23, "seed");
    const pages = subscribePaginated(client, channel, 5);
    await pages.loadAll();
    assert.deepEqual(pages.latest().results.map((m) => m.rank), await allRanks(channel));
    // The last page (documents 21 to 23) is open-ended: it starts after document 20
    // and has no end (see paginated_last_page_grows for inserts there). These inserts
    // land before document 20, inside the pages whose end the server pinned.
    const boundary = pages.latest().results[19].rank;
    await Promise.all([
      insertConcurrently(channel, 40, "a", boundary),
      insertConcurrently(channel, 40, "b", boundary),
    ]);
    const expected = await allRanks(channel);
    assert.equal(expected.length, 103);
    await waitFor(() => pages.latest().results.length >= expected.length,
      () => `all ${expected.length} documents in the pages (have ${pages.latest().results.length})`);
    assert.equal(pages.latest().status, "Exhausted");
    assert.deepEqual(pages.latest().results.map((m) => m.rank), expected,
      "the concatenated pages have a gap or a duplicate");
    assert.equal(new Set(pages.latest().results.map((m) => m._id)).size, expected.length);
    assert.deepEqual(pages.errors, []);
    pages.unsubscribe();
  },

  async paginated_pages(client) {
    // What usePaginatedQuery does by hand: page 1 with cursor null, page 2 from page
    // 1's continueCursor, page 3 from page 2's. A page keeps its end (the server pins
    // it in the query journal), so concurrent inserts grow the pages without gaps.
    const channel = `pages-${RUN}`;
    await insertConcurrently(channel, 12, "seed");
    const page = (cursor) => ({ channel, paginationOpts: { numItems: 5, cursor, id: 7 } });
    const first = record(client, anyApi.messages.page, page(null));
    await waitFor(() => first.last(), () => "page 1");
    assert.equal(first.last().page.length, 5);
    assert.equal(first.last().isDone, false);
    const second = record(client, anyApi.messages.page, page(first.last().continueCursor));
    await waitFor(() => second.last(), () => "page 2");
    assert.equal(second.last().page.length, 5);
    assert.equal(second.last().isDone, false);
    const third = record(client, anyApi.messages.page, page(second.last().continueCursor));
    await waitFor(() => third.last(), () => "page 3");
    assert.equal(third.last().page.length, 2);
    assert.equal(third.last().isDone, true);

    // Inserts before page 2's end: into the pages with a pinned end, not into the
    // open-ended last page (see paginated_last_page_grows for that).
    const boundary = second.last().page[4].rank;
    await Promise.all([
      insertConcurrently(channel, 30, "c", boundary),
      insertConcurrently(channel, 30, "d", boundary),
    ]);
    const expected = await allRanks(channel);
    const all = [first, second, third];
    const concatenated = () => all.flatMap((p) => p.last().page.map((m) => m.rank));
    await waitFor(() => concatenated().length >= expected.length,
      () => `the pages to hold all ${expected.length} documents (have ${concatenated().length})`);
    assert.deepEqual(concatenated(), expected, "the pages have a gap or an overlap");
    assert.equal(first.last().continueCursor, first.values[0].continueCursor);
    assert.equal(second.last().continueCursor, second.values[0].continueCursor);
    assert.equal(third.last().page.length, 2);
    for (const p of all) {
      assert.deepEqual(p.errors, []);
      p.unsubscribe();
    }
  },

  async paginated_last_page_grows(client) {
    // The last page reached the end of the results (isDone). Documents inserted
    // after it belong to it: it must grow and stay isDone, so the list stays
    // complete ("Exhausted") without a loadMore -- as Convex does by recording the
    // end-of-range cursor in the page's journal.
    const channel = `last-page-${RUN}`;
    await http.mutation(anyApi.messages.send_many,
      { channel, author: "seed", ranks: [1, 2, 3, 4, 5, 6, 7] });
    const pages = subscribePaginated(client, channel, 5);
    await pages.loadAll();
    assert.deepEqual(pages.latest().results.map((m) => m.rank), [1, 2, 3, 4, 5, 6, 7]);
    // One transaction, so one re-run of the last page sees all six.
    await http.mutation(anyApi.messages.send_many,
      { channel, author: "late", ranks: [8, 9, 10, 11, 12, 13] });
    const expected = Array.from({ length: 13 }, (_, i) => i + 1);
    await waitFor(() => pages.latest().results.length !== 7,
      () => "the last page to change");
    await sleep(100); // let any further transition arrive
    assert.deepEqual(pages.latest().results.map((m) => m.rank), expected,
      `the last page lost documents inserted after it (status ${pages.latest().status})`);
    assert.equal(pages.latest().status, "Exhausted");
    assert.deepEqual(pages.errors, []);
    pages.unsubscribe();
  },
};

async function main() {
  const names = process.argv.slice(2);
  for (const name of names) {
    if (!(name in CHECKS)) {
      throw new Error(`unknown check ${name}; known: ${Object.keys(CHECKS).join(", ")}`);
    }
  }
  const client = newClient();
  try {
    const everyCheck = Object.keys(CHECKS).filter((n) => n !== "exactly_once_socket_killed_after_send");
    for (const name of names.length ? names : everyCheck) {
      const started = Date.now();
      await CHECKS[name](client);
      console.log(`ok - ${name} (${Date.now() - started} ms)`);
    }
  } finally {
    await client.close();
  }
  console.log("all checks passed");
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    console.error("FAILED:", error);
    process.exit(1);
  },
);
