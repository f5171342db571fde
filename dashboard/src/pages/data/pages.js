// The grid's documents as a chain of live pages (each its own subscription, 100 documents
// when first loaded). A page's end is fixed after its first run (the query journal), so
// pages stay contiguous and a page grows when documents are inserted into its range. When
// the deployment asks for a split (`pageStatus`), the page is replaced by two pages, at its
// `splitCursor`; the old page stays shown until both halves have loaded (no rows vanish).
import { html, useState, useCallback, useEffect, useMemo } from "../../lib/html.js";
import { useLayoutEffect } from "preact/hooks";
import { useQuery } from "../../lib/client.js";

export const PAGE_SIZE = 100;
const DOCS = "_system/frontend/paginatedTableDocuments";
const SPLIT = new Set(["SplitRecommended", "SplitRequired"]);

const keyOf = (page) => `${page.cursor ?? ""}|${page.end ?? ""}`;
const fresh = (key) => ({ key, pages: [{ cursor: null, end: null, old: null }], results: {} });

/** One page's subscription; renders nothing, reports its result upward (in a layout
 * effect: at once, not a frame later, so a write shows in the grid sooner). */
function PageSub({ pageKey, args, cursor, end, onResult }) {
  const paginationOpts = { numItems: PAGE_SIZE, cursor };
  if (end) paginationOpts.endCursor = end;
  const result = useQuery(DOCS, { ...args, paginationOpts });
  useLayoutEffect(() => { onResult(pageKey, result); }, [result.value, result.error]);
  return null;
}

/** The live pages of the listing `args`: the subscriptions to render, the documents in
 * order, and `loadMore` to add the next page. */
export function useLivePages(args) {
  const viewKey = JSON.stringify(args);
  const [stored, setState] = useState(() => fresh(viewKey));
  const state = stored.key === viewKey ? stored : fresh(viewKey);
  const { pages, results } = state;

  const onResult = useCallback((pageKey, result) => {
    setState((prev) => {
      const base = prev.key === viewKey ? prev : fresh(viewKey);
      return { ...base, results: { ...base.results, [pageKey]: result } };
    });
  }, [viewKey]);

  // A page the deployment asks to split becomes two pages (the old one shows meanwhile).
  useEffect(() => {
    const splits = pages.filter((p) => {
      const value = results[keyOf(p)]?.value;
      return value && SPLIT.has(value.pageStatus) && value.splitCursor;
    });
    if (splits.length === 0) return;
    setState((prev) => {
      if (prev.key !== viewKey) return prev;
      const next = [];
      for (const p of prev.pages) {
        const value = prev.results[keyOf(p)]?.value;
        if (value && SPLIT.has(value.pageStatus) && value.splitCursor) {
          const old = { cursor: p.cursor, end: p.end };
          next.push({ cursor: p.cursor, end: value.splitCursor, old },
            { cursor: value.splitCursor, end: value.continueCursor, old });
        } else next.push(p);
      }
      return { ...prev, pages: next };
    });
  }, [pages, results, viewKey]);

  // A split pair is shown through the page it replaces until both halves have loaded.
  const { documents, subscribed } = useMemo(() => {
    const pairLoaded = (oldKey) => pages.filter((p) => p.old && keyOf(p.old) === oldKey)
      .every((p) => results[keyOf(p)]?.value !== undefined);
    const shown = [];
    const subs = new Map(pages.map((p) => [keyOf(p), p]));
    for (const p of pages) {
      const oldKey = p.old ? keyOf(p.old) : null;
      if (oldKey && !pairLoaded(oldKey) && results[oldKey]?.value !== undefined) {
        if (!shown.includes(oldKey)) shown.push(oldKey);
        subs.set(oldKey, p.old);
      } else shown.push(keyOf(p));
    }
    const docs = [];
    const seen = new Set();
    for (const key of shown) {
      for (const doc of results[key]?.value?.page ?? []) {
        if (!seen.has(doc._id)) { seen.add(doc._id); docs.push(doc); }
      }
    }
    return { documents: docs, subscribed: subs };
  }, [pages, results]);
  const error = Object.entries(results).find(([k, r]) => subscribed.has(k) && r?.error)?.[1]
    ?.error ?? null;
  const lastPage = pages[pages.length - 1];
  const lastValue = results[keyOf(lastPage)]?.value
    ?? (lastPage.old ? results[keyOf(lastPage.old)]?.value : undefined);
  const loading = !error && lastValue === undefined;
  const done = lastValue?.isDone === true;

  const loadMore = useCallback(() => {
    if (loading || done || !lastValue) return;
    const cursor = lastValue.continueCursor;
    setState((prev) => {
      const base = prev.key === viewKey ? prev : fresh(viewKey);
      // Asked already (a click and the scroll observer may both ask for the same page).
      if (base.pages.some((p) => p.cursor === cursor)) return base;
      return { ...base, pages: [...base.pages, { cursor, end: null, old: null }] };
    });
  }, [loading, done, lastValue, viewKey]);

  const subscriptions = [...subscribed].map(([key, p]) => html`<${PageSub} key=${`${viewKey}#${key}`}
    pageKey=${key} args=${args} cursor=${p.cursor} end=${p.end} onResult=${onResult} />`);
  return { subscriptions, documents, loading, done, error, loadMore, pageCount: pages.length };
}
