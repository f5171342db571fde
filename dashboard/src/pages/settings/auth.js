// The identity providers of the app's convex/auth_config.py, as the last push loaded them.
import { html } from "../../lib/html.js";
import { Empty } from "../../lib/ui.js";

function Provider({ p }) {
  const rows = p.type === "oidc"
    ? [["Type", "OpenID Connect"], ["Domain", p.domain], ["Application ID", p.applicationID]]
    : [["Type", "Custom JWT"], ["Issuer", p.issuer], ["Application ID", p.applicationID || "(any)"],
       ["JWKS", p.jwks.startsWith("data:") ? "inline (data: URI)" : p.jwks],
       ["Algorithm", p.algorithm]];
  return html`<dl class="settings-provider" data-testid="auth-provider">
    ${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}
  </dl>`;
}

export function AuthSection({ settings }) {
  const providers = settings.authProviders;
  return html`<section class="settings-section" data-testid="settings-auth">
    <h2>Authentication</h2>
    ${providers.length === 0
      ? html`<${Empty} title="No authentication providers"
          hint="Declare providers = [...] in convex/auth_config.py and push: users of your app can then sign in with them." />`
      : providers.map((p, i) => html`<${Provider} key=${i} p=${p} />`)}
  </section>`;
}
