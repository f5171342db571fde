// A function's charts over the last hour, one point a minute, from
// `_system/frontend/functionMetrics` (live: the query watches the metrics feed).
import { html } from "../../lib/html.js";
import { useQuery } from "../../lib/client.js";
import { Chart, ErrorBox, Loading } from "../../lib/ui.js";

/** A duration for people: 0.42 ms, 12 ms, 1.3 s, 2.5 min. */
export function formatDuration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** Points of one field of the per-minute series: `[[unixSeconds, value]]` (null: a gap). */
export function points(minutes, key, scale = 1) {
  return minutes.map((m) => [m.time, m[key] === null || m[key] === undefined ? null : m[key] * scale]);
}

export function FunctionCharts({ path, kind }) {
  const { value, error } = useQuery("_system/frontend/functionMetrics", { path });
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!value) return html`<${Loading} />`;
  const minutes = value.minutes;
  const hourCalls = minutes.reduce((n, m) => n + m.invocations, 0);
  const hourErrors = minutes.reduce((n, m) => n + m.errors, 0);
  const totals = value.totals;
  return html`<section class="fn-charts" data-testid="fn-charts">
    <div class="fn-stats">
      <${Stat} label="Calls, last hour" value=${hourCalls} testid="fn-hour-invocations" />
      <${Stat} label="Errors, last hour" value=${hourErrors} testid="fn-hour-errors" />
      <${Stat} label="Calls in total" value=${totals ? totals.invocations : 0} testid="fn-total-invocations" />
      <${Stat} label="Error rate, last hour" value=${hourCalls
        ? `${((100 * hourErrors) / hourCalls).toFixed(1)}%` : "–"} />
    </div>
    <div class="fn-chart-grid">
      <div class="fn-chart"><h4>Invocations and errors</h4>
        <${Chart} unit="" series=${[
          { label: "invocations", points: points(minutes, "invocations") },
          { label: "errors", points: points(minutes, "errors") }]} /></div>
      <div class="fn-chart"><h4>Execution time</h4>
        <${Chart} unit=" ms" series=${[
          { label: "p50", points: points(minutes, "p50") },
          { label: "p95", points: points(minutes, "p95") },
          { label: "p99", points: points(minutes, "p99") }]} /></div>
      ${kind === "query" && html`<div class="fn-chart"><h4>Cache hit rate</h4>
        <${Chart} unit="%" series=${[
          { label: "cache hits", points: points(minutes, "cacheHitRate", 100) }]} /></div>`}
    </div>
  </section>`;
}

export function Stat({ label, value, testid, title }) {
  return html`<div class="fn-stat" title=${title || ""}>
    <div class="fn-stat-value" data-testid=${testid}>${value}</div>
    <div class="fn-stat-label">${label}</div>
  </div>`;
}
