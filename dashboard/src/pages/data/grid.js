// The documents grid: fixed row height and column widths (rows streaming in never move what
// is on screen), checkboxes, double-click (or Enter) to edit a cell as a value, `v.id`
// references as links, and more rows loaded when the end of the grid scrolls into view.
import { html, useState, useEffect, useRef } from "../../lib/html.js";
import { formatValue, parseValue } from "./values.js";
import { errorText } from "./dialogs.js";
import { validatorSource } from "./schema.js";

const WIDTH = { _id: 210, _creationTime: 200 };
const DEFAULT_WIDTH = 180;
const SYSTEM = new Set(["_id", "_creationTime"]);

// Narrow columns for short values, by the schema's validator (so a width never depends on
// the data loaded so far).
const BY_TYPE = { boolean: 100, number: 110, bigint: 110, null: 90, literal: 130, id: 180,
  string: 220 };

export function columnWidth(column, validators = {}) {
  return WIDTH[column] ?? BY_TYPE[validators[column]?.type] ?? DEFAULT_WIDTH;
}

function creationTime(ms) {
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `
    + `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function RefLink({ table, id, openDoc }) {
  return html`<a class="data-ref" href=${`#/data/${encodeURIComponent(table)}?id=${encodeURIComponent(id)}`}
    data-testid="ref-link" title=${`Open ${table} ${id}`}
    onClick=${(e) => { e.preventDefault(); e.stopPropagation(); openDoc(table, id); }}
    onDblClick=${(e) => e.stopPropagation()}>${id}</a>`;
}

/** A cell's content: strings as text, other values as compact literals, ids as links. */
export function CellValue({ column, value, target, openDoc }) {
  if (value === undefined) return html`<span class="data-unset">unset</span>`;
  if (column === "_creationTime" && typeof value === "number") {
    return html`<span title=${String(value)}>${creationTime(value)}</span>`;
  }
  if (target && typeof value === "string") return html`<${RefLink} table=${target} id=${value} openDoc=${openDoc} />`;
  if (target && Array.isArray(value) && value.every((x) => typeof x === "string")) {
    return html`<span>[${value.map((id, i) => html`${i ? ", " : ""}<${RefLink} key=${id} table=${target}
      id=${id} openDoc=${openDoc} />`)}]</span>`;
  }
  if (typeof value === "string") return html`<span class="data-string">${value}</span>`;
  return html`<span class=${`data-literal data-${typeof value}`}>${formatValue(value)}</span>`;
}

function CellEditor({ initial, onSave, onCancel }) {
  const [text, setText] = useState(initial);
  const [error, setError] = useState(null);
  const [saving, setSaving] = useState(false);
  const busy = useRef(false); // saving or showing an error: a blur must not close the editor
  const input = useRef(null);
  useEffect(() => { input.current?.focus(); input.current?.select(); }, []);
  const save = async () => {
    if (busy.current && saving) return;
    let value;
    try {
      value = text.trim() === "" ? undefined : parseValue(text);
    } catch (e) {
      busy.current = true;
      setError(e.message);
      return;
    }
    busy.current = true;
    setSaving(true);
    try {
      await onSave(value);
    } catch (e) {
      setError(errorText(e, { where: false }));
      setSaving(false);
      input.current?.focus();
    }
  };
  return html`<div class="data-cell-editor">
    <input ref=${input} value=${text} readOnly=${saving} data-testid="cell-input"
      aria-label="Value (JSON; empty to unset the field)" aria-invalid=${error ? "true" : "false"}
      onInput=${(e) => { setText(e.target.value); setError(null); busy.current = false; }}
      onKeyDown=${(e) => {
        e.stopPropagation();
        if (e.key === "Enter") { e.preventDefault(); save(); }
        if (e.key === "Escape") { e.preventDefault(); onCancel(); }
      }}
      onBlur=${() => { if (!busy.current) onCancel(); }} />
    ${error ? html`<div class="data-cell-error" role="alert" data-testid="cell-error">${error}</div>` : null}
  </div>`;
}

export function Grid({ columns, documents, references, fields = [], loading, done, error, loadMore, selected,
  setSelected, saveCell, filtered, onAdd, onEdit, openDoc, activeId, pageCount }) {
  const [editing, setEditing] = useState(null); // {id, column}
  const [focus, setFocus] = useState({ row: 0, col: 0 });
  const scroller = useRef(null);
  const sentinel = useRef(null);
  const lastClicked = useRef(null);

  // Load the next page when the end of the grid comes near (and after each page, if still near).
  useEffect(() => {
    if (!sentinel.current || done) return undefined;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadMore();
    }, { root: scroller.current, rootMargin: "300px" });
    observer.observe(sentinel.current);
    return () => observer.disconnect();
  }, [loadMore, done, documents.length]);

  const allSelected = documents.length > 0 && documents.every((d) => selected.has(d._id));
  const toggleAll = () => {
    setSelected(allSelected ? new Set() : new Set(documents.map((d) => d._id)));
  };
  const toggle = (row, event) => {
    const next = new Set(selected);
    const id = documents[row]._id;
    const on = !selected.has(id);
    if (event.shiftKey && lastClicked.current !== null) {
      const [a, b] = [lastClicked.current, row].sort((x, y) => x - y);
      for (let i = a; i <= b; i++) on ? next.add(documents[i]._id) : next.delete(documents[i]._id);
    } else if (on) next.add(id); else next.delete(id);
    lastClicked.current = row;
    setSelected(next);
  };
  const editable = (column) => !SYSTEM.has(column);
  const startEdit = (doc, column) => {
    if (editable(column)) setEditing({ id: doc._id, column });
  };
  const moveFocus = (row, col) => {
    const r = Math.max(0, Math.min(documents.length - 1, row));
    const c = Math.max(0, Math.min(columns.length - 1, col));
    setFocus({ row: r, col: c });
    scroller.current?.querySelector(`[data-cell="${r}:${c}"]`)?.focus();
  };
  // After an edit, the keyboard goes on from the cell (once the editor is gone).
  const refocus = (r, c) => setTimeout(() => {
    if (!document.activeElement || document.activeElement === document.body) {
      moveFocus(r, c);
    }
  }, 0);
  const onKeyDown = (e) => {
    const { row, col } = focus;
    const keys = { ArrowUp: [row - 1, col], ArrowDown: [row + 1, col],
      ArrowLeft: [row, col - 1], ArrowRight: [row, col + 1] };
    if (keys[e.key]) { e.preventDefault(); moveFocus(...keys[e.key]); }
    else if (e.key === "Enter" && documents[row] && e.target.dataset?.cell) {
      e.preventDefault();
      startEdit(documents[row], columns[col]);
    }
  };
  const validators = Object.fromEntries(fields.map((f) => [f.name, f.validator]));
  const width = (c) => columnWidth(c, validators);
  const total = 36 + 40 + columns.reduce((sum, c) => sum + width(c), 0);

  return html`<div class="data-grid-wrap" ref=${scroller} data-testid="grid" data-pages=${pageCount}>
    <table class="data-grid" style=${{ width: `${total}px` }} onKeyDown=${onKeyDown}
      aria-rowcount=${documents.length}>
      <colgroup>
        <col style=${{ width: "36px" }} /><col style=${{ width: "40px" }} />
        ${columns.map((c) => html`<col key=${c} style=${{ width: `${width(c)}px` }} />`)}
      </colgroup>
      <thead><tr>
        <th class="data-check"><input type="checkbox" checked=${allSelected}
          aria-label="Select all loaded documents" data-testid="select-all"
          onChange=${toggleAll} /></th>
        <th aria-label="Edit document"></th>
        ${columns.map((c) => html`<th key=${c} data-testid=${`col-${c}`}
          title=${validators[c] ? `${c}: ${validatorSource(validators[c])}` : c}>${c}</th>`)}
      </tr></thead>
      <tbody>
        ${documents.map((doc, r) => html`<tr key=${doc._id} data-testid="row" data-id=${doc._id}
            class=${`${selected.has(doc._id) ? "selected" : ""} ${activeId === doc._id ? "active" : ""}`}>
          <td class="data-check"><input type="checkbox" checked=${selected.has(doc._id)}
            aria-label=${`Select ${doc._id}`} data-testid="row-check"
            onClick=${(e) => toggle(r, e)} /></td>
          <td class="data-edit"><button type="button" class="data-icon" title="Edit document"
            aria-label=${`Edit document ${doc._id}`} data-testid="edit-doc"
            onClick=${() => onEdit(doc)}>✎</button></td>
          ${columns.map((c, ci) => {
            const isEditing = editing && editing.id === doc._id && editing.column === c;
            return html`<td key=${c} data-col=${c} data-cell=${`${r}:${ci}`}
              tabIndex=${focus.row === r && focus.col === ci ? 0 : -1}
              class=${isEditing ? "editing" : ""}
              onFocus=${() => setFocus({ row: r, col: ci })}
              onDblClick=${() => startEdit(doc, c)}>
              ${isEditing
                ? html`<${CellEditor} initial=${doc[c] === undefined ? "" : formatValue(doc[c])}
                    onCancel=${() => { setEditing(null); refocus(r, ci); }}
                    onSave=${async (value) => { await saveCell(doc, c, value); setEditing(null); refocus(r, ci); }} />`
                : html`<${CellValue} column=${c} value=${doc[c]} target=${references[c]}
                    openDoc=${openDoc} />`}
            </td>`;
          })}
        </tr>`)}
      </tbody>
    </table>
    ${error ? html`<div class="data-grid-note data-error" role="alert" data-testid="grid-error">
      ${errorText(error)}</div>` : null}
    ${!error && !loading && documents.length === 0 ? html`<div class="data-grid-note" data-testid="grid-empty">
      ${filtered ? "No documents match these filters."
        : html`This table is empty. <button type="button" class="data-linkish" onClick=${onAdd}>Add documents</button>`}
    </div>` : null}
    <div ref=${sentinel} class="data-grid-foot" data-testid="grid-foot">
      ${loading ? html`<span class="data-muted" data-testid="grid-loading">Loading…</span>`
        : !done && documents.length > 0 ? html`<button type="button" class="data-linkish"
            data-testid="load-more" onClick=${loadMore}>Load more</button>`
        : documents.length > 0 ? html`<span class="data-muted">${documents.length.toLocaleString("en-US")} shown · all loaded</span>` : null}
    </div>
  </div>`;
}
