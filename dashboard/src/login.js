// The login form, shown when this browser has no working dashboard session. The admin key
// typed here is exchanged for a session (lib/session.js) and never stored or shown again.
import "./login.css";
import { html, useEffect, useRef, useState } from "./lib/html.js";
import { logInWithAdminKey } from "./lib/session.js";

export function Login({ notice = null, onSession }) {
  const [key, setKey] = useState("");
  const [shown, setShown] = useState(false);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const input = useRef(null);
  useEffect(() => {
    if (!busy) input.current?.focus();
  }, [busy, error]);

  const submit = async (event) => {
    event.preventDefault();
    if (!key.trim()) {
      setError("Enter the deployment's admin key.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const session = await logInWithAdminKey(key);
      setKey("");
      onSession(session);
    } catch (e) {
      setError(e.message);
      setBusy(false);
      input.current?.select();
    }
  };

  return html`<main class="login">
    <form class="login-card" onSubmit=${submit} data-testid="login-form" novalidate>
      <h1>syncline</h1>
      <p class="muted login-where">Dashboard of <strong>${window.location.host}</strong></p>
      ${notice && html`<p class="login-notice" role="status" data-testid="login-notice">${notice}</p>`}
      <label for="admin-key">Admin key</label>
      <div class="login-key">
        <input id="admin-key" ref=${input} type=${shown ? "text" : "password"} value=${key}
          autocomplete="off" autocapitalize="off" spellcheck=${false} disabled=${busy}
          aria-invalid=${error ? "true" : "false"} aria-describedby="login-help"
          onInput=${(e) => setKey(e.target.value)}
          data-testid="admin-key" />
        <button type="button" class="button" onClick=${() => setShown(!shown)}
          aria-pressed=${shown} title=${shown ? "Hide the key" : "Show the key"}
          data-testid="admin-key-toggle">${shown ? "Hide" : "Show"}</button>
      </div>
      ${error && html`<p class="error" role="alert" data-testid="login-error">${error}</p>`}
      <button class="button primary login-submit" type="submit" disabled=${busy}
        data-testid="login-submit">${busy ? "Logging in…" : "Log in"}</button>
      <div class="login-help muted" id="login-help">
        <p><strong>Where is the admin key?</strong> ${""}<code>syncline serve</code> prints it
          when it starts, and <code>syncline admin-key DIR</code> prints it again on the
          deployment's machine.</p>
        <p>With <code>syncline dev</code>, open the link it prints, or run ${""}<code>syncline
          dashboard DIR</code> for a new one: it logs you in without the key.</p>
        <p>The key is exchanged for a session kept in this browser for 30 days; the
          dashboard does not keep the key.</p>
      </div>
    </form>
  </main>`;
}
