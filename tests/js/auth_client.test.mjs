// The official `convex` npm package authenticating against a live syncline server:
// ConvexClient.setAuth with a token fetcher (including a refresh while subscribed and a
// token the server rejects) and ConvexHttpClient.setAuth.
//
//   SYNCLINE_URL=... SYNCLINE_ADMIN_KEY=... TOKEN_URL=... node tests/js/auth_client.test.mjs
//
// The server serves tests/e2e/apps/authapp with a local identity provider configured;
// TOKEN_URL mints tokens from it: GET {TOKEN_URL}/token?sub=&name=&lifetime=&bad=
// tests/e2e/test_auth.py starts both and runs this script.

import assert from "node:assert/strict";

import WebSocket from "ws";
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { anyApi } from "convex/server";
import { requireEnv } from "./env.mjs";

const url = requireEnv("SYNCLINE_URL");
const tokenUrl = requireEnv("TOKEN_URL");
const api = anyApi;

async function mint(params) {
  const response = await fetch(`${tokenUrl}/token?${new URLSearchParams(params)}`);
  assert.equal(response.status, 200);
  return await response.text();
}

/** Resolves with the first value `predicate` accepts, rejects after `ms`. */
function waitFor(label, ms, register) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${label}`)), ms);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

async function refreshWhileSubscribed() {
  const client = new ConvexClient(url, { webSocketConstructor: WebSocket });
  const fetches = [];
  client.setAuth(async ({ forceRefreshToken }) => {
    fetches.push(forceRefreshToken);
    // 13 s tokens: the client refreshes 10 s before expiry, so after about 3 s.
    return await mint({ sub: "alice", name: `v${fetches.length}`, lifetime: "13" });
  });
  const names = [];
  let onName = () => {};
  const unsubscribe = client.onUpdate(api.users.me, {}, (identity) => {
    names.push(identity === null ? null : identity.name);
    onName(identity);
  });
  // The first authenticated result, then a refreshed token's, on the same subscription.
  const first = await waitFor("the first identity", 20_000, (done) => {
    onName = (identity) => identity !== null && done(identity);
  });
  assert.equal(first.subject, "alice");
  assert.equal(first.tokenIdentifier, `${first.issuer}|alice`);
  const firstName = first.name;
  const refreshed = await waitFor("a refreshed identity", 30_000, (done) => {
    onName = (identity) => identity !== null && identity.name !== firstName && done(identity);
  });
  assert.equal(refreshed.subject, "alice");
  assert.ok(fetches.includes(true), `a forced refresh happened: ${fetches}`);
  // The client confirms a cached token by fetching a fresh one at once; the next refresh
  // is the scheduled one, 10 s before the 13 s token expires.
  const scheduled = await waitFor("a scheduled refresh", 30_000, (done) => {
    onName = (identity) =>
      identity !== null && identity.name !== firstName && identity.name !== refreshed.name &&
      done(identity);
  });
  assert.equal(scheduled.subject, "alice");
  // The subscription stayed up: no null (anonymous) result in between.
  const afterFirst = names.slice(names.indexOf(firstName));
  assert.ok(!afterFirst.includes(null), `no anonymous result mid-session: ${names}`);
  unsubscribe();
  await client.close();
  console.log(`ok refresh_while_subscribed (${fetches.length} token fetches)`);
}

async function rejectedToken() {
  const client = new ConvexClient(url, { webSocketConstructor: WebSocket });
  const changes = [];
  let fetched = 0;
  const settled = waitFor("onChange(false)", 30_000, (done) => {
    client.setAuth(
      async () => {
        fetched += 1;
        return await mint({ sub: "mallory", bad: "signature" });
      },
      (isAuthenticated) => {
        changes.push(isAuthenticated);
        if (!isAuthenticated) done();
      },
    );
  });
  await settled;
  assert.deepEqual(changes, [false]);
  assert.ok(fetched >= 2, "the client asked for a fresh token after the AuthError");
  // Having given up on auth, the client carries on anonymously.
  const identity = await client.query(api.users.me, {});
  assert.equal(identity, null);
  await client.close();
  console.log(`ok rejected_token (${fetched} token fetches)`);
}

async function twoUsersOneQuery() {
  const clients = ["ann", "bob"].map((sub) => {
    const client = new ConvexClient(url, { webSocketConstructor: WebSocket });
    client.setAuth(async () => await mint({ sub, name: sub, lifetime: "3600" }));
    return { sub, client };
  });
  const seen = await Promise.all(
    clients.map(({ client }) =>
      waitFor("an identity", 20_000, (done) => {
        client.onUpdate(api.users.me, {}, (identity) => identity !== null && done(identity));
      }),
    ),
  );
  assert.deepEqual(seen.map((i) => i.subject), ["ann", "bob"]);
  for (const { client } of clients) await client.close();
  console.log("ok two_users_one_query");
}

async function httpClient() {
  const client = new ConvexHttpClient(url);
  assert.equal(await client.query(api.users.me, {}), null);
  client.setAuth(await mint({ sub: "carol", email: "carol@example.com" }));
  const identity = await client.query(api.users.me, {});
  assert.equal(identity.subject, "carol");
  assert.equal(identity.email, "carol@example.com");
  client.setAuth(await mint({ sub: "carol", bad: "expired" }));
  await assert.rejects(client.query(api.users.me, {}), /expired/);
  client.clearAuth();
  assert.equal(await client.query(api.users.me, {}), null);
  console.log("ok http_client");
}

const checks = { refreshWhileSubscribed, rejectedToken, twoUsersOneQuery, httpClient };
const selected = process.argv.slice(2);
for (const [name, check] of Object.entries(checks)) {
  if (selected.length === 0 || selected.includes(name)) {
    await check();
  }
}
console.log("all checks passed");
process.exit(0);
