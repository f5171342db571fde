// The dashboard session: how this browser is an admin of the deployment without keeping
// the admin key. A one-time login link (`?token=`, printed by `syncline dev`, opened by
// `syncline dashboard`) or the admin key typed into the login form is exchanged for a
// session (POST /dashboard/api/session), kept in localStorage and sent as the admin
// credential. It stops working after 30 days or when the admin key is rotated; the
// server then closes the sync connection, and on the reconnect this module finds out
// (GET /dashboard/api/session) and goes back to the login form, saying why.
import { connect, convexClient } from "./client.js";
import { useCallback, useEffect, useState } from "./html.js";

const STORAGE_KEY = "syncline.dashboard.session";
const NOTICE_KEY = "syncline.dashboard.notice"; // survives the reload of a log out
const API = "/dashboard/api/session";

export const ENDED =
  "Your session has ended: the admin key was rotated or the session expired. Log in again.";
const LOGGED_OUT = "You have logged out.";

export function storedSession() {
  return window.localStorage.getItem(STORAGE_KEY);
}

export function storeSession(token) {
  window.localStorage.setItem(STORAGE_KEY, token);
}

export function forgetSession() {
  window.localStorage.removeItem(STORAGE_KEY);
}

async function exchange(body) {
  let response;
  try {
    response = await fetch(API, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    throw new Error("Could not reach the deployment: is it running?");
  }
  const payload = await response.json().catch(() => ({}));
  if (!response.ok || typeof payload.session !== "string") {
    throw new Error(payload.message || `Logging in failed (HTTP ${response.status}).`);
  }
  storeSession(payload.session);
  return payload.session;
}

/** Log in with the one-time token in the address bar, if there is one. The token is
 * removed from the address bar (and so from the history) first, used or not. */
export async function sessionFromLink() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (token === null) return null;
  url.searchParams.delete("token");
  window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  return exchange({ token });
}

export function logInWithAdminKey(adminKey) {
  return exchange({ adminKey: adminKey.trim() });
}

/** "valid", "ended" (refused: expired or revoked) or "unreachable" (try again later). */
export async function checkSession(token) {
  try {
    const response = await fetch(API, { headers: { Authorization: `Convex ${token}` } });
    if (response.ok) return "valid";
    return response.status === 401 ? "ended" : "unreachable";
  } catch {
    return "unreachable";
  }
}

/** Forget the session and start again at the login form. */
export function logOut() {
  forgetSession();
  window.sessionStorage.setItem(NOTICE_KEY, LOGGED_OUT);
  window.location.reload();
}

const replaced = new Set(); // the mounted useSession's setter

/** Use a new session at once (after rotating the admin key, which ends the old one). */
export function replaceSession(token) {
  storeSession(token);
  connect(token);
  for (const listener of replaced) listener(token);
}

function takeNotice() {
  const notice = window.sessionStorage.getItem(NOTICE_KEY);
  window.sessionStorage.removeItem(NOTICE_KEY);
  return notice;
}

/** The session state for the app's root: `session` is undefined while it is worked out,
 * null when the login form is due (with `notice` saying why, if anything happened),
 * else the token. `loggedIn(token)` is what the login form calls. */
export function useSession() {
  const [state, setState] = useState({ session: undefined, notice: null });
  const end = useCallback((notice) => {
    forgetSession();
    setState({ session: null, notice });
  }, []);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      let notice = takeNotice();
      try {
        const fromLink = await sessionFromLink();
        if (fromLink !== null) {
          if (!cancelled) setState({ session: fromLink, notice: null });
          return;
        }
      } catch (e) {
        notice = `The login link did not work. ${e.message}`;
      }
      const stored = storedSession();
      // An unreachable deployment keeps the session: the client reconnects by itself.
      if (stored && (await checkSession(stored)) === "ended") {
        forgetSession();
        if (!cancelled) setState({ session: null, notice: ENDED });
        return;
      }
      if (!cancelled) setState({ session: stored || null, notice: stored ? null : notice });
    })();
    return () => {
      cancelled = true;
    };
  }, []);

  // While logged in: check the session whenever the sync connection is re-established
  // (the server closes it when the session expires or the key is rotated), and follow
  // other tabs of this dashboard logging in or out.
  const session = state.session;
  useEffect(() => {
    if (!session) return undefined;
    const client = convexClient();
    let seen = client.connectionState().connectionCount;
    const unsubscribe = client.subscribeToConnectionState(async (connection) => {
      const count = connection.connectionCount;
      if (!connection.isWebSocketConnected || count <= Math.max(seen, 1)) return;
      seen = count; // a reconnect
      const current = storedSession();
      const verdict = current ? await checkSession(current) : "ended";
      if (verdict === "ended") end(ENDED);
      // A valid session is applied again: the AuthError that ended the session it
      // replaced (a rotation) may have arrived after it and cleared the client's auth.
      else if (verdict === "valid") connect(current);
    });
    const onStorage = (event) => {
      if (event.key !== STORAGE_KEY) return;
      if (event.newValue) replaceSession(event.newValue);
      else end(LOGGED_OUT);
    };
    window.addEventListener("storage", onStorage);
    return () => {
      unsubscribe();
      window.removeEventListener("storage", onStorage);
    };
  }, [session, end]);

  useEffect(() => {
    const listener = (token) => setState({ session: token, notice: null });
    replaced.add(listener);
    return () => replaced.delete(listener);
  }, []);

  const loggedIn = useCallback((token) => setState({ session: token, notice: null }), []);
  return { session: state.session, notice: state.notice, loggedIn };
}
