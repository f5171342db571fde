"""Full text search: tokenizing, matching, ranking, and the tantivy index of one search index.

Tokens are what tantivy's SimpleTokenizer makes of a string (runs of letters and
digits), lowercased, with tokens over 32 characters dropped; we tokenize in
Python and hand tantivy the tokens, so the index and our own checks always
agree. A search matches documents containing any of its terms, the last one as
a prefix; documents are ranked by BM25 over the search field (k1 = 1.2,
b = 0.75), ties newest first.

Tantivy holds the latest committed version of each document and is refreshed in
batches by the indexer thread; it only proposes candidates. Every candidate is
read back at the query's snapshot and checked, and documents written since the
tantivy state (or after the snapshot) are taken from the database itself, so a
search sees exactly its snapshot plus its own transaction's writes.
"""

from __future__ import annotations

import contextlib
import math
import re
import shutil
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

from syncline.errors import QueryError
from syncline.values import UNDEFINED, encode_key

MAX_TERM_LENGTH = 32
MAX_SEARCH_TERMS = 16
MAX_SEARCH_FILTERS = 8
MAX_CANDIDATES = 1024  # results a search may scan from the index
MAX_PREFIX_EXPANSIONS = 512
K1, B = 1.2, 0.75
RETAINED_CHANGES = 100_000  # changes remembered behind the tantivy state, for older snapshots

_TOKEN = re.compile(r"[^\W_]+")


def tokenize(text: str) -> list[str]:
    """The terms of `text`: alphanumeric runs, lowercased, at most 32 characters."""
    return [t for t in (m.lower() for m in _TOKEN.findall(text)) if len(t) <= MAX_TERM_LENGTH]


def field_value(document: dict[str, Any], path: str) -> Any:
    """The value at a dotted field path (`properties.name`), UNDEFINED when missing."""
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return UNDEFINED
        value = value[part]
    return value


def document_tokens(document: dict[str, Any] | None, search_field: str) -> list[str]:
    if document is None:
        return []
    value = field_value(document, search_field)
    return tokenize(value) if isinstance(value, str) else []


@dataclass(frozen=True)
class TextSearch:
    """A parsed `q.search(field, text).eq(...)...` expression."""

    terms: tuple[str, ...]  # exact-match terms (all but the last)
    prefix: str | None  # the last term, matched as a prefix
    filters: tuple[tuple[int, Any], ...]  # (filter field position, value)

    @property
    def empty(self) -> bool:
        return self.prefix is None

    def matches(self, tokens: Iterable[str], filter_values: tuple[Any, ...]) -> bool:
        for position, value in self.filters:
            if encode_key(filter_values[position]) != encode_key(value):
                return False
        wanted = set(self.terms)
        prefix = self.prefix
        for token in tokens:
            if token in wanted or (prefix is not None and token.startswith(prefix)):
                return True
        return False

    def read_intervals(self) -> list[tuple[bytes, bytes | None]]:
        """The search-key intervals this search depends on (see `search_keys`)."""
        base = _TERM
        if self.filters:
            position, value = self.filters[0]
            base = _filter_prefix(position, value)
        out: list[tuple[bytes, bytes | None]] = []
        for term in self.terms:
            key = base + term.encode() + _END
            out.append((key, key + b"\x00"))
        if self.prefix is not None:
            start = base + self.prefix.encode()
            out.append((start, _successor(start)))
        return out


def _successor(prefix: bytes) -> bytes | None:
    stripped = prefix.rstrip(b"\xff")
    return stripped[:-1] + bytes([stripped[-1] + 1]) if stripped else None


def parse_search(query: str, filters: list[tuple[int, Any]]) -> TextSearch:
    if not isinstance(query, str):
        raise QueryError(f"search() takes the text to search for, got {query!r}")
    terms = tokenize(query)
    if len(terms) > MAX_SEARCH_TERMS:
        raise QueryError(f"A search may have at most {MAX_SEARCH_TERMS} terms; "
                         f"{query[:80]!r} has {len(terms)}")
    if len(filters) > MAX_SEARCH_FILTERS:
        raise QueryError(f"A search may have at most {MAX_SEARCH_FILTERS} filter expressions, "
                         f"got {len(filters)}")
    if not terms:
        return TextSearch((), None, tuple(filters))
    return TextSearch(tuple(dict.fromkeys(terms[:-1])), terms[-1], tuple(filters))


