// Rotating the admin key: POST /dashboard/api/rotate-admin-key answers the new key and a
// new dashboard session. Every old key (the CLI's, CI's) stops working; the new key is
// shown once, here, with a copy button, and this dashboard switches to the new session.
import { html, useState } from "../../lib/html.js";
import { adminFetch } from "../../lib/client.js";
import { replaceSession } from "../../lib/session.js";
import { Button, Modal, toast } from "../../lib/ui.js";
import { CopyButton } from "./copy.js";
import { jsonOrThrow } from "./errors.js";

export function AdminKeySection() {
  const [confirming, setConfirming] = useState(false);
  const [newKey, setNewKey] = useState(null);
  const [busy, setBusy] = useState(false);

  const rotate = async () => {
    setBusy(true);
    try {
      const answer = await jsonOrThrow(
        await adminFetch("/dashboard/api/rotate-admin-key", { method: "POST" }));
      if (answer.session) replaceSession(answer.session); // kept, and the client re-authenticates
      setConfirming(false);
      setNewKey(answer.adminKey);
    } catch (e) {
      toast(e.message, "error");
    } finally {
      setBusy(false);
    }
  };

  return html`<section class="settings-section" data-testid="settings-admin-key">
    <h2>Admin key</h2>
    <p class="muted small">The admin key unlocks the admin API, the CLIs and this dashboard.
      Rotate it if it may have leaked: every copy of the old key stops working at once.</p>
    <${Button} kind="danger" testid="admin-key-rotate"
      onClick=${() => setConfirming(true)}>Rotate admin key<//>
    ${confirming ? html`<${Modal} title="Rotate the admin key?" onClose=${() => setConfirming(false)}>
      <p>The current admin key stops working immediately: update your CLI configuration,
        CI secrets and scripts with the new key, which is shown once.</p>
      <div class="settings-actions">
        <${Button} kind="danger" disabled=${busy} testid="admin-key-confirm"
          onClick=${rotate}>Rotate<//>
        <${Button} kind="plain" onClick=${() => setConfirming(false)}>Cancel<//>
      </div>
    <//>` : null}
    ${newKey ? html`<${Modal} title="New admin key" onClose=${() => setNewKey(null)}>
      <p>Copy it now: it is not shown again.</p>
      <code class="settings-key" data-testid="admin-key-new">${newKey}</code>
      <div class="settings-actions">
        <${CopyButton} text=${newKey} what="Copied the admin key" testid="admin-key-copy" />
        <${Button} kind="primary" onClick=${() => setNewKey(null)}>Done<//>
      </div>
    <//>` : null}
  </section>`;
}
