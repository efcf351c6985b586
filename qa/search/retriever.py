"""Search: BM25 and dense retrieval over a built index, fused, with date filters.

`Retriever.open` is cheap (no torch import): it opens the index (`qa.index.Index`: the
manifest, the chunk tables, the BM25 statistics and postings index). The embedding model loads on the first dense search, or earlier via
`warm_up()` (the chat calls it in a worker). If the model cannot load, or the index has no
dense part, searches answer from BM25 alone and say why (`Retriever.fallback_reason`, and
`Hit.via == "bm25"`).
"""

from __future__ import annotations

import copy
import datetime as _dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .. import config
from ..dates import FUTURE_SLACK, reference_day
from ..embed.chunk_input import embedding_input, spans_in_input
from ..embed.embedder import Embedder
from ..embed.pooling import SpanEmbedder
from ..errors import IndexMismatchError, ModelUnavailableError, QAError, QueryError
from ..index import Index, Manifest, check_model, read_manifest
from ..index.backend import LOCAL, DateKeys, date_keys, date_mask
from ..text import TOKENIZER, terms
from ..types import (
    ANY_DATE,
    SEARCH_MODES,
    Article,
    Chunk,
    DateRange,
    Fallback,
    Hit,
    IndexStats,
    JSONObject,
    Mode,
    Phrase,
    Quote,
    SearchMode,
    Span,
)
from .searcher import search_mode

RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al., 2009)
# Convex fusion: dense weight after min-max normalising each list. 0.5 was picked on SciFact's
# train split (train and test both peak at 0.45-0.55); test nDCG@10 0.724 vs 0.712 for RRF
# (docs/benchmarks.md, "Fusion study").
HYBRID_ALPHA = 0.5
FUSIONS = ("convex", "rrf")
# Queries longer than this are cut at a word boundary (the same bound as a question's).
MAX_QUERY_CHARS = 1000
MODES = SEARCH_MODES


@dataclass(frozen=True)
class _Ranked:
    rows: np.ndarray  # chunk rows, best first
    scores: np.ndarray
    query_vector: np.ndarray | None = None  # the dense list's query, as encoded


@dataclass(frozen=True)
class Found:
    """A search's hits, and the query's vector when the search embedded it (None: BM25
    only), so that whoever reads the hits need not embed the query again."""

    hits: list[Hit]
    query_vector: np.ndarray | None


