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

A build writes one for new and changed articles; a merge writes one from several. Once a
manifest names it, it is never modified: deletions live in the generation folder.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError
from . import bm25, chunks, dense, phrases, quotes, texts
from .bm25 import Postings
from .chunks import ChunkTable
from .ownership import mark_generation
from .phrases import PhraseTable
from .quotes import QuoteTable
from .files import READ_ERRORS
from .texts import ArticleTable, TextStore, corrupt

PART_FILES = (*texts.FILES, *chunks.FILES, *bm25.POSTINGS_FILES, *quotes.FILES, *phrases.FILES)
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
    vectors: np.ndarray | None  # float32 (chunks x dim); None: the index has no dense part
    dense_index: Any = None  # an IVF index over `vectors` (None: exact search, made on load)
    dense_layout: dict[str, Any] | None = None

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
        if self.vectors is not None:
            dense.save_dense(folder, self.vectors, self.dense_index)


class Segment:
    """A published segment, as readers and builds see it: never changed once opened, and
    shared by every generation that names it (a reload reopens only new segments).

    The article records are read on open; the other parts on first use, once, under a lock.
    """

    def __init__(self, index_dir: Path, entry: dict[str, Any], dim: Any) -> None:
        self.name = str(entry["name"])
        self.folder = index_dir / self.name
        self.entry = entry
        self.n_articles = int(entry["articles"])
        self.n_chunks = int(entry["chunks"])
        self.layout: dict[str, Any] = entry.get("dense") or {}
        self._dim = dim
        self._lock = threading.RLock()  # dense_index reads the chunk ids under it
        self._chunks: ChunkTable | None = None
        self._texts: TextStore | None = None
        self._postings: Postings | None = None
        self._quotes: QuoteTable | None = None
        self._phrases: PhraseTable | None = None
        self._dense: Any = None
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
    def _once(self, attr: str, load: Any) -> Any:
        value = getattr(self, attr)
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

    def dense_index(self) -> Any:
        """The FAISS index (loaded on first use). Raises what loading raised."""
        if self._dense is None:
            with self._lock:
                if self._dense is None:
                    self._dense = dense.load_dense_index(
                        self.folder, self.layout, np.asarray(self.chunks.ids), self._dim)
        return self._dense

    def vectors(self) -> Any:
        """The chunk vectors, read by range."""
        return dense.read_vectors(self.folder)

    def text(self, row: int) -> str:
        return self.texts[row]
