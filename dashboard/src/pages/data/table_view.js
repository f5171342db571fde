// One table's documents: toolbar (add, filter, sort, selection actions, ⋮ menu), the grid
// (live pages chained by cursor; more load as the user scrolls), and the side panels.
import { html, useState, useEffect, useMemo, useRef } from "../../lib/html.js";
import { mutation, action } from "../../lib/client.js";
import { ConfirmDelete, toast } from "../../lib/ui.js";
import { schemaFields, tableIndexes, gridColumns, referencedTable } from "./schema.js";
import { Grid } from "./grid.js";
import { useLivePages } from "./pages.js";
import { FilterBar } from "./filters.js";
import { AddDocuments, EditDocument, BulkEdit, chunks } from "./dialogs.js";
import { SchemaPanel, GenerateSchema, DocumentPanel } from "./panels.js";

export function TableView({ table, docId, count, schemaInfo, dev, prodKnown }) {
  const [index, setIndex] = useState(""); // "": by_creation_time, or the index the filters fit
  const [order, setOrder] = useState("desc");
  const [filters, setFilters] = useState([]);
  const [creationTime, setCreationTime] = useState({});
  const [selected, setSelected] = useState(() => new Set());
  const [dialog, setDialog] = useState(null); // {kind, ...}
  const [panel, setPanel] = useState(null); // "schema" | "generate" | null

  const args = useMemo(() => {
    const a = { table, order };
    if (index) a.index = index;
    if (filters.length) a.filters = filters;
    if (creationTime.from !== undefined || creationTime.to !== undefined) a.creationTime = creationTime;
    return a;
  }, [table, index, order, filters, creationTime]);
  const { subscriptions, documents, loading, done, error, loadMore, pageCount } =
    useLivePages(args);

  // Columns keep their order as data streams in (new fields are appended).
  const fields = useMemo(() => schemaFields(schemaInfo, table), [schemaInfo, table]);
  const columnsRef = useRef([]);
  const columns = useMemo(() => {
    columnsRef.current = gridColumns(fields, documents, columnsRef.current);
    return columnsRef.current;
  }, [fields, documents]);
  const references = useMemo(() => {
    const refs = {};
    for (const f of fields) {
      const target = referencedTable(f.validator);
      if (target) refs[f.name] = target;
    }
    refs._id = table;
    return refs;
  }, [fields, table]);
  const indexes = tableIndexes(schemaInfo, table).filter((i) => i.kind === "user");

  // Selection only keeps documents still loaded.
  const loadedIds = useMemo(() => new Set(documents.map((d) => d._id)), [documents]);
  const selectedIds = [...selected].filter((id) => loadedIds.has(id));

  const saveCell = async (doc, column, value) => {
    const args = value === undefined
      ? { table, ids: [doc._id], fields: {}, unset: [column] }
      : { table, ids: [doc._id], fields: { [column]: value } };
    await mutation("_system/frontend/patchDocumentsFields", args);
  };
  const deleteSelected = async () => {
    const ids = selectedIds;
    for (const chunk of chunks(ids)) {
      await mutation("_system/frontend/deleteDocuments", { table, ids: chunk });
    }
    setSelected(new Set());
    toast(`Deleted ${ids.length} document${ids.length === 1 ? "" : "s"}`, "ok");
  };
  const clearTable = async () => {
    await action("_system/frontend/clearTable", { table });
    setSelected(new Set());
    toast(`Cleared ${table}`, "ok");
  };
  const deleteTable = async () => {
    await action("_system/frontend/deleteTable", { table });
    toast(`Deleted table ${table}`, "ok");
    location.hash = "#/data";
  };
  const typed = prodKnown && dev ? null : table; // typed unless known to be dev
  const closeDialog = () => setDialog(null);
  const openDoc = (tableName, id) => {
    location.hash = `#/data/${encodeURIComponent(tableName)}?id=${encodeURIComponent(id)}`;
  };
  const closeDoc = () => { location.hash = `#/data/${encodeURIComponent(table)}`; };

  const menu = [
    ["Schema and indexes", () => setPanel("schema"), "menu-schema"],
    ["Generate schema", () => setPanel("generate"), "menu-generate"],
    ["Clear table", () => setDialog({ kind: "clear" }), "menu-clear"],
    ["Delete table", () => setDialog({ kind: "deleteTable" }), "menu-delete-table"],
  ];

  return html`<div class="data-view" data-testid="table-view">
    <div class="data-toolbar">
      <h2 class="data-title" data-testid="table-title">${table}</h2>
      <span class="data-muted" data-testid="table-count">
        ${Number(count).toLocaleString("en-US")} document${count === 1 ? "" : "s"}</span>
      <span class="data-spacer"></span>
      ${selectedIds.length > 0 ? html`
        <button type="button" class="button" onClick=${() => setDialog({ kind: "bulk" })}
          data-testid="bulk-edit">Edit ${selectedIds.length} selected</button>
        <button type="button" class="button danger" onClick=${() => setDialog({ kind: "deleteDocs" })}
          data-testid="delete-selected">Delete ${selectedIds.length} selected</button>` : null}
      <button type="button" class="button primary" onClick=${() => setDialog({ kind: "add" })}
        data-testid="add-documents">+ Add documents</button>
      <${TableMenu} items=${menu} />
    </div>
    <${FilterBar} columns=${columns} filters=${filters} setFilters=${setFilters}
      creationTime=${creationTime} setCreationTime=${setCreationTime} args=${args}>
      <label class="data-sort">
        <span>Sort by</span>
        <select value=${index} onChange=${(e) => setIndex(e.target.value)}
          data-testid="index-picker" aria-label="Index to sort by">
          <option value="">_creationTime (default)</option>
          ${indexes.map((i) =>
            html`<option key=${i.name} value=${i.name}>${i.name} (${i.fields.join(", ")})</option>`)}
        </select>
      </label>
      <button class="button data-order" type="button" data-testid="order-toggle"
        aria-label=${`Order: ${order === "asc" ? "ascending" : "descending"}`}
        title="Toggle ascending / descending"
        onClick=${() => setOrder(order === "asc" ? "desc" : "asc")}>
        ${order === "asc" ? "↑ asc" : "↓ desc"}</button>
    <//>
    <div class="data-body">
      ${subscriptions}
      <${Grid} table=${table} columns=${columns} documents=${documents} references=${references}
        fields=${fields} loading=${loading} done=${done} error=${error} loadMore=${loadMore}
        selected=${selected} setSelected=${setSelected} saveCell=${saveCell}
        filtered=${filters.length > 0 || args.creationTime !== undefined} pageCount=${pageCount}
        onAdd=${() => setDialog({ kind: "add" })}
        onEdit=${(doc) => setDialog({ kind: "edit", doc })} openDoc=${openDoc}
        activeId=${docId} />
      ${docId ? html`<${DocumentPanel} table=${table} id=${docId} schemaInfo=${schemaInfo}
        onClose=${closeDoc} openDoc=${openDoc}
        onEdit=${(doc) => setDialog({ kind: "edit", doc })} />` : null}
      ${panel === "schema" ? html`<${SchemaPanel} table=${table} schemaInfo=${schemaInfo}
        onClose=${() => setPanel(null)} />` : null}
      ${panel === "generate" ? html`<${GenerateSchema} onClose=${() => setPanel(null)} />` : null}
    </div>
    ${dialog?.kind === "add" ? html`<${AddDocuments} table=${table} onClose=${closeDialog} />` : null}
    ${dialog?.kind === "edit" ? html`<${EditDocument} doc=${dialog.doc} onClose=${closeDialog} />` : null}
    ${dialog?.kind === "bulk" ? html`<${BulkEdit} table=${table} ids=${selectedIds}
      onClose=${closeDialog} />` : null}
    ${dialog?.kind === "deleteDocs" ? html`<${ConfirmDelete}
      what=${`${selectedIds.length} document${selectedIds.length === 1 ? "" : "s"} of ${table}`}
      typed=${null} onConfirm=${deleteSelected} onClose=${closeDialog} />` : null}
    ${dialog?.kind === "clear" ? html`<${ConfirmDelete}
      what=${`all ${Number(count).toLocaleString("en-US")} documents of ${table} (the table stays)`}
      typed=${typed} onConfirm=${clearTable} onClose=${closeDialog} />` : null}
    ${dialog?.kind === "deleteTable" ? html`<${ConfirmDelete}
      what=${`the table ${table} and its ${Number(count).toLocaleString("en-US")} documents`}
      typed=${typed} onConfirm=${deleteTable} onClose=${closeDialog} />` : null}
  </div>`;
}

