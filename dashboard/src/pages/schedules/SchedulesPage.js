// Schedules: scheduled functions (filter by function and state, cancel one or all) and
// cron jobs (the schedule as convex/crons.py wrote it, next run, last runs).
import { html, useState, useCallback, useEffect } from "../../lib/html.js";
import { useQuery, mutation, action } from "../../lib/client.js";
import {
  Page, Button, Modal, Empty, ErrorBox, Loading, Value, Tabs, toast, formatTime,
} from "../../lib/ui.js";
import { PagedList } from "../history/paged.js";
import { functionPaths, useDebounced, useNow } from "../logs/functions.js";
import "./schedules.css";

const STATES = ["pending", "inProgress", "success", "failed", "canceled"];
const UNFINISHED = new Set(["pending", "inProgress"]);
const TABS = [{ id: "functions", label: "Scheduled functions" }, { id: "crons", label: "Cron jobs" }];

function relative(ms) {
  const seconds = Math.round((ms - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  const [n, unit] = abs < 60 ? [abs, "s"] : abs < 3600 ? [Math.round(abs / 60), "min"]
    : abs < 86400 ? [Math.round(abs / 3600), "h"] : [Math.round(abs / 86400), "d"];
  return seconds >= 0 ? `in ${n} ${unit}` : `${n} ${unit} ago`;
}

function StateBadge({ state }) {
  const kind = state?.kind || "unknown";
  return html`<span class=${`job-state job-state-${kind}`} data-testid="job-state"
    title=${state?.error || ""}>${kind}</span>`;
}

function JobRow({ job, onCancel }) {
  const args = Array.isArray(job.args) && job.args.length === 1 ? job.args[0] : job.args;
  return html`
    <tr data-testid="job-row" data-id=${job._id}>
      <td class="job-id" title=${job._id}><code>${job._id.slice(0, 10)}…</code></td>
      <td><code>${job.name}</code>${job.cron
        ? html` <span class="muted" title="Started by a cron job">(cron ${job.cron})</span>`
        : null}</td>
      <td class="job-args"><${Value} value=${args} /></td>
      <td class="job-time" title=${new Date(job.scheduledTime).toISOString()}>
        ${formatTime(job.scheduledTime)}<br /><span class="muted">${relative(job.scheduledTime)}</span>
      </td>
      <td><${StateBadge} state=${job.state} />${job.completedTime
        ? html`<br /><span class="muted">${formatTime(job.completedTime)}</span>` : null}</td>
      <td class="job-actions">
        ${UNFINISHED.has(job.state?.kind)
          ? html`<${Button} kind="plain" testid="job-cancel"
              onClick=${() => onCancel(job)}>Cancel</${Button}>`
          : null}
      </td>
    </tr>`;
}

function ConfirmCancelAll({ fn, onClose }) {
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      const result = await action("_system/frontend/cancelAllJobs", fn ? { function: fn } : {});
      toast(`Canceled ${result.canceled} scheduled function${result.canceled === 1 ? "" : "s"}`,
        "ok");
      onClose();
    } catch (e) {
      toast(e.message, "error");
      setBusy(false);
    }
  };
  return html`
    <${Modal} title="Cancel all scheduled functions?" onClose=${onClose}>
      <p data-testid="cancel-all-text">This cancels every pending and running scheduled
        function${fn ? html` of <code>${fn}</code>` : ""}. Canceled jobs do not run; this
        cannot be undone.</p>
      <div class="modal-actions">
        <${Button} kind="plain" onClick=${onClose}>Keep them</${Button}>
        <${Button} kind="danger" disabled=${busy} onClick=${confirm} testid="cancel-all-confirm">
          ${busy ? "Canceling…" : "Cancel all"}</${Button}>
      </div>
    </${Modal}>`;
}

