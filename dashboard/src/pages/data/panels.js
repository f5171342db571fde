// Side panels of the data page: one document (a reference's target, `?id=`), the table's
// schema and indexes with backfill progress, and a schema generated from the data.
import { html, useState, useEffect, useRef } from "../../lib/html.js";
import { useQuery, query } from "../../lib/client.js";
import { copyText } from "../../lib/ui.js";
import { formatValue } from "./values.js";
import { schemaFields, tableIndexes, tableSchema, referencedTable, validatorSource } from "./schema.js";
import { errorText } from "./dialogs.js";
import { CellValue } from "./grid.js";

function SidePanel({ title, onClose, testid, children }) {
  const ref = useRef(null);
  useEffect(() => { ref.current?.focus(); }, []);
  return html`<aside class="data-side" data-testid=${testid} aria-label=${title} tabIndex="-1"
      ref=${ref} onKeyDown=${(e) => { if (e.key === "Escape") { e.stopPropagation(); onClose(); } }}>
    <header class="data-side-head">
      <h3>${title}</h3>
      <button type="button" class="data-icon" aria-label="Close panel" data-testid="panel-close"
        onClick=${onClose}>×</button>
    </header>
    <div class="data-side-body">${children}</div>
  </aside>`;
}

/** The document `id` (live), with its `v.id` fields as links to their documents. */
export function DocumentPanel({ table, id, schemaInfo, onClose, openDoc, onEdit }) {
  const result = useQuery("_system/frontend/document", { id });
  const doc = result.value;
  let body;
  if (result.error) body = html`<div class="data-error" role="alert">${errorText(result.error)}</div>`;
  else if (doc === undefined) body = html`<div class="data-muted">Loading…</div>`;
  else if (doc === null) body = html`<div class="data-muted" data-testid="doc-missing">No document has the id ${id} (it may have been deleted).</div>`;
  else {
    const refs = {};
    for (const f of schemaFields(schemaInfo, table)) {
      const target = referencedTable(f.validator);
      if (target) refs[f.name] = target;
    }
    body = html`<dl class="data-doc">
      ${Object.entries(doc).map(([k, v]) => html`<div key=${k} class="data-doc-field">
        <dt>${k}</dt>
        <dd>${refs[k] && (typeof v === "string" || Array.isArray(v))
          ? html`<${CellValue} column=${k} value=${v} target=${refs[k]} openDoc=${openDoc} />`
          : html`<pre>${k === "_creationTime" ? `${new Date(v).toISOString()} (${v})` : formatValue(v, 2)}</pre>`}</dd>
      </div>`)}
    </dl>
    <button type="button" class="button" data-testid="doc-edit" onClick=${() => onEdit(doc)}>Edit document</button>`;
  }
  return html`<${SidePanel} title=${`Document ${id}`} onClose=${onClose} testid="doc-panel">${body}<//>`;
}

/** The pushed schema of the table, and its indexes with their backfill state. */
export function SchemaPanel({ table, schemaInfo, onClose }) {
  const entry = tableSchema(schemaInfo, table);
  const fields = schemaFields(schemaInfo, table);
  const indexes = tableIndexes(schemaInfo, table);
  return html`<${SidePanel} title=${`Schema and indexes of ${table}`} onClose=${onClose}
      testid="schema-panel">
    <h4>Fields</h4>
    ${!schemaInfo?.schema ? html`<p class="data-muted">No schema is pushed: documents are not validated.</p>`
      : !entry ? html`<p class="data-muted">The schema does not declare ${table}.</p>`
      : entry.documentType?.type === "any" ? html`<p class="data-muted">Any document (v.any()).</p>`
      : html`<ul class="data-schema-fields" data-testid="schema-fields">
          ${fields.map((f) => html`<li key=${f.name}><code>${f.name}</code>
            <code class="data-muted">${f.optional ? `v.optional(${validatorSource(f.validator)})` : validatorSource(f.validator)}</code></li>`)}
        </ul>`}
    ${schemaInfo?.schema ? html`<p class="data-muted">${`Schema validation is ${schemaInfo.schema.schemaValidation === false ? "off" : "on"}.`}</p>` : null}
    <h4>Indexes</h4>
    ${indexes.length === 0 ? html`<p class="data-muted">No indexes.</p>` : html`
      <ul class="data-indexes" data-testid="schema-indexes">
        ${indexes.map((i) => html`<li key=${i.name} data-testid=${`index-${i.name}`}>
          <div><code>${i.name}</code> <span class="data-muted">${(i.fields ?? []).join(", ")}</span>
            ${i.kind && i.kind !== "user" ? html` <span class="data-tag">built in</span>` : null}</div>
          <${Backfill} backfill=${i.backfill} />
        </li>`)}
      </ul>`}
  <//>`;
}

function Backfill({ backfill }) {
  const state = backfill?.state ?? "done";
  if (state === "done") return html`<span class="data-ok" data-testid="backfill">✓ ready</span>`;
  const total = backfill.total ?? backfill.totalDocuments;
  const done = backfill.done ?? backfill.indexedDocuments ?? backfill.processed;
  const pct = total ? Math.min(100, Math.round((100 * (done ?? 0)) / total)) : null;
  return html`<div class="data-backfill" data-testid="backfill">
    <span class="data-spinner" aria-hidden="true"></span> backfilling${pct !== null ? ` ${pct}%` : "…"}
    ${pct !== null ? html`<progress max="100" value=${pct}></progress>` : null}
  </div>`;
}

/** A `convex/schema.py` inferred from the documents of every table, with a copy button. */
export function GenerateSchema({ onClose }) {
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    query("_system/frontend/generateSchema", {}).then(setResult, (e) => setError(errorText(e)));
  }, []);
  return html`<${SidePanel} title="Schema generated from the data" onClose=${onClose}
      testid="generate-panel">
    ${error ? html`<div class="data-error" role="alert">${error}</div>`
      : !result ? html`<div class="data-muted">Reading the documents…</div>`
      : html`<p class="data-muted">Save as <code>convex/schema.py</code>; a schema that fits every document now.</p>
        <div class="data-dialog-actions"><button type="button" class="button primary"
          data-testid="copy-schema" onClick=${() => copyText(result.source)}>Copy</button></div>
        <pre class="data-code" data-testid="generated-schema">${result.source}</pre>`}
  <//>`;
}
