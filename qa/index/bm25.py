"""Sparse retrieval: rank-bm25's BM25Okapi over the whole live corpus, segment by segment.

`rank_bm25.BM25Okapi` is the model of record: k1=1.5, b=0.75, epsilon=0.25, its idf
(log((N - df + 0.5) / (df + 0.5)), negative values floored to epsilon * mean idf) and its
length normalisation. A chunk's score for a query is

    sum over query terms t:  idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * doclen / avgdl))

`idf` and `avgdl` are corpus-level: they are computed from `CorpusStats` (N, total length
and every term's document frequency over the live chunks of every segment), kept in the
generation folder and updated by each build; `tf` and `doclen` are per chunk, in each
segment's `Postings` (term by term, CSC). So a query's scores over a segmented index equal
those of a one-segment build of the same corpus exactly, and `BM25Okapi.get_scores` to
1e-9 (`tests/test_bm25.py`). A query reads only the postings of its own terms (pread), never
loops over chunks in Python.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from .diskarray import NpyRanges
from .files import save_npy, write_new_text

K1 = 1.5
B = 0.75
EPSILON = 0.25

POSTINGS_FILES = ("bm25_terms.json", "bm25_indptr.npy", "bm25_docs.npy", "bm25_tf.npy",
                  "bm25_doclen.npy")
STATS_FILES = ("terms.json", "df.npy")


def term_counts(docs: Iterable[Sequence[str]], vocab: dict[str, int]) -> sparse.csr_matrix:
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


def idf_of(n_docs: int, df: np.ndarray, average_idf: float) -> np.ndarray:
    """BM25Okapi's idf of terms with document frequencies `df` (negative ones floored)."""
    df = np.asarray(df, dtype=np.float64)
    idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    idf[idf < 0] = EPSILON * average_idf
    return idf


def average_idf_of(n_docs: int, df: np.ndarray) -> float:
    """The mean raw idf over the terms the corpus holds (df > 0), as BM25Okapi computes it.
    Summed with `math.fsum` (exactly rounded), so the order of the terms does not matter:
    a segmented index and a one-segment one get the same bits."""
    df = np.asarray(df, dtype=np.float64)
    df = df[df > 0]
    if not len(df):
        return 0.0
    raw = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    return math.fsum(raw.tolist()) / len(raw)


