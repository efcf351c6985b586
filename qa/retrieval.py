"""Search: BM25 and dense retrieval over a built index, fused, with date filters.

`Retriever.open` is cheap (no torch import): it reads the manifest, the chunk table and the
BM25 weights. The embedding model loads on the first dense search, or earlier via
`warm_up()` (the chat calls it in a worker). If the model cannot load, or the index has no
dense part, searches answer from BM25 alone and say why (`Retriever.fallback_reason`, and
`Hit.via == "bm25"`).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import config, store
from .bm25 import BM25Weights
from .dense import load_dense_index, needs_faiss_file
from .embedding import Embedder
from .errors import (
    IndexChangedError,
    IndexCorruptError,
    IndexMismatchError,
    ModelUnavailableError,
    QAError,
    QueryError,
)
from .text import TOKENIZER, terms
from .types import Article, Chunk, Hit, IndexStats, Quote

RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al., 2009)
# Convex fusion: dense weight after min-max normalising each list. 0.5 was picked on SciFact's
# train split (train and test both peak at 0.45-0.55); test nDCG@10 0.724 vs 0.712 for RRF
# (docs/benchmarks.md, "Fusion study").
HYBRID_ALPHA = 0.5
FUSIONS = ("convex", "rrf")
# Queries longer than this are cut at a word boundary (the same bound as a question's).
MAX_QUERY_CHARS = 1000
MODES = ("auto", "hybrid", "dense", "bm25")

DateLike = str | _dt.date | None


from .dates import parse_date  # noqa: E402 - the one date parser; re-exported for callers


def _date_key(iso: str | None) -> int:
    return int(iso.replace("-", "")) if iso else 0


@dataclass(frozen=True)
class _Ranked:
    rows: np.ndarray  # chunk rows, best first
    scores: np.ndarray


class _Generation:
    """One published generation of an index, as a reader sees it: never changed once made.

    A search or an answer reads one `_Generation` from its first line to its last; a reload
    makes a new one and swaps the reference, and the old one is freed (its files closed) when
    the last reader that holds it is done. What it reads lazily (the FAISS index, quotes) is
    filled once, under a lock, and never replaced.
    """

    def __init__(self, index_dir: Path, manifest: dict[str, Any], contents: store.Contents,
                 weights: BM25Weights) -> None:
        self.index_path = index_dir
        self.manifest = manifest
        self.name = str(manifest["data"])
        self.c = contents
        self.weights = weights
        self.row_of_id = np.argsort(contents.chunk_ids)
        self.sorted_ids = np.asarray(contents.chunk_ids)[self.row_of_id]
        self.article_row = {a["id"]: i for i, a in enumerate(contents.articles)}
        dates = np.asarray([_date_key(a.get("date")) for a in contents.articles], dtype=np.int64)
        dated = [a["date"] for a in contents.articles if a.get("date")]
        self.latest_date: str | None = max(dated) if dated else None
        self.chunk_date = dates[contents.chunk_article] if contents.n_chunks else dates[:0]
        self.lock = threading.Lock()
        self.dense: Any = None
        self.dense_error: str | None = None
        self.quotes: store.QuoteTable | None = None
        self.speakers: list[str] | None = None
        self.chunk_keys: np.ndarray | None = None  # (article row << 32) | chunk start
        files = manifest.get("files") or {}
        self.folder = index_dir / self.name
        needed = "dense.faiss" if needs_faiss_file(manifest.get("dense")) else "vectors.npy"
        if needed not in files or not (self.folder / needed).exists():
            self.dense_error = "the index has no dense part; run `qa index --full` to add it"
        elif (self.folder / needed).stat().st_size != files[needed]:
            self.dense_error = "the dense part is damaged; run `qa index --full` to rebuild it"

    @classmethod
    def open(cls, index_dir: Path, manifest: dict[str, Any]) -> "_Generation":
        folder = store.data_dir(index_dir, _without_dense(manifest))
        contents = store.load_contents(folder, with_quotes=False, for_queries=True)
        try:
            weights = BM25Weights.load(folder, contents.vocab, contents.n_chunks)
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(
                f"The BM25 part of {index_dir}/ cannot be read or does not match its chunks "
                f"({exc}). Run `qa index --full --index {index_dir}` to rebuild it."
            ) from exc
        return cls(index_dir, manifest, contents, weights)

    def load_dense(self) -> Any:
        """The FAISS index, loaded on first use. Raises ModelUnavailableError."""
        if self.dense is not None:
            return self.dense
        if self.dense_error:
            raise ModelUnavailableError(self.dense_error)
        with self.lock:
            if self.dense is None:
                try:
                    self.dense = load_dense_index(self.folder, self.manifest, self.c.chunk_ids)
                except Exception as exc:
                    self.dense_error = (f"the dense part cannot be read ({exc}); "
                                        "run `qa index --full` to rebuild it")
                    self._raise_if_replaced(exc)
                    raise ModelUnavailableError(self.dense_error) from exc
        return self.dense

    def quote_table(self) -> store.QuoteTable:
        if self.quotes is None:  # read on first use: most searches never need them
            with self.lock:
                if self.quotes is None:
                    try:
                        self.quotes = store.QuoteTable.read(
                            self.folder, [a["id"] for a in self.c.articles])
                    except IndexCorruptError as exc:
                        self._raise_if_replaced(exc)
                        raise
        return self.quotes

    def _raise_if_replaced(self, exc: Exception) -> None:
        """A file of this generation vanished because a newer build (maybe another process's)
        replaced it: that is not damage, and `qa index --full` is the wrong advice."""
        if self.folder.is_dir():
            return
        live = None
        with contextlib.suppress(QAError):
            live = store.read_manifest(self.index_path).get("data")
        if live is not None and live != self.name:
            raise IndexChangedError(
                    f"The index in {self.index_path}/ was rebuilt while this was being read. "
                    "Ask again: the next question uses the new index.") from exc


class Retriever:
    """Searches one index folder. Thread-safe: searches may run in several threads while
    another calls `reload_if_changed`; each search reads one generation throughout."""

    def __init__(self, generation: _Generation, embedder: Embedder | None, *,
                 pinned: bool = False) -> None:
        self._gen = generation
        self._embedder = embedder
        self._pinned = pinned
        self.mode = "hybrid"
        self.fallback_reason: str | None = None
        self.fusion = "convex"  # or "rrf"
        if generation.dense_error:
            self.mode, self.fallback_reason = "bm25", generation.dense_error

    @property
    def index_path(self) -> Path:
        return self._gen.index_path

    @property
    def manifest(self) -> dict[str, Any]:
        return self._gen.manifest

    @property
    def generation(self) -> str:
        """The name of the generation this retriever reads now (changes on reload)."""
        return self._gen.name

    # --- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, index: str | os.PathLike[str] | None = None, *,
             embedder: Embedder | None = None, model: str | None = None) -> "Retriever":
        """Open a built index. Cheap: the model loads on first dense use.

        Args:
            index: the index folder (default `index`, or $QA_INDEX).
            embedder: an embedder to use for queries (default: the model the index was built with).
            model: a model name to insist on; a different one in the index is an error.

        Raises:
            IndexMissingError, IndexCorruptError, IndexMismatchError: with the command to fix it.
        """
        index_dir = config.index_path(index)
        manifest = _checked_manifest(index_dir, model or (embedder.name if embedder else None))
        generation = _Generation.open(index_dir, manifest)
        if embedder is None:
            from .embedding import SentenceTransformerEmbedder

            embedder = _query_embedder(index_dir, manifest) or SentenceTransformerEmbedder(
                manifest["model"]["name"]
            )
        return cls(generation, embedder)

    def reload_if_changed(self) -> bool:
        """Switch to a newer published build, if there is one (built by this process or
        another). Searches already running finish on the generation they started with.
        Returns True if it switched."""
        if self._pinned:
            return False
        try:
            manifest = _checked_manifest(self.index_path, None)
        except QAError:
            return False
        if manifest.get("data") == self._gen.name:
            return False
        generation = _Generation.open(self.index_path, manifest)
        self._gen = generation  # one reference swap: readers see the old or the new, whole
        if generation.dense_error:
            self.mode, self.fallback_reason = "bm25", generation.dense_error
        elif self.mode == "bm25" and self.fallback_reason and "dense part" in self.fallback_reason:
            self.mode, self.fallback_reason = "hybrid", None
        return True

    def pinned(self) -> "Retriever":
        """A retriever that keeps reading the generation this one reads now, whatever reloads
        follow: what one answer uses from its first search to its last citation."""
        twin = copy.copy(self)  # the same embedder, settings and mode, one generation
        twin._pinned = True
        return twin

    # --- the model ----------------------------------------------------------------------
    @property
    def dense_ready(self) -> bool:
        """The dense part and the query model are loaded."""
        return self._gen.dense is not None and bool(getattr(self._embedder, "loaded", True))

    def warm_up(self) -> None:
        """Load the FAISS index and the query model now (seconds). Never raises: a failure
        switches searches to BM25 and records the reason in `fallback_reason`."""
        try:
            self._ensure_dense()
            self._embedder.encode(["warm up"])  # type: ignore[union-attr]
        except ModelUnavailableError:
            pass

    def _ensure_dense(self) -> Any:
        return self._ensure_dense_of(self._gen)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed texts with the index's model (L2-normalised float32 rows).

        Raises:
            ModelUnavailableError: the model cannot be loaded.
        """
        if self._embedder is None:
            raise ModelUnavailableError("no embedding model is configured")
        try:
            return self._embedder.encode(texts)
        except ModelUnavailableError as exc:
            self.mode, self.fallback_reason = "bm25", str(exc)
            raise

    # --- searching ----------------------------------------------------------------------
    def search(self, query: str, k: int = 5, *, since: DateLike = None, until: DateLike = None,
               mode: str = "auto") -> list[Hit]:
        """Find the k chunks that best answer `query`, best first.

        Args:
            query: the question or keywords (at most MAX_QUERY_CHARS are searched).
            k: how many hits (fewer when the index or the date range has fewer chunks).
            since, until: inclusive publication-date bounds (YYYY-MM-DD); articles without a
                date are left out when either is set.
            mode: "auto" (hybrid, or BM25 when the model is unavailable), "hybrid", "dense",
                or "bm25" (never loads the model).

        Returns:
            Hits; `Hit.via` says which retrievers found each ("dense", "bm25" or "both").

        Raises:
            QueryError: empty query, bad dates, unknown mode.
        """
        if mode not in MODES:
            raise QueryError(f"Unknown search mode {mode!r}; use one of {', '.join(MODES)}.")
        if not query or not query.strip():
            raise QueryError("The question is empty. Type a question, e.g. “Who is Katrina Yu?”")
        if k < 1:
            raise QueryError("k must be at least 1.")
        query = _capped(query)
        g = self._gen  # this search reads one generation from here to its last hit
        lo, hi = parse_date(since, name="since"), parse_date(until, name="until", end=True)
        mask = _date_mask(g, lo, hi)
        tokens = terms(query)
        want_dense = mode in ("auto", "hybrid", "dense")
        depth = max(100, k * 4)

        dense: _Ranked | None = None
        if want_dense:
            try:
                dense = self._dense_search(g, query, depth, mask)
                if mode == "auto":
                    self.mode, self.fallback_reason = "hybrid", None
            except ModelUnavailableError as exc:
                if mode == "dense":
                    raise QueryError(f"Dense search is unavailable: {exc}") from exc
                self.mode, self.fallback_reason = "bm25", str(exc)
        if mode == "dense":
            assert dense is not None
            return _hits(g, dense.rows[:k], dense.scores[:k], ["dense"] * min(k, len(dense.rows)))
        if not tokens and dense is None:
            raise QueryError(
                "The question has no searchable words (only stop-words or punctuation). "
                "Ask about a person, place or event, e.g. “What did Zhao Lijian say about NATO?”"
            )
        sparse_ranked = _bm25_search(g, tokens, depth, mask)
        if dense is None:
            n = min(k, len(sparse_ranked.rows))
            return _hits(g, sparse_ranked.rows[:n], sparse_ranked.scores[:n], ["bm25"] * n)
        return self._fuse(g, dense, sparse_ranked, k)

    def _dense_search(self, g: _Generation, query: str, depth: int,
                      mask: np.ndarray | None) -> _Ranked:
        index = self._ensure_dense_of(g)
        qv = self.encode([query])
        import faiss

        n = g.c.n_chunks
        if n == 0:
            return _Ranked(np.zeros(0, np.int64), np.zeros(0))
        params = None
        if mask is not None:
            allowed = g.c.chunk_ids[mask]
            if len(allowed) == 0:
                return _Ranked(np.zeros(0, np.int64), np.zeros(0))
            selector = faiss.IDSelectorBatch(allowed.astype(np.int64))
            if hasattr(index, "nprobe"):  # IVF wants its own parameter type
                params = faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)
            else:
                params = faiss.SearchParameters(sel=selector)
        kk = min(depth, n)
        scores, ids = index.search(qv.astype(np.float32), kk, params=params)
        keep = ids[0] >= 0
        pos = np.searchsorted(g.sorted_ids, ids[0][keep])
        return _Ranked(g.row_of_id[pos], scores[0][keep].astype(np.float64))

    def _ensure_dense_of(self, g: _Generation) -> Any:
        try:
            return g.load_dense()
        except ModelUnavailableError as exc:
            self.mode, self.fallback_reason = "bm25", str(exc)
            raise

    def _fuse(self, g: _Generation, dense: _Ranked, sparse_: _Ranked, k: int) -> list[Hit]:
        """Merge the dense and BM25 candidate lists.

        "convex" (default): each list's scores are min-max normalised to [0, 1] and combined as
        HYBRID_ALPHA * dense + (1 - HYBRID_ALPHA) * bm25 (a chunk missing from a list gets 0
        there). "rrf": reciprocal-rank fusion, sum over lists of 1 / (60 + rank).
        """
        fused: dict[int, float] = {}
        via: dict[int, set[str]] = {}
        weights = {"dense": HYBRID_ALPHA, "bm25": 1.0 - HYBRID_ALPHA}
        for name, ranked in (("dense", dense), ("bm25", sparse_)):
            rows = ranked.rows.tolist()
            if self.fusion == "rrf":
                contrib = [1.0 / (RRF_K + rank) for rank in range(1, len(rows) + 1)]
            else:
                scores = np.asarray(ranked.scores, dtype=np.float64)
                lo, hi = (float(scores.min()), float(scores.max())) if len(scores) else (0.0, 0.0)
                span = hi - lo
                norm = (scores - lo) / span if span > 0 else np.ones_like(scores)
                contrib = (weights[name] * norm).tolist()
            for row, c in zip(rows, contrib):
                fused[row] = fused.get(row, 0.0) + c
                via.setdefault(row, set()).add(name)
        best = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        labels = ["both" if len(via[r]) == 2 else next(iter(via[r])) for r in best]
        return _hits(g, np.asarray(best, dtype=np.int64),
                     np.asarray([fused[r] for r in best]), labels)

    # --- reading ------------------------------------------------------------------------
    def chunk(self, row: int) -> Chunk:
        """The chunk at a row of the chunk table."""
        return _chunk(self._gen, row)

    def article(self, article_id: str) -> Article:
        """One article with its full stored text. Raises KeyError if unknown."""
        g = self._gen
        row = g.article_row[article_id]
        m = g.c.articles[row]
        return Article(
            id=m["id"], title=m["title"], date=m.get("date"), source=m.get("source") or "",
            url=m.get("url"), path=m.get("path", ""), text=g.c.texts[row], hash=m["hash"],
        )

    def articles(self) -> list[Article]:
        """All articles, in corpus order."""
        pinned = self.pinned()
        return [pinned.article(a["id"]) for a in pinned._gen.c.articles]

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """An article's chunks, in order."""
        g = self._gen
        row = g.article_row[article_id]
        lo, hi = np.searchsorted(g.c.chunk_article, [row, row + 1])  # stored in article order
        return [_chunk(g, int(r)) for r in range(int(lo), int(hi))]

    def quotes(self, speaker: str | None = None) -> list[Quote]:
        """Attributed quotations, optionally of one speaker (case-insensitive; a surname
        or any part of the name matches: "Zhao", "zhao lijian"), in article order.

        Without a speaker this materialises every quote: at a million chunks that is ~1M
        objects; `quotes_in` and `quotes_by` read only the rows they need.
        """
        pinned = self.pinned()
        g = pinned._gen
        if not speaker:
            return _materialise(g, np.arange(len(g.quote_table())))
        want = speaker.casefold().split()
        names = [
            n for n in pinned.speakers()
            if all(w in n.casefold().split() or w == n.casefold() for w in want)
        ]
        return pinned.quotes_by(names)

    def speakers(self) -> list[str]:
        """Every name with at least one attributed quote."""
        g = self._gen
        if g.speakers is None:
            g.speakers = g.quote_table().quoted_speakers()
        return list(g.speakers)

    def quotes_by(self, names: Sequence[str], *, query: str | None = None,
                  limit: int | None = None, since: DateLike = None,
                  until: DateLike = None) -> list[Quote]:
        """The quotes whose speaker is exactly one of `names`, in article order.

        Args:
            names: exact speaker names (see `speakers`).
            query: with `limit`, keep the `limit` quotes whose chunks score best for this
                query under BM25 (a name quoted 50,000 times in a large corpus is otherwise
                50,000 candidates to read and score).
            limit: at most this many quotes.
            since, until: inclusive publication-date bounds, as in `search`.
        """
        g = self._gen
        rows = g.quote_table().rows_of_speakers(names)
        lo, hi = parse_date(since, name="since"), parse_date(until, name="until", end=True)
        mask = _date_mask(g, lo, hi)
        if mask is not None and len(rows):
            rows = rows[mask[_quote_chunk_rows(g, rows)]]
        if limit is not None and len(rows) > limit:
            tokens = terms(_capped(query or ""))
            if tokens:
                scores = g.weights.scores(tokens)[_quote_chunk_rows(g, rows)]
                best = np.argsort(-scores, kind="stable")[:limit]  # ties: earlier rows
                rows = np.sort(rows[best])
            else:
                rows = rows[:limit]
        return _materialise(g, rows)

    def quotes_in(self, article_id: str) -> list[Quote]:
        """One article's quotes, in text order (an empty list for an unknown id)."""
        g = self._gen
        row = g.article_row.get(article_id)
        if row is None:
            return []
        lo, hi = g.quote_table().rows_of_article(row)
        return _materialise(g, np.arange(lo, hi))

    def document_frequencies(self, words: Sequence[str]) -> tuple[list[int], int]:
        """How many chunks hold each BM25 term of `words`, and how many chunks there are:
        how rare a question's words are in this corpus (0: never seen)."""
        g = self._gen
        return [g.weights.document_frequency(w) for w in words], g.c.n_chunks

    @property
    def latest_date(self) -> str | None:
        """Publication date of the newest dated article: the corpus's "today", so a month
        without a year ("in December") means the last December the articles cover."""
        return self._gen.latest_date

    @property
    def stats(self) -> IndexStats:
        g = self._gen
        m = g.manifest
        return IndexStats(
            articles=len(g.c.articles), chunks=g.c.n_chunks,
            model=str(m["model"].get("name")), dim=int(m["model"].get("dim") or 0),
            built_at=str(m.get("built_at", "")), format_version=int(m["format_version"]),
            dense=g.dense_error is None,
        )


