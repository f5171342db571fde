// Environment variables: the table (live from `_system/frontend/settings`), inline add, edit
// (a rename is one atomic change: the old name removed, the new set) and remove, and "copy
// all" as `NAME=value` lines. Changes go through `POST /api/update_environment_variables`,
// the route `npx convex env set` uses: the server validates them (its message is shown next
// to the row), records them in the history and republishes them to the running functions.
import { html, useState } from "../../lib/html.js";
import { adminFetch } from "../../lib/client.js";
import { Button, ConfirmDelete, Empty, toast } from "../../lib/ui.js";
import { CopyButton } from "./copy.js";
import { jsonOrThrow } from "./errors.js";

async function applyChanges(changes) {
  const response = await adminFetch("/api/update_environment_variables", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ changes }),
  });
  await jsonOrThrow(response);
}

/** `NAME=value` lines (a .env file: `export `, quotes and # comments allowed) as
 * `[name, value]` pairs; null if some non-empty line is not one. */
export function parseEnvLines(text) {
  const pairs = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = line.match(/^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/);
    if (!match) return null;
    let value = match[2];
    const quoted = value.match(/^(["'])(.*)\1$/);
    if (quoted) value = quoted[2];
    pairs.push([match[1], value]);
  }
  return pairs;
}

function EditRow({ draft, setDraft, onSave, onCancel, saving, onPasteMany }) {
  // Pasting `NAME=value` into the name of a new variable fills both fields; pasting
  // several lines (a .env file) adds them all at once.
  const paste = (e) => {
    if (!onPasteMany) return;
    const text = e.clipboardData ? e.clipboardData.getData("text") : "";
    if (!text.includes("=")) return;
    const pairs = parseEnvLines(text);
    if (!pairs || pairs.length === 0) return;
    e.preventDefault();
    if (pairs.length === 1) setDraft({ ...draft, name: pairs[0][0], value: pairs[0][1], error: null });
    else onPasteMany(pairs);
  };
  const key = (e) => {
    if (e.key === "Enter") onSave();
    if (e.key === "Escape") onCancel();
  };
  return html`<tr class="env-edit" data-testid="env-edit-row">
    <td colspan="3">
      <div class="env-edit-fields">
        <input class="mono" placeholder="NAME" aria-label="Name" value=${draft.name}
          data-testid="env-name-input" autofocus onKeyDown=${key} onPaste=${paste}
          onInput=${(e) => setDraft({ ...draft, name: e.target.value, error: null })} />
        <input class="mono" placeholder="value" aria-label="Value" value=${draft.value}
          data-testid="env-value-input" onKeyDown=${key}
          onInput=${(e) => setDraft({ ...draft, value: e.target.value, error: null })} />
        <${Button} kind="primary" disabled=${saving} testid="env-save" onClick=${onSave}>Save<//>
        <${Button} kind="plain" onClick=${onCancel}>Cancel<//>
      </div>
      ${draft.error
        ? html`<div class="env-error" role="alert" data-testid="env-error">${draft.error}</div>`
        : null}
    </td>
  </tr>`;
}

export function EnvSection({ settings }) {
  const env = settings.env;
  const [draft, setDraft] = useState(null); // {original: name | null, name, value, error}
  const [saving, setSaving] = useState(false);
  const [removing, setRemoving] = useState(null);

  const save = async () => {
    const { original, name, value } = draft;
    const taken = env.some((row) => row.name === name) && name !== original;
    if (taken) {
      setDraft({ ...draft, error: `A variable named ${name} exists already: edit it instead` });
      return;
    }
    const changes = original !== null && original !== name
      ? [{ name: original, value: null }, { name, value }]
      : [{ name, value }];
    setSaving(true);
    try {
      await applyChanges(changes);
      toast(original === null ? `Added ${name}` : `Saved ${name}`, "ok");
      setDraft(null);
    } catch (e) {
      setDraft({ ...draft, error: e.message });
    } finally {
      setSaving(false);
    }
  };

  // Errors are thrown: the confirmation dialog shows them and stays open.
  const remove = async (name) => {
    await applyChanges([{ name, value: null }]);
    toast(`Removed ${name}`, "ok");
  };

  // Several variables pasted at once: one atomic change, validated by the server.
  const addMany = async (pairs) => {
    const existing = new Set(env.map((row) => row.name));
    const clash = pairs.find(([name]) => existing.has(name));
    if (clash) {
      setDraft({ ...draft, error: `A variable named ${clash[0]} exists already: edit it instead` });
      return;
    }
    setSaving(true);
    try {
      await applyChanges(pairs.map(([name, value]) => ({ name, value })));
      toast(`Added ${pairs.length} variables`, "ok");
      setDraft(null);
    } catch (e) {
      setDraft({ ...draft, error: e.message });
    } finally {
      setSaving(false);
    }
  };

  const editRow = (key) => html`<${EditRow} key=${key} draft=${draft} setDraft=${setDraft}
    onSave=${save} onCancel=${() => setDraft(null)} saving=${saving}
    onPasteMany=${draft && draft.original === null ? addMany : null} />`;
  const allLines = env.map((row) => `${row.name}=${row.value}`).join("\n");

  return html`<section class="settings-section" data-testid="settings-env">
    <div class="settings-section-head">
      <h2>Environment variables</h2>
      <div class="settings-actions">
        ${env.length > 0 ? html`<${CopyButton} text=${allLines} label="Copy all"
          what=${`Copied ${env.length} variable${env.length === 1 ? "" : "s"}`}
          testid="env-copy-all" />` : null}
        <${Button} kind="primary" testid="env-add" disabled=${draft !== null}
          onClick=${() => setDraft({ original: null, name: "", value: "", error: null })}>
          Add variable<//>
      </div>
    </div>
    <p class="muted small">Functions read them with os.environ; a change applies to the next call.
      At most ${settings.envLimits.maxVariables} variables; names are letters, digits and
      underscores, starting with a letter. Paste <code>NAME=value</code> lines (a .env file)
      into a new variable's name to add them all.</p>
    ${env.length === 0 && draft === null
      ? html`<${Empty} title="No environment variables" hint="Add one for API keys and other configuration your functions read." />`
      : html`<table class="env-table" data-testid="env-table">
        <thead><tr><th>Name</th><th>Value</th><th></th></tr></thead>
        <tbody>
          ${env.map((row) => (draft && draft.original === row.name
            ? editRow(row.name)
            : html`<tr key=${row.name} data-testid="env-row" data-name=${row.name}>
                <td class="mono" data-testid="env-name">${row.name}</td>
                <td class="mono env-value" data-testid="env-value" title=${row.value}>${row.value}</td>
                <td class="row-actions">
                  <${Button} kind="plain" disabled=${draft !== null} testid="env-edit"
                    onClick=${() => setDraft({ original: row.name, name: row.name, value: row.value, error: null })}>Edit<//>
                  <${Button} kind="plain" disabled=${draft !== null} testid="env-remove"
                    onClick=${() => setRemoving(row.name)}>Remove<//>
                </td>
              </tr>`))}
          ${draft && draft.original === null ? editRow("new variable") : null}
        </tbody>
      </table>`}
    ${removing ? html`<${ConfirmDelete} what=${`environment variable ${removing}`} typed=${null}
      label="Remove" onConfirm=${() => remove(removing)}
      onClose=${() => setRemoving(null)} />` : null}
  </section>`;
}