@dataclass
class Postings:
    """One segment's BM25 part: for each of its terms, the chunks holding it and how often
    (CSC: column t is `docs[indptr[t]:indptr[t+1]]`, `tf[...]`), and each chunk's length
    in terms. On disk five files; a reader keeps the terms and `indptr` in memory and reads
    a query term's postings by range (NpyRanges), so opening is quick at any size."""

    terms: list[str]
    indptr: np.ndarray  # int64 (terms + 1)
    docs: Any  # int32 chunk rows within the segment (ndarray or NpyRanges)
    tf: Any  # int32 counts
    doclen: np.ndarray  # int32, one per chunk
    column: dict[str, int]

    @classmethod
    def from_counts(cls, counts: sparse.csr_matrix, terms: list[str]) -> "Postings":
        """Postings of a (chunks x terms) count matrix. Terms no chunk holds are dropped."""
        counts = sparse.csr_matrix(counts)
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        keep = np.flatnonzero(df > 0)
        if len(keep) != counts.shape[1]:
            counts = counts[:, keep].tocsr()
            terms = [terms[i] for i in keep]
        doclen = np.asarray(counts.sum(axis=1)).ravel().astype(np.int32)
        csc = counts.tocsc()  # linear; rows come out sorted within each column
        csc.sort_indices()
        return cls(list(terms), csc.indptr.astype(np.int64), csc.indices.astype(np.int32),
                   csc.data.astype(np.int32), doclen, {w: i for i, w in enumerate(terms)})

    @property
    def n_docs(self) -> int:
        return int(len(self.doclen))

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(chunk rows, counts) of `term` in this segment, or None."""
        col = self.column.get(term)
        if col is None:
            return None
        lo, hi = int(self.indptr[col]), int(self.indptr[col + 1])
        return np.asarray(self.docs[lo:hi]), np.asarray(self.tf[lo:hi])

    def counts(self) -> sparse.csr_matrix:
        """All of it as a (chunks x terms) CSR count matrix (merges)."""
        docs = np.asarray(self.docs[0 : len(self.docs)])
        tf = np.asarray(self.tf[0 : len(self.tf)])
        csc = sparse.csc_matrix((tf, docs, self.indptr), shape=(self.n_docs, len(self.terms)))
        return csc.tocsr()

    def document_frequencies(self, live: np.ndarray | None) -> np.ndarray:
        """Each term's number of chunks, counting only `live` ones (a bool mask) if given."""
        if live is None:
            return np.diff(self.indptr)
        docs = np.asarray(self.docs[0 : len(self.docs)])
        hits = np.asarray(live, dtype=np.int64)[docs]
        out = np.zeros(len(self.terms), np.int64)
        nonempty = np.flatnonzero(np.diff(self.indptr) > 0)
        if len(nonempty):
            out[nonempty] = np.add.reduceat(hits, self.indptr[nonempty])
        return out

    def save(self, folder: Path) -> None:
        write_new_text(folder / POSTINGS_FILES[0], json.dumps(self.terms, ensure_ascii=False))
        for name, arr, dtype in zip(POSTINGS_FILES[1:], (self.indptr, self.docs, self.tf, self.doclen),
                                    (np.int64, np.int32, np.int32, np.int32)):
            save_npy(folder / name, np.ascontiguousarray(np.asarray(arr), dtype=dtype))

    @classmethod
    def load(cls, folder: Path, n_docs: int) -> "Postings":
        """Open the postings written by `save`.

        Raises:
            ValueError: the arrays do not fit together (damaged or mixed files).
        """
        terms = json.loads((folder / POSTINGS_FILES[0]).read_text(encoding="utf-8"))
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise ValueError("bm25_terms.json is not a list of terms")
        indptr = np.load(folder / POSTINGS_FILES[1], allow_pickle=False)
        docs, tf = (NpyRanges(folder / name) for name in POSTINGS_FILES[2:4])
        doclen = np.load(folder / POSTINGS_FILES[4], allow_pickle=False)
        if (
            indptr.ndim != 1 or indptr.dtype != np.int64 or len(indptr) != len(terms) + 1
            or docs.dtype != np.int32 or tf.dtype != np.int32 or len(docs) != len(tf)
            or int(indptr[0]) != 0 or int(indptr[-1]) != len(docs)
            or doclen.ndim != 1 or doclen.dtype != np.int32 or len(doclen) != n_docs
            or (len(doclen) and int(doclen.min()) < 0)
        ):
            # Chunk rows are not scanned here (that read all of bm25_docs.npy, ~400 MB at 1M
            # chunks, on every open): `score_into` checks the postings a query touches.
            raise ValueError("BM25 arrays do not match the vocabulary and chunks")
        return cls(terms, indptr, docs, tf, doclen, {w: i for i, w in enumerate(terms)})


