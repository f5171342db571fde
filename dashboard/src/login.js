// The login form shown when the browser has no dashboard session.
import { html, useState } from "./lib/html.js";
import { logInWithAdminKey } from "./lib/session.js";

export function Login({ onSession, message }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState(message || null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSession(await logInWithAdminKey(key.trim()));
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <form class="login-card" onSubmit=${submit} data-testid="login-form">
      <h1>syncline</h1>
      <p class="muted">Log in to this deployment's dashboard with its admin key.</p>
      <label for="admin-key">Admin key</label>
      <input id="admin-key" type="password" autocomplete="current-password" value=${key}
        onInput=${(e) => setKey(e.target.value)} required autofocus data-testid="admin-key" />
      ${error && html`<p class="error" role="alert" data-testid="login-error">${error}</p>`}
      <button class="button primary" type="submit" disabled=${busy || !key.trim()}>Log in</button>
      <p class="muted small">
        <code>syncline serve</code> prints the admin key when it starts;
        <code>syncline admin-key DIR</code> prints it again.
      </p>
    </form>
  </main>`;
}
