// History: the deployment's audit log (`_system/history:list`), newest first, live, a page
// at a time; each event expands to its details.
import { html, useState, useCallback } from "../../lib/html.js";
import { Page, Empty, formatTime } from "../../lib/ui.js";
import { PagedList } from "./paged.js";
import { actionLabel, eventSummary } from "./events.js";
import "./history.css";

function EventRow({ event }) {
  const [open, setOpen] = useState(false);
  const toggle = () => setOpen(!open);
  return html`
    <tr class=${`history-row history-${event.action}`} data-testid="history-row"
        data-action=${event.action}>
      <td class="history-time">${formatTime(event.time)}</td>
      <td><span class="history-action">${actionLabel(event.action)}</span></td>
      <td class="history-who">${event.who}</td>
      <td class="history-summary" data-testid="history-summary">${eventSummary(event)}</td>
      <td class="history-toggle">
        <button type="button" class="link-button" aria-expanded=${open} onClick=${toggle}
                data-testid="history-details-toggle">${open ? "Hide" : "Details"}</button>
      </td>
    </tr>
    ${open ? html`
      <tr class="history-details" data-testid="history-details">
        <td colspan="5">
          <div class="history-meta">
            <span>#${event.seq}</span><span>${event.action}</span><span>id ${event.id}</span>
          </div>
          <pre>${JSON.stringify(event.metadata, null, 2)}</pre>
        </td>
      </tr>` : null}`;
}

export default function HistoryPage() {
  const renderRows = useCallback(
    (page) => html`${page.map((event) => html`<${EventRow} key=${event.id} event=${event} />`)}`,
    []);
  const wrap = (rows) => html`
    <table class="history-table">
      <thead><tr><th>Time</th><th>What</th><th>Who</th><th>Details</th><th></th></tr></thead>
      <tbody>${rows}</tbody>
    </table>`;
  return html`
    <${Page} title="History">
      <p class="muted history-intro">What changed in this deployment: pushes (functions,
        schema, indexes, crons), environment variables, imports, edits from the dashboard
        and canceled jobs. Values of environment variables are never recorded.</p>
      <${PagedList} path="_system/history:list" args=${{}} numItems=${30}
        renderRows=${renderRows} wrap=${wrap} testid="history-list"
        empty=${html`<${Empty} title="No history yet"
          hint="Pushes, environment variable changes and imports appear here." />`} />
    </${Page}>`;
}