class Retriever:
    """Searches one index folder. Thread-safe: searches may run in several threads while
    another calls `reload_if_changed`; each search reads one generation (one `Index`)
    throughout. Reading articles, chunks and quotes is the Index's: the methods here that
    do it delegate to the generation this retriever reads now."""

    def __init__(self, index: Index, embedder: Embedder | None, *,
                 pinned: bool = False) -> None:
        self._index = index
        self._embedder = embedder
        self._pinned = pinned
        self.mode: Mode = "hybrid"
        self.fallback: Fallback | None = None
        self.fusion = "convex"  # or "rrf"
        # The dense share of convex fusion: the `fusion_weight` setting, else the fitted one.
        self.fusion_weight = config.fusion_weight(HYBRID_ALPHA)
        if index.dense_error:
            self._fall_back("dense", index.dense_error)
        self._dates_of: tuple[str, np.ndarray] | None = None  # (generation, its dates)

    @property
    def index(self) -> Index:
        """The generation this retriever reads now (replaced whole by a reload)."""
        return self._index

    @property
    def index_path(self) -> Path:
        return self._index.path

    @property
    def manifest(self) -> Manifest:
        return self._index.manifest

    @property
    def generation(self) -> str:
        """The name of the generation this retriever reads now (changes on reload)."""
        return self._index.generation

    # --- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, index: str | os.PathLike[str] | None = None, *,
             embedder: Embedder | None = None, model: str | None = None) -> Retriever:
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
        opened = Index.from_manifest(index_dir, manifest)
        if embedder is None:
            from ..embed.embedder import SentenceTransformerEmbedder

            embedder = _query_embedder(index_dir, manifest) or SentenceTransformerEmbedder(
                manifest.model.name
            )
        return cls(opened, embedder)

    def reload_if_changed(self) -> bool:
        """Switch to a newer published build, if there is one (built by this process or
        another). Searches already running finish on the generation they started with.
        Segments this one already reads are shared, not read again. Returns True if it
        switched."""
        if self._pinned:
            return False
        try:
            manifest = _checked_manifest(self.index_path, None)
        except QAError:
            return False
        if manifest.data == self._index.generation:
            return False
        fresh = Index.from_manifest(self.index_path, manifest, reuse=self._index)
        self._index = fresh  # one reference swap: readers see the old or the new, whole
        if fresh.dense_error:
            self._fall_back("dense", fresh.dense_error)
        elif self.fallback is not None and self.fallback.code == "dense":
            self._recover()  # the new build has a usable dense part
        return True

    def pinned(self) -> Retriever:
        """A retriever that keeps reading the generation this one reads now, whatever reloads
        follow: what one answer uses from its first search to its last citation."""
        twin = copy.copy(self)  # the same embedder, settings and mode, one generation
        twin._pinned = True
        return twin

    @property
    def fallback_reason(self) -> str | None:
        """Why searches answer from BM25 alone, in words; None while they are hybrid."""
        return self.fallback.message if self.fallback is not None else None

    def _fall_back(self, code: Literal["model", "dense"], message: str) -> None:
        self.mode, self.fallback = "bm25", Fallback(code, message)

    def _recover(self) -> None:
        self.mode, self.fallback = "hybrid", None

    # --- the model ----------------------------------------------------------------------
    @property
    def dense_ready(self) -> bool:
        """The dense part and the query model are loaded."""
        return self._index.dense_loaded and bool(getattr(self._embedder, "loaded", True))

    def warm_up(self) -> None:
        """Load the FAISS indexes and the query model now (seconds). Never raises: a failure
        switches searches to BM25 and records the reason in `fallback_reason`."""
        try:
            self._ensure_dense(self._index)
            self.encode(["warm up"])
        except ModelUnavailableError:
            pass

    def _ensure_dense(self, index: Index) -> None:
        if index.manifest.store.backend != LOCAL:
            return  # the store holds the vectors: the folder's FAISS files are not read
        try:
            index.load_dense()
        except ModelUnavailableError as exc:
            self._fall_back("model", str(exc))
            raise

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
            self._fall_back("model", str(exc))
            raise

    def chunk_sentence_vectors(self, title: str, chunk_text: str, chunk_start: int,
                               spans: Sequence[Span]) -> np.ndarray:
        """Vectors of sentences of one chunk (article offsets `spans`) as the build makes them:
        pooled from the chunk's pass (qa.embed.pooling), or, where the pass cannot reach a
        sentence or the model cannot pool, the sentence's own vector.

        Raises:
            ModelUnavailableError: the model cannot be loaded.
        """
        if self._embedder is None:
            raise ModelUnavailableError("no embedding model is configured")
        try:
            pooled = np.zeros((len(spans), 0), np.float32)
            if isinstance(self._embedder, SpanEmbedder):
                _, pooled = self._embedder.encode_spans(
                    [embedding_input(title, chunk_text)],
                    [spans_in_input(title, chunk_start, spans)])
            missing = [i for i in range(len(spans)) if not pooled.shape[1] or not pooled[i].any()]
            if missing:
                alone = self._embedder.encode(
                    [chunk_text[spans[i][0] - chunk_start:spans[i][1] - chunk_start]
                     for i in missing])
                if not pooled.shape[1]:
                    pooled = np.zeros((len(spans), alone.shape[1]), np.float32)
                pooled[missing] = alone
            return pooled
        except ModelUnavailableError as exc:
            self._fall_back("model", str(exc))
            raise

    # --- searching ----------------------------------------------------------------------
    def search(self, query: str, k: int = 5, *, dates: DateRange = ANY_DATE,
               mode: SearchMode = "auto") -> list[Hit]:
        """Find the k chunks that best answer `query`, best first.

        Args:
            query: the question or keywords (at most MAX_QUERY_CHARS are searched).
            k: how many hits (fewer when the index or the date range has fewer chunks).
            dates: the publication dates to search (`qa.dates.read_range` reads them from
                what a user wrote; `DateRange(since="2022-01-01")` for ISO days); articles
                without a date are left out when it is bounded.
            mode: "auto" (hybrid, or BM25 when the model is unavailable), "hybrid", "dense",
                or "bm25" (never loads the model).

        Returns:
            Hits; `Hit.via` says which retrievers found each ("dense", "bm25" or "both").
            Equal scores are ordered by chunk id, so an index in several segments answers
            exactly as one built in one go.

        Raises:
            QueryError: empty query, unknown mode.
        """
        return self.find(query, k, dates=dates, mode=mode).hits

    def find(self, query: str, k: int = 5, *, dates: DateRange = ANY_DATE,
             mode: SearchMode = "auto") -> Found:
        """`search`, with the query's vector (`Found.query_vector`: the row `encode` gives
        for the query as searched, None when the search was BM25 only)."""
        mode = search_mode(mode)  # a caller may pass any text (the CLI, a JSON body)
        if not query or not query.strip():
            raise QueryError("The question is empty. Type a question, e.g. “Who won the election?”")
        if k < 1:
            raise QueryError("k must be at least 1.")
        query = _capped(query)
        ix = self._index  # this search reads one generation from here to its last hit
        keys = date_keys(dates.since, dates.until)
        tokens = terms(query)
        want_dense = mode in ("auto", "hybrid", "dense")
        depth = max(100, k * 4)

        dense: _Ranked | None = None
        if want_dense:
            try:
                dense = self._dense_search(ix, query, depth, keys)
                if mode == "auto":
                    self._recover()
            except ModelUnavailableError as exc:
                if mode == "dense":
                    raise QueryError(f"Dense search is unavailable: {exc}") from exc
                self._fall_back("model", str(exc))
        vector = dense.query_vector if dense is not None else None
        if mode == "dense":
            assert dense is not None
            return Found(_hits(ix, dense.rows[:k], dense.scores[:k],
                               ["dense"] * min(k, len(dense.rows))), vector)
        if not tokens and dense is None:
            raise QueryError(
                "The question has no searchable words (only stop-words or punctuation). "
                "Ask about a person, place or event, e.g. “What did the mayor say about the strike?”"
            )
        sparse_ranked = _lexical_search(ix, query, tokens, depth, keys)
        if dense is None:
            n = min(k, len(sparse_ranked.rows))
            return Found(_hits(ix, sparse_ranked.rows[:n], sparse_ranked.scores[:n],
                               ["bm25"] * n), None)
        return Found(self._fuse(ix, dense, sparse_ranked, k), vector)

    def _dense_search(self, ix: Index, query: str, depth: int,
                      dates: DateKeys | None) -> _Ranked:
        self._ensure_dense(ix)
        qv = self.encode([query])
        if ix.n_chunks == 0:
            return _Ranked(np.zeros(0, np.int64), np.zeros(0), qv[0])
        rows, scores = ix.ranked_rows(ix.store.dense_search(qv, min(depth, ix.n_chunks), dates))
        return _Ranked(rows, scores, qv[0])

    def _fuse(self, ix: Index, dense: _Ranked, sparse_: _Ranked, k: int) -> list[Hit]:
        """Merge the dense and BM25 candidate lists.

        "convex" (default): each list's scores are min-max normalised to [0, 1] and combined as
        w * dense + (1 - w) * bm25, w = `fusion_weight` (a chunk missing from a list gets 0
        there). "rrf": reciprocal-rank fusion, sum over lists of 1 / (60 + rank).
        """
        fused: dict[int, float] = {}
        via: dict[int, set[str]] = {}
        weights = {"dense": self.fusion_weight, "bm25": 1.0 - self.fusion_weight}
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
        ids = ix.chunk_ids
        best = sorted(fused, key=lambda r: (-fused[r], int(ids[r])))[:k]
        labels = ["both" if len(via[r]) == 2 else next(iter(via[r])) for r in best]
        return _hits(ix, np.asarray(best, dtype=np.int64),
                     np.asarray([fused[r] for r in best]), labels)

    # --- reading: the Index's, for the generation read now ----------------------------------
    def chunk(self, row: int) -> Chunk:
        """The chunk at a row of the index."""
        return self._index.chunk(row)

    def article(self, article_id: str) -> Article:
        """One article with its full stored text. Raises KeyError if unknown."""
        return self._index.article(article_id)

    def articles(self) -> list[Article]:
        """All articles, in corpus order."""
        return self._index.articles()

    def article_records(self, limit: int | None = None) -> list[JSONObject]:
        """The articles' records (id, title, date, source, url), in corpus order, at most
        `limit`, without their texts: a listing that costs nothing at a million articles."""
        return self._index.article_records(limit)

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """An article's chunks, in order."""
        return self._index.chunks_of(article_id)

    def quotes(self, speaker: str | None = None) -> list[Quote]:
        """Attributed quotations, optionally of one speaker (case-insensitive; a surname
        or any part of the name matches: "Okafor", "ada okafor"), in corpus order.

        Without a speaker this materialises every quote: at a million chunks that is ~1M
        objects; `quotes_in` and `quotes_by` read only the rows they need.
        """
        ix = self._index
        if not speaker:
            return ix.materialise(ix.quote_rows())
        want = speaker.casefold().split()
        names = [
            n for n in ix.speakers()
            if all(w in n.casefold().split() or w == n.casefold() for w in want)
        ]
        return self.pinned().quotes_by(names)

    def speakers(self) -> list[str]:
        """Every name with at least one attributed quote, sorted."""
        return self._index.speakers()

    def quotes_by(self, names: Sequence[str], *, query: str | None = None,
                  limit: int | None = None, dates: DateRange = ANY_DATE) -> list[Quote]:
        """The quotes whose speaker is exactly one of `names`, in corpus order.

        Args:
            names: exact speaker names (see `speakers`).
            query: with `limit`, keep the `limit` quotes whose chunks score best for this
                query under BM25 (a name quoted 50,000 times in a large corpus is otherwise
                50,000 candidates to read and score).
            limit: at most this many quotes.
            dates: the publication dates, as in `search`.
        """
        ix = self._index
        rows = ix.quote_rows(list(names))
        mask = date_mask(ix.chunk_date, date_keys(dates.since, dates.until))
        if mask is not None and len(rows):
            rows = rows.take(mask[ix.quote_chunk_rows(rows)])
        if limit is not None and len(rows) > limit:
            tokens = terms(_capped(query or ""))
            if tokens:
                scores = ix.bm25_scores(tokens)[ix.quote_chunk_rows(rows)]
                best = np.argsort(-scores, kind="stable")[:limit]  # ties: earlier quotes
                rows = rows.take(np.sort(best))
            else:
                rows = rows.take(np.arange(limit))
        return ix.materialise(rows)

    def phrases_of(self, article_id: str) -> list[Phrase]:
        """What the NLP pipeline found in one article at index time (entities, noun phrases,
        sentences that are not answers), in text order; empty for an unknown id."""
        return self._index.phrases_of(article_id)

    def sentence_vectors(self, chunk_id: int) -> tuple[tuple[tuple[int, int], ...],
                                                      np.ndarray] | None:
        """A chunk's sentence spans and their vectors, embedded at index time
        (`Index.sentence_vectors`); None for a chunk not in the generation read now."""
        return self._index.sentence_vectors(chunk_id)

    def quotes_in(self, article_id: str) -> list[Quote]:
        """One article's quotes, in text order (an empty list for an unknown id)."""
        ix = self._index
        return ix.materialise(ix.quotes_of_article(article_id))

    def document_frequencies(self, words: Sequence[str]) -> tuple[list[int], int]:
        """How many chunks hold each BM25 term of `words`, and how many chunks there are:
        how rare a question's words are in this corpus (0: never seen)."""
        ix = self._index
        return [ix.document_frequency(w) for w in words], ix.n_chunks

    @property
    def latest_date(self) -> str | None:
        """Publication date of the newest dated article that is not in the future: what
        relative dates count from with `relative_dates = "newest-article"`. An article dated
        past tomorrow (9999-12-31, a typo) is left out, so it cannot become the corpus's today."""
        days = self._dates()
        tomorrow = _key(_dt.date.today() + FUTURE_SLACK)
        at = int(np.searchsorted(days, tomorrow, side="right"))
        return _iso(int(days[at - 1])) if at else None

    def reference_day(self) -> _dt.date:
        """The day relative dates ("last week", "yesterday", "March") count from: today, or
        the newest article's date under the `relative_dates` setting (`qa.dates.reference_day`).

        Raises:
            ConfigError: the setting is neither "today" nor "newest-article".
        """
        counting = config.relative_dates()
        return reference_day(self.latest_date if counting == "newest-article" else None, counting)

    def dates_near(self, dates: DateRange) -> tuple[str | None, str | None]:
        """The publication dates nearest a range that holds no article: the newest before it
        and the oldest after it (None where there is none), for "no article in that range"."""
        days = self._dates()
        before = after = None
        if dates.since:
            at = int(np.searchsorted(days, _key(dates.since)))
            before = _iso(int(days[at - 1])) if at else None
        if dates.until:
            at = int(np.searchsorted(days, _key(dates.until), side="right"))
            after = _iso(int(days[at])) if at < len(days) else None
        return before, after

    def holds_articles(self, dates: DateRange) -> bool:
        """Whether any dated article was published within `dates` (inclusive)."""
        days = self._dates()
        lo = int(np.searchsorted(days, _key(dates.since))) if dates.since else 0
        hi = int(np.searchsorted(days, _key(dates.until), side="right")) if dates.until \
            else len(days)
        return hi > lo

    def _dates(self) -> np.ndarray:
        """The distinct publication dates (YYYYMMDD keys) of the live chunks, sorted, computed
        once per generation."""
        ix = self._index
        cached = self._dates_of
        if cached is None or cached[0] != ix.generation:
            keys = ix.chunk_date if ix.live is None else ix.chunk_date[ix.live]
            cached = self._dates_of = (ix.generation, np.unique(keys[keys > 0]))
        return cached[1]

    @property
    def stats(self) -> IndexStats:
        ix = self._index
        m = ix.manifest
        return IndexStats(
            articles=ix.n_articles, chunks=ix.n_chunks,
            model=m.model.name, dim=m.model.dim or 0,
            built_at=m.built_at, format_version=m.format_version,
            dense=ix.dense_error is None, store=m.store.backend,
        )


