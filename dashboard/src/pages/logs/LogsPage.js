// Logs: a live tail of function executions (`_system/frontend/logs`, which watches the
// deployment's log feed) with deployment events interleaved; filters by function, level,
// status, text and request; a request's executions together; pause, resume and clear.
import { html, useState, useEffect, useRef, useMemo } from "../../lib/html.js";
import { useQuery } from "../../lib/client.js";
import { Page, Button, ErrorBox, Empty } from "../../lib/ui.js";
import { actionLabel, eventSummary } from "../history/events.js";
import { functionPaths, useDebounced } from "./functions.js";
import "./logs.css";

const LEVELS = ["log", "info", "warn", "error", "debug"];
const LIMIT = 300;
const KIND_LETTER = { query: "Q", mutation: "M", action: "A", unknown: "?" };

function clock(ms) {
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${
    pad(d.getMilliseconds(), 3)}`;
}

function duration(ms) {
  return ms < 1000 ? `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function kindOf(entry) {
  return entry.function.includes(" ") ? "H" : KIND_LETTER[entry.kind] || "?";
}

function LogEntry({ entry, onFunction, onRequest }) {
  const failed = entry.status === "failure";
  return html`
    <div class=${`log-entry log-${entry.status} log-level-${entry.level}`} data-testid="log-entry"
      data-function=${entry.function} data-request=${entry.requestId} data-status=${entry.status}>
      <div class="log-head">
        <span class="log-time" title=${new Date(entry.time).toISOString()}>${clock(entry.time)}</span>
        <span class=${`log-status ${failed ? "bad" : "good"}`} title=${entry.status}
          data-testid="log-status">${failed ? "failure" : "success"}</span>
        <span class="log-kind" title=${entry.kind}>${kindOf(entry)}</span>
        <button type="button" class="link-button log-function" data-testid="log-function"
          title="Show only this function" onClick=${() => onFunction(entry.function)}>
          ${entry.function}</button>
        <span class="log-duration">${duration(entry.executionTimeMs)}</span>
        <button type="button" class="link-button log-request" data-testid="log-request"
          title=${`Request ${entry.requestId}: show all its lines together`}
          onClick=${() => onRequest(entry.requestId)}>${entry.requestId.slice(0, 8)}</button>
      </div>
      ${entry.lines.map((line, i) => html`
        <div key=${i} class=${`log-line log-level-${line.level}`} data-testid="log-line"
          data-level=${line.level}>
          <span class="log-level">${line.level}</span>
          <span class="log-message">${line.message}</span>
        </div>`)}
      ${failed && entry.error ? html`
        <div class="log-line log-level-error log-error" data-testid="log-error">
          <span class="log-level">error</span>
          <span class="log-message">${entry.error}</span>
        </div>` : null}
    </div>`;
}

function EventEntry({ entry }) {
  return html`
    <div class="log-event" data-testid="log-event" data-action=${entry.action}>
      <span class="log-time">${clock(entry.time)}</span>
      <span class="log-event-badge">${actionLabel(entry.action)}</span>
      <span class="log-event-summary">${eventSummary(entry)}</span>
      <span class="log-event-who">by ${entry.who}</span>
    </div>`;
}

function Filters({ filters, set, paths }) {
  const toggleLevel = (level) => {
    const levels = new Set(filters.levels);
    if (levels.has(level)) levels.delete(level); else levels.add(level);
    set({ levels: [...levels] });
  };
  return html`
    <div class="logs-filters">
      <label>Function
        <input list="logs-functions" value=${filters.function} placeholder="all functions"
          data-testid="logs-function-filter"
          onInput=${(e) => set({ function: e.currentTarget.value })} />
      </label>
      <datalist id="logs-functions">${paths.map((p) => html`<option value=${p} />`)}</datalist>
      <fieldset class="logs-levels" data-testid="logs-levels">
        <legend>Levels</legend>
        ${LEVELS.map((level) => html`
          <label class=${`logs-level-toggle log-level-${level}`}>
            <input type="checkbox" checked=${filters.levels.includes(level)}
              data-testid=${`logs-level-${level}`} onChange=${() => toggleLevel(level)} />
            ${level}
          </label>`)}
      </fieldset>
      <label>Status
        <select value=${filters.status} data-testid="logs-status-filter"
          onChange=${(e) => set({ status: e.currentTarget.value })}>
          <option value="">all</option>
          <option value="success">success</option>
          <option value="failure">failure</option>
        </select>
      </label>
      <label class="logs-text">Search
        <input type="search" value=${filters.text} placeholder="text in lines, errors, paths"
          data-testid="logs-text-filter" onInput=${(e) => set({ text: e.currentTarget.value })} />
      </label>
      <label>Request ID
        <input value=${filters.requestId} placeholder="any request" data-testid="logs-request-filter"
          onInput=${(e) => set({ requestId: e.currentTarget.value })} />
      </label>
      <label class="logs-check">
        <input type="checkbox" checked=${filters.events} data-testid="logs-events-toggle"
          onChange=${(e) => set({ events: e.currentTarget.checked })} />
        Deployment events
      </label>
    </div>`;
}

const EMPTY_FILTERS = { function: "", levels: [], status: "", text: "", requestId: "", events: true };

function filtersFromQuery(query) {
  const f = { ...EMPTY_FILTERS };
  if (!query) return f;
  for (const key of ["function", "status", "text", "requestId"]) {
    if (query.get(key)) f[key] = query.get(key);
  }
  if (query.get("levels")) f.levels = query.get("levels").split(",").filter((l) => LEVELS.includes(l));
  return f;
}

export default function LogsPage({ route }) {
  const [filters, setFilters] = useState(() => filtersFromQuery(route?.query));
  const set = (patch) => setFilters((f) => ({ ...f, ...patch }));
  const text = useDebounced(filters.text.trim(), 300);
  const fn = useDebounced(filters.function.trim(), 300);
  const requestId = useDebounced(filters.requestId.trim(), 300);
  const args = { limit: LIMIT, includeEvents: filters.events };
  if (fn) args.function = fn;
  if (filters.levels.length && filters.levels.length < LEVELS.length) args.levels = filters.levels;
  if (filters.status) args.status = filters.status;
  if (text) args.text = text;
  if (requestId) args.requestId = requestId;
  const live = useQuery("_system/frontend/logs", args);
  const spec = useQuery("_system/frontend/functionSpec", {});
  const paths = useMemo(() => functionPaths(spec.value), [spec.value]);

  const [paused, setPaused] = useState(null); // the entries shown when paused, or null
  const [clearedAfter, setClearedAfter] = useState(0);
  const liveEntries = live.value ? live.value.entries : null;
  const shown = (paused || liveEntries || []).filter((e) => e.time > clearedAfter);
  const waiting = paused && liveEntries
    ? liveEntries.filter((e) => e.time > (paused.length ? paused[paused.length - 1].time : 0)).length
    : 0;

  // The tail follows new entries while the view is scrolled to the bottom.
  const list = useRef(null);
  const [following, setFollowing] = useState(true);
  const [unseen, setUnseen] = useState(0);
  const lastId = shown.length ? shown[shown.length - 1].id : null;
  const previous = useRef({ lastId: null, count: 0 });
  useEffect(() => {
    const el = list.current;
    if (el && following) {
      el.scrollTop = el.scrollHeight;
      setUnseen(0);
    } else if (lastId !== previous.current.lastId && previous.current.lastId !== null) {
      setUnseen((n) => n + 1);
    }
    previous.current = { lastId, count: shown.length };
  }, [lastId, following]);
  const onScroll = () => {
    const el = list.current;
    if (!el) return;
    const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
    if (atBottom !== following) setFollowing(atBottom);
  };
  const jump = () => {
    setFollowing(true);
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  };

  const togglePause = () => setPaused(paused ? null : (liveEntries || []));
  const clear = () => {
    const all = liveEntries || [];
    setClearedAfter(all.length ? all[all.length - 1].time : Date.now());
  };
  const actions = html`
    <div class="logs-actions">
      <span class=${`logs-live ${paused ? "paused" : ""}`} data-testid="logs-live-state">
        ${paused ? `Paused${waiting ? ` · ${waiting} new` : ""}` : "Live"}</span>
      <${Button} kind="plain" onClick=${togglePause} testid="logs-pause">${paused ? "Resume" : "Pause"}</${Button}>
      <${Button} kind="plain" onClick=${clear} testid="logs-clear">Clear</${Button}>
    </div>`;

  return html`
    <${Page} title="Logs" actions=${actions}>
      <div class="logs-page">
        <${Filters} filters=${filters} set=${set} paths=${paths} />
        ${requestId ? html`
          <div class="logs-request-banner" data-testid="logs-request-banner">
            All executions of request <code>${requestId}</code>
            <button type="button" class="link-button" onClick=${() => set({ requestId: "" })}>
              Show every request</button>
          </div>` : null}
        ${live.error ? html`<${ErrorBox} error=${live.error} />` : null}
        <div class="logs-list" ref=${list} onScroll=${onScroll} data-testid="logs-list"
          role="log" aria-live="polite" tabindex="0">
          ${live.value && live.value.more && !clearedAfter ? html`
            <div class="logs-more muted">Older entries are not shown: narrow the filters to
              see further back.</div>` : null}
          ${!live.value && !live.error ? html`<div class="muted logs-loading">Loading…</div>` : null}
          ${live.value && shown.length === 0 ? html`<${Empty} title="No log entries"
            hint=${clearedAfter ? "Cleared: new executions appear here."
              : "Call a function: its executions and log lines appear here as they happen."} />`
            : null}
          ${shown.map((entry) => entry.type === "event"
            ? html`<${EventEntry} key=${entry.id} entry=${entry} />`
            : html`<${LogEntry} key=${entry.id} entry=${entry}
                onFunction=${(f) => set({ function: f })}
                onRequest=${(r) => set({ requestId: r })} />`)}
        </div>
        ${!following ? html`
          <button type="button" class="logs-jump" data-testid="logs-jump" onClick=${jump}>
            ${unseen ? "New entries below ↓" : "Jump to newest ↓"}</button>` : null}
      </div>
    </${Page}>`;
}
