// The data page's editors: add documents, edit one document, bulk-edit the selected ones.
// Each writes through a system mutation (schema validation, OCC, history); a validator's
// message is shown under the editor, naming the document and the field it is about.
import { html, useState } from "../../lib/html.js";
import { mutation } from "../../lib/client.js";
import { Modal, toast } from "../../lib/ui.js";
import { formatValue, parseValue } from "./values.js";

const MAX_IDS = 1000; // documents one edit call may name (the backend's limit)

/** `ids` in calls of at most MAX_IDS: a selection may be larger than one call takes. */
export function chunks(ids) {
  const out = [];
  for (let i = 0; i < ids.length; i += MAX_IDS) out.push(ids.slice(i, i + MAX_IDS));
  return out;
}

/** The message of a failed call; a schema validation error names the document and field
 * (unless `where` is false: a cell's editor is next to both already). */
export function errorText(error, { where: say = true } = {}) {
  const data = error?.data;
  if (data && typeof data === "object" && data.message) {
    if (!say) return data.message;
    const where = [];
    if (typeof data.documentIndex === "number") {
      where.push(`${data.code === "InvalidFilter" ? "filter" : "document"} ${data.documentIndex + 1}`);
    }
    if (data.path) where.push(`field ${String(data.path).replace(/^\./, "")}`);
    return where.length ? `${data.message} (${where.join(", ")})` : data.message;
  }
  if (typeof data === "string") return data;
  const message = error?.message ?? String(error);
  // Server errors arrive as "[Request ID: …] Server Error\nUncaught Error: …"; keep the cause.
  const uncaught = message.match(/Uncaught (?:\w*Error: )?([\s\S]*)/);
  return (uncaught ? uncaught[1] : message).trim();
}

/** Shared body: a JSON editor, its error, Save/Cancel; Ctrl+Enter saves, Escape cancels. */
function EditorDialog({ title, initial, hint, saveLabel, onSave, onClose, testid, keepUndefined }) {
  const [text, setText] = useState(initial);
  const [error, setError] = useState(null);
  const [saving, setSaving] = useState(false);
  const save = async () => {
    if (saving) return;
    let value;
    try {
      value = parseValue(text, { keepUndefined });
    } catch (e) {
      setError(e.message);
      return;
    }
    setSaving(true);
    try {
      const err = await onSave(value);
      if (err) { setError(err); setSaving(false); return; }
      onClose();
    } catch (e) {
      setError(errorText(e));
      setSaving(false);
    }
  };
  return html`<${Modal} title=${title} onClose=${onClose} wide=${true} testid=${testid}>
    <div class="data-editor"
      onKeyDown=${(e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); save(); } }}>
      ${hint ? html`<p class="data-muted">${hint}</p>` : null}
      <div class="json-editor">
        <textarea spellcheck=${false} rows="14" value=${text} data-testid="json-editor"
          aria-label=${title} aria-invalid=${error ? "true" : "false"}
          onInput=${(e) => { setText(e.target.value); setError(null); }}></textarea>
        ${error ? html`<div class="field-error" role="alert" data-testid="editor-error">${error}</div>` : null}
      </div>
      <div class="data-dialog-actions">
        <button type="button" class="button" onClick=${onClose}>Cancel</button>
        <button type="button" class="button primary" disabled=${saving} data-testid="editor-save"
          onClick=${save}>${saving ? "Saving…" : saveLabel}</button>
      </div>
    </div>
  <//>`;
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v)
  && !(v instanceof ArrayBuffer);

export function AddDocuments({ table, onClose }) {
  return html`<${EditorDialog} title=${`Add documents to ${table}`} testid="add-dialog"
    initial=${"{\n  \n}"} saveLabel="Add"
    hint="One document as an object, or several as an array of objects. Ctrl+Enter saves."
    onClose=${onClose}
    onSave=${async (value) => {
      const documents = Array.isArray(value) ? value : [value];
      const bad = documents.findIndex((d) => !isObject(d));
      if (documents.length === 0) return "Enter at least one document";
      if (bad >= 0) return `Document ${bad + 1} is not an object`;
      await mutation("_system/frontend/addDocuments", { table, documents });
      toast(`Added ${documents.length} document${documents.length === 1 ? "" : "s"}`, "ok");
      return null;
    }} />`;
}

export function EditDocument({ doc, onClose }) {
  const fields = Object.fromEntries(Object.entries(doc).filter(([k]) => !k.startsWith("_")));
  return html`<${EditorDialog} title=${`Edit document ${doc._id}`} testid="edit-dialog"
    initial=${formatValue(fields, 2)} saveLabel="Save"
    hint="The document's fields (_id and _creationTime stay). Ctrl+Enter saves."
    onClose=${onClose}
    onSave=${async (value) => {
      if (!isObject(value)) return "A document is an object";
      await mutation("_system/frontend/replaceDocument", { id: doc._id, document: value });
      toast("Saved", "ok");
      return null;
    }} />`;
}

export function BulkEdit({ table, ids, onClose }) {
  return html`<${EditorDialog} title=${`Edit ${ids.length} document${ids.length === 1 ? "" : "s"}`}
    testid="bulk-dialog" keepUndefined=${true} initial=${"{\n  \n}"} saveLabel="Apply to all"
    hint="Fields to set on every selected document; a field set to undefined is removed. Ctrl+Enter saves."
    onClose=${onClose}
    onSave=${async (value) => {
      if (!isObject(value)) return "Enter an object of fields, e.g. {\"done\": true}";
      const fields = {};
      const unset = [];
      for (const [k, v] of Object.entries(value)) {
        if (v === undefined) unset.push(k); else fields[k] = v;
      }
      if (!unset.length && !Object.keys(fields).length) return "Enter at least one field";
      for (const chunk of chunks(ids)) {  // one transaction per 1,000 documents
        await mutation("_system/frontend/patchDocumentsFields",
          unset.length ? { table, ids: chunk, fields, unset } : { table, ids: chunk, fields });
      }
      toast(`Updated ${ids.length} document${ids.length === 1 ? "" : "s"}`, "ok");
      return null;
    }} />`;
}
