// Files: the deployment's `_storage`, newest first, a page at a time and live (an upload by
// the app appears at once). Upload with the picker or by dropping files on the page;
// download, preview images, delete one or the selected files.
import { html, useState, useRef, useCallback } from "../lib/html.js";
import { useQuery, mutation } from "../lib/client.js";
import {
  Page, Button, Modal, ConfirmDelete, Empty, ErrorBox, Loading, toast, formatBytes, formatTime,
} from "../lib/ui.js";
import { uploadFile } from "./files/upload.js";
import "./files/files.css";

const PAGE_SIZE = 25;

// How a non-image file is labelled in its thumbnail, by the subtype of its content type.
const SHORT_TYPES = { plain: "txt", javascript: "js", "octet-stream": "bin", markdown: "md" };

const isImage = (type) => typeof type === "string" && type.startsWith("image/");

// The file's URL (`ctx.storage.get_url`'s), on this page's origin: the dashboard is served
// by the deployment itself, and a same-origin link is one the browser downloads (the
// `download` attribute is ignored across origins, say localhost vs 127.0.0.1).
function useFileUrl(id, skip) {
  const { value } = useQuery("_system/frontend/fileUrl", { id }, { skip });
  if (!value) return { value };
  const url = new URL(value);
  return { value: `${window.location.origin}${url.pathname}${url.search}` };
}

function Thumb({ file, onOpen }) {
  const { value: url } = useFileUrl(file._id, !isImage(file.contentType));
  if (!isImage(file.contentType)) {
    const subtype = (file.contentType || "").split(/[/;+]/)[1] || "file";
    const kind = (SHORT_TYPES[subtype] || subtype).slice(0, 4);
    return html`<span class="files-thumb files-thumb-none" aria-hidden="true">${kind}</span>`;
  }
  return html`<button class="files-thumb" title="Preview" data-testid="file-thumb"
    onClick=${() => onOpen(file)}>
    ${url ? html`<img src=${url} alt="" loading="lazy" />` : null}
  </button>`;
}

function Preview({ file, onClose }) {
  const { value: url } = useFileUrl(file._id, false);
  return html`<${Modal} title=${`File ${file._id}`} onClose=${onClose}>
    <div class="files-preview" data-testid="file-preview">
      ${isImage(file.contentType) && url
        ? html`<img src=${url} alt=${file._id} data-testid="file-preview-image" />`
        : null}
      <dl class="files-meta">
        <dt>Size</dt><dd>${formatBytes(file.size)}</dd>
        <dt>Content type</dt><dd>${file.contentType || "(none)"}</dd>
        <dt>Uploaded</dt><dd>${formatTime(file._creationTime)}</dd>
        <dt>SHA-256</dt><dd class="mono">${file.sha256}</dd>
      </dl>
      ${url ? html`<a class="files-download" href=${url} download=${file._id}>Download</a>` : null}
    </div>
  <//>`;
}

function DownloadLink({ file }) {
  const { value: url } = useFileUrl(file._id, false);
  // Without its URL yet, the same text unlinked: no jump when it arrives.
  if (!url) return html`<a class="muted" aria-disabled="true">Download</a>`;
  return html`<a href=${url} download=${file._id} data-testid="file-download">Download</a>`;
}

function Uploads({ uploads }) {
  if (uploads.length === 0) return null;
  return html`<ul class="files-uploads" data-testid="file-uploads">
    ${uploads.map((u) => html`<li key=${u.key} class=${u.error ? "error" : ""}>
      <span class="name">${u.name}</span>
      ${u.error
        ? html`<span class="files-upload-error" data-testid="file-upload-error">${u.error}</span>`
        : html`<progress max=${u.total || 1} value=${u.loaded} />
               <span class="muted">${formatBytes(u.loaded)} of ${formatBytes(u.total)}</span>`}
    </li>`)}
  </ul>`;
}

