"""`Index`: one published generation of an index, opened for reading.

A generation is what one manifest names: a generation folder (`gen-*`: the corpus-level BM25
statistics, the deleted chunks of each segment, the live articles in corpus order) and the
live segments (`seg-*`, see qa.index.segment). `Index.open` reads it once and never changes
afterwards: a search or an answer that holds an `Index` reads that generation from its first
line to its last, whatever builds publish meanwhile. Segments are immutable and shared: a
reopen (`Index.open(path, reuse=old)`) reads only the segments it has not seen.

Rows: every chunk has a row, segment after segment in manifest order (deleted chunks keep
theirs and are never returned); every live article has a position, its place in the corpus.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import IndexChangedError, IndexCorruptError, ModelUnavailableError, QAError
from ..types import Article, Chunk, JSONObject, Phrase, Quote
from . import dense
from .backend import MILVUS, Ranked, StoreBackend
from .bm25 import CorpusStats, Scorer
from .filecheck import check_files, file_changed
from .files import READ_ERRORS, regular_file
from .genfolder import read_generation
from .local import LocalBackend
from .manifest import Manifest, read_manifest, rebuild_hint, recorded_corpus
from .segment import DENSE_FILES, Segment
from .texts import corrupt

if TYPE_CHECKING:  # FAISS loads on first dense use
    import faiss
    import numpy.typing as npt


@dataclass(frozen=True)
class QuoteRows:
    """Quotes of one generation, in corpus order: segment number, row in that segment's
    quote table, and the position of the quote's article."""

    seg: np.ndarray
    row: np.ndarray
    pos: np.ndarray

    def __len__(self) -> int:
        return int(len(self.row))

    def take(self, which: np.ndarray) -> QuoteRows:
        return QuoteRows(self.seg[which], self.row[which], self.pos[which])


