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

/** The time, re-read every `ms`: relative times ("in 5 min") stay true on an open page. */
export function useNow(ms = 30_000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
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
