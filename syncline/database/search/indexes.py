"""Every text and vector search index of a database, kept current with its commits.

Commits hand their changes to search-indexed tables to `on_commit` (on the
committer's thread, in commit order, before the committing caller hears back);
text indexes note at once which documents changed, and one indexer thread
applies the changes to tantivy and usearch in batches. `wait_applied(ts)` lets
a vector search start only once every commit it must see is in the index.

Indexes live under `<data dir>/search/`, one folder per index named by its
definition. A tantivy index is reopened at start and only the documents written
since its last refresh are indexed again; vector indexes are saved on close and
rebuilt from the documents if that save is missing or stale.

On a full disk a tantivy commit fails: the index keeps the changes it could not
write and retries them every RETRY_INTERVAL_S (and with the next batch), while
searches take those changes from memory, so results stay exact. Its saved state
is only ever marked up to date after a commit that succeeded.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from syncline.database.catalog import SearchIndexInfo
from syncline.database.search.text import TextIndex, document_tokens, field_value, search_keys
from syncline.errors import SnapshotTooOldError
from syncline.storage.disk_full import is_disk_full
from syncline.values import encode_key

if TYPE_CHECKING:  # usearch (and numpy) load only when a schema has a vector index
    from syncline.database.search.vector import VectorIndex

_log = logging.getLogger(__name__)
REFRESH_INTERVAL_S = 0.2  # tantivy is refreshed at most this often under steady writes
META_FILE = "syncline-search.json"
REBUILD_BATCH = 4_000  # vectors added to a new HNSW graph at a time (on every core)
RETRY_INTERVAL_S = 1.0  # how often a text index that failed to commit (full disk) retries

Engine = Any  # TextIndex | VectorIndex
DocumentsOf = Callable[[str], Iterator[tuple[str, dict[str, Any]]]]  # table -> (id, doc)


@dataclass(frozen=True, slots=True)
class SearchChange:
    """A committed write to a document of a search-indexed table."""

    index_id: int
    document_id: str
    document: dict[str, Any] | None  # the new version; None when deleted
    tokens: list[str] | None = None  # its search field's tokens (text indexes)


def vector_filter_values(info: SearchIndexInfo, document: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(field_value(document, f) for f in info.filter_fields)


def search_change(info: SearchIndexInfo, document_id: str, old: dict[str, Any] | None,
                  new: dict[str, Any] | None) -> tuple[list[bytes], SearchChange] | None:
    """What a write to a document means for a search index: the read-set keys it touches
    (text indexes; vector searches run in actions and keep no read sets) and the change to
    hand the indexer, or None if nothing the index looks at changed."""
    def parts(document: dict[str, Any] | None) -> Any:
        if document is None:
            return None
        filters = tuple(field_value(document, f) for f in info.filter_fields)
        if info.kind == "text":
            return document_tokens(document, info.field), filters
        return field_value(document, info.field), filters

    before, after = parts(old), parts(new)
    if _same(before, after):
        return None
    if info.kind != "text":
        return [], SearchChange(info.id, document_id, new)
    keys: set[bytes] = set()
    for version in (before, after):
        if version is not None:
            keys |= search_keys(*version)
    return list(keys), SearchChange(info.id, document_id, new,
                                    None if after is None else after[0])


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return a[0] == b[0] and [encode_key(x) for x in a[1]] == [encode_key(x) for x in b[1]]


class SearchIndexes:
    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._engines: dict[int, Engine] = {}
        self._infos: dict[int, SearchIndexInfo] = {}
        self._cond = threading.Condition()
        self._queue: deque[tuple[int, tuple[SearchChange, ...]]] = deque()
        self.seen_ts = 0  # every commit up to here was handed to on_commit
        self.applied_ts = 0  # ... and is in the tantivy/usearch indexes
        self._apply_lock = threading.Lock()  # one batch at a time; held by reconcile too
        self._applying = False  # the indexer took a batch and has not finished it
        self._waiters = 0  # threads in wait_seen / wait_applied
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, ts: int) -> None:
        with self._cond:
            self.seen_ts = self.applied_ts = max(self.seen_ts, ts)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="syncline-search",
                                            daemon=True)
            self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._apply_lock:
            for index_id, engine in self._engines.items():
                if not isinstance(engine, TextIndex) and self._directory is not None:
                    with contextlib.suppress(Exception):
                        engine.save(self._folder(self._infos[index_id]), self.applied_ts)
                elif isinstance(engine, TextIndex):
                    engine.close()

    def engine(self, index_id: int) -> Engine | None:
        return self._engines.get(index_id)

    # -- the feed ----------------------------------------------------------------------

    def on_commit(self, ts: int, changes: tuple[SearchChange, ...]) -> None:
        """Every commit, in order, once durable and visible (committer thread)."""
        with self._cond:
            for change in changes:
                engine = self._engines.get(change.index_id)
                if isinstance(engine, TextIndex):
                    engine.record_change(ts, change.document_id, change.document)
            self.seen_ts = max(self.seen_ts, ts)
            if changes:
                self._queue.append((ts, changes))
            elif not self._queue and not self._applying:
                # Nothing for the indexer: don't wake its thread for every commit, which
                # cost single-client writes a context switch each.
                self.applied_ts = max(self.applied_ts, ts)
                if self._waiters:
                    self._cond.notify_all()
                return
            self._cond.notify_all()

    def wait_seen(self, ts: int, timeout: float = 60.0) -> None:
        """Block until the commits up to `ts` were handed over (a moment after they became
        visible), so a text search at snapshot `ts` knows every document they changed."""
        if self.seen_ts >= ts:
            return
        self._wait(lambda: self.seen_ts >= ts or self._closed, timeout)

    def wait_applied(self, ts: int, timeout: float = 60.0) -> None:
        """Block until every commit up to `ts` is in the engines."""
        self._wait(lambda: self.applied_ts >= ts or self._closed, timeout)

    def _wait(self, done: Callable[[], bool], timeout: float) -> None:
        with self._cond:
            self._waiters += 1
            try:
                if not self._cond.wait_for(done, timeout):
                    raise TimeoutError("The search indexes are still catching up; try again")
            finally:
                self._waiters -= 1

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed
                                    or self.applied_ts < self.seen_ts,
                                    timeout=RETRY_INTERVAL_S if self._behind() else None)
                if self._closed and not self._queue:
                    return
                batch = list(self._queue)
                self._queue.clear()
                upto = self.seen_ts
                self._applying = True
            started = time.monotonic()
            try:
                with self._apply_lock:
                    self._apply(batch, upto)
            except Exception as error:  # a failed batch must not stop indexing
                if not is_disk_full(error):
                    _log.exception("search indexing failed")
            with self._cond:
                self.applied_ts = max(self.applied_ts, upto)
                self._applying = False
                self._cond.notify_all()
            rest = REFRESH_INTERVAL_S - (time.monotonic() - started)
            if rest > 0 and batch:
                with self._cond:  # let more writes gather, unless a search is waiting
                    self._cond.wait(rest)

    def _apply(self, batch: list[tuple[int, tuple[SearchChange, ...]]], upto: int) -> None:
        latest: dict[int, dict[str, SearchChange]] = {}
        for _ts, changes in batch:
            for change in changes:
                latest.setdefault(change.index_id, {})[change.document_id] = change
        failed: BaseException | None = None
        for index_id, engine in self._engines.items():
            changed = latest.get(index_id)
            if changed is None and not (isinstance(engine, TextIndex) and engine.behind):
                if isinstance(engine, TextIndex):
                    engine.caught_up(upto)
                continue
            try:  # one index failing (a full disk) must not hold the others back
                self._write(index_id, engine, list((changed or {}).values()), upto)
            except Exception as error:
                failed = error
        if failed is not None:
            raise failed

    def _write(self, index_id: int, engine: Engine, changes: list[SearchChange],
               ts: int) -> None:
        info = self._infos[index_id]
        if isinstance(engine, TextIndex):
            was_behind = engine.behind
            try:
                engine.apply([(c.document_id, c.document, c.tokens) for c in changes], ts)
            except Exception as error:
                if is_disk_full(error) and not was_behind:
                    _log.warning("search index %s.%s cannot be written: the disk is full; "
                                 "searches stay exact, and it catches up once there is room",
                                 info.table_name, info.name)
                raise
            if was_behind:
                _log.warning("search index %s.%s caught up", info.table_name, info.name)
            self._save_meta(info, engine, ts)
            return
        for change in changes:
            if change.document is None:
                engine.remove(change.document_id)
        upserts = [(c.document_id, field_value(c.document, info.field),
                    vector_filter_values(info, c.document))
                   for c in changes if c.document is not None]
        for start in range(0, len(upserts), REBUILD_BATCH):  # searches may run in between
            engine.upsert_many(upserts[start:start + REBUILD_BATCH])

    def _behind(self) -> bool:
        """Some text index has changes a failed commit left out (indexer thread)."""
        return any(isinstance(e, TextIndex) and e.behind for e in self._engines.values())

    # -- schema changes and start-up ---------------------------------------------------

    def reconcile(self, desired: list[SearchIndexInfo], ts: int, documents_of: DocumentsOf,
                  changed_since: Callable[[str, int], Iterator[tuple[str, dict[str, Any] | None]]]
                  | None = None) -> None:
        """Make `desired` the live indexes at commit `ts` (commits are paused): keep the
        ones whose definition is unchanged, build new ones from the documents, drop the
        rest. At start-up, `changed_since` lets a saved index catch up instead."""
        with self._apply_lock:
            by_signature = {self._infos[i].signature: i for i in self._engines}
            engines: dict[int, Engine] = {}
            infos: dict[int, SearchIndexInfo] = {}
            for info in desired:
                old_id = by_signature.pop(info.signature, None)
                if old_id is not None:
                    engines[info.id] = self._engines[old_id]
                else:
                    engines[info.id] = self._open(info, ts, documents_of, changed_since)
                infos[info.id] = info
            for old_id in by_signature.values():
                engine = self._engines[old_id]
                if isinstance(engine, TextIndex):
                    engine.drop()
                elif self._directory is not None:
                    _remove_folder(self._folder(self._infos[old_id]))
            self._engines, self._infos = engines, infos
            with self._cond:
                self.seen_ts = max(self.seen_ts, ts)
                self.applied_ts = max(self.applied_ts, ts)

    def _open(self, info: SearchIndexInfo, ts: int, documents_of: DocumentsOf,
              changed_since: Any) -> Engine:
        folder = self._folder(info) if self._directory is not None else None
        if info.kind == "text":
            return self._open_text(info, folder, ts, documents_of, changed_since)
        from syncline.database.search.vector import VectorIndex

        if folder is not None and changed_since is not None:
            loaded = VectorIndex.load(folder, info.dimensions, info.filter_fields)
            if loaded is not None:
                index, saved_ts = loaded
                _remove_folder(folder)  # a crash from here on must not reuse a stale save
                changes = _catch_up(changed_since, info, saved_ts)
                if changes is not None:
                    for document_id, document in changes:
                        _vector_write(info, index, document_id, document)
                    return index
        index = VectorIndex(info.dimensions, info.filter_fields)
        batch: list[tuple[str, Any, tuple[Any, ...]]] = []
        for document_id, document in documents_of(info.table_name):
            batch.append((document_id, field_value(document, info.field),
                          vector_filter_values(info, document)))
            if len(batch) >= REBUILD_BATCH:
                index.upsert_many(batch)
                batch = []
        index.upsert_many(batch)
        return index

    def _open_text(self, info: SearchIndexInfo, folder: Path | None, ts: int,
                   documents_of: DocumentsOf, changed_since: Any) -> TextIndex:
        saved_ts = self._saved_ts(info) if folder is not None and changed_since else None
        changes = _catch_up(changed_since, info, saved_ts) if saved_ts is not None else None
        if changes is None:
            saved_ts = None
        if folder is not None and saved_ts is None:
            _remove_folder(folder)
        try:
            index = TextIndex(info.field, info.filter_fields, folder)
        except Exception as error:
            if folder is not None and is_disk_full(error):
                # No room for the index's files: build it in memory for this run; the
                # folder, untouched, is reused (and caught up) by a later start.
                _log.warning("search index %s.%s cannot be opened on disk: the disk is "
                             "full; it is kept in memory until a restart",
                             info.table_name, info.name)
                folder, saved_ts = None, None
            else:  # an unreadable folder: build afresh
                _log.exception("search index %s.%s could not be opened; rebuilding",
                               info.table_name, info.name)
                if folder is not None:
                    _remove_folder(folder)
                saved_ts = None
            index = TextIndex(info.field, info.filter_fields, folder)
        if saved_ts is not None:
            index.load_lengths()
            documents = changes or []
        else:
            documents = list(documents_of(info.table_name))
        self._infos.setdefault(info.id, info)
        try:
            index.apply([(doc_id, doc, None) for doc_id, doc in documents], ts)
        except Exception as error:
            if not is_disk_full(error):
                raise
            # Searches find these documents in memory until the indexer gets them in.
            index.remember(documents, ts)
            _log.warning("search index %s.%s cannot be written: the disk is full; "
                         "searches stay exact, and it catches up once there is room",
                         info.table_name, info.name)
            return index
        self._save_meta(info, index, ts)
        return index

    def _folder(self, info: SearchIndexInfo) -> Path:
        assert self._directory is not None
        digest = hashlib.sha1(repr(info.signature).encode()).hexdigest()[:12]
        return self._directory / f"{info.table_name}.{info.name}.{digest}"

    def _save_meta(self, info: SearchIndexInfo, index: TextIndex, ts: int) -> None:
        """Record that the saved tantivy index holds every change up to `ts`. Failing to
        (a full disk) is harmless: a restart catches up from the older record."""
        if self._directory is None or index.directory is None:
            return
        folder = self._folder(info)
        temp = folder / (META_FILE + ".tmp")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            temp.write_bytes(orjson.dumps({"ts": ts, "signature": repr(info.signature)}))
            temp.replace(folder / META_FILE)
        except OSError as error:
            if not is_disk_full(error):
                raise
            temp.unlink(missing_ok=True)

    def _saved_ts(self, info: SearchIndexInfo) -> int | None:
        try:
            meta = orjson.loads((self._folder(info) / META_FILE).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        if meta.get("signature") != repr(info.signature) or not isinstance(meta.get("ts"), int):
            return None
        return meta["ts"]


def _vector_write(info: SearchIndexInfo, index: VectorIndex, document_id: str,
                  document: dict[str, Any] | None) -> None:
    if document is None:
        index.remove(document_id)
    else:
        index.upsert(document_id, field_value(document, info.field),
                     vector_filter_values(info, document))


def _catch_up(changed_since: Any, info: SearchIndexInfo, saved_ts: int,
              ) -> list[tuple[str, dict[str, Any] | None]] | None:
    """The changes a saved index misses, or None if the history since it was saved has
    been pruned (database/retention.py: its deletions may be gone), so it is rebuilt."""
    try:
        return list(changed_since(info.table_name, saved_ts))
    except SnapshotTooOldError:
        _log.warning("search index %s.%s was saved before the retained history; rebuilding",
                     info.table_name, info.name)
        return None


def _remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
