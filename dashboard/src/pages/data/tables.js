// The data page's table list: every user table with its live document count.
import { html } from "../../lib/html.js";

export function TableList({ tables, selected, loading }) {
  return html`<nav class="data-tables" aria-label="Tables" data-testid="table-list">
    <div class="data-tables-title">Tables</div>
    ${loading ? html`<div class="data-muted">Loading…</div>` : null}
    ${!loading && tables.length === 0 ? html`<div class="data-muted">No tables</div>` : null}
    <ul>
      ${tables.map((t) => html`<li key=${t.name}>
        <a href=${`#/data/${encodeURIComponent(t.name)}`} data-testid=${`table-${t.name}`}
           class=${t.name === selected ? "data-table-link selected" : "data-table-link"}
           aria-current=${t.name === selected ? "page" : undefined}>
          <span class="data-table-name">${t.name}</span>
          <span class="data-table-count" data-testid=${`count-${t.name}`}>
            ${Number(t.documents).toLocaleString("en-US")}</span>
        </a>
      </li>`)}
    </ul>
  </nav>`;
}
