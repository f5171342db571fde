// The dashboard's connection to its deployment: the official `convex` browser client over
// the sync protocol (same origin), authenticated as an admin with the dashboard session.
// Every view reads through `useQuery`, so every view is live; nothing polls.
import { ConvexClient } from "convex/browser";
import { useEffect, useState } from "./html.js";

let client = null;
let sessionToken = null;

const options = { unsavedChangesWarning: false, skipConvexDeploymentUrlCheck: true };

export function deploymentUrl() {
  return window.location.origin;
}

export function session() {
  return sessionToken;
}

/** Connect (or re-authenticate) with a dashboard session token. */
export function connect(token) {
  sessionToken = token;
  if (client === null) client = new ConvexClient(deploymentUrl(), options);
  client.setAdminAuth(token);
  return client;
}

export function convexClient() {
  if (client === null) throw new Error("The dashboard is not connected yet");
  return client;
}

/** A separate client that runs functions as `identity` (the admin acting as a user).
 * The caller closes it (`await c.close()`). */
export function clientActingAs(identity) {
  const acting = new ConvexClient(deploymentUrl(), options);
  acting.setAdminAuth(sessionToken, identity);
  return acting;
}

/** A live query: `{ value, error, loading }`, updated whenever the result changes. */
export function useQuery(path, args = {}, { skip = false, on = null } = {}) {
  const key = JSON.stringify([path, args]);
  const [state, setState] = useState({ value: undefined, error: null, loading: !skip });
  useEffect(() => {
    if (skip) {
      setState({ value: undefined, error: null, loading: false });
      return undefined;
    }
    setState((previous) => ({ ...previous, loading: true }));
    const target = on ?? convexClient();
    const unsubscribe = target.onUpdate(
      path,
      args,
      (value) => setState({ value, error: null, loading: false }),
      (error) => setState({ value: undefined, error, loading: false }),
    );
    return () => unsubscribe();
  }, [key, skip, on]);
  return state;
}

export function query(path, args = {}) {
  return convexClient().query(path, args);
}

export function mutation(path, args = {}) {
  return convexClient().mutation(path, args);
}

export function action(path, args = {}) {
  return convexClient().action(path, args);
}

/** Same-origin HTTP as the admin (the deployment's HTTP APIs: import, export, storage). */
export function adminFetch(path, init = {}) {
  const headers = new Headers(init.headers || {});
  headers.set("Authorization", `Convex ${sessionToken}`);
  return fetch(path, { ...init, headers });
}
