"""The search store of an index: the seam between ranking chunks and everything else.

An index folder always holds what answers read (article texts, chunks and their sentence
spans, quotes). The *store* is what ranks chunks for a query: a dense top-k and a lexical
top-k, each with an optional date range. Two stores implement `StoreBackend`:

- `LocalBackend`: the index folder's own FAISS vectors and BM25Okapi postings (the default;
  no server). Its upserts and deletes are the segments and deletion lists `IndexWriter`
  commits, so its write methods have nothing left to do.
- `MilvusBackend` (qa.index.milvus): the same chunks in a Milvus collection (a cluster, or a
  milvus-lite file), kept in step by qa.index.store_sync.

Scores are raw and higher-is-better per list (fusion min-max normalises each list, so a
store's BM25 need not equal rank-bm25's). Results name chunk ids; `Index.ranked_rows` turns
them into rows of the generation being read and drops ids that are not live there, so a
reader pinned to one generation never mixes in another's chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from .bm25 import top_candidates

if TYPE_CHECKING:
    from .index import Index

LOCAL = "local"
MILVUS = "milvus"
BACKENDS = (LOCAL, MILVUS)


@dataclass(frozen=True)
class DateRange:
    """Inclusive publication-date bounds as YYYYMMDD keys (0: open). Chunks of undated
    articles are outside every range."""

    lo: int = 0
    hi: int = 0


@dataclass(frozen=True)
class StoreChunks:
    """A batch of chunks for a store, one entry per chunk in every field."""

    ids: np.ndarray  # int64 chunk ids (content-derived: a repeated upsert is idempotent)
    vectors: np.ndarray  # float32 (n, dim), L2-normalised
    texts: list[str]  # what lexical search indexes: the title, a newline, the chunk text
    articles: list[str]  # article ids
    dates: np.ndarray  # int64 YYYYMMDD of the article (0: undated)
    starts: np.ndarray  # int64 character offsets of the chunk in its article's text
    ends: np.ndarray

    def __len__(self) -> int:
        return int(len(self.ids))


@dataclass(frozen=True)
class Ranked:
    """A store's answer: chunk ids best first, their scores (higher is better) and, from a
    store that reads the generation itself (LocalBackend), their rows."""

    ids: np.ndarray
    scores: np.ndarray
    rows: np.ndarray | None = None


@runtime_checkable
class StoreBackend(Protocol):
    """What a search store does. Every method may raise StoreUnavailableError (a store
    behind a network that cannot be reached), with the command or address to check."""

    name: str

    def upsert(self, chunks: StoreChunks) -> None:
        """Insert or replace chunks by id; returns once the store has acknowledged them."""

    def delete(self, ids: np.ndarray) -> None:
        """Remove chunks by id (unknown ids are ignored)."""

    def dense_search(self, query: np.ndarray, depth: int,
                     dates: DateRange | None = None) -> Ranked:
        """The `depth` chunks nearest to `query` (1 x dim, L2-normalised), by inner product."""

    def lexical_search(self, text: str, terms: Sequence[str], depth: int,
                       dates: DateRange | None = None) -> Ranked:
        """The `depth` chunks that score best under BM25 for a query (its text, and the
        terms qa's own tokenizer finds in it: each store reads what its BM25 needs)."""

    def flush(self) -> None:
        """Make everything acknowledged so far durable."""

    def close(self) -> None:
        """Release the connection (a store shared by several readers may keep it)."""


def date_key(iso: str | None) -> int:
    """An ISO date as the YYYYMMDD key stores filter on (0: no date)."""
    return int(iso.replace("-", "")) if iso else 0


def date_range(lo: str | None, hi: str | None) -> DateRange | None:
    """Bounds as ISO dates (either may be None) -> a DateRange, None when both are."""
    if lo is None and hi is None:
        return None
    return DateRange(date_key(lo), date_key(hi))


def date_mask(index: "Index", dates: DateRange | None) -> np.ndarray | None:
    """The chunk rows of a generation inside `dates` (None: every row)."""
    if dates is None:
        return None
    d = index.chunk_date
    mask = d > 0
    if dates.lo:
        mask &= d >= dates.lo
    if dates.hi:
        mask &= d <= dates.hi
    return mask


class LocalBackend:
    """The index folder's own FAISS and BM25Okapi parts, for one generation (`Index`)."""

    name = LOCAL

    def __init__(self, index: "Index") -> None:
        self._index = index

    # The local store is the segments: IndexWriter.add and .delete are its upserts and
    # deletes, published by the manifest swap. Nothing is pending here.
    def upsert(self, chunks: StoreChunks) -> None:
        return None

    def delete(self, ids: np.ndarray) -> None:
        return None

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def dense_search(self, query: np.ndarray, depth: int,
                     dates: DateRange | None = None) -> Ranked:
        ix = self._index
        if ix.n_chunks == 0:
            return _empty()
        rows, scores = ix.dense_search(query, min(depth, ix.n_chunks), date_mask(ix, dates))
        return Ranked(ix.chunk_ids[rows], scores, rows)

    def lexical_search(self, text: str, terms: Sequence[str], depth: int,
                       dates: DateRange | None = None) -> Ranked:
        """BM25Okapi over the live chunks, equal to rank-bm25's (ties: lower chunk id)."""
        ix = self._index
        scores = ix.bm25_scores(terms)
        candidates = top_candidates(scores, depth, date_mask(ix, dates))
        ids = ix.chunk_ids
        if len(candidates) > depth:
            values = scores[candidates]
            best = np.argpartition(-values, depth - 1)[:depth]
            kth = values[best].min()
            if np.count_nonzero(values >= kth) > depth:
                # Ties at the cut: keep those with the lowest chunk ids, so the cut does not
                # depend on where chunks sit in the index.
                above = candidates[values > kth]
                tied = candidates[values == kth]
                tied = tied[np.argsort(ids[tied], kind="stable")][: depth - len(above)]
                candidates = np.concatenate([above, tied])
            else:
                candidates = candidates[best]
        order = np.lexsort((ids[candidates], -scores[candidates]))  # ties: lower id first
        rows = candidates[order]
        return Ranked(ids[rows], scores[rows], rows)


def _empty() -> Ranked:
    return Ranked(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64))


def store_of(manifest: dict[str, Any]) -> dict[str, str]:
    """The store a manifest records ({"backend": "local"} for indexes that record none)."""
    store = manifest.get("store")
    if isinstance(store, dict) and store.get("backend") in BACKENDS:
        return {k: str(v) for k, v in store.items()}
    return {"backend": LOCAL}


def open_backend(index: "Index") -> StoreBackend:
    """The store the generation's manifest records.

    Raises:
        StoreUnavailableError: the store is Milvus and pymilvus is missing or the address
            cannot be reached.
    """
    store = store_of(index.manifest)
    if store["backend"] == MILVUS:
        from .milvus import MilvusBackend  # pymilvus: an optional extra, imported on use

        return MilvusBackend(store["uri"], store["collection"])
    return LocalBackend(index)
