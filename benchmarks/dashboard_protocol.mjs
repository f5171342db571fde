// The dashboard benchmark at the sync-protocol level (benchmarks/dashboard.py --mode protocol):
// the official `convex` browser client (ConvexClient over `ws`, from tests/js/node_modules)
// makes the Data page's subscription itself.
//
//   node benchmarks/dashboard_protocol.mjs URL ADMIN_KEY ROUNDS WRITES
//
// Prints one JSON object: {firstRows: {big: [ms...], small: [ms...]}, writes: [{rtt, seen}]}.
// firstRows: from creating a client (connect + authenticate + subscribe) to the first page
// of `paginatedTableDocuments` (50 documents, newest first). writes: a `bench:write` mutation
// over HTTP (fetch), its round trip, and the time until the subscribed first page of `big`
// shows the document (both from just before the request).

import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "tests", "js", "node_modules");
const { ConvexClient } = await import(
  pathToFileURL(join(modules, "convex", "dist", "esm", "browser", "index.js")).href);
const { default: WebSocket } = await import(
  pathToFileURL(join(modules, "ws", "wrapper.mjs")).href);

const [url, adminKey, roundsText, writesText] = process.argv.slice(2);
const rounds = Number(roundsText);
const writes = Number(writesText);
const PAGE = "_system/frontend/paginatedTableDocuments";

function client() {
  const c = new ConvexClient(url, { webSocketConstructor: WebSocket, unsavedChangesWarning: false });
  c.setAdminAuth(adminKey);
  return c;
}

async function firstRows(table) {
  const started = performance.now();
  const c = client();
  const elapsed = await new Promise((resolve, reject) => {
    const stop = c.onUpdate(PAGE, { table, paginationOpts: { numItems: 50, cursor: null } },
      (result) => { if (result.page.length > 0) { resolve(performance.now() - started); } },
      reject);
    void stop;
  });
  await c.close();
  return elapsed;
}

async function writeToView() {
  const c = client();
  let waiting = null; // {marker, resolve}
  let ready;
  const first = new Promise((resolve) => { ready = resolve; });
  c.onUpdate(PAGE, { table: "big", paginationOpts: { numItems: 50, cursor: null } },
    (result) => {
      ready();
      if (waiting !== null && result.page.some((doc) => doc.marker === waiting.marker)) {
        waiting.resolve(performance.now());
      }
    });
  await first;
  const out = [];
  for (let i = 0; i < writes; i++) {
    const marker = `w${i}-${Math.random().toString(36).slice(2)}`;
    const seen = new Promise((resolve) => { waiting = { marker, resolve }; });
    const started = performance.now();
    const response = await fetch(`${url}/api/mutation`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ path: "bench:write", args: { table: "big", marker }, format: "json" }),
    });
    const body = await response.json();
    const answered = performance.now();
    if (body.status !== "success") throw new Error(JSON.stringify(body));
    const shown = await seen;
    out.push({ rtt: answered - started, seen: shown - started });
    waiting = null;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await c.close();
  return out;
}

const result = { firstRows: { big: [], small: [] }, writes: [] };
for (let r = 0; r < rounds; r++) {
  for (const table of ["big", "small"]) result.firstRows[table].push(await firstRows(table));
}
result.writes = await writeToView();
console.log(JSON.stringify(result));
process.exit(0);
