"""Sparse retrieval: rank-bm25's BM25Okapi over the whole live corpus, segment by segment.

`rank_bm25.BM25Okapi` is the model of record: k1=1.5, b=0.75, epsilon=0.25, its idf
(log((N - df + 0.5) / (df + 0.5)), negative values floored to epsilon * mean idf) and its
length normalisation. A chunk's score for a query is

    sum over query terms t:  idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * doclen / avgdl))

`idf` and `avgdl` are corpus-level: they are computed from `CorpusStats` (N, total length
and every term's document frequency over the live chunks of every segment), kept in the
generation folder and updated by each build. The rest of a weight depends on the posting's
(tf, doclen) pair only, which never changes with the segment: each posting stores the code
of its pair, and a generation computes the weight of each of a segment's pairs once, for its
own avgdl (`Postings.weight_table`); a query multiplies by its terms' idf (`Scorer`). So a
query's scores over a segmented index equal those of a one-segment build of the same corpus
exactly, and `BM25Okapi.get_scores` to 1e-9 (`tests/test_bm25.py`). A query reads only the
postings of its own terms (pread), never loops over chunks in Python.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..types import JSONObject
from .diskarray import NpyRanges
from .files import save_npy, write_new_text

if TYPE_CHECKING:  # SciPy serves builds and merges; a question never imports it
    from scipy import sparse

K1 = 1.5
B = 0.75
EPSILON = 0.25

POSTINGS_FILES = ("bm25_terms.json", "bm25_indptr.npy", "bm25_docs.npy", "bm25_pair.npy",
                  "bm25_pairs.npy", "bm25_doclen.npy")
STATS_FILES = ("terms.json", "df.npy")


def term_counts(docs: Iterable[Sequence[str]], vocab: dict[str, int]) -> sparse.csr_matrix:
    """Count tokens per document into a (docs x vocab) CSR matrix, growing `vocab` in place."""
    from scipy import sparse

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
    """One segment's BM25 part: for each of its terms, the chunks holding it (CSC: column t
    is `docs[indptr[t]:indptr[t+1]]`), each chunk's length in terms, and for each posting
    the code of its (term frequency, chunk length) pair in the segment's `pairs` table.

    The pair is all a BM25 weight needs of a posting besides the term's idf and the corpus's
    average length, and a segment holds few distinct pairs (thousands, against ~100 postings
    a chunk): so a query turns codes into weights through a table made once per generation
    (`weight_table`), instead of gathering each chunk's length and dividing per posting.

    On disk six files; a reader keeps the terms, `indptr` and the pairs in memory and reads a
    query term's postings by range (NpyRanges), so opening is quick at any size."""

    terms: list[str]
    indptr: np.ndarray  # int64 (terms + 1)
    docs: np.ndarray | NpyRanges  # int32 chunk rows within the segment
    pair: np.ndarray | NpyRanges  # uint16 or uint32 code of each posting's row in `pairs`
    pairs: np.ndarray  # int32 (P x 2): term frequency, chunk length
    doclen: np.ndarray  # int32, one per chunk
    column: dict[str, int]

    @classmethod
    def from_counts(cls, counts: sparse.csr_matrix, terms: list[str]) -> Postings:
        """Postings of a (chunks x terms) count matrix. Terms no chunk holds are dropped."""
        from scipy import sparse

        counts = sparse.csr_matrix(counts)
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        keep = np.flatnonzero(df > 0)
        if len(keep) != counts.shape[1]:
            counts = counts[:, keep].tocsr()
            terms = [terms[i] for i in keep]
        doclen = np.asarray(counts.sum(axis=1)).ravel().astype(np.int32)
        csc = counts.tocsc()  # linear; rows come out sorted within each column
        csc.sort_indices()
        docs = csc.indices.astype(np.int32)
        pair, pairs = pair_codes(csc.data.astype(np.int64), doclen.astype(np.int64)[docs])
        return cls(list(terms), csc.indptr.astype(np.int64), docs, pair, pairs, doclen,
                   {w: i for i, w in enumerate(terms)})

    @property
    def n_docs(self) -> int:
        return int(len(self.doclen))

    def weight_table(self, avgdl: float) -> np.ndarray:
        """BM25Okapi's weight of each pair before its term's idf, for this average length:
        tf * (k1 + 1) / (tf + k1 * (1 - b + b * doclen / avgdl)), written as rank-bm25
        writes it, so each posting's weight has its bits."""
        tf, dl = self.pairs[:, 0], self.pairs[:, 1]
        if avgdl > 0:
            return tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl))
        return tf * (K1 + 1) / (tf + K1 * (1 - B))

    def frequencies(self) -> np.ndarray:
        """Every posting's term frequency, in posting order (merges)."""
        pair = np.asarray(self.pair[0 : len(self.pair)])
        return self.pairs[:, 0].take(pair)

    def counts(self) -> sparse.csr_matrix:
        """All of it as a (chunks x terms) CSR count matrix (merges)."""
        from scipy import sparse

        docs = np.asarray(self.docs[0 : len(self.docs)])
        csc = sparse.csc_matrix((self.frequencies(), docs, self.indptr),
                                shape=(self.n_docs, len(self.terms)))
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

    def read_term(self, col: int, docs: np.ndarray, pair: np.ndarray) -> None:
        """Fill `docs` and `pair` (sized to it) with the postings of term column `col`."""
        lo = int(self.indptr[col])
        for source, out in ((self.docs, docs), (self.pair, pair)):
            if isinstance(source, np.ndarray):
                out[:] = source[lo : lo + len(out)]
            else:
                source.read_into(out, lo)

    def save(self, folder: Path) -> None:
        write_new_text(folder / POSTINGS_FILES[0], json.dumps(self.terms, ensure_ascii=False))
        arrays = (self.indptr, self.docs, self.pair, self.pairs, self.doclen)
        dtypes: tuple[np.dtype[np.generic], ...] = (np.dtype(np.int64), np.dtype(np.int32),
                                             _code_dtype(len(self.pairs)), np.dtype(np.int32),
                                             np.dtype(np.int32))
        for name, arr, dtype in zip(POSTINGS_FILES[1:], arrays, dtypes):
            save_npy(folder / name, np.ascontiguousarray(np.asarray(arr), dtype=dtype))

    @classmethod
    def load(cls, folder: Path, n_docs: int) -> Postings:
        """Open the postings written by `save`.

        Raises:
            ValueError: the arrays do not fit together (damaged or mixed files).
        """
        terms = json.loads((folder / POSTINGS_FILES[0]).read_text(encoding="utf-8"))
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise ValueError("bm25_terms.json is not a list of terms")
        indptr = np.load(folder / POSTINGS_FILES[1], allow_pickle=False)
        docs, pair = (NpyRanges(folder / name) for name in POSTINGS_FILES[2:4])
        pairs = np.load(folder / POSTINGS_FILES[4], allow_pickle=False)
        doclen = np.load(folder / POSTINGS_FILES[5], allow_pickle=False)
        if (
            indptr.ndim != 1 or indptr.dtype != np.int64 or len(indptr) != len(terms) + 1
            or docs.dtype != np.int32 or len(docs) != len(pair) or len(docs.shape) != 1
            or pair.dtype != _code_dtype(len(pairs)) or len(pair.shape) != 1
            or int(indptr[0]) != 0 or int(indptr[-1]) != len(docs)
            or doclen.ndim != 1 or doclen.dtype != np.int32 or len(doclen) != n_docs
            or (len(doclen) and int(doclen.min()) < 0)
            or pairs.ndim != 2 or pairs.dtype != np.int32 or pairs.shape[1] != 2
            # every pair a posting can have: the term at least once, in a chunk that long
            or (len(pairs) and (int(pairs[:, 0].min()) <= 0
                                or bool((pairs[:, 1] < pairs[:, 0]).any())))
        ):
            # Chunk rows and codes are not scanned here (that read all of bm25_docs.npy,
            # ~400 MB at 1M chunks, on every open): `Scorer.scores` checks what a query reads.
            raise ValueError("BM25 arrays do not match the vocabulary and chunks")
        return cls(terms, indptr, docs, pair, pairs, doclen, {w: i for i, w in enumerate(terms)})


