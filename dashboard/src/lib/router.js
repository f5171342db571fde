// Hash routes: `#/<page>/<param>/<param>?<query>`, so the server serves one page and a
// reload or a shared link opens the same view.
import { useEffect, useState } from "./html.js";

export function parseRoute(hash = window.location.hash) {
  const raw = hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?", 2);
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: segments[0] || "data", params: segments.slice(1), query: new URLSearchParams(search) };
}

export function href(page, ...params) {
  const path = [page, ...params.filter((p) => p !== undefined && p !== null)]
    .map((p) => encodeURIComponent(p)).join("/");
  return `#/${path}`;
}

export function navigate(page, ...params) {
  window.location.hash = href(page, ...params);
}

export function useRoute() {
  const [route, setRoute] = useState(parseRoute());
  useEffect(() => {
    const changed = () => setRoute(parseRoute());
    window.addEventListener("hashchange", changed);
    changed(); // a change between the first render and now would otherwise be lost
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}
