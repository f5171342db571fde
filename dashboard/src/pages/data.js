// The Data page: the tables (live document counts) on the left, the selected table's
// documents on the right (`#/data/<table>`, `?id=<id>` opens a document in the side panel).
import { html } from "../lib/html.js";
import { useQuery } from "../lib/client.js";
import { Page, Empty, ErrorBox, Loading } from "../lib/ui.js";
import { TableList } from "./data/tables.js";
import { TableView } from "./data/table_view.js";
import "./data/data.css";

export default function DataPage({ route }) {
  const table = route.params?.[0] ? decodeURIComponent(route.params[0]) : null;
  const docId = route.query?.get("id") ?? null;
  const tables = useQuery("_system/frontend/tables", {});
  const schema = useQuery("_system/frontend/schema", {});
  const state = useQuery("_system/frontend/deploymentState", {});
  const list = tables.value ?? [];
  const known = list.some((t) => t.name === table);

  let main;
  if (tables.error) main = html`<${ErrorBox} error=${tables.error} />`;
  else if (tables.value === undefined) main = html`<${Loading} />`;
  else if (list.length === 0) {
    main = html`<${Empty} title="No tables yet"
      hint="A table appears here when a mutation inserts its first document or a schema declares it (syncline dev pushes convex/schema.py)." />`;
  } else if (!table) {
    main = html`<${Empty} title="Select a table" hint="Pick a table on the left to see its documents." />`;
  } else if (!known) {
    main = html`<${Empty} title=${`There is no table "${table}"`}
      hint="It may have been deleted. Pick another table on the left." />`;
  } else {
    main = html`<${TableView} key=${table} table=${table} docId=${docId}
      count=${list.find((t) => t.name === table)?.documents ?? 0}
      schemaInfo=${schema.value} dev=${state.value ? state.value.dev !== false : true}
      prodKnown=${state.value !== undefined} />`;
  }
  return html`<${Page} title="Data">
    <div class="data-page" data-testid="data-page">
      <${TableList} tables=${list} selected=${table} loading=${tables.value === undefined} />
      <div class="data-main">${main}</div>
    </div>
  <//>`;
}