@dataclass
class CorpusStats:
    """BM25's corpus-level statistics over the live chunks of every segment: the number of
    chunks, their total length in terms, and each term's document frequency."""

    terms: list[str]
    df: np.ndarray  # int64, aligned with terms; every entry > 0
    n_docs: int
    total_length: int

    @property
    def avgdl(self) -> float:
        return self.total_length / self.n_docs if self.n_docs else 0.0

    @property
    def average_idf(self) -> float:
        return average_idf_of(self.n_docs, self.df)

    def summary(self) -> dict[str, Any]:
        """What the manifest records (and `load` checks)."""
        return {"docs": self.n_docs, "total_length": self.total_length, "terms": len(self.terms),
                "average_idf": self.average_idf}

    def idf_table(self) -> dict[str, float]:
        """term -> idf, for a reader."""
        idf = idf_of(self.n_docs, self.df, self.average_idf)
        return dict(zip(self.terms, idf.tolist()))

    @classmethod
    def empty(cls) -> "CorpusStats":
        return cls([], np.zeros(0, np.int64), 0, 0)

    @classmethod
    def of(cls, parts: Iterable[tuple[Postings, np.ndarray | None]]) -> "CorpusStats":
        """Counted from scratch over segments' postings and live-chunk masks."""
        df: Counter[str] = Counter()
        n = total = 0
        for postings, live in parts:
            seg_df = postings.document_frequencies(live)
            for term, count in zip(postings.terms, seg_df.tolist()):
                if count:
                    df[term] += count
            lengths = np.asarray(postings.doclen, dtype=np.int64)
            n += int(len(lengths) if live is None else int(np.count_nonzero(live)))
            total += int(lengths.sum() if live is None else lengths[live].sum())
        terms = list(df)
        return cls(terms, np.asarray([df[t] for t in terms], dtype=np.int64), n, total)

    def updated(self, added: Iterable[tuple[Sequence[str], np.ndarray, int, int]],
                removed: Iterable[tuple[Sequence[str], np.ndarray, int, int]]) -> "CorpusStats":
        """These statistics with chunks added and removed. Each item is (terms, their
        document frequencies among those chunks, number of chunks, their total length)."""
        index = {t: i for i, t in enumerate(self.terms)}
        terms = list(self.terms)
        extra: list[int] = []
        df = [np.asarray(self.df, dtype=np.int64)]
        n, total = self.n_docs, self.total_length
        deltas: list[tuple[np.ndarray, np.ndarray]] = []
        for sign, items in ((1, added), (-1, removed)):
            for words, counts, docs, length in items:
                cols = np.empty(len(words), np.int64)
                for i, w in enumerate(words):
                    col = index.get(w)
                    if col is None:
                        if sign < 0:
                            raise ValueError(f"removed chunks hold {w!r}, which no live chunk has")
                        col = index[w] = len(terms)
                        terms.append(w)
                        extra.append(0)
                    cols[i] = col
                deltas.append((cols, sign * np.asarray(counts, dtype=np.int64)))
                n += sign * docs
                total += sign * length
        all_df = np.concatenate([df[0], np.asarray(extra, dtype=np.int64)])
        for cols, delta in deltas:
            np.add.at(all_df, cols, delta)
        if len(all_df) and int(all_df.min()) < 0 or n < 0 or total < 0:
            raise ValueError("removed more chunks than the statistics hold")
        keep = np.flatnonzero(all_df > 0)
        if len(keep) != len(terms):
            terms = [terms[i] for i in keep]
            all_df = all_df[keep]
        return CorpusStats(terms, all_df, n, total)

    def save(self, folder: Path) -> None:
        write_new_text(folder / STATS_FILES[0], json.dumps(self.terms, ensure_ascii=False))
        save_npy(folder / STATS_FILES[1], np.asarray(self.df, dtype=np.int64))

    @classmethod
    def load(cls, folder: Path, summary: dict[str, Any]) -> "CorpusStats":
        """Read the statistics a manifest's `bm25` summary describes.

        Raises:
            ValueError: the files disagree with each other or with the summary.
        """
        terms = json.loads((folder / STATS_FILES[0]).read_text(encoding="utf-8"))
        df = np.load(folder / STATS_FILES[1], allow_pickle=False)
        if not isinstance(terms, list) or df.ndim != 1 or df.dtype != np.int64 \
                or len(df) != len(terms) or len(terms) != summary.get("terms") \
                or (len(df) and int(df.min()) <= 0):
            raise ValueError("the corpus statistics do not match their terms")
        return cls(terms, df, int(summary["docs"]), int(summary["total_length"]))


def length_norms(doclen: np.ndarray, avgdl: float) -> np.ndarray:
    """k1 * (1 - b + b * doclen / avgdl) for each chunk: the per-chunk half of a weight."""
    if avgdl > 0:
        return K1 * (1 - B + B * np.asarray(doclen, dtype=np.float64) / avgdl)
    return np.full(len(doclen), K1 * (1 - B))


def term_weights(postings: Postings, norms: np.ndarray, term: str, idf: float,
                 times: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The chunks of a segment holding `term` and `times` x their BM25 weight for it, or None.
    `norms` is `length_norms` of the segment's chunks.

    Raises:
        ValueError: the postings point outside the segment's chunks (damaged files).
    """
    found = postings.postings(term)
    if found is None:
        return None
    docs, tf = found
    if len(docs) and int(docs.min()) < 0:
        raise ValueError(f"BM25 postings of {term!r} point before the first chunk")
    if len(tf) and int(tf.min()) <= 0:
        raise ValueError(f"BM25 frequencies of {term!r} are not counts")
    try:
        denominator = norms.take(docs)  # k1 * (1 - b + b * doclen / avgdl) ...
    except IndexError as exc:  # checked here, per term, rather than at load
        raise ValueError(f"BM25 postings of {term!r} point past the last chunk") from exc
    np.add(denominator, tf, out=denominator)  # ... + tf
    weight = tf * (times * idf * (K1 + 1))
    np.divide(weight, denominator, out=weight)
    return docs, weight


def add_into(out: np.ndarray, docs: np.ndarray, weights: np.ndarray) -> None:
    """Add one term's weights to the scores of its chunks (`out` is the segment's slice).
    Term after term, each chunk's weights are summed in query order, as rank-bm25 sums
    them. (One np.bincount over every term's postings was measured 1.7x slower than this at
    1M chunks: it sweeps the whole score array again.)"""
    out[docs] += weights
