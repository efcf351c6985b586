"""Sparse retrieval: rank-bm25's BM25Okapi, scored without a Python loop over chunks.

`rank_bm25.BM25Okapi` is the model of record: k1=1.5, b=0.75, epsilon=0.25, its idf
(log((N - df + 0.5) / (df + 0.5)), negative values floored to epsilon * mean idf) and its
length normalisation. `BM25Okapi.get_scores` loops in Python over every document for every
query term (~250 ms per query at 100k chunks); here the same per-term, per-chunk weights are
computed once at build time into a sparse term-by-chunk matrix, so a query only touches the
chunks that contain one of its terms. `tests/test_bm25.py` checks the scores against
`BM25Okapi.get_scores` on a real corpus.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from .diskarray import NpyRanges

K1 = 1.5
B = 0.75
EPSILON = 0.25


def term_counts(
    docs: Iterable[Sequence[str]], vocab: dict[str, int]
) -> sparse.csr_matrix:
    """Count tokens per document into a (docs x vocab) CSR matrix, growing `vocab` in place."""
    indptr = [0]
    indices: list[int] = []
    data: list[int] = []
    for tokens in docs:
        counts = Counter(tokens)
        for word, n in counts.items():
            col = vocab.setdefault(word, len(vocab))
            indices.append(col)
            data.append(n)
        indptr.append(len(indices))
    return sparse.csr_matrix(
        (
            np.asarray(data, dtype=np.int32),
            np.asarray(indices, dtype=np.int32),
            np.asarray(indptr, dtype=np.int64),
        ),
        shape=(len(indptr) - 1, len(vocab)),
    )


def prune_vocab(tf: sparse.csr_matrix, vocab: list[str]) -> tuple[sparse.csr_matrix, list[str]]:
    """Drop terms no document contains any more (after removals), so idf matches a fresh fit."""
    df = np.bincount(tf.indices, minlength=tf.shape[1])
    keep = np.flatnonzero(df > 0)
    if len(keep) == tf.shape[1]:
        return tf, vocab
    return tf[:, keep].tocsr(), [vocab[i] for i in keep]


@dataclass
class BM25Weights:
    """Per-term BM25Okapi weights of every chunk, stored column by column (CSC arrays).

    Column `t` holds the chunks containing term `t` (`indices[indptr[t]:indptr[t+1]]`) and their
    weights. On disk these are three `.npy` files; a loaded index reads the postings of a
    query's own terms with `pread` (`NpyRanges`), so opening is instant and the process stays
    small at any size.
    """

    indptr: np.ndarray  # int64 (terms + 1)
    indices: np.ndarray | NpyRanges  # int32 chunk rows
    data: np.ndarray | NpyRanges  # float64 weights (float64 keeps scores equal to rank-bm25's)
    vocab: dict[str, int]
    n_docs: int
    avgdl: float = 0.0
    average_idf: float = 0.0

    FILES = ("bm25_indptr.npy", "bm25_indices.npy", "bm25_data.npy")

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """Scores of every chunk, equal to `BM25Okapi.get_scores(query_tokens)`.

        A query term repeated twice counts twice, as in rank-bm25.
        """
        out = np.zeros(self.n_docs, dtype=np.float64)
        for word, times in Counter(query_tokens).items():
            col = self.vocab.get(word)
            if col is None:
                continue
            lo, hi = int(self.indptr[col]), int(self.indptr[col + 1])
            try:
                out[self.indices[lo:hi]] += times * self.data[lo:hi]
            except IndexError as exc:  # checked here, per column, rather than at load
                raise ValueError(f"BM25 postings of {word!r} point past the last chunk") from exc
        return out

    def document_frequency(self, word: str) -> int:
        """How many chunks hold `word` (a BM25 term); 0 when the index has never seen it."""
        col = self.vocab.get(word)
        return 0 if col is None else int(self.indptr[col + 1] - self.indptr[col])

    def save(self, folder: Path) -> None:
        for name, arr in zip(self.FILES, (self.indptr, self.indices, self.data)):
            np.save(folder / name, np.ascontiguousarray(arr), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, vocab: list[str], n_docs: int) -> "BM25Weights":
        """Open the weights written by `save` (postings are read per query, see NpyRanges).

        Raises:
            ValueError: the arrays do not fit together (damaged or mixed files).
        """
        indptr = np.load(folder / cls.FILES[0], allow_pickle=False)  # (terms + 1) x 8 bytes
        indices, data = (NpyRanges(folder / name) for name in cls.FILES[1:])
        if (
            len(indptr) != len(vocab) + 1
            or len(indices) != len(data)
            or int(indptr[-1]) != len(data)
        ):
            # Chunk rows are not scanned here (that read all of bm25_indices.npy, 360 MB at
            # 1M chunks, on every open): `scores` checks the columns a query touches.
            raise ValueError("BM25 arrays do not match the vocabulary and chunks")
        return cls(indptr, indices, data, {w: i for i, w in enumerate(vocab)}, n_docs)


def fit_weights(tf: sparse.csr_matrix, vocab: list[str]) -> BM25Weights:
    """Fit BM25Okapi on term counts and precompute each (chunk, term) weight.

    weight = idf(term) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * doclen / avgdl))
    """
    n_docs = tf.shape[0]
    lookup = {w: i for i, w in enumerate(vocab)}
    if n_docs == 0:
        return BM25Weights(
            np.zeros(len(vocab) + 1, np.int64), np.zeros(0, np.int32), np.zeros(0), lookup, 0
        )
    doc_len = np.asarray(tf.sum(axis=1)).ravel().astype(np.float64)
    avgdl = float(doc_len.sum() / n_docs)
    df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float64)
    idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    average_idf = float(idf.mean()) if len(idf) else 0.0
    idf[idf < 0] = EPSILON * average_idf
    # Weights in the CSR layout of the counts, then one linear CSR->CSC transpose (rows come
    # out sorted within each column): 2.6x faster than going through COO at 100k chunks.
    # Computed in blocks of rows into one output array: whole-array temporaries were ~4 GB
    # at 1M chunks (95M non-zeros).
    row_norm = K1 * (1 - B + B * doc_len / avgdl) if avgdl > 0 else np.full(n_docs, K1 * (1 - B))
    w = np.empty(tf.nnz, dtype=np.float64)
    per_row = np.diff(tf.indptr)
    step = 65536
    for r0 in range(0, n_docs, step):
        r1 = min(n_docs, r0 + step)
        lo, hi = int(tf.indptr[r0]), int(tf.indptr[r1])
        f = tf.data[lo:hi].astype(np.float64)
        norm = np.repeat(row_norm[r0:r1], per_row[r0:r1])
        w[lo:hi] = idf[tf.indices[lo:hi]] * (f * (K1 + 1) / (f + norm))
    matrix = sparse.csr_matrix((w, tf.indices, tf.indptr), shape=tf.shape).tocsc()
    del w
    matrix.sort_indices()  # already sorted: a check, kept for CSR input with unsorted columns
    return BM25Weights(
        matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32), matrix.data,
        lookup, n_docs, avgdl, average_idf,
    )
