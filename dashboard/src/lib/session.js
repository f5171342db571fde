// The dashboard session: obtained from a one-time login link (`?token=`, printed by
// `syncline dev` / `syncline dashboard`) or by entering the admin key, and kept in
// localStorage. It is an admin credential of its own, never the admin key itself.
const STORAGE_KEY = "syncline.dashboard.session";

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
  const response = await fetch("/dashboard/api/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(payload.message || `Login failed (HTTP ${response.status})`);
  return payload.session;
}

/** Log in with a one-time token from the address bar, if there is one (then remove it). */
export async function sessionFromLink() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (!token) return null;
  url.searchParams.delete("token");
  window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  const session = await exchange({ token });
  storeSession(session);
  return session;
}

export async function logInWithAdminKey(adminKey) {
  const session = await exchange({ adminKey });
  storeSession(session);
  return session;
}

export function logOut() {
  forgetSession();
  window.location.reload();
}