export default function FilesPage() {
  const [cursors, setCursors] = useState([null]); // the cursor of each page seen so far
  const cursor = cursors[cursors.length - 1];
  const { value, error, loading } = useQuery("_system/frontend/files", {
    paginationOpts: { cursor, numItems: PAGE_SIZE },
  });
  const [selected, setSelected] = useState(() => new Set());
  const [confirm, setConfirm] = useState(null); // ids to delete, awaiting confirmation
  const [preview, setPreview] = useState(null);
  const [uploads, setUploads] = useState([]);
  const [dragging, setDragging] = useState(false);
  const picker = useRef(null);
  const dragDepth = useRef(0);

  const upload = useCallback(async (files) => {
    for (const file of Array.from(files)) {
      const key = `${Date.now()}-${Math.random()}`;
      const item = { key, name: file.name, loaded: 0, total: file.size };
      const update = (patch) =>
        setUploads((all) => all.map((u) => (u.key === key ? { ...u, ...patch } : u)));
      setUploads((all) => [...all, item]);
      try {
        await uploadFile(file, (loaded, total) => update({ loaded, total }));
        setUploads((all) => all.filter((u) => u.key !== key));
        toast(`Uploaded ${file.name}`, "ok");
      } catch (e) {
        update({ error: `${file.name}: ${e.message}` });
      }
    }
  }, []);

  // Errors are thrown: the confirmation dialog shows them and stays open.
  const remove = async (ids) => {
    const { deleted } = await mutation("_system/frontend/deleteFiles", { ids });
    toast(`Deleted ${deleted} file${deleted === 1 ? "" : "s"}`, "ok");
    setSelected((s) => new Set([...s].filter((id) => !ids.includes(id))));
  };

  const rows = value ? value.page : [];
  const allSelected = rows.length > 0 && rows.every((f) => selected.has(f._id));
  const toggle = (id) => setSelected((s) => {
    const next = new Set(s);
    if (next.has(id)) next.delete(id); else next.add(id);
    return next;
  });
  const toggleAll = () => setSelected((s) => {
    const next = new Set(s);
    for (const f of rows) (allSelected ? next.delete(f._id) : next.add(f._id));
    return next;
  });

  const onDragEnter = (e) => {
    if (!e.dataTransfer || ![...e.dataTransfer.types].includes("Files")) return;
    e.preventDefault();
    dragDepth.current += 1;
    setDragging(true);
  };
  const onDragLeave = () => {
    dragDepth.current = Math.max(0, dragDepth.current - 1);
    if (dragDepth.current === 0) setDragging(false);
  };
  const onDrop = (e) => {
    e.preventDefault();
    dragDepth.current = 0;
    setDragging(false);
    if (e.dataTransfer && e.dataTransfer.files.length) upload(e.dataTransfer.files);
  };

  const actions = html`
    ${selected.size > 0 ? html`<${Button} kind="danger" testid="files-delete-selected"
      onClick=${() => setConfirm([...selected])}>Delete selected (${selected.size})<//>` : null}
    <${Button} kind="primary" testid="files-upload"
      onClick=${() => picker.current && picker.current.click()}>Upload files<//>
    <input type="file" multiple hidden ref=${picker} data-testid="files-input"
      onChange=${(e) => { upload(e.target.files); e.target.value = ""; }} />`;

  return html`<${Page} title="Files" actions=${actions} testid="files-page">
    <div class=${`files-drop ${dragging ? "dragging" : ""}`} data-testid="files-drop"
      onDragEnter=${onDragEnter} onDragOver=${(e) => e.preventDefault()}
      onDragLeave=${onDragLeave} onDrop=${onDrop}>
      <${Uploads} uploads=${uploads} />
      ${dragging ? html`<div class="files-drop-hint">Drop files to upload them</div>` : null}
      ${error ? html`<${ErrorBox} error=${error} />` : null}
      ${loading && !value ? html`<${Loading} />` : null}
      ${value && rows.length === 0 && cursors.length === 1
        ? html`<${Empty} title="No files yet"
            hint="Upload a file with the button above or drop files here; files an app stores with ctx.storage appear here too." />`
        : null}
      ${rows.length > 0 ? html`<table class="files-table" data-testid="files-table">
        <thead><tr>
          <th class="check"><input type="checkbox" aria-label="Select all" checked=${allSelected}
            onChange=${toggleAll} /></th>
          <th></th><th>ID</th><th class="num">Size</th><th>Content type</th><th>Uploaded</th><th></th>
        </tr></thead>
        <tbody>
          ${rows.map((f) => html`<tr key=${f._id} data-testid="file-row" data-id=${f._id}>
            <td class="check"><input type="checkbox" aria-label=${`Select ${f._id}`}
              checked=${selected.has(f._id)} onChange=${() => toggle(f._id)} /></td>
            <td class="thumb"><${Thumb} file=${f} onOpen=${setPreview} /></td>
            <td class="mono"><button class="link" onClick=${() => setPreview(f)}
              data-testid="file-id">${f._id}</button></td>
            <td class="num" data-testid="file-size">${formatBytes(f.size)}</td>
            <td data-testid="file-type">${f.contentType || html`<span class="muted">(none)</span>`}</td>
            <td>${formatTime(f._creationTime)}</td>
            <td class="row-actions">
              <${DownloadLink} file=${f} />
              <${Button} kind="plain" testid="file-delete"
                onClick=${() => setConfirm([f._id])}>Delete<//>
            </td>
          </tr>`)}
        </tbody>
      </table>` : null}
      ${value && (cursors.length > 1 || !value.isDone) ? html`<div class="files-pager">
        <${Button} kind="plain" disabled=${cursors.length === 1}
          onClick=${() => setCursors((c) => c.slice(0, -1))}>Previous<//>
        <span class="muted">Page ${cursors.length}</span>
        <${Button} kind="plain" disabled=${value.isDone} testid="files-next"
          onClick=${() => setCursors((c) => [...c, value.continueCursor])}>Next<//>
      </div>` : null}
    </div>
    ${preview ? html`<${Preview} file=${preview} onClose=${() => setPreview(null)} />` : null}
    ${confirm ? html`<${ConfirmDelete}
      what=${confirm.length === 1 ? `file ${confirm[0]}` : `${confirm.length} files`}
      typed=${null}
      onConfirm=${() => remove(confirm)}
      onClose=${() => setConfirm(null)} />` : null}
  <//>`;
}