function ScheduledFunctions({ paths }) {
  const [fnInput, setFnInput] = useState("");
  const fn = useDebounced(fnInput.trim(), 300);
  const [state, setState] = useState("");
  const [confirming, setConfirming] = useState(false);
  const args = {};
  if (fn) args.function = fn;
  if (state) args.state = state;
  const cancel = async (job) => {
    try {
      const result = await mutation("_system/frontend/cancelJob", { id: job._id });
      toast(result.canceled ? `Canceled ${job.name}` : `${job.name} had already finished`,
        result.canceled ? "ok" : "info");
    } catch (e) {
      toast(e.message, "error");
    }
  };
  const renderRows = useCallback(
    (page) => html`${page.map((job) => html`<${JobRow} key=${job._id} job=${job}
      onCancel=${cancel} />`)}`, []);
  const wrap = (rows) => html`
    <table class="jobs-table">
      <thead><tr><th>ID</th><th>Function</th><th>Arguments</th><th>Scheduled for</th>
        <th>State</th><th></th></tr></thead>
      <tbody>${rows}</tbody>
    </table>`;
  return html`
    <div class="schedules-toolbar">
      <label>Function
        <input list="schedules-functions" value=${fnInput} placeholder="all functions"
          data-testid="jobs-function-filter"
          onInput=${(e) => setFnInput(e.currentTarget.value)} />
      </label>
      <datalist id="schedules-functions">
        ${paths.map((p) => html`<option value=${p} />`)}
      </datalist>
      <label>State
        <select value=${state} data-testid="jobs-state-filter"
          onChange=${(e) => setState(e.currentTarget.value)}>
          <option value="">all states</option>
          ${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      <span class="spacer"></span>
      <${Button} kind="danger" testid="cancel-all" onClick=${() => setConfirming(true)}>
        ${fn ? "Cancel all of this function" : "Cancel all"}</${Button}>
    </div>
    <${PagedList} path="_system/frontend/paginatedScheduledFunctions" args=${args}
      numItems=${50} renderRows=${renderRows} wrap=${wrap} testid="jobs-list"
      empty=${html`<${Empty} title="No scheduled functions"
        hint=${fn || state ? "None match these filters."
          : "Functions scheduled with ctx.scheduler.run_after / run_at appear here."} />`} />
    ${confirming ? html`<${ConfirmCancelAll} fn=${fn} onClose=${() => setConfirming(false)} />`
      : null}`;
}

function LastRuns({ runs }) {
  if (!runs.length) return html`<span class="muted">none yet</span>`;
  return html`<div class="cron-runs">${runs.map((run) => html`
    <span class=${`cron-run job-state-${run.state.kind}`} data-testid="cron-run"
      title=${`${run.state.kind} · scheduled ${formatTime(run.scheduledTime)}${
        run.completedTime ? ` · finished ${formatTime(run.completedTime)}` : ""}${
        run.state.error ? ` · ${run.state.error}` : ""}`}>
      ${run.state.kind} <span class="muted">${formatTime(run.scheduledTime)}</span>
    </span>`)}</div>`;
}

function CronJobs() {
  const { value, error } = useQuery("_system/frontend/cronJobs", {});
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!value) return html`<${Loading} />`;
  if (!value.length) {
    return html`<${Empty} title="No cron jobs"
      hint="Cron jobs defined in convex/crons.py appear here after a push." />`;
  }
  return html`
    <table class="jobs-table" data-testid="crons-list">
      <thead><tr><th>Name</th><th>Function</th><th>Schedule</th><th>Next run</th>
        <th>Last runs</th></tr></thead>
      <tbody>
        ${value.map((job) => html`
          <tr key=${job.name} data-testid="cron-row" data-name=${job.name}>
            <td>${job.name}</td>
            <td><code>${job.function}</code>${Object.keys(job.args || {}).length
              ? html`<div class="job-args"><${Value} value=${job.args} /></div>` : null}</td>
            <td><code data-testid="cron-written">${job.written}</code>
              <div class="muted">${job.description}</div></td>
            <td class="job-time">${formatTime(job.nextRun)}<br />
              <span class="muted">${relative(job.nextRun)}</span></td>
            <td><${LastRuns} runs=${job.lastRuns} /></td>
          </tr>`)}
      </tbody>
    </table>`;
}

export default function SchedulesPage({ route }) {
  useNow(); // re-render now and then: "in 5 min" counts down
  const initial = route?.params?.[0] === "crons" ? "crons" : "functions";
  const [tab, setTab] = useState(initial);
  useEffect(() => setTab(initial), [initial]);
  const spec = useQuery("_system/frontend/functionSpec", {});
  const paths = functionPaths(spec.value, ["Mutation", "Action"]);
  return html`
    <${Page} title="Schedules">
      <${Tabs} tabs=${TABS} active=${tab} onChange=${setTab} />
      ${tab === "functions" ? html`<${ScheduledFunctions} paths=${paths} />` : html`<${CronJobs} />`}
    </${Page}>`;
}
