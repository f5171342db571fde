// The arguments form, built from the args validator: an input per simple field, nested
// fieldsets for objects, lists for arrays, a select for unions of literals, and a JSON box for
// anything else (records, bytes, `any`, mixed unions). Values are Convex values (bigint for
// int64); `undefined` leaves an optional field out.
import { html, useState, useEffect } from "../../lib/html.js";
import { describe, defaultValue, fromJsonText, literalChoices, toJsonText, widgetOf } from "./validators.js";

export function ArgsForm({ validator, value, onChange, skip = [] }) {
  if (!validator || validator.type !== "object") {
    return html`<${JsonField} validator=${validator || { type: "any" }} value=${value}
      onChange=${onChange} testid="arg-json" />`;
  }
  const entries = Object.entries(validator.value).filter(([name]) => !skip.includes(name));
  if (!entries.length) {
    return html`<p class="fn-muted" data-testid="no-args">This function takes no arguments.</p>`;
  }
  return html`<div class="fn-form">
    ${entries.map(([name, field]) => html`<${FieldRow} key=${name} name=${name} field=${field}
      value=${value?.[name]} onChange=${(next) => {
        const copy = { ...(value || {}) };
        if (next === undefined) delete copy[name]; else copy[name] = next;
        onChange(copy);
      }} />`)}
  </div>`;
}

function FieldRow({ name, field, value, onChange }) {
  const { fieldType, optional } = field;
  const present = value !== undefined;
  return html`<div class="fn-field" data-testid=${`arg-${name}`}>
    <div class="fn-field-label">
      <span class="fn-field-name">${name}${optional ? "?" : ""}</span>
      <code class="fn-type">${describe(fieldType)}</code>
      ${optional && html`<label class="fn-include"><input type="checkbox" checked=${present}
        data-testid=${`arg-${name}-include`}
        onChange=${(e) => onChange(e.target.checked ? defaultValue(fieldType) : undefined)} /> set</label>`}
    </div>
    ${(!optional || present) && html`<${Editor} validator=${fieldType} value=${value}
      onChange=${onChange} testid=${`arg-${name}-input`} />`}
  </div>`;
}

export function Editor({ validator, value, onChange, testid }) {
  const widget = widgetOf(validator);
  switch (widget) {
    case "string": case "id":
      return html`<input class="fn-input" type="text" data-testid=${testid} value=${value ?? ""}
        placeholder=${widget === "id" ? `an id of ${validator.tableName}` : ""}
        onInput=${(e) => onChange(e.target.value)} />`;
    case "number": case "bigint":
      return html`<${NumberInput} bigint=${widget === "bigint"} value=${value} onChange=${onChange}
        testid=${testid} />`;
    case "boolean":
      return html`<input type="checkbox" data-testid=${testid} checked=${!!value}
        onChange=${(e) => onChange(e.target.checked)} />`;
    case "literal": case "null":
      return html`<code class="fn-fixed" data-testid=${testid}>${JSON.stringify(
        widget === "null" ? null : validator.value)}</code>`;
    case "choice": {
      const choices = literalChoices(validator);
      const index = Math.max(0, choices.findIndex((c) => c === value));
      return html`<select class="fn-input" data-testid=${testid} value=${String(index)}
        onChange=${(e) => onChange(choices[Number(e.target.value)])}>
        ${choices.map((c, i) => html`<option value=${String(i)}>${JSON.stringify(c)}</option>`)}
      </select>`;
    }
    case "object":
      return html`<fieldset class="fn-fieldset" data-testid=${testid}>
        <${ArgsForm} validator=${validator} value=${value || {}} onChange=${onChange} />
      </fieldset>`;
    case "array":
      return html`<${ArrayEditor} validator=${validator} value=${value || []} onChange=${onChange}
        testid=${testid} />`;
    default:
      return html`<${JsonField} validator=${validator} value=${value} onChange=${onChange}
        testid=${testid} />`;
  }
}

function NumberInput({ bigint, value, onChange, testid }) {
  const [text, setText] = useState(value === undefined ? "" : String(value));
  const [error, setError] = useState(null);
  useEffect(() => {  // a value set from outside (raw JSON, a reset) shows in the box
    if (value !== undefined && !sameNumber(text, value, bigint)) setText(String(value));
  }, [value]);
  return html`<span class="fn-number">
    <input class="fn-input" type="text" inputmode="decimal" data-testid=${testid} value=${text}
      onInput=${(e) => {
        const raw = e.target.value;
        setText(raw);
        try {
          onChange(parseNumber(raw, bigint));
          setError(null);
        } catch (err) {
          setError(err.message);
        }
      }} />
    ${error && html`<span class="fn-error-inline">${error}</span>`}
  </span>`;
}

function sameNumber(text, value, bigint) {
  try { return parseNumber(text, bigint) === value; } catch { return false; }
}

function parseNumber(raw, bigint) {
  const text = raw.trim();
  if (bigint) {
    if (!/^-?\d+$/.test(text)) throw new Error("an integer, like 42");
    return BigInt(text);
  }
  if (text === "" || Number.isNaN(Number(text))) throw new Error("a number, like 1.5");
  return Number(text);
}

function ArrayEditor({ validator, value, onChange, testid }) {
  const item = validator.value;
  return html`<div class="fn-array" data-testid=${testid}>
    ${value.map((v, i) => html`<div class="fn-array-item" key=${i}>
      <${Editor} validator=${item} value=${v} testid=${`${testid}-${i}`}
        onChange=${(next) => onChange(value.map((old, j) => (j === i ? next : old)))} />
      <button type="button" class="fn-small" title="Remove"
        onClick=${() => onChange(value.filter((_, j) => j !== i))}>✕</button>
    </div>`)}
    <button type="button" class="fn-small" data-testid=${`${testid}-add`}
      onClick=${() => onChange([...value, defaultValue(item)])}>+ item</button>
  </div>`;
}

function JsonField({ value, onChange, testid }) {
  const [text, setText] = useState(() => (value === undefined ? "" : toJsonText(value)));
  const [error, setError] = useState(null);
  return html`<span class="fn-jsonfield">
    <textarea class="fn-input fn-json" rows="2" data-testid=${testid} value=${text}
      placeholder="JSON"
      onInput=${(e) => {
        setText(e.target.value);
        try {
          onChange(fromJsonText(e.target.value));
          setError(null);
        } catch (err) {
          setError(`Not valid JSON: ${err.message}`);
        }
      }} />
    ${error && html`<span class="fn-error-inline">${error}</span>`}
  </span>`;
}