# The read-set key space of a text search index (private to it, so any layout works):
#   b"t" + token + 0x00                                  a document has the term
#   b"f" + filter position + value key + token + 0x00    ... and that filter value
# Tokens are alphanumeric (never 0x00), so 0x00 ends one and a prefix is an interval.
_TERM, _FILTERED, _END = b"t", b"f", b"\x00"


def _filter_prefix(position: int, value: Any) -> bytes:
    return _FILTERED + bytes([position]) + encode_key(value)


def search_keys(tokens: Iterable[str], filter_values: tuple[Any, ...]) -> set[bytes]:
    """The keys a document version occupies in its search index's read-set key space. A
    search reads the keys of its terms (narrowed by its first filter when it has one), so a
    commit writing a document that has or had one of them invalidates it, and no other
    commit does."""
    prefixes = [_TERM, *(_filter_prefix(i, v) for i, v in enumerate(filter_values))]
    encoded = [(token + "\x00").encode() for token in set(tokens)]
    return {prefix + word for prefix in prefixes for word in encoded}


def filter_token(value: Any) -> str:
    """How a filter field's value is stored in tantivy: its index-key bytes, in hex."""
    return encode_key(value).hex()


@dataclass(frozen=True)
class IndexState:
    """One published tantivy state and its corpus statistics, always consistent."""

    searcher: Any
    ts: int  # includes every commit up to here
    documents: int
    total_length: int


NO_PAYLOAD = object()  # a remembered change whose document version was let go