# --- reading one generation -----------------------------------------------------------------
def _capped(query: str) -> str:
    """The query cut to MAX_QUERY_CHARS at a word boundary (a pasted article is not a query,
    and BM25 and the encoder cost grows with it)."""
    if len(query) <= MAX_QUERY_CHARS:
        return query
    cut = query.rfind(" ", 0, MAX_QUERY_CHARS)
    return query[: cut if cut > 0 else MAX_QUERY_CHARS]


def _date_mask(g: _Generation, lo: str | None, hi: str | None) -> np.ndarray | None:
    if lo is None and hi is None:
        return None
    d = g.chunk_date
    mask = d > 0
    if lo:
        mask &= d >= _date_key(lo)
    if hi:
        mask &= d <= _date_key(hi)
    return mask


def _bm25_search(g: _Generation, tokens: Sequence[str], depth: int,
                 mask: np.ndarray | None) -> _Ranked:
    try:
        scores = g.weights.scores(tokens)
    except ValueError as exc:
        raise IndexCorruptError(
            f"The BM25 part of {g.index_path}/ is damaged ({exc}). "
            f"Run `qa index --full --index {g.index_path}` to rebuild it."
        ) from exc
    candidates = np.flatnonzero(scores > 0)
    if mask is not None:
        candidates = candidates[mask[candidates]]
    if len(candidates) > depth:
        part = np.argpartition(-scores[candidates], depth - 1)[:depth]
        candidates = candidates[part]
    # Stable tie-break on row keeps results deterministic.
    order = np.lexsort((candidates, -scores[candidates]))
    rows = candidates[order]
    return _Ranked(rows, scores[rows])