/** The ⋮ menu: opens with a click (or Enter/Space), focuses its first item, closes on
 * Escape (focus back on the button), on a choice, or on a click elsewhere. */
function TableMenu({ items }) {
  const [open, setOpen] = useState(false);
  const box = useRef(null);
  const button = useRef(null);
  useEffect(() => {
    if (!open) return undefined;
    box.current?.querySelector("[role=menuitem]")?.focus();
    const away = (e) => { if (!box.current?.contains(e.target)) setOpen(false); };
    document.addEventListener("mousedown", away);
    return () => document.removeEventListener("mousedown", away);
  }, [open]);
  const close = () => { setOpen(false); button.current?.focus(); };
  const onKeyDown = (e) => {
    if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); close(); }
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const all = [...box.current.querySelectorAll("[role=menuitem]")];
      const i = all.indexOf(document.activeElement);
      all[(i + (e.key === "ArrowDown" ? 1 : all.length - 1)) % all.length]?.focus();
    }
  };
  return html`<div class="data-menu" ref=${box} onKeyDown=${onKeyDown}>
    <button type="button" class="button data-menu-button" aria-haspopup="menu" ref=${button}
      aria-expanded=${open} data-testid="table-menu" title="More table actions"
      aria-label="More table actions" onClick=${() => setOpen(!open)}>⋮</button>
    ${open ? html`<div class="data-menu-list" role="menu">
      ${items.map(([label, run, testid]) => html`<button type="button" role="menuitem"
        key=${testid} data-testid=${testid}
        class=${testid.includes("clear") || testid.includes("delete") ? "danger" : ""}
        onClick=${() => { setOpen(false); run(); }}>${label}</button>`)}
    </div>` : null}
  </div>`;
}