class Index:
    """One generation of an index folder (see the module docstring). Thread-safe: what it
    reads lazily (FAISS indexes, quotes) is read once, under a lock, and never replaced."""

    def __init__(self, path: Path, manifest: Manifest, segments: list[Segment],
                 stats: CorpusStats, deleted: list[np.ndarray], order: np.ndarray,
                 *, for_search: bool, verified: dict[str, int] | None = None) -> None:
        self.path = path
        self.manifest = manifest
        # Files whose modification time was not the recorded one but whose checksum was (a
        # copy, a `touch`): the next build records their times (`stamps`).
        self.verified: dict[str, int] = dict(verified or {})
        self.generation = manifest.data
        self.segments = tuple(segments)
        self.stats = stats
        self.deleted = deleted  # per segment: sorted chunk ids no longer live
        self.order = order
        self._lock = threading.Lock()
        n_chunks = [s.n_chunks for s in segments]
        self.chunk_bases = np.zeros(len(segments) + 1, np.int64)
        self.chunk_bases[1:] = np.cumsum(n_chunks)
        # Article positions: position[s][row] is the article's place in the corpus, -1 if
        # it was deleted.
        self.position = [np.full(s.n_articles, -1, np.int64) for s in segments]
        order_seg = order[:, 0] if len(order) else np.zeros(0, np.int32)
        for s in range(len(segments)):
            at = np.flatnonzero(order_seg == s)
            self.position[s][order[at, 1]] = at
        self.n_articles = int(len(order))
        self.n_chunks = int(stats.n_docs)
        latest = max((int(seg.article_dates()[p >= 0].max(initial=0))
                      for seg, p in zip(segments, self.position)), default=0)
        self.latest_date: str | None = (
            f"{latest // 10000:04d}-{latest // 100 % 100:02d}-{latest % 100:02d}" if latest else None)
        self.dense_error: str | None = self._missing_dense()
        self._speakers: list[str] | None = None
        self._all_quotes: QuoteRows | None = None
        self._selectors: dict[int, faiss.IDSelector] = {}  # FAISS selectors of each segment's live ids
        self.live: np.ndarray | None = None  # global chunk rows still live (None: all)
        self.chunk_ids = np.zeros(0, np.int64)
        self.chunk_date = np.zeros(0, np.int64)
        self._store: StoreBackend | None = None
        self._live_ids: tuple[np.ndarray, np.ndarray] | None = None  # sorted live ids, rows
        self._bm25 = Scorer(stats, [])
        if for_search:
            self._prepare_search()

    # --- opening ----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, reuse: Index | None = None,
             for_search: bool = True) -> Index:
        """Open the generation the manifest of index folder `path` names.

        Args:
            path: the index folder.
            reuse: an Index of the same folder opened before: segments it holds are shared,
                not read again.
            for_search: load what searching needs (chunk tables, postings, statistics) now;
                builds, which only need the article records, pass False.

        Raises:
            IndexMissingError, IndexCorruptError, IndexMismatchError: with the command to fix it.
        """
        index_dir = Path(path)
        return cls.from_manifest(index_dir, read_manifest(index_dir), reuse=reuse,
                                 for_search=for_search)

    @classmethod
    def from_manifest(cls, index_dir: Path, manifest: Manifest, *,
                      reuse: Index | None = None, for_search: bool = True) -> Index:
        """Open the generation `manifest` (already read and checked) names."""
        folders = {manifest.data, *(e.name for e in manifest.segments)}
        for name in sorted(folders):
            folder = index_dir / name
            if folder.is_symlink() or not folder.is_dir():
                raise IndexCorruptError(
                    f"The index in {index_dir}/ names a data folder ({name!r}) that is missing. "
                    f"{rebuild_hint(index_dir)}")
        verified = check_files(index_dir, manifest, folders, skip=frozenset(DENSE_FILES))
        dim = manifest.model.dim
        known = {s.name: s for s in reuse.segments} if reuse is not None else {}
        segments = []
        for entry in manifest.segments:
            old = known.get(entry.name)
            same = old is not None and old.dim == dim and old.entry.same_segment(entry)
            segments.append(old if same and old is not None else Segment(index_dir, entry, dim))
        stats, deleted, order = read_generation(index_dir, manifest, segments)
        return cls(index_dir, manifest, segments, stats, deleted, order, for_search=for_search,
                   verified=verified)

    @property
    def stamps(self) -> dict[str, int]:
        """Every file's modification time as the next manifest records it."""
        return {**self.manifest.stamps, **self.verified}

    @staticmethod
    def recorded_corpus(path: str | Path) -> str | None:
        """The corpus folder the index in `path` says it was built from (read from its
        manifest, any format version); None when there is no readable manifest."""
        return recorded_corpus(Path(path))

    @property
    def corpus(self) -> str | None:
        """The corpus folder this index was built from, as its build recorded it."""
        return self.manifest.corpus

    def _prepare_search(self) -> None:
        """Load what searching needs and check it agrees with the deletions."""
        ids, dates, live_parts, any_deleted, postings_parts = [], [], [], False, []
        for s, seg in enumerate(self.segments):
            with self._reading():
                table = seg.chunks
                seg.texts  # noqa: B018  (opened now, so a later clean-up cannot take it)
                postings = seg.postings
            alive = self.position[s] >= 0
            chunk_live = alive[np.asarray(table.article)] if len(table) else np.zeros(0, bool)
            gone = np.sort(np.asarray(table.ids)[~chunk_live])
            if not np.array_equal(gone, self.deleted[s]):
                raise IndexCorruptError(
                    f"The index in {self.path}/ is inconsistent (the deleted chunks of "
                    f"{seg.name} disagree with its live articles). {rebuild_hint(self.path)}")
            any_deleted = any_deleted or bool(len(gone))
            live_parts.append(chunk_live)
            ids.append(np.asarray(table.ids))
            dates.append(seg.chunk_dates())
            postings_parts.append(postings)
        self.chunk_ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        self.chunk_date = np.concatenate(dates) if dates else np.zeros(0, np.int64)
        self.live = np.concatenate(live_parts) if any_deleted else None
        self._bm25 = Scorer(self.stats, postings_parts)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn a part that vanished because newer builds replaced it (its folder removed)
        into IndexChangedError: that is not damage, and `qa index --full` is wrong advice."""
        try:
            yield
        except IndexCorruptError as exc:
            self._raise_if_replaced(exc)
            raise

    def _raise_if_replaced(self, exc: Exception) -> None:
        if all(s.folder.is_dir() for s in self.segments):
            return
        live = None
        with contextlib.suppress(QAError):
            live = read_manifest(self.path).data
        if live is not None and live != self.generation:
            raise IndexChangedError(
                f"The index in {self.path}/ was rebuilt while this was being read. "
                "Ask again: the next question uses the new index.") from exc

    # --- rows -------------------------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        return int(self.chunk_bases[-1])

    def _segment_of_row(self, row: int) -> tuple[int, int]:
        s = int(np.searchsorted(self.chunk_bases, row, side="right")) - 1
        return s, row - int(self.chunk_bases[s])

    def locate(self, article_id: str) -> tuple[int, int] | None:
        """(segment number, article row) of a live article, or None."""
        for s in range(len(self.segments) - 1, -1, -1):
            row = self.segments[s].row_of.get(article_id)
            if row is not None and self.position[s][row] >= 0:
                return s, row
        return None

    def live_rows(self, s: int) -> np.ndarray:
        """The article rows of segment `s` that are live."""
        return np.flatnonzero(self.position[s] >= 0)

    # --- reading articles and chunks --------------------------------------------------------
    def article(self, article_id: str) -> Article:
        """One article with its full stored text. Raises KeyError if unknown."""
        found = self.locate(article_id)
        if found is None:
            raise KeyError(article_id)
        return self._article(*found)

    def _article(self, s: int, row: int) -> Article:
        seg = self.segments[s]
        m = seg.articles[row]
        with self._reading():
            text = seg.texts[row]
        return Article(id=m["id"], title=m["title"], date=m.get("date"),
                       source=m.get("source") or "", url=m.get("url"), path=m.get("path", ""),
                       text=text, hash=m["hash"])

    def articles(self) -> list[Article]:
        """All live articles, in corpus order."""
        return [self._article(s, row) for s, row in self.order.tolist()]

    def article_records(self, limit: int | None = None) -> list[JSONObject]:
        """The stored records (id, title, date, source, url...) of the live articles, in
        corpus order, at most `limit`: what `articles` gives without reading any text."""
        order = self.order if limit is None else self.order[:limit]
        return [self.segments[s].articles[row] for s, row in order.tolist()]

    def article_record(self, row: int) -> JSONObject:
        """The stored record (title, date, source...) of the article of chunk row `row`."""
        s, local = self._segment_of_row(row)
        seg = self.segments[s]
        return seg.articles[int(seg.chunks.article[local])]

    def chunk(self, row: int) -> Chunk:
        """The chunk at a row."""
        s, local = self._segment_of_row(row)
        seg = self.segments[s]
        with self._reading():
            c = seg.chunks
            arow = int(c.article[local])
            text = seg.texts[arow]
            start, end = int(c.start[local]), int(c.end[local])
            sentences = c.sentences(local)
        return Chunk(id=int(c.ids[local]), article_id=seg.articles.ids[arow],
                     ordinal=int(c.ordinal[local]), start=start, end=end, text=text[start:end],
                     sentences=sentences)

    def chunk_rows_of(self, article_id: str) -> range:
        """The chunk rows of a live article, in order (KeyError if unknown)."""
        found = self.locate(article_id)
        if found is None:
            raise KeyError(article_id)
        s, row = found
        with self._reading():
            lo, hi = self.segments[s].chunks.rows_of_article(row)
        base = int(self.chunk_bases[s])
        return range(base + lo, base + hi)

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """An article's chunks, in order."""
        return [self.chunk(r) for r in self.chunk_rows_of(article_id)]

    # --- phrases ----------------------------------------------------------------------------
    def phrases_of(self, article_id: str) -> list[Phrase]:
        """What the NLP pipeline found in a live article (entities, noun phrases, sentences
        that are not answers), in text order; none for an unknown id."""
        found = self.locate(article_id)
        if found is None:
            return []
        s, row = found
        with self._reading():
            return self.segments[s].phrases.phrases(row)

    # --- quotes -----------------------------------------------------------------------------
    def quote_rows(self, names: Sequence[str] | None = None) -> QuoteRows:
        """The quotes of live articles, optionally only those of speakers `names` (exact),
        in corpus order."""
        if names is None and self._all_quotes is not None:
            return self._all_quotes
        segs, rows, pos = [], [], []
        for s, seg in enumerate(self.segments):
            with self._reading():
                table = seg.quotes
            r = np.arange(len(table)) if names is None else table.rows_of_speakers(names)
            if not len(r):
                continue
            p = self.position[s][np.asarray(table.article)[r]]
            keep = p >= 0
            segs.append(np.full(int(keep.sum()), s, np.int64))
            rows.append(r[keep].astype(np.int64))
            pos.append(p[keep])
        if not rows:
            out = QuoteRows(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        else:
            seg_a, row_a, pos_a = (np.concatenate(x) for x in (segs, rows, pos))
            order = np.lexsort((row_a, pos_a))
            out = QuoteRows(seg_a[order], row_a[order], pos_a[order])
        if names is None:
            self._all_quotes = out
        return out

    def quotes_of_article(self, article_id: str) -> QuoteRows:
        """One live article's quotes, in text order (none for an unknown id)."""
        found = self.locate(article_id)
        if found is None:
            return QuoteRows(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        s, row = found
        with self._reading():
            lo, hi = self.segments[s].quotes.rows_of_article(row)
        n = hi - lo
        return QuoteRows(np.full(n, s, np.int64), np.arange(lo, hi, dtype=np.int64),
                         np.full(n, self.position[s][row], np.int64))

    def quote_chunk_rows(self, quotes: QuoteRows) -> np.ndarray:
        """The chunk row holding each quote's sentence (the last chunk of its article that
        starts at or before it)."""
        out = np.zeros(len(quotes), np.int64)
        for s in np.unique(quotes.seg).tolist():
            seg = self.segments[s]
            which = np.flatnonzero(quotes.seg == s)
            with self._reading():
                table, keys = seg.quotes, seg.chunk_keys()
            rows = quotes.row[which]
            qkeys = (np.asarray(table.article[rows], dtype=np.int64) << 32) \
                | np.asarray(table.spans[rows, 2], dtype=np.int64)
            found = np.searchsorted(keys, qkeys, side="right") - 1
            out[which] = np.clip(found, 0, max(seg.n_chunks - 1, 0)) + int(self.chunk_bases[s])
        return out

    def materialise(self, quotes: QuoteRows) -> list[Quote]:
        """`Quote` objects for quote rows (each article's text read once)."""
        out: list[Quote] = []
        last, text = (-1, -1), ""
        for s, r in zip(quotes.seg.tolist(), quotes.row.tolist()):
            seg = self.segments[s]
            with self._reading():
                table = seg.quotes
                arow = int(table.article[r])
                if (s, arow) != last:
                    last, text = (s, arow), seg.texts[arow]
            out.append(table.quote(r, seg.articles.ids[arow], text))
        return out

    def speakers(self) -> list[str]:
        """Every name with at least one attributed quote in a live article, sorted."""
        if self._speakers is None:
            found: set[str] = set()
            all_rows = self.quote_rows()
            for s in np.unique(all_rows.seg).tolist():
                with self._reading():
                    table = self.segments[s].quotes
                found |= table.speakers_of(all_rows.row[all_rows.seg == s])
            self._speakers = sorted(found)
        return list(self._speakers)

    # --- searching --------------------------------------------------------------------------
    def bm25_scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25Okapi scores of every chunk row for a query's terms (0 for deleted chunks):
        equal to `BM25Okapi.get_scores` over the live corpus. A query term repeated twice
        counts twice, as in rank-bm25.

        Raises:
            IndexCorruptError: a postings file the query reads is damaged.
        """
        try:
            out = self._bm25.scores(tokens)
        except (ValueError, OSError) as exc:
            raise IndexCorruptError(
                f"The BM25 part of {self.path}/ is damaged ({exc}). "
                f"{rebuild_hint(self.path)}") from exc
        if self.live is not None:
            out[~self.live] = 0.0
        return out

    def document_frequency(self, term: str) -> int:
        """How many live chunks hold `term` (a BM25 term); 0 when none does."""
        return self._bm25.document_frequency(term)

    def _missing_dense(self) -> str | None:
        files = self.manifest.files
        for seg in self.segments:
            if not seg.layout:
                return "the index has no dense part; run `qa index --full` to add it"
            needed = dense.FAISS_FILE if dense.is_ivf(seg.layout) else dense.VECTORS_FILE
            key = f"{seg.name}/{needed}"
            path = seg.folder / needed
            if key not in files or not (path.exists() or path.is_symlink()):
                return "the index has no dense part; run `qa index --full` to add it"
            try:
                size = regular_file(path)
            except OSError:
                size = None
            changed = file_changed(self.manifest, key, path) if size == files[key] else None
            if changed is None:
                return ("the dense part is damaged (changed since it was written); run "
                        "`qa index --full` to rebuild it")
            if changed:
                self.verified[key] = changed
        return None

    @property
    def dense_loaded(self) -> bool:
        return self.dense_error is None and all(s.dense_loaded for s in self.segments)

    def load_dense(self) -> None:
        """Load every segment's FAISS index now.

        Raises:
            ModelUnavailableError: the dense part is missing or cannot be read (the message
                says what to run); searches then answer from BM25.
        """
        if self.dense_error:
            raise ModelUnavailableError(self.dense_error)
        for seg in self.segments:
            try:
                seg.dense_index()
            except Exception as exc:  # FAISS raises RuntimeError for damaged files
                with self._lock:
                    self.dense_error = (f"the dense part cannot be read ({exc}); "
                                        "run `qa index --full` to rebuild it")
                self._raise_if_replaced(exc)
                raise ModelUnavailableError(self.dense_error) from exc

    def dense_search(self, query: np.ndarray, depth: int,
                     mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The `depth` live chunk rows nearest to `query` (1 x dim, L2-normalised float32)
        and their inner products, best first (ties: lower chunk id first). `mask`: only
        rows where it is True.

        Raises:
            ModelUnavailableError: the dense part cannot be used.
        """
        self.load_dense()
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        coarse: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        scores, rows = [], []
        for s, seg in enumerate(self.segments):
            index = seg.dense_index()
            lo = int(self.chunk_bases[s])
            if isinstance(index, dense.ExactIndex):
                allowed = None if mask is None else mask[lo : lo + seg.n_chunks]
                if self.live is not None and len(self.deleted[s]):
                    live = self.live[lo : lo + seg.n_chunks]
                    allowed = live if allowed is None else allowed & live
                dist, found = index.search(query, depth, allowed)
                scores.append(dist)
                rows.append(found + lo)
                continue
            selector = None
            if mask is not None:
                allowed = mask[lo : lo + seg.n_chunks]
                if self.live is not None:
                    allowed = allowed & self.live[lo : lo + seg.n_chunks]
                ids = self.chunk_ids[lo : lo + seg.n_chunks][allowed]
                if not len(ids):
                    continue
                selector = dense.selector_of(ids)
            elif len(self.deleted[s]):
                selector = self._selectors.get(s)
                if selector is None:
                    selector = self._selectors[s] = dense.selector_excluding(self.deleted[s])
            pre = None
            trained = seg.layout.get("trained") if dense.is_ivf(seg.layout) else None
            if trained:  # segments with one quantizer scan the same lists: find them once
                key = f"{trained}/{index.nprobe}"
                if key not in coarse:
                    coarse[key] = dense.coarse_lists(index, query)
                pre = coarse[key]
            dist, ids = dense.search(index, query, depth, selector, pre)
            if not len(ids):
                continue
            scores.append(dist)
            rows.append(seg.rows_of_ids(ids) + lo)
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0)
        all_rows, all_scores = np.concatenate(rows), np.concatenate(scores)
        order = np.lexsort((self.chunk_ids[all_rows], -all_scores))[:depth]
        return all_rows[order], all_scores[order]

    # --- the store ----------------------------------------------------------------------------
    @property
    def store(self) -> StoreBackend:
        """The search store this generation's manifest records (qa.index.backend: the
        folder's own FAISS and BM25 parts, or Milvus), opened on first use.

        Raises:
            StoreUnavailableError: a Milvus store cannot be used (pymilvus missing, the
                address unreachable); the message says what to run.
        """
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = self._open_store()
        return self._store

    def _open_store(self) -> StoreBackend:
        store = self.manifest.store
        if store.backend == MILVUS and store.uri is not None and store.collection is not None:
            from .milvus import MilvusBackend  # pymilvus: an optional extra, imported on use

            return MilvusBackend(store.uri, store.collection)
        return LocalBackend(self.chunk_ids, self.chunk_date, dense=self.dense_search,
                            lexical=self.bm25_scores, n_chunks=self.n_chunks)

    def ranked_rows(self, ranked: Ranked) -> tuple[np.ndarray, np.ndarray]:
        """A store's answer as (rows, scores) of this generation, in the store's order.
        Ids that are not live here (chunks of a newer build, or of a crashed one) are dropped."""
        if ranked.rows is not None:
            return ranked.rows, ranked.scores
        rows, found = self.rows_of_chunk_ids(ranked.ids)
        return rows, np.asarray(ranked.scores, dtype=np.float64)[found]

    def rows_of_chunk_ids(self, chunk_ids: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """The rows of the live chunks among `chunk_ids`, in their order, and a mask of
        which ids are live here."""
        ids = np.asarray(chunk_ids, dtype=np.int64)
        if self._live_ids is None:
            # Live rows only: an article deleted and added again has its id twice, once dead.
            rows = np.flatnonzero(self.live) if self.live is not None \
                else np.arange(len(self.chunk_ids))
            order = np.argsort(self.chunk_ids[rows], kind="stable")
            self._live_ids = (self.chunk_ids[rows][order], rows[order])
        sorted_ids, rows_of = self._live_ids
        if not len(sorted_ids) or not len(ids):
            return np.zeros(0, np.int64), np.zeros(len(ids), bool)
        pos = np.clip(np.searchsorted(sorted_ids, ids), 0, len(sorted_ids) - 1)
        found = sorted_ids[pos] == ids
        return rows_of[pos][found], found

    def sentence_vectors(self, chunk_id: int) -> tuple[tuple[tuple[int, int], ...], np.ndarray] | None:
        """A live chunk's sentence spans and their vectors, float32 rows in the same order
        (qa.index.sentences: zeros for a sentence never cited); None for an id not live here.

        Raises:
            IndexCorruptError: the part is damaged, or a vector fails its exactness check.
        """
        rows, _ = self.rows_of_chunk_ids([chunk_id])
        if not len(rows):
            return None
        s, local = self._segment_of_row(int(rows[0]))
        seg = self.segments[s]
        with self._reading():
            c = seg.chunks
            try:
                vectors = seg.sentence_vectors.read(int(c.sent_ptr[local]),
                                                    int(c.sent_ptr[local + 1]))
            except READ_ERRORS as exc:
                raise corrupt(seg.folder, exc) from exc
            return c.sentences(local), vectors

    def vectors(self) -> np.ndarray:
        """Every live chunk's vector, in row order (tests and benchmarks)."""
        parts = []
        for s, seg in enumerate(self.segments):
            v = seg.vectors()
            rows = np.asarray(v[0 : len(v)])
            if self.live is not None:
                lo = int(self.chunk_bases[s])
                rows = rows[self.live[lo : lo + seg.n_chunks]]
            parts.append(rows)
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
