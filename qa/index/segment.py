"""A segment: an immutable folder holding every part for a set of articles.

    seg-<stamp>-<id>/
      .qa-generation   the index's id (qa deletes only folders that carry it)
      articles.json, texts.bin, text_offsets.npy            texts   (qa.index.texts)
      chunk_*.npy, sent_spans.npy, sent_ptr.npy               chunks  (qa.index.chunks)
      bm25_terms.json, bm25_indptr.npy, bm25_docs.npy,
      bm25_pair.npy, bm25_pairs.npy, bm25_doclen.npy          bm25    (qa.index.bm25)
      vectors.npy [+ dense.faiss]                             dense   (qa.index.dense)
      quote_*.npy, quote_names.json                           quotes  (qa.index.quotes)
      phrase_*.npy                                            phrases (qa.index.phrases)
      sent_vectors.npy                                        sentences (qa.index.sentences)

A build writes one for new and changed articles; a merge writes one from several. Once a
manifest names it, it is never modified: deletions live in the generation folder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from ..errors import IndexCorruptError, ModelUnavailableError
from ..types import JSONObject
from . import bm25, chunks, dense, phrases, quotes, sentences, texts
from .backend import date_key
from .bm25 import Postings
from .chunks import ChunkTable
from .files import READ_ERRORS
from .manifest import SegmentEntry
from .ownership import mark_generation
from .phrases import PhraseTable
from .quotes import QuoteTable
from .sentences import SentenceVectors
from .texts import ArticleTable, TextStore, corrupt

if TYPE_CHECKING:  # FAISS loads on first dense use
    import faiss

    from .dense import ExactIndex
    from .diskarray import NpyRanges

_Part = TypeVar("_Part")

PART_FILES = (*texts.FILES, *chunks.FILES, *bm25.POSTINGS_FILES, *quotes.FILES, *phrases.FILES,
              *sentences.FILES)
DENSE_FILES = dense.FILES


@dataclass
class SegmentData:
    """A segment being written, all in memory: what a build or a merge assembled."""

    articles: ArticleTable
    texts: TextStore
    chunks: ChunkTable
    postings: Postings
    quotes: QuoteTable
    phrases: PhraseTable
    sentence_vectors: SentenceVectors
    vectors: np.ndarray | None  # float32 (chunks x dim); None: the index has no dense part
    # An IVF index over `vectors` (None: exact search, made on load).
    dense_index: faiss.Index | None = None
    dense_layout: JSONObject | None = None

    @property
    def n_chunks(self) -> int:
        return len(self.chunks)

    def save(self, folder: Path, owner: str) -> None:
        """Write every part into `folder` (a new temporary folder of the index)."""
        mark_generation(folder, owner)
        self.articles.save(folder)
        self.texts.save(folder)
        self.chunks.save(folder)
        self.postings.save(folder)
        self.quotes.save(folder)
        self.phrases.save(folder)
        self.sentence_vectors.save(folder)
        if self.vectors is not None:
            dense.save_dense(folder, self.vectors, self.dense_index)


class Segment:
    """A published segment, as readers and builds see it: never changed once opened, and
    shared by every generation that names it (a reload reopens only new segments).

    The article records are read on open; the other parts on first use, once, under a lock.
    """

    def __init__(self, index_dir: Path, entry: SegmentEntry, dim: int | None) -> None:
        self.name = entry.name
        self.folder = index_dir / self.name
        self.entry = entry
        self.n_articles = entry.articles
        self.n_chunks = entry.chunks
        self.layout: JSONObject = entry.dense
        self.dim = dim  # the model's vector width, as the manifest records it
        self._lock = threading.RLock()  # dense_index reads the chunk ids under it
        self._chunks: ChunkTable | None = None
        self._texts: TextStore | None = None
        self._postings: Postings | None = None
        self._quotes: QuoteTable | None = None
        self._phrases: PhraseTable | None = None
        self._sentence_vectors: SentenceVectors | None = None
        self._dense: faiss.Index | ExactIndex | None = None
        # Derived from parts that never change: computed once, on first use.
        self._article_dates: np.ndarray | None = None
        self._chunk_dates: np.ndarray | None = None
        self._chunk_keys: np.ndarray | None = None
        self._id_order: tuple[np.ndarray, np.ndarray] | None = None
        try:
            self.articles = ArticleTable.load(self.folder)
        except READ_ERRORS as exc:
            raise corrupt(self.folder, exc) from exc
        if len(self.articles) != self.n_articles:
            raise IndexCorruptError(
                f"The index data in {self.folder} is inconsistent (it holds "
                f"{len(self.articles)} articles, the manifest says {self.n_articles}). "
                "Run `qa index --full` to rebuild the index.")
        self.row_of = dict(zip(self.articles.ids, range(self.n_articles)))
        if len(self.row_of) != len(self.articles):
            raise IndexCorruptError(f"The index data in {self.folder} lists an article twice. "
                                    "Run `qa index --full` to rebuild the index.")

    # --- parts, read on first use ---------------------------------------------------------
    def _once(self, attr: str, load: Callable[[], _Part]) -> _Part:
        value: _Part | None = getattr(self, attr)
        if value is None:
            with self._lock:
                value = getattr(self, attr)
                if value is None:
                    try:
                        value = load()
                    except IndexCorruptError:
                        raise
                    except READ_ERRORS as exc:
                        raise corrupt(self.folder, exc) from exc
                    setattr(self, attr, value)
        return value

    @property
    def chunks(self) -> ChunkTable:
        def load() -> ChunkTable:
            table = ChunkTable.load(self.folder, self.n_articles)
            if len(table) != self.n_chunks:
                raise ValueError("the chunk table disagrees with the manifest")
            return table

        return self._once("_chunks", load)

    @property
    def texts(self) -> TextStore:
        def load() -> TextStore:
            store = TextStore.load(self.folder)
            if len(store) != self.n_articles:
                raise ValueError("the texts disagree with the articles")
            return store

        return self._once("_texts", load)

    @property
    def postings(self) -> Postings:
        return self._once("_postings", lambda: Postings.load(self.folder, self.n_chunks))

    @property
    def quotes(self) -> QuoteTable:
        return self._once("_quotes", lambda: QuoteTable.load(self.folder, self.n_articles))

    @property
    def phrases(self) -> PhraseTable:
        return self._once("_phrases", lambda: PhraseTable.load(self.folder, self.n_articles))

    @property
    def sentence_vectors(self) -> SentenceVectors:
        return self._once("_sentence_vectors", lambda: SentenceVectors.load(
            self.folder, int(self.chunks.sent_ptr[-1])))

    def dense_index(self) -> faiss.Index | ExactIndex:
        """The FAISS index (loaded on first use). Raises what loading raised."""
        if self._dense is None:
            with self._lock:
                if self._dense is None:
                    self._dense = dense.load_dense_index(
                        self.folder, self.layout, np.asarray(self.chunks.ids), self.dim)
        return self._dense

    def vectors(self) -> NpyRanges:
        """The chunk vectors, read by range."""
        return dense.read_vectors(self.folder)

    @property
    def dense_loaded(self) -> bool:
        return self._dense is not None

    def text(self, row: int) -> str:
        return self.texts[row]

    # --- derived from the parts, once ---------------------------------------------------------
    def article_dates(self) -> np.ndarray:
        """YYYYMMDD of each article (0: no date)."""
        if self._article_dates is None:
            self._article_dates = np.asarray([date_key(d) for d in self.articles.dates],
                                             dtype=np.int64)
        return self._article_dates

    def chunk_dates(self) -> np.ndarray:
        """YYYYMMDD of each chunk's article (0: no date)."""
        if self._chunk_dates is None:
            article = np.asarray(self.chunks.article)
            self._chunk_dates = self.article_dates()[article] if len(article) \
                else np.zeros(0, np.int64)
        return self._chunk_dates

    def chunk_keys(self) -> np.ndarray:
        """(article row << 32) | chunk start, one per chunk: sorted, since chunks are stored
        in article order and by start within an article."""
        if self._chunk_keys is None:
            c = self.chunks
            self._chunk_keys = (np.asarray(c.article, dtype=np.int64) << 32) \
                | np.asarray(c.start, dtype=np.int64)
        return self._chunk_keys

    def rows_of_ids(self, ids: np.ndarray) -> np.ndarray:
        """Chunk rows of chunk ids found by the segment's FAISS index.

        Raises:
            ModelUnavailableError: the dense part holds ids the chunks do not.
        """
        if self._id_order is None:
            all_ids = np.asarray(self.chunks.ids)
            order = np.argsort(all_ids, kind="stable")
            self._id_order = (order, all_ids[order])
        order, sorted_ids = self._id_order
        pos = np.clip(np.searchsorted(sorted_ids, ids), 0, max(len(sorted_ids) - 1, 0))
        if len(sorted_ids) == 0 or not np.array_equal(sorted_ids[pos], ids):
            raise ModelUnavailableError(
                "the dense part holds chunk ids the index does not; run `qa index --full` to "
                "rebuild it")
        return np.asarray(order[pos])
