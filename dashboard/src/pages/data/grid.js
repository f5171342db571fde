// The documents grid: fixed row height and column widths (rows streaming in never move what
// is on screen), checkboxes, double-click (or Enter) to edit a cell as a value, `v.id`
// references as links, and more rows loaded when the end of the grid scrolls into view.
import { Component } from "preact";
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

/** One document's row. It re-renders only when what it shows changes (not on every update
 * of the page around it), so a write re-renders one row, not the whole grid. */
class Row extends Component {
  shouldComponentUpdate(next) {
    const p = this.props;
    return p.docKey !== next.docKey || p.selected !== next.selected || p.active !== next.active
      || p.editing !== next.editing || p.focusCol !== next.focusCol
      || p.columnsKey !== next.columnsKey || p.references !== next.references;
  }

  render({ doc, columns, references, api, selected, active, editing, focusCol }) {
    const id = doc._id;
    return html`<tr data-testid="row" data-id=${id}
        class=${`${selected ? "selected" : ""} ${active ? "active" : ""}`}>
      <td class="data-check"><input type="checkbox" checked=${selected}
        aria-label=${`Select ${id}`} data-testid="row-check"
        onClick=${(e) => api.current.toggle(id, e)} /></td>
      <td class="data-edit"><button type="button" class="data-icon" title="Edit document"
        aria-label=${`Edit document ${id}`} data-testid="edit-doc"
        onClick=${() => api.current.onEdit(doc)}>✎</button></td>
      ${columns.map((c, ci) => html`<td key=${c} data-col=${c} data-cell=${`${id}:${ci}`}
          tabIndex=${focusCol === ci ? 0 : -1} class=${editing === c ? "editing" : ""}
          onFocus=${() => api.current.focused(id, ci)}
          onDblClick=${() => api.current.startEdit(doc, c)}>
        ${editing === c
          ? html`<${CellEditor} initial=${doc[c] === undefined ? "" : formatValue(doc[c])}
              onCancel=${() => api.current.done(id, ci)}
              onSave=${async (value) => { await api.current.saveCell(doc, c, value); api.current.done(id, ci); }} />`
          : html`<${CellValue} column=${c} value=${doc[c]} target=${references[c]}
              openDoc=${(t, v) => api.current.openDoc(t, v)} />`}
      </td>`)}
    </tr>`;
  }
}

export function Grid({ columns, documents, references, fields = [], loading, done, error, loadMore, selected,
  setSelected, saveCell, filtered, onAdd, onEdit, openDoc, activeId, pageCount }) {
  const [editing, setEditing] = useState(null); // {id, column}
  const [focus, setFocus] = useState({ id: null, col: 0 }); // the cell that takes Tab
  const scroller = useRef(null);
  const sentinel = useRef(null);
  const lastClicked = useRef(null); // id of the last checkbox clicked (Shift-click ranges)
  const api = useRef(null); // the rows' handlers, current without re-rendering the rows

  // Load the next page when the end of the grid comes near (and after each page, if still near).
  useEffect(() => {
    if (!sentinel.current || done) return undefined;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadMore();
    }, { root: scroller.current, rootMargin: "300px" });
    observer.observe(sentinel.current);
    return () => observer.disconnect();
  }, [loadMore, done, documents.length]);

  const indexOf = (id) => documents.findIndex((d) => d._id === id);
  const allSelected = documents.length > 0 && documents.every((d) => selected.has(d._id));
  const toggleAll = () => {
    setSelected(allSelected ? new Set() : new Set(documents.map((d) => d._id)));
  };
  const moveFocus = (row, col) => {
    const r = Math.max(0, Math.min(documents.length - 1, row));
    const c = Math.max(0, Math.min(columns.length - 1, col));
    const id = documents[r]?._id ?? null;
    setFocus({ id, col: c });
    scroller.current?.querySelector(`[data-cell="${id}:${c}"]`)?.focus();
  };
  api.current = {
    toggle(id, event) {
      const next = new Set(selected);
      const on = !selected.has(id);
      const from = lastClicked.current === null ? -1 : indexOf(lastClicked.current);
      if (event.shiftKey && from >= 0) {
        const [a, b] = [from, indexOf(id)].sort((x, y) => x - y);
        for (let i = a; i <= b; i++) on ? next.add(documents[i]._id) : next.delete(documents[i]._id);
      } else if (on) next.add(id); else next.delete(id);
      lastClicked.current = id;
      setSelected(next);
    },
    startEdit(doc, column) {
      if (!SYSTEM.has(column)) setEditing({ id: doc._id, column });
    },
    focused(id, col) { setFocus({ id, col }); },
    // After an edit, the keyboard goes on from the cell (once the editor is gone).
    done(id, col) {
      setEditing(null);
      setTimeout(() => {
        if (!document.activeElement || document.activeElement === document.body) {
          moveFocus(Math.max(0, indexOf(id)), col);
        }
      }, 0);
    },
    saveCell, onEdit, openDoc,
  };
  const focusRow = Math.max(0, indexOf(focus.id));
  const onKeyDown = (e) => {
    const row = focusRow;
    const { col } = focus;
    const keys = { ArrowUp: [row - 1, col], ArrowDown: [row + 1, col],
      ArrowLeft: [row, col - 1], ArrowRight: [row, col + 1] };
    if (keys[e.key]) { e.preventDefault(); moveFocus(...keys[e.key]); }
    else if (e.key === "Enter" && documents[row] && e.target.dataset?.cell) {
      e.preventDefault();
      api.current.startEdit(documents[row], columns[col]);
    }
  };
  const validators = Object.fromEntries(fields.map((f) => [f.name, f.validator]));
  const width = (c) => columnWidth(c, validators);
  const total = 36 + 40 + columns.reduce((sum, c) => sum + width(c), 0);
  const columnsKey = columns.join("\u0000");

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
        ${documents.map((doc, r) => html`<${Row} key=${doc._id} doc=${doc} docKey=${formatValue(doc)}
          columns=${columns} columnsKey=${columnsKey} references=${references} api=${api}
          selected=${selected.has(doc._id)} active=${activeId === doc._id}
          editing=${editing && editing.id === doc._id ? editing.column : null}
          focusCol=${r === focusRow ? focus.col : -1} />`)}
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
