// Until a page is built: says so instead of failing.
import { html } from "../lib/html.js";
import { Empty, Page } from "../lib/ui.js";

export function placeholder(title) {
  return function PlaceholderPage() {
    return html`<${Page} title=${title}><${Empty} title=${`${title} is not built yet`} /></${Page}>`;
  };
}
