"""The search store of an index: the seam between ranking chunks and everything else.

An index folder always holds what answers read (article texts, chunks and their sentence
spans, quotes). The *store* is what ranks chunks for a query: a dense top-k and a lexical
top-k, each with an optional date range. Two stores implement `StoreBackend`:

- `LocalBackend` (qa.index.local): the index folder's own FAISS vectors and BM25Okapi
  postings (the default; no server). Its upserts and deletes are the segments and deletion
  lists `IndexWriter` commits, so its write methods have nothing left to do.
- `MilvusBackend` (qa.index.milvus): the same chunks in a Milvus collection (a cluster, or a
  milvus-lite file), kept in step by qa.index.store_sync.

Scores are raw and higher-is-better per list (fusion min-max normalises each list, so a
store's BM25 need not equal rank-bm25's). Results name chunk ids; `Index.ranked_rows` turns
them into rows of the generation being read and drops ids that are not live there, so a
reader pinned to one generation never mixes in another's chunks.

This module is the protocol and the values that cross it; it imports no store and no
`Index`, and no store calls back into `Index`: what a store reads of a generation is handed
to it when `Index.store` opens it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

LOCAL = "local"
MILVUS = "milvus"
BACKENDS = (LOCAL, MILVUS)


@dataclass(frozen=True)
class DateKeys:
    """A `qa.types.DateRange` as stores filter on it: inclusive YYYYMMDD keys (0: open).
    Chunks of undated articles are outside every range."""

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
                     dates: DateKeys | None = None) -> Ranked:
        """The `depth` chunks nearest to `query` (1 x dim, L2-normalised), by inner product."""

    def lexical_search(self, text: str, terms: Sequence[str], depth: int,
                       dates: DateKeys | None = None) -> Ranked:
        """The `depth` chunks that score best under BM25 for a query (its text, and the
        terms qa's own tokenizer finds in it: each store reads what its BM25 needs)."""

    def flush(self) -> None:
        """Make everything acknowledged so far durable."""

    def close(self) -> None:
        """Release the connection (a store shared by several readers may keep it)."""


def date_key(iso: str | None) -> int:
    """An ISO date as the YYYYMMDD key stores filter on (0: no date)."""
    return int(iso.replace("-", "")) if iso else 0


def date_keys(lo: str | None, hi: str | None) -> DateKeys | None:
    """Bounds as ISO dates (either may be None) -> their keys, None when both are."""
    if lo is None and hi is None:
        return None
    return DateKeys(date_key(lo), date_key(hi))


def date_mask(chunk_date: np.ndarray, dates: DateKeys | None) -> np.ndarray | None:
    """Which chunks, given their YYYYMMDD keys (`Index.chunk_date`), lie inside `dates`
    (None: every chunk)."""
    if dates is None:
        return None
    d = chunk_date
    mask = d > 0
    if dates.lo:
        mask &= d >= dates.lo
    if dates.hi:
        mask &= d <= dates.hi
    return mask