class TextIndex:
    """The tantivy index of one search index, plus what changed since its last refresh."""

    def __init__(self, search_field: str, filter_fields: tuple[str, ...],
                 directory: Path | None) -> None:
        self.search_field = search_field
        self.filter_fields = filter_fields
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        builder.add_integer_field("len", stored=True)
        builder.add_float_field("ct", stored=True)
        builder.add_text_field("body", stored=False, tokenizer_name="raw", index_option="freq")
        for i in range(len(filter_fields)):
            builder.add_text_field(f"f{i}", stored=False, tokenizer_name="raw")
        self._schema = builder.build()
        self.directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self._index = tantivy.Index(self._schema, path=str(directory), reuse=True)
        else:
            self._index = tantivy.Index(self._schema)
        self._writer: Any = None
        self._closed = False
        self._new_writer()
        self._lock = threading.Lock()
        # The indexer's own bookkeeping; searches use the published `_state`.
        self._lengths: dict[str, int] = {}
        self._total_length = 0
        self._state = IndexState(self._index.searcher(), 0, 0, 0)
        # [ts, document id, the new version (until tantivy has it)], oldest first.
        self._changes: deque[list[Any]] = deque()
        self.horizon = 0  # changes at or before this ts are forgotten
        # Changes a failed tantivy commit (a full disk) left out: retried with the next
        # apply. Until then `_state` stays behind them, so searches take them from
        # `_changes`, which keeps their payloads.
        self._unapplied: dict[str, tuple[dict[str, Any] | None, list[str] | None]] = {}

    @property
    def behind(self) -> bool:
        """Some changes are not in tantivy yet because a commit of it failed."""
        return bool(self._unapplied)

    @property
    def committed_ts(self) -> int:
        return self._state.ts

    # -- the indexer thread -------------------------------------------------------------

    def record_change(self, ts: int, document_id: str, document: dict[str, Any] | None) -> None:
        """Called in commit order, as soon as a commit is visible."""
        with self._lock:
            self._changes.append([ts, document_id, document])

    def remember(self, documents: list[tuple[str, dict[str, Any] | None]], ts: int) -> None:
        """Documents a failed first apply left out of tantivy, as changes at `ts`, so that
        searches read them from memory until a retry gets them in."""
        with self._lock:
            for document_id, document in documents:
                self._changes.append([ts, document_id, document])

    def caught_up(self, ts: int) -> None:
        """No change of this index up to `ts` is missing from tantivy (unless `behind`)."""
        if self._unapplied:
            return
        with self._lock:
            if ts > self._state.ts:
                self._state = IndexState(self._state.searcher, ts, self._state.documents,
                                         self._state.total_length)

    def apply(self, changes: list[tuple[str, dict[str, Any] | None, list[str] | None]],
              ts: int) -> None:
        """Bring tantivy up to commit `ts`: each (id, latest document or None, its tokens
        if the committing transaction already computed them), after the changes an earlier
        failed apply left. All or nothing: if tantivy's commit fails (say, the disk is
        full), it is rolled back and every change is kept for the next apply."""
        pending = self._unapplied
        for document_id, document, known_tokens in changes:
            pending.pop(document_id, None)  # keep the order of the latest change
            pending[document_id] = (document, known_tokens)
        if self._writer is None:  # a failed apply could not start a new one
            self._new_writer()
        writer = self._writer
        lengths: dict[str, int | None] = {}
        try:
            for document_id, (document, known_tokens) in pending.items():
                writer.delete_documents_by_term("id", document_id)
                lengths[document_id] = None
                if document is None or \
                        not isinstance(field_value(document, self.search_field), str):
                    continue  # deleted, or not a string: not in the index
                tokens = (known_tokens if known_tokens is not None
                          else document_tokens(document, self.search_field))
                doc = tantivy.Document()
                doc.add_text("id", document_id)
                doc.add_integer("len", len(tokens))
                doc.add_float("ct", float(document.get("_creationTime", 0.0)))
                doc.add_pre_tokenized_text("body", tantivy.PreTokenizedString(
                    "", [tantivy.Token(t, p, 0, 0) for p, t in enumerate(tokens)]))
                for i, field in enumerate(self.filter_fields):
                    doc.add_text(f"f{i}", filter_token(field_value(document, field)))
                writer.add_document(doc)
                lengths[document_id] = len(tokens)
            writer.commit()
        except BaseException:
            # After a failed commit tantivy's writer silently leaves these documents out
            # of later commits, or is dead ("index writer was killed"): start afresh.
            with contextlib.suppress(Exception):
                self._new_writer()
            raise
        self._unapplied = {}
        for document_id, length in lengths.items():
            old = self._lengths.pop(document_id, None)
            if old is not None:
                self._total_length -= old
            if length is not None:
                self._lengths[document_id] = length
                self._total_length += length
        self._index.reload()
        state = IndexState(self._index.searcher(), ts, len(self._lengths), self._total_length)
        with self._lock:
            self._state = state
            for change in self._changes:
                if change[0] > ts:
                    break
                change[2] = NO_PAYLOAD  # tantivy has it now; keep just the id
            while len(self._changes) > RETAINED_CHANGES and self._changes[0][0] <= ts:
                self.horizon = self._changes.popleft()[0]

    def load_lengths(self) -> None:
        """Rebuild the per-document lengths from a reopened index (for BM25's average)."""
        searcher = self._index.searcher()
        self._lengths.clear()
        if searcher.num_docs:
            for _score, address in searcher.search(tantivy.Query.all_query(),
                                                   searcher.num_docs).hits:
                doc = searcher.doc(address)
                self._lengths[doc["id"][0]] = doc["len"][0]
        self._total_length = sum(self._lengths.values())
        with self._lock:
            self._state = IndexState(searcher, self._state.ts, len(self._lengths),
                                     self._total_length)

    def _new_writer(self) -> None:
        """(Re)start tantivy's writer; the old one's uncommitted work is dropped."""
        if self._closed:
            raise RuntimeError("The search index is closed")
        old, self._writer = self._writer, None
        if old is not None:
            with contextlib.suppress(Exception):
                old.rollback()
            with contextlib.suppress(Exception):
                old.wait_merging_threads()  # consumes it, releasing the index's lock
        self._writer = self._index.writer(heap_size=64_000_000, num_threads=1)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._writer = None

    def drop(self) -> None:
        self.close()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- searching (any thread) ---------------------------------------------------------

    def snapshot(self, since_ts: int) -> tuple[IndexState, int, dict[str, Any] | None]:
        """(state, its ts, changed) where `changed` maps every document changed after
        min(since_ts, state ts) to (its latest change ts, that version or NO_PAYLOAD);
        None if changes that old are forgotten (the caller then checks every document)."""
        with self._lock:
            state = self._state
            bound = min(since_ts, state.ts)
            if bound < self.horizon:
                return state, state.ts, None
            changed: dict[str, Any] = {}
            for ts, doc_id, payload in reversed(self._changes):
                if ts <= bound:
                    break
                changed.setdefault(doc_id, (ts, payload))
        return state, state.ts, changed

    def candidates(self, state: IndexState, search: TextSearch,
                   limit: int) -> list[tuple[float, float, str]]:
        """(score, creation time, document id) of the `limit` documents tantivy ranks best."""
        if search.prefix is None:
            return []
        schema, searcher = self._schema, state.searcher
        must = [tantivy.Query.term_query(schema, f"f{p}", filter_token(v))
                for p, v in search.filters]
        filter_query = (tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in must])
                        if must else None)
        expansions = searcher.terms_with_prefix("body", search.prefix,
                                                filter_query=filter_query,
                                                limit=MAX_PREFIX_EXPANSIONS)
        words = list(dict.fromkeys([*search.terms, *(term for term, _ in expansions)]))
        clauses = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", w))
                   for w in words]
        if len(expansions) >= MAX_PREFIX_EXPANSIONS:
            # Too many words share the prefix to score each: the rest still match, unscored.
            clauses.append((tantivy.Occur.Should, tantivy.Query.const_score_query(
                tantivy.Query.regex_query(schema, "body", re.escape(search.prefix) + ".*"),
                0.0)))
        if not clauses:
            return []
        query = tantivy.Query.boolean_query(clauses)
        if must:
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, query)] +
                [(tantivy.Occur.Must, tantivy.Query.const_score_query(q, 0.0)) for q in must])
        out = []
        for score, address in searcher.search(query, limit).hits:
            doc = searcher.doc(address)
            out.append((score, doc["ct"][0], doc["id"][0]))
        return out

    def is_indexed(self, state: IndexState, document_id: str) -> bool:
        return state.searcher.doc_freq("id", document_id) > 0


