// Filters of the data view, shown as chips: `field op value` (op: comparisons as in a Convex
// query filter, or the value's type), and a `_creationTime` range. All conditions hold
// together (and). The hint under them says how the deployment answers (which index it uses).
import { html, useState, useEffect, useRef } from "../../lib/html.js";
import { useQuery } from "../../lib/client.js";
import { formatValue, parseValue } from "./values.js";

export const OPERATORS = [
  ["eq", "="], ["neq", "≠"], ["gt", ">"], ["gte", "≥"], ["lt", "<"], ["lte", "≤"],
  ["isType", "is type"], ["isNotType", "is not type"],
];
export const TYPES = ["string", "number", "bigint", "boolean", "null", "array", "object", "bytes",
  "id", "unset"];
const OP_LABEL = Object.fromEntries(OPERATORS);
const isTypeOp = (op) => op === "isType" || op === "isNotType";

export function chipText(f) {
  const value = isTypeOp(f.op) ? f.value : formatValue(f.value);
  return `${f.field} ${OP_LABEL[f.op] ?? f.op} ${value}`;
}

function FilterEditor({ columns, initial, onApply, onCancel }) {
  const [field, setField] = useState(initial?.field ?? "");
  const [op, setOp] = useState(initial?.op ?? "eq");
  const [text, setText] = useState(initial && !isTypeOp(initial.op) ? formatValue(initial.value) : "");
  const [type, setType] = useState(initial && isTypeOp(initial.op) ? initial.value : "string");
  const [error, setError] = useState(null);
  const first = useRef(null);
  useEffect(() => { first.current?.focus(); }, []);
  const apply = (e) => {
    e?.preventDefault();
    if (!field.trim()) { setError("Choose a field"); return; }
    if (isTypeOp(op)) { onApply({ field: field.trim(), op, value: type }); return; }
    try {
      onApply({ field: field.trim(), op, value: parseValue(text) });
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<form class="data-filter-editor" onSubmit=${apply} data-testid="filter-editor"
      onKeyDown=${(e) => { if (e.key === "Escape") { e.preventDefault(); onCancel(); } }}>
    <input ref=${first} list="data-filter-fields" value=${field} placeholder="field"
      aria-label="Field" data-testid="filter-field" onInput=${(e) => setField(e.target.value)} />
    <datalist id="data-filter-fields">
      ${columns.filter((c) => c !== "_creationTime").map((c) => html`<option key=${c} value=${c} />`)}
    </datalist>
    <select value=${op} aria-label="Operator" data-testid="filter-op"
      onChange=${(e) => setOp(e.target.value)}>
      ${OPERATORS.map(([value, label]) => html`<option key=${value} value=${value}>${label}</option>`)}
    </select>
    ${isTypeOp(op)
      ? html`<select value=${type} aria-label="Type" data-testid="filter-type"
          onChange=${(e) => setType(e.target.value)}>
          ${TYPES.map((t) => html`<option key=${t} value=${t}>${t}</option>`)}</select>`
      : html`<input value=${text} placeholder='value, e.g. "text", 12, true' aria-label="Value"
          data-testid="filter-value" aria-invalid=${error ? "true" : "false"}
          onInput=${(e) => { setText(e.target.value); setError(null); }} />`}
    <button type="submit" class="button primary" data-testid="filter-apply">Apply</button>
    <button type="button" class="button" onClick=${onCancel}>Cancel</button>
    ${error ? html`<div class="data-field-error" role="alert" data-testid="filter-error">${error}</div>` : null}
  </form>`;
}

/** `datetime-local` text <-> Unix ms in the browser's time zone. */
function toLocalInput(ms) {
  if (ms === undefined) return "";
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}
function fromLocalInput(text) {
  if (!text) return undefined;
  const ms = new Date(text).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** The filterPlan answer ({index, fields}) as a sentence. */
export function planText(plan) {
  if (!plan?.index) return null;
  if (!plan.fields?.length) return `Walks ${plan.index} and checks every document (no index fits)`;
  return `Uses the index ${plan.index} on ${plan.fields.join(", ")}`;
}

export function FilterBar({ columns, filters, setFilters, creationTime, setCreationTime, args,
  children }) {
  const [editing, setEditing] = useState(null); // null | {i} (i = -1: a new filter)
  const [range, setRange] = useState(false);
  const active = filters.length > 0 || creationTime.from !== undefined || creationTime.to !== undefined;
  const { order, ...planArgs } = args; // eslint-disable-line no-unused-vars
  const plan = useQuery("_system/frontend/filterPlan", planArgs, { skip: !active });
  const apply = (f) => {
    const next = filters.slice();
    if (editing.i < 0) next.push(f); else next[editing.i] = f;
    setFilters(next);
    setEditing(null);
  };
  const setTime = (key, text) => {
    const next = { ...creationTime, [key]: fromLocalInput(text) };
    if (next[key] === undefined) delete next[key];
    setCreationTime(next);
  };
  return html`<div class="data-filters" data-testid="filters">
    ${filters.map((f, i) => html`<span class="data-chip" key=${i} data-testid="filter-chip">
      <button type="button" class="data-chip-text" title="Edit this filter"
        onClick=${() => setEditing({ i })}>${chipText(f)}</button>
      <button type="button" class="data-chip-x" aria-label=${`Remove filter ${chipText(f)}`}
        data-testid="filter-remove"
        onClick=${() => setFilters(filters.filter((_, j) => j !== i))}>×</button>
    </span>`)}
    ${creationTime.from !== undefined || creationTime.to !== undefined || range ? html`
      <span class="data-chip data-chip-range" data-testid="creation-range">
        <span>_creationTime from</span>
        <input type="datetime-local" step="1" value=${toLocalInput(creationTime.from)}
          aria-label="Created from" data-testid="created-from"
          onChange=${(e) => setTime("from", e.target.value)} />
        <span>to</span>
        <input type="datetime-local" step="1" value=${toLocalInput(creationTime.to)}
          aria-label="Created to" data-testid="created-to"
          onChange=${(e) => setTime("to", e.target.value)} />
        <button type="button" class="data-chip-x" aria-label="Remove the _creationTime range"
          onClick=${() => { setCreationTime({}); setRange(false); }}>×</button>
      </span>` : null}
    ${editing ? html`<${FilterEditor} columns=${columns} key=${editing.i}
        initial=${editing.i >= 0 ? filters[editing.i] : null}
        onApply=${apply} onCancel=${() => setEditing(null)} />`
      : html`<button type="button" class="button" data-testid="add-filter"
          onClick=${() => setEditing({ i: -1 })}>+ Filter</button>`}
    ${!range && creationTime.from === undefined && creationTime.to === undefined ? html`
      <button type="button" class="button" data-testid="add-range"
        onClick=${() => setRange(true)}>+ Created between</button>` : null}
    <span class="data-spacer"></span>
    ${active ? html`<span class="data-plan" data-testid="filter-plan"
        title="How the deployment finds these documents">${plan.error ? "" : planText(plan.value) ?? ""}</span>` : null}
    ${children}
  </div>`;
}
