// Snapshot export and import, through the routes the official CLI uses (cli_import_api.py),
// with progress read live from the job tables: `_exports` via `_system/cli/exports:getLatest`,
// `_snapshot_imports` via `_system/cli/queryImport`.
//
// Export: POST /api/export/request/zip starts a background job; once it is `completed`,
// GET /api/export/zip/{start_ts} (admin only, hence fetched and handed to the browser as a
// blob) downloads it.
// Import: the ZIP is uploaded in parts (start_upload, upload_part, finish_upload), the
// deployment reads it and waits for confirmation with a summary of the changes, and
// POST /api/perform_import commits it (one transaction) or /api/cancel_import drops it.
import { html, useState } from "../../lib/html.js";
import { adminFetch, useQuery } from "../../lib/client.js";
import { Button, formatBytes, formatTime, toast } from "../../lib/ui.js";
import { jsonOrThrow } from "./errors.js";

const PART_SIZE = 8 * 1024 * 1024;
const MODES = [
  ["requireEmpty", "Only into empty tables"],
  ["append", "Append to existing documents"],
  ["replace", "Replace the tables in the snapshot"],
  ["replaceAll", "Replace all tables"],
];

const post = (path, body) => adminFetch(path, {
  method: "POST",
  headers: body === undefined ? {} : { "Content-Type": "application/json" },
  body: body === undefined ? undefined : JSON.stringify(body),
}).then(jsonOrThrow);

const nsToMs = (ns) => Number(ns) / 1e6;