# --- one generation's rows ------------------------------------------------------------------
def _key(day: _dt.date | str) -> int:
    """A day as the YYYYMMDD key the index stores."""
    return int(str(day)[:10].replace("-", ""))


def _iso(key: int) -> str:
    return f"{key // 10000:04d}-{key // 100 % 100:02d}-{key % 100:02d}"


def _capped(query: str) -> str:
    """The query cut to MAX_QUERY_CHARS at a word boundary (a pasted article is not a query,
    and BM25 and the encoder cost grows with it)."""
    if len(query) <= MAX_QUERY_CHARS:
        return query
    cut = query.rfind(" ", 0, MAX_QUERY_CHARS)
    return query[: cut if cut > 0 else MAX_QUERY_CHARS]


def _lexical_search(ix: Index, query: str, tokens: Sequence[str], depth: int,
                    dates: DateKeys | None) -> _Ranked:
    if not tokens:  # nothing qa's tokenizer can search (stop-words only): no lexical list
        return _Ranked(np.zeros(0, np.int64), np.zeros(0))
    rows, scores = ix.ranked_rows(ix.store.lexical_search(query, tokens, depth, dates))
    return _Ranked(rows, scores)


def _hits(ix: Index, rows: np.ndarray, scores: np.ndarray, via: list[str]) -> list[Hit]:
    hits = []
    for rank, (row, score, v) in enumerate(zip(rows.tolist(), scores.tolist(), via), start=1):
        chunk = ix.chunk(row)
        meta = ix.article_record(row)
        hits.append(
            Hit(
                chunk_id=chunk.id, article_id=chunk.article_id, title=meta["title"],
                date=meta.get("date"), source=meta.get("source") or "", url=meta.get("url"),
                text=chunk.text, start=chunk.start, end=chunk.end, score=float(score),
                via=v, rank=rank, sentences=chunk.sentences,
            )
        )
    return hits


def _checked_manifest(index_dir: Path, model: str | None) -> Manifest:
    manifest = read_manifest(index_dir)
    check_model(index_dir, manifest, model)
    if manifest.tokenizer != TOKENIZER:
        raise IndexMismatchError(
            f"The index in {index_dir}/ was built with other tokenizer settings. "
            f"Run `qa index --full --index {index_dir}` to rebuild it."
        )
    return manifest


def _query_embedder(index_dir: Path, manifest: Manifest) -> Embedder | None:
    """The fast (torch-free) ONNX query embedder exported next to the index, when there is
    one; sentence-transformers otherwise (~6 s of imports before the first vector)."""
    from ..index.query_model import fast_query_embedder

    quantize = manifest.embedding_backend == "onnx-int8"
    return fast_query_embedder(index_dir, manifest.model.name, quantize=quantize)
