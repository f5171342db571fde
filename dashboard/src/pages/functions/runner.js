// The function runner: arguments (form or raw JSON), "act as a user", and the result.
// A query's result stays live (a subscription, re-rendered when its data changes); mutations
// and actions run once per click.
import { html, useState, useEffect, useMemo } from "../../lib/html.js";
import { action, clientActingAs, convexClient, mutation } from "../../lib/client.js";
import { Button, ErrorBox, Field, JsonEditor } from "../../lib/ui.js";
import { ArgsForm } from "./form.js";
import { defaultValue, formatResult, fromJsonText, isPaginated, toJsonText } from "./validators.js";

const DEFAULT_IDENTITY = { subject: "user|1", name: "Ada Lovelace", email: "ada@example.com" };
const PAGE_SIZE = 10;

export function Runner({ fn }) {
  const paginated = isPaginated(fn.args);
  const initial = useMemo(() => startingArgs(fn.args, paginated), [fn.path]);
  const [args, setArgs] = useState(initial);
  const [raw, setRaw] = useState(false);
  const [rawText, setRawText] = useState(() => toJsonText(initial));
  const [rawError, setRawError] = useState(null);
  const [numItems, setNumItems] = useState(PAGE_SIZE);
  const [cursor, setCursor] = useState(null);
  const [actAs, setActAs] = useState(false);
  const [identityText, setIdentityText] = useState(JSON.stringify(DEFAULT_IDENTITY, null, 2));
  const [identityError, setIdentityError] = useState(null);
  const [run, setRun] = useState(null);  // {args, identity, n}: what was last submitted
  const [oneShot, setOneShot] = useState(null);  // {value} | {error} | {pending}

  useEffect(() => {  // another function selected: start over
    setArgs(initial); setRawText(toJsonText(initial)); setRaw(false); setRawError(null);
    setCursor(null); setRun(null); setOneShot(null);
  }, [fn.path]);

  const toggleRaw = () => {
    if (!raw) {
      setRawText(toJsonText(args));
      setRawError(null);
      setRaw(true);
      return;
    }
    try {
      setArgs(fromJsonText(rawText));
      setRaw(false);
    } catch (e) {
      setRawError(`Not valid JSON: ${e.message}`);
    }
  };

  const submit = async (nextCursor = cursor) => {
    let callArgs = args;
    if (raw) {
      try {
        callArgs = fromJsonText(rawText || "{}");
        setRawError(null);
      } catch (e) {
        setRawError(`Not valid JSON: ${e.message}`);
        return;
      }
    }
    if (paginated) {
      callArgs = { ...callArgs, paginationOpts: { numItems: Number(numItems) || PAGE_SIZE, cursor: nextCursor } };
    }
    let identity = null;
    if (actAs) {
      try {
        identity = parseIdentity(identityText);
        setIdentityError(null);
      } catch (e) {
        setIdentityError(e.message);
        return;
      }
    }
    if (fn.kind === "query") {
      setRun({ args: callArgs, identity, n: (run?.n || 0) + 1 });
      return;
    }
    setOneShot({ pending: true });
    const started = performance.now();
    try {
      const client = identity ? clientActingAs(identity) : null;
      const call = fn.kind === "mutation"
        ? (client ? client.mutation(fn.path, callArgs) : mutation(fn.path, callArgs))
        : (client ? client.action(fn.path, callArgs) : action(fn.path, callArgs));
      try {
        setOneShot({ value: await call, ms: performance.now() - started });
      } finally {
        client?.close();
      }
    } catch (error) {
      setOneShot({ error, ms: performance.now() - started });
    }
  };

  const nextPage = (continueCursor) => { setCursor(continueCursor); submit(continueCursor); };
  const firstPage = () => { setCursor(null); submit(null); };

  const shortcut = (e) => {  // Ctrl/Cmd+Enter runs, from any field of the runner
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit(); }
  };

  return html`<section class="fn-runner" data-testid="fn-runner" onKeyDown=${shortcut}>
    <div class="fn-runner-head">
      <h3>Run</h3>
      <label class="fn-toggle"><input type="checkbox" checked=${raw} onChange=${toggleRaw}
        data-testid="raw-toggle" /> raw JSON</label>
      <label class="fn-toggle"><input type="checkbox" checked=${actAs}
        onChange=${(e) => setActAs(e.target.checked)} data-testid="act-as-toggle" /> act as a user</label>
    </div>
    ${raw
      ? html`<${JsonEditor} value=${rawText} onChange=${setRawText} error=${rawError} />`
      : html`<${ArgsForm} validator=${fn.args} value=${args} onChange=${setArgs}
          skip=${paginated ? ["paginationOpts"] : []} />`}
    ${paginated && html`<div class="fn-pagination">
      <${Field} label="numItems"><input class="fn-input fn-narrow" type="number" min="1"
        data-testid="num-items" value=${numItems} onInput=${(e) => setNumItems(e.target.value)} /><//>
      <${Field} label="cursor"><input class="fn-input" type="text" data-testid="cursor"
        placeholder="null (the first page)" value=${cursor ?? ""}
        onInput=${(e) => setCursor(e.target.value || null)} /><//>
    </div>`}
    ${actAs && html`<div class="fn-identity" data-testid="identity-editor">
      <p class="fn-muted">The function runs with this identity as <code>ctx.auth</code>'s user
        (subject is required; name, email, tokenIdentifier and custom claims are optional).</p>
      <${JsonEditor} value=${identityText} onChange=${setIdentityText} error=${identityError} />
    </div>`}
    <div class="fn-actions">
      <${Button} kind="primary" onClick=${() => submit()} disabled=${oneShot?.pending}
        title="Run (Ctrl+Enter)">
        ${fn.kind === "query" ? (run ? "Run again" : "Run query") : `Run ${fn.kind}`}<//>
      ${run && fn.kind === "query" && html`<${Button} kind="plain" onClick=${() => setRun(null)}>Stop<//>`}
    </div>
    ${fn.kind === "query" && run && html`<${Live} key=${run.n} path=${fn.path} args=${run.args}
      identity=${run.identity} paginated=${paginated} onNext=${nextPage} onFirst=${firstPage} />`}
    ${fn.kind !== "query" && oneShot && html`<${Result} state=${oneShot} />`}
  </section>`;
}

function startingArgs(validator, paginated) {
  if (!validator || validator.type === "any") return {};
  const value = defaultValue(validator);
  if (paginated) delete value.paginationOpts;
  return value;
}

function parseIdentity(text) {
  let identity;
  try {
    identity = JSON.parse(text);
  } catch (e) {
    throw new Error(`Not valid JSON: ${e.message}`);
  }
  if (!identity || typeof identity !== "object" || Array.isArray(identity)) {
    throw new Error("The identity must be a JSON object, like {\"subject\": \"user|1\"}");
  }
  if (typeof identity.subject !== "string" || !identity.subject) {
    throw new Error("The identity needs a \"subject\" (a non-empty string)");
  }
  return identity;
}

/** A live result: a subscription through the dashboard's client, or through a client
 * acting as `identity`. (Not `useQuery`: its key is JSON, and int64 arguments are bigints.) */
function Live({ path, args, identity, paginated, onNext, onFirst }) {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    const client = identity ? clientActingAs(identity) : convexClient();
    const stop = client.onUpdate(path, args, (value) => setState({ value }),
      (error) => setState({ error }));
    return () => { stop(); if (identity) client.close(); };
  }, [path, args, identity]);
  return html`<${Result} state=${state} live paginated=${paginated} onNext=${onNext}
    onFirst=${onFirst} args=${args} actingAs=${identity?.subject} />`;
}

function Result({ state, live, paginated, onNext, onFirst, args, actingAs }) {
  if (state.pending || (state.loading && state.value === undefined && !state.error)) {
    return html`<div class="fn-result" data-testid="fn-result-loading">Running…</div>`;
  }
  const head = html`<div class="fn-result-head">
    ${live && html`<span class="fn-live" title="The result updates when its data changes">● live</span>`}
    ${actingAs && html`<span class="fn-badge">as ${actingAs}</span>`}
    ${state.ms !== undefined && html`<span class="fn-muted">${Math.round(state.ms)} ms</span>`}
  </div>`;
  if (state.error) {
    const data = state.error.data;
    return html`<div class="fn-result fn-result-error" data-testid="fn-error">
      ${head}
      <${ErrorBox} error=${state.error} />
      ${data !== undefined && html`<div class="fn-error-data"><div class="fn-muted">ConvexError data</div>
        <pre data-testid="fn-error-data">${formatResult(data)}</pre></div>`}
    </div>`;
  }
  const value = state.value;
  const page = paginated && value && Array.isArray(value.page);
  return html`<div class="fn-result" data-testid="fn-result-box">
    ${head}
    ${page && html`<div class="fn-page-info" data-testid="page-info">
      ${value.page.length} item${value.page.length === 1 ? "" : "s"}${value.isDone ? ", the last page" : ""}
      ${args?.paginationOpts?.cursor && html`<button type="button" class="fn-small" onClick=${onFirst}>First page</button>`}
      ${!value.isDone && html`<button type="button" class="fn-small" data-testid="next-page"
        onClick=${() => onNext(value.continueCursor)}>Next page →</button>`}
    </div>`}
    <pre class="fn-result-value" data-testid="fn-result">${value === undefined ? "undefined" : formatResult(value)}</pre>
  </div>`;
}
