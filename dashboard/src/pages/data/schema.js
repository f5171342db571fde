// Reading the pushed schema (Convex's validator JSON, from `_system/frontend/schema`) for the
// data page: the grid's columns, which fields are `v.id` references, and validators as source.

/** The table's entry of the pushed schema, or null (no schema, or the table is not in it). */
export function tableSchema(schemaInfo, table) {
  const tables = schemaInfo?.schema?.tables ?? [];
  return tables.find((t) => t.tableName === table) ?? null;
}

/** The database's indexes of `table` ([{name, fields, kind, backfill}]), from the same query. */
export function tableIndexes(schemaInfo, table) {
  const entry = (schemaInfo?.tables ?? []).find((t) => t.table === table);
  return entry?.indexes ?? [];
}

/** Top-level fields the schema declares for `table`: [{name, validator, optional}]. */
export function schemaFields(schemaInfo, table) {
  const doc = tableSchema(schemaInfo, table)?.documentType;
  const out = [];
  const seen = new Set();
  const visit = (validator) => {
    if (!validator) return;
    if (validator.type === "object") {
      for (const [name, field] of Object.entries(validator.value)) {
        if (seen.has(name)) continue;
        seen.add(name);
        out.push({ name, validator: field.fieldType, optional: field.optional });
      }
    } else if (validator.type === "union") validator.value.forEach(visit);
  };
  visit(doc);
  return out;
}

/** The table a validator references when it is `v.id(t)` (possibly optional, in a union or
 * an array's elements). */
export function referencedTable(validator) {
  if (!validator) return null;
  if (validator.type === "id") return validator.tableName;
  if (validator.type === "array") return referencedTable(validator.value);
  if (validator.type === "union") {
    const tables = new Set(validator.value.map(referencedTable).filter(Boolean));
    return tables.size === 1 ? [...tables][0] : null;
  }
  return null;
}

/** Validator JSON back to the `v.` source a schema.py would say. */
export function validatorSource(validator) {
  if (!validator) return "v.any()";
  switch (validator.type) {
    case "id": return `v.id(${JSON.stringify(validator.tableName)})`;
    case "array": return `v.array(${validatorSource(validator.value)})`;
    case "union": return `v.union(${validator.value.map(validatorSource).join(", ")})`;
    case "literal": return `v.literal(${literalSource(validator.value)})`;
    case "record":
      return `v.record(${validatorSource(validator.keys)}, ${validatorSource(validator.values.fieldType)})`;
    case "object": {
      const fields = Object.entries(validator.value).map(([name, f]) => {
        const inner = validatorSource(f.fieldType);
        return `${JSON.stringify(name)}: ${f.optional ? `v.optional(${inner})` : inner}`;
      });
      return `v.object({${fields.join(", ")}})`;
    }
    case "number": return "v.float64()";
    case "bigint": return "v.int64()";
    default: return `v.${validator.type}()`;
  }
}

function literalSource(value) {
  if (value === true) return "True";
  if (value === false) return "False";
  if (value && typeof value === "object" && "$integer" in value) return `Int64(…)`;
  return JSON.stringify(value);
}

/** Grid columns: `_id`, the schema's fields, other fields seen in the loaded documents
 * (in order of first appearance, so a column never moves once shown), `_creationTime`. */
export function gridColumns(fields, documents, previous = []) {
  const names = ["_id", ...fields.map((f) => f.name)];
  const known = new Set(names);
  const extra = previous.filter((name) => !known.has(name) && name !== "_creationTime");
  extra.forEach((name) => known.add(name));
  for (const doc of documents) {
    for (const key of Object.keys(doc)) {
      if (!known.has(key) && key !== "_creationTime") {
        known.add(key);
        extra.push(key);
      }
    }
  }
  return [...names, ...extra, "_creationTime"];
}