def _chunk(g: _Generation, row: int) -> Chunk:
    c = g.c
    arow = int(c.chunk_article[row])
    text = c.texts[arow]
    start, end = int(c.chunk_start[row]), int(c.chunk_end[row])
    spans = c.sent_spans[c.sent_ptr[row] : c.sent_ptr[row + 1]].tolist()
    return Chunk(
        id=int(c.chunk_ids[row]), article_id=c.articles[arow]["id"],
        ordinal=int(c.chunk_ordinal[row]), start=start, end=end, text=text[start:end],
        sentences=tuple((int(s), int(e)) for s, e in spans),
    )


def _hits(g: _Generation, rows: np.ndarray, scores: np.ndarray, via: list[str]) -> list[Hit]:
    hits = []
    for rank, (row, score, v) in enumerate(zip(rows.tolist(), scores.tolist(), via), start=1):
        chunk = _chunk(g, row)
        meta = g.c.articles[int(g.c.chunk_article[row])]
        hits.append(
            Hit(
                chunk_id=chunk.id, article_id=chunk.article_id, title=meta["title"],
                date=meta.get("date"), source=meta.get("source") or "", url=meta.get("url"),
                text=chunk.text, start=chunk.start, end=chunk.end, score=float(score),
                via=v, rank=rank, sentences=chunk.sentences,
            )
        )
    return hits


