// URLs (the cloud origin clients connect to, the site origin HTTP actions answer on) and
// what this deployment is.
import { html } from "../../lib/html.js";
import { CopyButton } from "./copy.js";

function UrlRow({ label, url, testid, hint }) {
  return html`<div class="settings-row">
    <div class="settings-label">${label}<div class="muted small">${hint}</div></div>
    <code class="settings-url" data-testid=${testid}>${url || "(not listening yet)"}</code>
    ${url ? html`<${CopyButton} text=${url} what=${`Copied ${label}`} testid=${`${testid}-copy`} />` : null}
  </div>`;
}

export function UrlsSection({ settings }) {
  const d = settings.deployment;
  return html`<section class="settings-section" data-testid="settings-urls">
    <h2>URLs</h2>
    <${UrlRow} label="Cloud URL" url=${settings.urls.cloud} testid="settings-cloud-url"
      hint="Clients connect here (CONVEX_CLOUD_URL)" />
    <${UrlRow} label="Site URL" url=${settings.urls.site} testid="settings-site-url"
      hint="HTTP actions answer here (CONVEX_SITE_URL)" />
    <dl class="settings-facts">
      <dt>Deployment</dt><dd data-testid="settings-instance">${d.instanceName}</dd>
      <dt>Mode</dt><dd>${d.dev ? "development (syncline dev)" : "production (syncline serve)"}</dd>
      <dt>Version</dt><dd>syncline ${d.version}</dd>
    </dl>
  </section>`;
}