class Scorer:
    """BM25 over the search field, with corpus statistics from one tantivy state, adjusted
    for documents that state does not have yet."""

    def __init__(self, state: IndexState, extra_documents: int = 0, extra_length: int = 0,
                 extra_df: dict[str, int] | None = None) -> None:
        self._searcher = state.searcher
        self._documents = max(state.documents + extra_documents, 1)
        total = state.total_length + extra_length
        self._average = max(total / self._documents, 1.0)
        self._extra_df = extra_df or {}
        self._idf: dict[str, float] = {}

    def idf(self, term: str) -> float:
        value = self._idf.get(term)
        if value is None:
            df = self._searcher.doc_freq("body", term) + self._extra_df.get(term, 0)
            df = min(df, self._documents)
            value = math.log(1 + (self._documents - df + 0.5) / (df + 0.5))
            self._idf[term] = value
        return value

    def score(self, tokens: list[str], search: TextSearch) -> float:
        counts: dict[str, int] = {}
        wanted = set(search.terms)
        prefix = search.prefix
        for token in tokens:
            if token in wanted or (prefix is not None and token.startswith(prefix)):
                counts[token] = counts.get(token, 0) + 1
        norm = K1 * (1 - B + B * len(tokens) / self._average)
        return sum(self.idf(term) * tf * (K1 + 1) / (tf + norm) for term, tf in counts.items())
