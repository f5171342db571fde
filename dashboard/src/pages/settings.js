// Settings: URLs and what the deployment is, environment variables, the auth providers of
// convex/auth_config.py, snapshot export and import, and the admin key. Read live from
// `_system/frontend/settings` (and the export/import job tables). syncline deployments
// cannot be paused, so there is no pause button.
import { html } from "../lib/html.js";
import { useQuery } from "../lib/client.js";
import { Page, ErrorBox, Loading } from "../lib/ui.js";
import { UrlsSection } from "./settings/urls.js";
import { EnvSection } from "./settings/env.js";
import { AuthSection } from "./settings/auth.js";
import { SnapshotsSection } from "./settings/snapshots.js";
import { AdminKeySection } from "./settings/adminkey.js";
import "./settings/settings.css";

export default function SettingsPage() {
  const { value: settings, error } = useQuery("_system/frontend/settings", {});
  return html`<${Page} title="Settings" testid="settings-page">
    ${error ? html`<${ErrorBox} error=${error} />` : null}
    ${!settings && !error ? html`<${Loading} />` : null}
    ${settings ? html`<div class="settings">
      <${UrlsSection} settings=${settings} />
      <${EnvSection} settings=${settings} />
      <${AuthSection} settings=${settings} />
      <${SnapshotsSection} />
      <${AdminKeySection} />
    </div>` : null}
  <//>`;
}
