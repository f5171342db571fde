// The Health page: the deployment over the last hour (charts, one point a minute), the
// current values as big numbers, and the insights: which functions read or write the most,
// conflict the most, fail the most, or come nearest a limit. Live: the queries watch the
// metrics feed.
import { html } from "../lib/html.js";
import { useQuery } from "../lib/client.js";
import { Chart, ErrorBox, Loading, Page, formatBytes } from "../lib/ui.js";
import { formatDuration, points, Stat } from "./functions/charts.js";
import { functionHref, KindBadge } from "./functions.js";
import "./functions/functions.css";
import "./health/health.css";

const percent = (rate) => (rate === null || rate === undefined ? "–" : `${(100 * rate).toFixed(1)}%`);
const ms = (value) => (value === null || value === undefined ? "–" : formatDuration(value));

export default function HealthPage() {
  const health = useQuery("_system/frontend/healthMetrics", {});
  const insights = useQuery("_system/frontend/insights", {});
  return html`<${Page} title="Health">
    ${health.error ? html`<${ErrorBox} error=${health.error} />`
      : !health.value ? html`<${Loading} />`
      : html`<${Current} current=${health.value.current} />
             <${Charts} minutes=${health.value.minutes} />`}
    <h2 class="hl-title">Insights <span class="fn-muted">over the last hour</span></h2>
    ${insights.error ? html`<${ErrorBox} error=${insights.error} />`
      : !insights.value ? html`<${Loading} />`
      : html`<${Insights} insights=${insights.value} />`}
  <//>`;
}

function Current({ current }) {
  return html`<div class="fn-stats" data-testid="health-current">
    <${Stat} label=${`Failure rate, last ${current.minutes} min`} value=${percent(current.failureRate)}
      testid="health-failure-rate" />
    <${Stat} label=${`Cache hit rate, last ${current.minutes} min`} value=${percent(current.cacheHitRate)}
      testid="health-cache-hit-rate" />
    <${Stat} label=${`Calls, last ${current.minutes} min`} value=${current.invocations}
      testid="health-invocations" />
    <${Stat} label="Latency p95" value=${ms(current.latencyP95)} testid="health-latency-p95" />
    <${Stat} label="Scheduler lag p95, last hour" value=${ms(current.schedulerLagP95)}
      testid="health-scheduler-lag" />
    <${Stat} label="Write conflicts, last hour" value=${current.occConflicts} testid="health-conflicts" />
    <${Stat} label="Sync sessions" value=${current.syncSessions} testid="health-sessions" />
    <${Stat} label="Subscriptions" value=${current.syncSubscriptions} testid="health-subscriptions" />
  </div>`;
}

function Charts({ minutes }) {
  return html`<div class="fn-chart-grid" data-testid="health-charts">
    <div class="fn-chart"><h4>Failure rate</h4>
      <${Chart} unit="%" series=${[{ label: "failed calls", points: points(minutes, "failureRate", 100) }]} /></div>
    <div class="fn-chart"><h4>Cache hit rate</h4>
      <${Chart} unit="%" series=${[{ label: "query cache hits", points: points(minutes, "cacheHitRate", 100) }]} /></div>
    <div class="fn-chart"><h4>Latency</h4>
      <${Chart} unit=" ms" series=${[
        { label: "p50", points: points(minutes, "latencyP50") },
        { label: "p95", points: points(minutes, "latencyP95") },
        { label: "p99", points: points(minutes, "latencyP99") }]} /></div>
    <div class="fn-chart"><h4>Scheduler lag</h4>
      <${Chart} unit=" ms" series=${[
        { label: "p50", points: points(minutes, "schedulerLagP50") },
        { label: "p95", points: points(minutes, "schedulerLagP95") },
        { label: "p99", points: points(minutes, "schedulerLagP99") }]} /></div>
    <div class="fn-chart"><h4>Write conflicts and retries</h4>
      <${Chart} unit="" series=${[
        { label: "conflicts", points: points(minutes, "occConflicts") },
        { label: "retries", points: points(minutes, "occRetries") }]} /></div>
    <div class="fn-chart"><h4>Sessions and subscriptions</h4>
      <${Chart} unit="" series=${[
        { label: "sessions", points: points(minutes, "syncSessions") },
        { label: "subscriptions", points: points(minutes, "syncSubscriptions") }]} /></div>
    <div class="fn-chart"><h4>Calls</h4>
      <${Chart} unit="" series=${[
        { label: "calls", points: points(minutes, "invocations") },
        { label: "failures", points: points(minutes, "failures") }]} /></div>
  </div>`;
}

