// Small helpers of the Logs and Schedules pages.
import { useState, useEffect } from "../../lib/html.js";

/** The function paths of a function spec (`_system/frontend/functionSpec`) as logs and
 * jobs name them (`messages:send`, `GET /hello`), sorted; `types` keeps some kinds. */
export function functionPaths(spec, types = null) {
  if (!Array.isArray(spec)) return [];
  const paths = new Set();
  for (const entry of spec) {
    if (types && !types.includes(entry.functionType)) continue;
    if (entry.functionType === "HttpAction") {
      paths.add(`${entry.method} ${entry.path}`);
    } else if (entry.identifier) {
      const [module, name] = entry.identifier.split(":");
      paths.add(`${module.replace(/\.(js|ts|py)$/, "")}:${name}`);
    }
  }
  return [...paths].sort();
}

/** `value`, once it has stayed the same for `ms` (typing does not re-subscribe per key). */
export function useDebounced(value, ms) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
