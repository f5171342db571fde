// Shared building blocks, so every page looks and behaves the same.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { html, useEffect, useLayoutEffect, useRef, useState, render } from "./html.js";

export function Page({ title, actions, children, testid }) {
  return html`<section class="page" data-testid=${testid || "page"}>
    <header class="page-header">
      <h1>${title}</h1>
      <div class="page-actions">${actions}</div>
    </header>
    <div class="page-body">${children}</div>
  </section>`;
}

export function Button({ onClick, kind = "plain", disabled, children, type = "button", title, testid }) {
  return html`<button type=${type} class=${`button ${kind}`} onClick=${onClick}
    disabled=${disabled} title=${title} data-testid=${testid}>${children}</button>`;
}

/** A dialog: Escape or the close button closes it; focus moves into it. A layout effect,
 * so Escape works from the first keystroke after the dialog is in the page. */
export function Modal({ title, onClose, children, wide = false, testid }) {
  const ref = useRef(null);
  useLayoutEffect(() => {
    const previous = document.activeElement;
    const first = ref.current?.querySelector("input, textarea, select, button:not(.close)");
    (first || ref.current)?.focus();
    const key = (event) => event.key === "Escape" && onClose();
    window.addEventListener("keydown", key);
    return () => {
      window.removeEventListener("keydown", key);
      previous?.focus?.();
    };
  }, []);
  return html`<div class="modal-backdrop" onClick=${(e) => e.target === e.currentTarget && onClose()}>
    <div class=${`modal ${wide ? "wide" : ""}`} role="dialog" aria-modal="true" aria-label=${title}
      tabindex="-1" ref=${ref} data-testid=${testid || "modal"}>
      <header><h2>${title}</h2><button class="close" aria-label="Close" onClick=${onClose}>×</button></header>
      <div class="modal-body">${children}</div>
    </div>
  </div>`;
}