const LIMIT_NAMES = {
  documentsRead: "documents read", bytesRead: "bytes read", documentsWritten: "documents written",
  bytesWritten: "bytes written", executionTimeMs: "execution time",
};

function amount(limit, value) {
  if (limit.startsWith("bytes")) return formatBytes(value);
  if (limit === "executionTimeMs") return formatDuration(value);
  return Math.round(value).toLocaleString();
}

function Insights({ insights }) {
  const usage = ["documentsRead", "bytesRead", "documentsWritten", "bytesWritten"];
  const any = usage.some((k) => insights[k].length) || insights.conflicts.length
    || insights.errors.length || insights.nearLimits.length;
  if (!any) {
    return html`<p class="fn-muted" data-testid="insights-empty">Nothing to report: no function
      has read or written documents, conflicted or failed in the last hour.</p>`;
  }
  return html`<div class="hl-insights" data-testid="insights">
    <${Table} title="Nearest a limit" testid="insights-near-limits" rows=${insights.nearLimits}
      columns=${[["Limit", (r) => LIMIT_NAMES[r.limit]],
        ["Largest call", (r) => `${amount(r.limit, r.value)} of ${amount(r.limit, r.limitValue)}`],
        ["Share", (r) => html`<${Bar} ratio=${r.ratio} />`]]} />
    ${usage.map((key) => html`<${Table} key=${key} title=${`Most ${LIMIT_NAMES[key]} per call`}
      testid=${`insights-${key}`} rows=${insights[key]}
      columns=${[["Average", (r) => amount(key, r.average)], ["Max", (r) => amount(key, r.max)],
        ["Calls", (r) => r.calls]]} />`)}
    <${Table} title="Most write conflicts" testid="insights-conflicts" rows=${insights.conflicts}
      columns=${[["Conflicts", (r) => r.conflicts], ["Retries", (r) => r.retries], ["Calls", (r) => r.calls]]} />
    <${Table} title="Most errors" testid="insights-errors" rows=${insights.errors}
      columns=${[["Errors", (r) => r.errors], ["Error rate", (r) => percent(r.errorRate)], ["Calls", (r) => r.calls]]} />
  </div>`;
}

function Table({ title, rows, columns, testid }) {
  return html`<section class="hl-table" data-testid=${testid}>
    <h3>${title}</h3>
    ${rows.length === 0 ? html`<p class="fn-muted">None in the last hour.</p>` : html`<table>
      <thead><tr><th>Function</th>${columns.map(([name]) => html`<th>${name}</th>`)}</tr></thead>
      <tbody>${rows.map((row) => html`<tr>
        <td><a href=${functionHref(row.path)} data-testid="insight-function">${row.path}</a>
          ${" "}<${KindBadge} kind=${row.kind} /></td>
        ${columns.map(([, cell]) => html`<td>${cell(row)}</td>`)}
      </tr>`)}</tbody>
    </table>`}
  </section>`;
}

function Bar({ ratio }) {
  const width = Math.min(100, ratio * 100);
  const level = ratio >= 0.8 ? "hl-bad" : ratio >= 0.5 ? "hl-warn" : "";
  return html`<span class="hl-bar" title=${`${(ratio * 100).toFixed(2)}% of the limit`}>
    <span class=${`hl-bar-fill ${level}`} style=${`width: ${Math.max(width, 1)}%`}></span>
    <span class="hl-bar-text">${width < 0.1 ? "<0.1" : width.toFixed(1)}%</span>
  </span>`;
}
