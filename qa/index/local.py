"""`LocalBackend`: the search store that is the index folder's own parts.

It ranks the chunk rows of one generation with the searches that generation provides (its
FAISS indexes and BM25Okapi postings, read by `Index`), handed to it when `Index.store`
opens it: the store never reaches back into `Index` (qa.index.backend).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .backend import LOCAL, DateKeys, Ranked, StoreChunks, date_mask
from .bm25 import top_candidates

# dense(query, depth, mask) -> (rows, scores) of the generation, best first.
DenseSearch = Callable[[np.ndarray, int, "np.ndarray | None"], tuple[np.ndarray, np.ndarray]]
# lexical(terms) -> the BM25Okapi score of every chunk row (0 for deleted chunks).
LexicalScores = Callable[[Sequence[str]], np.ndarray]


class LocalBackend:
    """The index folder's own FAISS and BM25Okapi parts, for one generation.

    Args:
        chunk_ids: the chunk id of every row of the generation.
        chunk_date: the YYYYMMDD key of every row's article (0: undated).
        dense: the generation's dense search over its live rows.
        lexical: the generation's BM25 scores over its rows.
    """

    name = LOCAL

    def __init__(self, chunk_ids: np.ndarray, chunk_date: np.ndarray, *,
                 dense: DenseSearch, lexical: LexicalScores, n_chunks: int) -> None:
        self._ids = chunk_ids
        self._dates = chunk_date
        self._dense = dense
        self._lexical = lexical
        self._n_chunks = n_chunks  # live chunks

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
                     dates: DateKeys | None = None) -> Ranked:
        if self._n_chunks == 0:
            return _empty()
        rows, scores = self._dense(query, min(depth, self._n_chunks),
                                   date_mask(self._dates, dates))
        return Ranked(self._ids[rows], scores, rows)

    def lexical_search(self, text: str, terms: Sequence[str], depth: int,
                       dates: DateKeys | None = None) -> Ranked:
        """BM25Okapi over the live chunks, equal to rank-bm25's (ties: lower chunk id)."""
        scores = self._lexical(terms)
        candidates = top_candidates(scores, depth, date_mask(self._dates, dates))
        ids = self._ids
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