def _code_dtype(n_pairs: int) -> np.dtype[np.generic]:
    return np.dtype(np.uint16 if n_pairs <= 1 << 16 else np.uint32)


def pair_codes(tf: np.ndarray, doclen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each posting's code in the table of distinct (tf, doclen) pairs, and that table
    (sorted by tf, then length)."""
    if not len(tf):
        return np.zeros(0, _code_dtype(0)), np.zeros((0, 2), np.int32)
    width = int(doclen.max()) + 1
    key = tf * width + doclen
    size = (int(tf.max()) + 1) * width
    if size <= 1 << 26:  # a table of every possible key: linear, where sorting 10^8 keys is not
        present = np.zeros(size, bool)
        present[key] = True
        keys = np.flatnonzero(present)
        code_of = np.zeros(size, np.int64)
        code_of[keys] = np.arange(len(keys))
        codes = code_of[key]
    else:
        keys, codes = np.unique(key, return_inverse=True)
    pairs = np.stack([keys // width, keys % width], axis=1).astype(np.int32)
    return codes.astype(_code_dtype(len(pairs))), pairs


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

    def summary(self) -> JSONObject:
        """What the manifest records (and `load` checks)."""
        return {"docs": self.n_docs, "total_length": self.total_length, "terms": len(self.terms),
                "average_idf": self.average_idf}

    def idf_table(self) -> dict[str, float]:
        """term -> idf, for a reader."""
        idf = idf_of(self.n_docs, self.df, self.average_idf)
        return dict(zip(self.terms, idf.tolist()))

    @classmethod
    def empty(cls) -> CorpusStats:
        return cls([], np.zeros(0, np.int64), 0, 0)

    @classmethod
    def of(cls, parts: Iterable[tuple[Postings, np.ndarray | None]]) -> CorpusStats:
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
                removed: Iterable[tuple[Sequence[str], np.ndarray, int, int]]) -> CorpusStats:
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
    def load(cls, folder: Path, summary: JSONObject) -> CorpusStats:
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


class Scorer:
    """BM25Okapi over one generation: its corpus statistics and its segments' postings, in
    row order (segment after segment).

    A query's scores are a sparse matrix-vector product: a column per (query term, segment)
    holding the term's postings there, each posting's entry its pair's weight
    (`Postings.weight_table`, made here once for this generation's average length), and the
    vector the terms' idf. It is done as one `np.bincount` over the postings laid out column
    after column: each chunk's products are summed in the order of the columns, that is in
    query order, as rank-bm25 sums them (and as SciPy's product would, bit for bit), without
    importing SciPy on a question's path."""

    def __init__(self, stats: CorpusStats, postings: Sequence[Postings]) -> None:
        self.stats = stats
        self._postings = list(postings)
        self._tables = [p.weight_table(stats.avgdl) for p in self._postings]
        self._bases = np.zeros(len(self._postings) + 1, np.int64)
        self._bases[1:] = np.cumsum([p.n_docs for p in self._postings])
        self._term = {t: i for i, t in enumerate(stats.terms)}
        self._idf = idf_of(stats.n_docs, stats.df, stats.average_idf)

    @property
    def n_rows(self) -> int:
        return int(self._bases[-1])

    def document_frequency(self, term: str) -> int:
        """How many live chunks hold `term`; 0 when none does."""
        t = self._term.get(term)
        return 0 if t is None else int(self.stats.df[t])

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """Every row's BM25Okapi score for a query's terms (deleted chunks are the caller's
        to mask). A query term repeated counts as often as it is repeated, as in rank-bm25.

        Raises:
            ValueError, OSError: the postings the query reads are damaged.
        """
        columns: list[tuple[int, int, int]] = []  # (segment, its term column, postings)
        factors: list[float] = []
        for word, times in Counter(tokens).items():
            t = self._term.get(word)
            if t is None:
                continue
            factor = float(self._idf[t]) * times
            for s, postings in enumerate(self._postings):
                col = postings.column.get(word)
                if col is not None:
                    columns.append((s, col, int(postings.indptr[col + 1] - postings.indptr[col])))
                    factors.append(factor)
        if not columns:
            return np.zeros(self.n_rows)
        indptr = np.zeros(len(columns) + 1, np.int64)
        indptr[1:] = np.cumsum([n for _, _, n in columns])
        total = int(indptr[-1])
        rows = np.empty(total, np.int32)
        weights = np.empty(total, np.float64)
        for (s, col, n), lo, factor in zip(columns, indptr[:-1].tolist(), factors):
            postings, table = self._postings[s], self._tables[s]
            docs = rows[lo : lo + n]
            pair = np.empty(n, postings.pair.dtype)
            postings.read_term(col, docs, pair)
            # A damaged file must not send the product outside the scores: rows are checked
            # against the segment (negative ones show as huge unsigned), codes against the table.
            if n and int(docs.view(np.uint32).max()) >= postings.n_docs:
                raise ValueError(f"BM25 postings of {postings.terms[col]!r} point outside "
                                 "their segment")
            if n and int(pair.max()) >= len(table):
                raise ValueError(f"BM25 pair codes of {postings.terms[col]!r} point past "
                                 "their table")
            table.take(pair, out=weights[lo : lo + n], mode="clip")  # checked: unbuffered
            weights[lo : lo + n] *= factor
            if self._bases[s]:
                docs += np.int32(self._bases[s])
        out = np.bincount(rows, weights=weights, minlength=self.n_rows)
        return out.astype(np.float64, copy=False)  # (an empty bincount is integer)


def top_candidates(scores: np.ndarray, depth: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Rows with a positive score (and in `mask`, if given) that may be among the `depth`
    best: every row scoring at least the depth-th best, ties included, in row order.

    At 1M chunks a common query word gives hundreds of thousands of positive scores, and
    selecting among all of them was most of a lexical search. So a threshold comes first
    from every 16th row: the depth-th best score among those is at most the depth-th best
    of all, so no row that can make the cut scores below it."""
    if mask is not None:
        scores = np.where(mask, scores, 0.0)
    sample = scores[::16]
    sample = sample[sample > 0]
    if len(sample) >= depth:
        threshold = np.partition(sample, len(sample) - depth)[len(sample) - depth]
        return np.flatnonzero(scores >= threshold)
    return np.flatnonzero(scores > 0)