function ExportPanel() {
  const { value: latest } = useQuery("_system/cli/exports:getLatest", {});
  const [includeStorage, setIncludeStorage] = useState(true);
  const [error, setError] = useState(null);
  const [downloading, setDownloading] = useState(false);
  const running = latest && (latest.state === "requested" || latest.state === "in_progress");

  const start = async () => {
    setError(null);
    try {
      await post(`/api/export/request/zip?includeStorage=${includeStorage}`);
    } catch (e) {
      setError(e.message);
    }
  };
  const download = async () => {
    setDownloading(true);
    try {
      const response = await adminFetch(`/api/export/zip/${String(latest.start_ts)}`);
      if (!response.ok) await jsonOrThrow(response);
      const url = URL.createObjectURL(await response.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download = latest.zip_file;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      toast(e.message, "error");
    } finally {
      setDownloading(false);
    }
  };

  return html`<div class="snapshot-panel" data-testid="export-panel">
    <h3>Export</h3>
    <p class="muted small">A ZIP of one consistent snapshot of every table (and, if included,
      the stored files), in the format <code>npx convex import</code> reads.</p>
    <div class="settings-actions">
      <label class="checkbox"><input type="checkbox" checked=${includeStorage}
        onChange=${(e) => setIncludeStorage(e.target.checked)} /> Include file storage</label>
      <${Button} kind="primary" disabled=${running} testid="export-start"
        onClick=${start}>${running ? "Exporting…" : "Export snapshot"}<//>
    </div>
    ${error ? html`<div class="env-error" role="alert">${error}</div>` : null}
    ${latest ? html`<div class="snapshot-status">
      <span class=${`badge state-${latest.state}`} data-testid="export-state">${latest.state}</span>
      ${running ? html`<progress class="indeterminate" />` : null}
      ${latest.state === "completed" ? html`<span>snapshot of ${formatTime(nsToMs(latest.start_ts))}</span>
        <${Button} kind="plain" disabled=${downloading} testid="export-download"
          onClick=${download}>Download ${latest.zip_file}<//>` : null}
      ${latest.state === "failed" ? html`<span class="env-error">${latest.error_message}</span>` : null}
    </div>` : html`<div class="muted small">No export yet.</div>`}
  </div>`;
}

async function uploadSnapshot(file, mode, onProgress) {
  const { uploadToken } = await post("/api/import/start_upload");
  const partTokens = [];
  for (let offset = 0, n = 1; offset < file.size || n === 1; offset += PART_SIZE, n += 1) {
    const part = file.slice(offset, offset + PART_SIZE);
    const response = await adminFetch(
      `/api/import/upload_part?uploadToken=${uploadToken}&partNumber=${n}`,
      { method: "POST", body: part });
    partTokens.push(await jsonOrThrow(response));
    onProgress(Math.min(file.size, offset + PART_SIZE));
  }
  const { importId } = await post("/api/import/finish_upload", {
    import: { format: "zip", mode }, uploadToken, partTokens,
  });
  return importId;
}

const written = (n) => `Imported ${String(n)} ${Number(n) === 1 ? "document or file" : "documents and files"}`;

function ImportJob({ importId, onDone }) {
  const { value: job } = useQuery("_system/cli/queryImport", { importId });
  const [busy, setBusy] = useState(false);
  if (!job) return html`<div class="muted small">Waiting for the import…</div>`;
  const state = job.state.state;
  const act = async (path) => {
    setBusy(true);
    try {
      await post(path, { importId });
    } catch (e) {
      toast(e.message, "error");
    } finally {
      setBusy(false);
    }
  };
  const summary = (job.state.message_to_confirm || "").split("\n")
    .filter((line) => !line.includes("npx convex import")).join("\n");
  return html`<div class="snapshot-status snapshot-import" data-testid="import-job">
    <span class=${`badge state-${state}`} data-testid="import-state">${state.replaceAll("_", " ")}</span>
    ${state === "uploaded" ? html`<span class="muted">Reading the snapshot…</span>` : null}
    ${state === "waiting_for_confirmation" ? html`<div>
      <pre class="snapshot-summary" data-testid="import-summary">${summary}</pre>
      <div class="settings-actions">
        <${Button} kind="danger" disabled=${busy} testid="import-confirm"
          onClick=${() => act("/api/perform_import")}>Import<//>
        <${Button} kind="plain" disabled=${busy} onClick=${() => act("/api/cancel_import")}>Cancel<//>
      </div></div>` : null}
    ${state === "in_progress" ? html`<span>${job.state.progress_message}</span>
      <progress class="indeterminate" />` : null}
    ${state === "completed" ? html`<span data-testid="import-result">
      ${written(job.state.num_rows_written)}</span>
      <${Button} kind="plain" onClick=${onDone}>Done<//>` : null}
    ${state === "failed" ? html`<span class="env-error" data-testid="import-error">${job.state.error_message}</span>
      <${Button} kind="plain" onClick=${onDone}>Dismiss<//>` : null}
  </div>`;
}

function ImportPanel() {
  const [file, setFile] = useState(null);
  const [mode, setMode] = useState("requireEmpty");
  const [uploaded, setUploaded] = useState(null); // bytes sent, while uploading
  const [importId, setImportId] = useState(null);
  const [error, setError] = useState(null);

  const start = async () => {
    setError(null);
    setUploaded(0);
    try {
      setImportId(await uploadSnapshot(file, mode, setUploaded));
    } catch (e) {
      setError(e.message);
    } finally {
      setUploaded(null);
    }
  };

  return html`<div class="snapshot-panel" data-testid="import-panel">
    <h3>Import</h3>
    <p class="muted small">A snapshot ZIP (from an export here, <code>syncline export</code> or
      <code>npx convex export</code>). You see what it changes before anything is written; the
      import commits in one transaction.</p>
    <div class="settings-actions">
      <input type="file" accept=".zip,application/zip" data-testid="import-file"
        onChange=${(e) => setFile(e.target.files[0] || null)} />
      <select value=${mode} aria-label="Import mode" data-testid="import-mode"
        onChange=${(e) => setMode(e.target.value)}>
        ${MODES.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
      </select>
      <${Button} kind="primary" disabled=${!file || uploaded !== null || importId !== null}
        testid="import-start" onClick=${start}>Upload<//>
    </div>
    ${uploaded !== null && file ? html`<div class="snapshot-status">
      <progress max=${file.size || 1} value=${uploaded} />
      <span class="muted">${formatBytes(uploaded)} of ${formatBytes(file.size)}</span></div>` : null}
    ${error ? html`<div class="env-error" role="alert" data-testid="import-upload-error">${error}</div>` : null}
    ${importId ? html`<${ImportJob} importId=${importId} onDone=${() => setImportId(null)} />` : null}
  </div>`;
}

export function SnapshotsSection() {
  return html`<section class="settings-section" data-testid="settings-snapshots">
    <h2>Snapshot export and import</h2>
    <div class="snapshot-panels"><${ExportPanel} /><${ImportPanel} /></div>
  </section>`;
}