/** Confirm a destructive action; with `typed`, the user must type that text first. */
export function ConfirmDelete({ what, typed = null, onConfirm, onClose, label = "Delete" }) {
  const [text, setText] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const ok = typed === null || text === typed;
  const confirm = async (event) => {
    event.preventDefault();
    if (!ok) return;
    setBusy(true);
    try {
      await onConfirm();
      onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<${Modal} title=${`${label} ${what}?`} onClose=${onClose} testid="confirm">
    <form onSubmit=${confirm}>
      <p>This cannot be undone.</p>
      ${typed !== null && html`<${Field} label=${html`Type <code>${typed}</code> to confirm`}>
        <input value=${text} onInput=${(e) => setText(e.target.value)} data-testid="confirm-text" />
      </${Field}>`}
      <${ErrorBox} error=${error} />
      <div class="row end">
        <${Button} onClick=${onClose}>Cancel</${Button}>
        <${Button} type="submit" kind="danger" disabled=${!ok || busy} testid="confirm-button">${label}</${Button}>
      </div>
    </form>
  </${Modal}>`;
}

export function Field({ label, error, children, hint }) {
  return html`<label class="field">
    <span class="field-label">${label}</span>
    ${children}
    ${hint && html`<span class="muted small">${hint}</span>`}
    ${error && html`<span class="field-error" role="alert">${error}</span>`}
  </label>`;
}

/** A JSON text editor: `onChange(text, parsed, parseError)`; shows `error` under it. */
export function JsonEditor({ value, onChange, error, rows = 10, testid = "json-editor" }) {
  const [parseError, setParseError] = useState(null);
  const changed = (text) => {
    try {
      const parsed = text.trim() === "" ? undefined : JSON.parse(text);
      setParseError(null);
      onChange(text, parsed, null);
    } catch (e) {
      setParseError(e.message);
      onChange(text, undefined, e.message);
    }
  };
  return html`<div class="json-editor">
    <textarea spellcheck="false" rows=${rows} value=${value} data-testid=${testid}
      onInput=${(e) => changed(e.target.value)}></textarea>
    ${(parseError || error) && html`<div class="field-error" role="alert" data-testid="editor-error">
      ${parseError ? `Not valid JSON: ${parseError}` : error}</div>`}
  </div>`;
}

export function Empty({ title, hint, children }) {
  return html`<div class="empty" data-testid="empty"><h2>${title}</h2>${hint && html`<p class="muted">${hint}</p>`}${children}</div>`;
}

export function errorMessage(error) {
  if (!error) return null;
  if (error.data !== undefined) {
    const data = error.data;
    if (data && typeof data === "object" && typeof data.message === "string") return data.message;
    return typeof data === "string" ? data : JSON.stringify(data);
  }
  const text = String(error.message || error);
  // The client prefixes server errors with a request id and "Server Error"; keep the reason.
  const uncaught = text.match(/Uncaught (?:\w*Error: )?([\s\S]*?)(\n\s+at |\n\s*Called by client|$)/);
  return uncaught ? uncaught[1].trim() : text;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error-box" role="alert" data-testid="error">${errorMessage(error)}</div>`;
}

export function Loading({ label = "Loading…" }) {
  return html`<div class="loading" aria-busy="true">${label}</div>`;
}

export function Tabs({ tabs, active, onChange }) {
  return html`<div class="tabs" role="tablist">
    ${tabs.map((tab) => html`<button role="tab" aria-selected=${tab.id === active}
      class=${tab.id === active ? "tab active" : "tab"} onClick=${() => onChange(tab.id)}
      data-testid=${`tab-${tab.id}`}>${tab.label}</button>`)}
  </div>`;
}

/** A Convex JSON value, compact: strings plain, the rest as JSON. */
export function Value({ value }) {
  if (value === undefined) return html`<span class="muted">unset</span>`;
  if (value === null) return html`<span class="v-null">null</span>`;
  if (typeof value === "string") return html`<span class="v-string">${value}</span>`;
  if (typeof value === "number" || typeof value === "bigint") return html`<span class="v-number">${String(value)}</span>`;
  if (typeof value === "boolean") return html`<span class="v-bool">${String(value)}</span>`;
  return html`<span class="v-json">${JSON.stringify(value)}</span>`;
}

export function formatBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatTime(ms) {
  if (ms === null || ms === undefined) return "";
  return new Date(Number(ms)).toLocaleString();
}

/** Time series over uPlot. `series`: [{label, points: [[unixSeconds, value]]}]. The plot
 * keeps its size as data streams in (no layout jumps) and is updated in place. */
export function Chart({ series, unit = "", height = 160, testid }) {
  const box = useRef(null);
  const plot = useRef(null);
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const data = [times, ...series.map((s) => {
    const byTime = new Map(s.points);
    return times.map((t) => (byTime.has(t) ? byTime.get(t) : null));
  })];
  const shape = series.map((s) => s.label).join("\u0000");
  useEffect(() => {
    const style = getComputedStyle(document.documentElement);
    const colors = ["--chart-1", "--chart-2", "--chart-3", "--chart-4"].map((v) => style.getPropertyValue(v).trim());
    const axis = { stroke: style.getPropertyValue("--muted").trim(), grid: { stroke: style.getPropertyValue("--border").trim() } };
    const opts = {
      width: box.current.clientWidth || 400,
      height,
      // Points as well as lines: a fresh deployment's one minute of data is still visible.
      series: [{}, ...series.map((s, i) => ({
        label: s.label, stroke: colors[i % colors.length], width: 2, spanGaps: true,
        points: { show: true, size: 5, fill: colors[i % colors.length] },
      }))],
      axes: [axis, { ...axis, size: 64, values: (u, ticks) => ticks.map((t) => `${t}${unit}`) }],
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
    plot.current = new uPlot(opts, data, box.current);
    const resize = () => plot.current?.setSize({ width: box.current.clientWidth, height });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, height, unit]);
  useEffect(() => {
    plot.current?.setData(data);
  });
  return html`<div class="chart" style=${`min-height:${height + 40}px`} ref=${box} data-testid=${testid}></div>`;
}

let toastRoot = null;
/** A short message in the corner (kind: "ok" | "error"). */
export function toast(message, kind = "ok") {
  if (toastRoot === null) {
    toastRoot = document.createElement("div");
    toastRoot.className = "toasts";
    toastRoot.setAttribute("role", "status");
    document.body.appendChild(toastRoot);
  }
  const item = document.createElement("div");
  toastRoot.appendChild(item);
  render(html`<div class=${`toast ${kind}`}>${message}</div>`, item);
  setTimeout(() => item.remove(), 4000);
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast("Copied");
  } catch {
    toast("Could not copy: the browser refused clipboard access", "error");
  }
}
