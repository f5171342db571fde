// The Functions page: every function of the app (from the function spec) grouped by module,
// with kind, visibility and arguments; selecting one (`#/functions/<path>`) opens its runner
// and its charts over the last hour.
import { html, useState, useMemo } from "../lib/html.js";
import { useQuery } from "../lib/client.js";
import { href } from "../lib/router.js";
import { Empty, ErrorBox, Loading, Page } from "../lib/ui.js";
import { Runner } from "./functions/runner.js";
import { FunctionCharts } from "./functions/charts.js";
import { KIND, describe, isPaginated, moduleOf, specPath } from "./functions/validators.js";
import "./functions/functions.css";

/** `#/functions/<path>` for a function path (`dir/messages:list`, one encoded segment). */
export function functionHref(path) {
  return href("functions", path);
}

function selectedPath(route) {
  return (route.params || []).join("/") || null;  // the router decoded the segment(s)
}

/** The spec as `{functions: [{path, kind, visibility, args, returns}], routes: [...]}`. */
export function readSpec(spec) {
  const functions = [];
  const routes = [];
  for (const entry of spec || []) {
    if (entry.functionType === "HttpAction") {
      routes.push({ method: entry.method, path: entry.path });
    } else {
      functions.push({ path: specPath(entry.identifier), kind: KIND[entry.functionType],
        visibility: entry.visibility?.kind || "public", args: entry.args, returns: entry.returns });
    }
  }
  return { functions, routes };
}

export default function FunctionsPage({ route }) {
  const { value: spec, error } = useQuery("_system/frontend/functionSpec", {});
  const [filter, setFilter] = useState("");
  const { functions, routes } = useMemo(() => readSpec(spec), [spec]);
  const selected = selectedPath(route);
  const fn = functions.find((f) => f.path === selected);

  let body;
  if (error) body = html`<${ErrorBox} error=${error} />`;
  else if (spec === undefined) body = html`<${Loading} />`;
  else if (!functions.length && !routes.length) {
    body = html`<${Empty} title="No functions yet"
      hint="Define queries, mutations and actions in convex/*.py; they appear here when pushed." />`;
  } else {
    body = html`<div class="fn-layout">
      <${FunctionList} functions=${functions} routes=${routes} filter=${filter}
        setFilter=${setFilter} selected=${selected} />
      <div class="fn-detail">
        ${fn ? html`<${FunctionDetail} key=${fn.path} fn=${fn} />`
          : selected ? html`<${Empty} title=${`No function ${selected}`}
              hint="It is not in the pushed code (renamed or removed?). Pick one on the left." />`
          : html`<${Empty} title="Select a function"
              hint="Run it with a form, watch a query's result live, see its calls and timings." />`}
      </div>
    </div>`;
  }
  return html`<${Page} title="Functions">${body}<//>`;
}

function FunctionList({ functions, routes, filter, setFilter, selected }) {
  const needle = filter.trim().toLowerCase();
  const shown = functions.filter((f) => !needle || f.path.toLowerCase().includes(needle));
  const modules = new Map();
  for (const f of shown) {
    const m = moduleOf(f.path);
    if (!modules.has(m)) modules.set(m, []);
    modules.get(m).push(f);
  }
  const shownRoutes = routes.filter((r) => !needle || `${r.method} ${r.path}`.toLowerCase().includes(needle));
  return html`<nav class="fn-list" data-testid="fn-list" aria-label="Functions">
    <input class="fn-input fn-filter" type="search" placeholder="Filter functions"
      data-testid="fn-filter" value=${filter} onInput=${(e) => setFilter(e.target.value)} />
    ${[...modules.entries()].map(([module, fns]) => html`<div class="fn-module" key=${module}
        data-testid=${`fn-module-${module}`}>
      <div class="fn-module-name">${module}</div>
      ${fns.map((f) => html`<a class=${`fn-item${f.path === selected ? " fn-selected" : ""}`}
          href=${functionHref(f.path)} data-testid=${`fn-item-${f.path}`}
          aria-current=${f.path === selected ? "page" : undefined}>
        <span class="fn-name">${f.path.split(":")[1]}</span>
        <${KindBadge} kind=${f.kind} />
        ${f.visibility === "internal" && html`<span class="fn-badge fn-internal">internal</span>`}
      </a>`)}
    </div>`)}
    ${shownRoutes.length > 0 && html`<div class="fn-module" data-testid="fn-routes">
      <div class="fn-module-name">HTTP routes (convex/http.py)</div>
      ${shownRoutes.map((r) => html`<div class="fn-item fn-route" key=${`${r.method} ${r.path}`}>
        <code class="fn-method">${r.method}</code><span class="fn-name">${r.path}</span>
        <${KindBadge} kind="httpAction" />
      </div>`)}
    </div>`}
    ${!modules.size && !shownRoutes.length && html`<p class="fn-muted">No function matches “${filter}”.</p>`}
  </nav>`;
}

export function KindBadge({ kind }) {
  return html`<span class=${`fn-badge fn-kind-${kind}`}>${kind}</span>`;
}

function FunctionDetail({ fn }) {
  return html`<div data-testid="fn-detail">
    <header class="fn-detail-head">
      <h2 data-testid="fn-path">${fn.path}</h2>
      <${KindBadge} kind=${fn.kind} />
      <span class=${`fn-badge ${fn.visibility === "internal" ? "fn-internal" : "fn-public"}`}
        data-testid="fn-visibility">${fn.visibility}</span>
      ${isPaginated(fn.args) && html`<span class="fn-badge">paginated</span>`}
    </header>
    <dl class="fn-signature">
      <dt>Arguments</dt><dd><code data-testid="fn-args">${describe(fn.args)}</code></dd>
      <dt>Returns</dt><dd><code>${describe(fn.returns)}</code></dd>
    </dl>
    <${Runner} fn=${fn} />
    <h3>Last hour</h3>
    <${FunctionCharts} path=${fn.path} kind=${fn.kind} />
  </div>`;
}
