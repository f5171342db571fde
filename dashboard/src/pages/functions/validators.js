// Reading the function spec's validator JSON (`{type: "object", value: {...}}`, the shape of
// `npx convex function-spec`): a readable rendering, the form a field gets, and defaults.
import { convexToJson, jsonToConvex } from "convex/values";

/** `messages.js:list` -> `messages:list` (the path the client calls). */
export function specPath(identifier) {
  const [module, name] = identifier.split(":");
  return `${module.replace(/\.js$/, "")}:${name}`;
}

/** The module part of a path (`dir/messages:list` -> `dir/messages`). */
export function moduleOf(path) {
  return path.split(":")[0];
}

export const KIND = { Query: "query", Mutation: "mutation", Action: "action", HttpAction: "httpAction" };

/** A validator as TypeScript-like text: `{ name: string, limit?: number }`. */
export function describe(validator) {
  if (!validator) return "any";
  switch (validator.type) {
    case "string": case "number": case "boolean": case "null": case "any": case "bytes":
      return validator.type === "number" ? "number" : validator.type;
    case "bigint": return "int64";
    case "id": return `Id<"${validator.tableName}">`;
    case "literal": return JSON.stringify(validator.value);
    case "array": return `${wrap(validator.value)}[]`;
    case "record": return `Record<${describe(validator.keys)}, ${describe(validator.values.fieldType)}>`;
    case "union": return validator.value.map(describe).join(" | ");
    case "object": {
      const fields = Object.entries(validator.value).map(
        ([name, f]) => `${name}${f.optional ? "?" : ""}: ${describe(f.fieldType)}`);
      return fields.length ? `{ ${fields.join(", ")} }` : "{}";
    }
    default: return validator.type;
  }
}

function wrap(validator) {
  const text = describe(validator);
  return validator.type === "union" ? `(${text})` : text;
}

/** A union of literals only: a select box. */
export function literalChoices(validator) {
  if (validator.type !== "union") return null;
  if (!validator.value.every((m) => m.type === "literal" || m.type === "null")) return null;
  return validator.value.map((m) => (m.type === "null" ? null : m.value));
}

/** How a field is edited: a simple input, nested fields, a list, or raw JSON. */
export function widgetOf(validator) {
  switch (validator.type) {
    case "string": case "number": case "bigint": case "boolean": case "id":
    case "literal": case "null":
      return validator.type;
    case "object": return "object";
    case "array": return widgetOf(validator.value) === "json" ? "json" : "array";
    case "union": return literalChoices(validator) ? "choice" : "json";
    default: return "json";
  }
}

/** A starting value for a required field (undefined for an optional one). */
export function defaultValue(validator) {
  switch (validator.type) {
    case "string": case "id": return "";
    case "number": return 0;
    case "bigint": return 0n;
    case "boolean": return false;
    case "literal": return validator.value;
    case "null": return null;
    case "array": return [];
    case "record": return {};
    case "object": {
      const out = {};
      for (const [name, f] of Object.entries(validator.value)) {
        if (!f.optional) out[name] = defaultValue(f.fieldType);
      }
      return out;
    }
    case "union": {
      const choices = literalChoices(validator);
      if (choices) return choices[0];
      return defaultValue(validator.value[0]);
    }
    default: return null;
  }
}

/** The paginated-query shape: an object validator with a `paginationOpts` field. */
export function isPaginated(args) {
  return args?.type === "object" && args.value.paginationOpts?.fieldType?.type === "object"
    && "numItems" in args.value.paginationOpts.fieldType.value;
}

export function toJsonText(value) {
  return JSON.stringify(convexToJson(value), null, 2);
}

/** Raw JSON text (Convex's JSON format, e.g. `{"$integer": ...}`) to a value; throws. */
export function fromJsonText(text) {
  return jsonToConvex(JSON.parse(text));
}

/** A result for people: indented JSON, int64 as `42n`, bytes as `<N bytes>`. */
export function formatResult(value) {
  if (value === undefined) return "undefined";
  const marks = [];
  const text = JSON.stringify(value, (key, x) => {
    if (typeof x === "bigint") { marks.push(`${x}n`); return `\u0000mark${marks.length - 1}\u0000`; }
    if (x instanceof ArrayBuffer) { marks.push(`<${x.byteLength} bytes>`); return `\u0000mark${marks.length - 1}\u0000`; }
    return x;
  }, 2);
  return text.replace(/"\\u0000mark(\d+)\\u0000"/g, (_, i) => marks[Number(i)]);
}
