// A live, cursor-paginated list: each page is its own subscription (a `Chunk`), so every
// loaded page stays live; "Load more" subscribes to the page after the last one. Used by
// the History page and the Schedules page.
import { html, useState, useEffect } from "../../lib/html.js";
import { useQuery } from "../../lib/client.js";
import { Button, ErrorBox } from "../../lib/ui.js";

function Chunk({ path, args, cursor, numItems, index, renderRows, onResult }) {
  const { value, error } = useQuery(path, { ...args, paginationOpts: { numItems, cursor } });
  useEffect(() => {
    if (value) onResult(index, value);
  }, [value]);
  useEffect(() => {
    if (error) onResult(index, { error });
  }, [error]);
  if (!value) return null;
  return renderRows(value.page, index);
}

/**
 * `path` a paginated query, `args` its other arguments (a new value starts over from the
 * first page), `renderRows(page, chunkIndex)` the rows of one page (a fragment), `wrap(rows)`
 * what they go in (a table body...), `empty` shown when the first page is empty.
 */
export function PagedList({ path, args, numItems = 50, renderRows, wrap, empty, testid }) {
  const key = JSON.stringify(args);
  const [state, setState] = useState({ key, cursors: [null], results: {} });
  const current = state.key === key ? state : { key, cursors: [null], results: {} };
  useEffect(() => {
    if (state.key !== key) setState(current);
  }, [key]);

  const onResult = (index, result) =>
    setState((s) => (s.key === key ? { ...s, results: { ...s.results, [index]: result } } : s));

  const last = current.results[current.cursors.length - 1];
  const first = current.results[0];
  const loadMore = () => {
    if (!last || last.isDone || last.error) return;
    setState((s) => ({ ...s, cursors: [...s.cursors, last.continueCursor] }));
  };
  const errors = Object.values(current.results).filter((r) => r.error);
  const chunks = current.cursors.map((cursor, i) => html`<${Chunk} key=${`${key}#${i}`}
    path=${path} args=${args} cursor=${cursor} numItems=${numItems} index=${i}
    renderRows=${renderRows} onResult=${onResult} />`);
  const isEmpty = first && !first.error && first.page.length === 0 && first.isDone;
  return html`
    <div data-testid=${testid}>
      ${errors.length ? html`<${ErrorBox} error=${errors[0].error} />` : null}
      ${wrap(chunks)}
      ${isEmpty ? empty : null}
      <div class="paged-footer">
        ${!first ? html`<span class="muted">Loading…</span>` : null}
        ${last && !last.error && !last.isDone
          ? html`<${Button} onClick=${loadMore} kind="plain" testid="load-more">Load more</${Button}>`
          : null}
      </div>
    </div>`;
}