def _quote_chunk_rows(g: _Generation, rows: np.ndarray) -> np.ndarray:
    """The chunk row holding each quote's sentence (the last chunk of its article that
    starts at or before it), for quote-table rows `rows`."""
    table = g.quote_table()
    if g.chunk_keys is None:
        g.chunk_keys = (np.asarray(g.c.chunk_article, dtype=np.int64) << 32) \
            | np.asarray(g.c.chunk_start, dtype=np.int64)
    keys = (np.asarray(table.article[rows], dtype=np.int64) << 32) \
        | np.asarray(table.spans[rows, 2], dtype=np.int64)
    found = np.searchsorted(g.chunk_keys, keys, side="right") - 1
    return np.clip(found, 0, max(g.c.n_chunks - 1, 0))


def _materialise(g: _Generation, rows: np.ndarray) -> list[Quote]:
    table = g.quote_table()
    out: list[Quote] = []
    text_row, text = -1, ""
    for i in (int(r) for r in rows):  # rows are grouped by article: each text read once
        arow = int(table.article[i])
        if arow != text_row:
            text_row, text = arow, g.c.texts[arow]
        out.append(table.quote(i, g.c.articles[arow]["id"], text))
    return out


def _checked_manifest(index_dir: Path, model: str | None) -> dict[str, Any]:
    manifest = store.read_manifest(index_dir)
    store.check_model(index_dir, manifest, model)
    if manifest.get("tokenizer") != TOKENIZER:
        raise IndexMismatchError(
            f"The index in {index_dir}/ was built with other tokenizer settings. "
            f"Run `qa index --full --index {index_dir}` to rebuild it."
        )
    return manifest


def _without_dense(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with the dense files left out of the size check: a missing or damaged
    dense part means BM25-only search (with the reason shown), not an unusable index."""
    files = {k: v for k, v in (manifest.get("files") or {}).items() if k not in store.DENSE_FILES}
    return dict(manifest, files=files)


def _query_embedder(index_dir: Path, manifest: dict[str, Any]) -> Embedder | None:
    """The fast (torch-free) ONNX query embedder exported next to the index, when there is
    one; sentence-transformers otherwise (~6 s of imports before the first vector)."""
    from .embedding import fast_query_embedder

    quantize = manifest.get("embedding_backend") == "onnx-int8"
    return fast_query_embedder(index_dir, str(manifest["model"]["name"]), quantize=quantize)
