// What a deployment event (syncline/system/history.py) says, in words: the History page's
// rows and the Logs page's interleaved events use the same labels and summaries.

const LABELS = {
  push_config: "Push",
  create_environment_variable: "Env variable created",
  update_environment_variable: "Env variable updated",
  delete_environment_variable: "Env variable deleted",
  snapshot_import: "Import",
  clear_tables: "Tables cleared",
  delete_tables: "Tables deleted",
  edit_documents: "Documents edited",
  cancel_scheduled_functions: "Scheduled functions canceled",
};

export const ACTIONS = Object.keys(LABELS);

export function actionLabel(action) {
  return LABELS[action] || action;
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function names(list, max = 3) {
  if (!list || list.length === 0) return "";
  const shown = list.slice(0, max).join(", ");
  return list.length > max ? `${shown} and ${list.length - max} more` : shown;
}

function pushParts(metadata) {
  const parts = [];
  const fns = metadata.functions || {};
  const fnBits = [];
  if (fns.added?.length) fnBits.push(`${fns.added.length} added`);
  if (fns.changed?.length) fnBits.push(`${fns.changed.length} changed`);
  if (fns.removed?.length) fnBits.push(`${fns.removed.length} removed`);
  if (fnBits.length) parts.push(`functions ${fnBits.join(", ")}`);
  const schema = metadata.schema || {};
  if (schema.added?.length) parts.push(`tables added: ${names(schema.added)}`);
  if (schema.changed?.length) parts.push(`tables changed: ${names(schema.changed)}`);
  if (schema.removed?.length) parts.push(`tables removed: ${names(schema.removed)}`);
  const indexes = metadata.indexes || {};
  if (indexes.added?.length) parts.push(`indexes added: ${names(indexes.added)}`);
  if (indexes.removed?.length) parts.push(`indexes removed: ${names(indexes.removed)}`);
  const crons = metadata.crons || {};
  const cronBits = [];
  if (crons.added?.length) cronBits.push(`${crons.added.length} added`);
  if (crons.updated?.length) cronBits.push(`${crons.updated.length} updated`);
  if (crons.deleted?.length) cronBits.push(`${crons.deleted.length} deleted`);
  if (cronBits.length) parts.push(`crons ${cronBits.join(", ")}`);
  const auth = metadata.auth || {};
  if (auth.added?.length || auth.removed?.length) parts.push("auth providers changed");
  return parts;
}

function tableCounts(tables) {
  return (tables || []).map((t) => `${t.table} (${plural(t.documents, "document")})`);
}

/** One line saying what the event did. */
export function eventSummary(event) {
  const m = event.metadata || {};
  switch (event.action) {
    case "push_config": {
      const parts = pushParts(m);
      return parts.length ? `Pushed code: ${parts.join("; ")}` : "Pushed code";
    }
    case "create_environment_variable":
      return `Environment variable ${m.name} created`;
    case "update_environment_variable":
      return `Environment variable ${m.name} updated`;
    case "delete_environment_variable":
      return `Environment variable ${m.name} deleted`;
    case "snapshot_import":
      return `Imported (${m.mode}): ${names(tableCounts(m.tables)) || "nothing"}`;
    case "clear_tables":
      return `Cleared ${names(tableCounts(m.tables))}`;
    case "delete_tables":
      return `Deleted ${names(tableCounts(m.tables))}`;
    case "edit_documents":
      return `${m.operation} of ${plural(m.count, "document")} in ${m.table}`;
    case "cancel_scheduled_functions":
      if (m.ids) return `Canceled scheduled function ${names(m.ids)}`;
      return `Canceled ${plural(m.count, "scheduled function")}` +
        (m.function ? ` of ${m.function}` : "");
    default:
      return event.action;
  }
}
