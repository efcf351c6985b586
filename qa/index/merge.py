"""Merging segments: one new segment holding the live articles of several.

A merge copies every part of the live articles (texts by byte range, chunk tables, BM25
counts, vectors, quotes and phrases) in input order; deleted articles are dropped. With an
analyzer, the BM25 terms are counted again from the texts (other tokenizer settings).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..types import JSONObject
from . import sentences
from .bm25 import Postings
from .chunks import ChunkTable, ranges, runs
from .diskarray import NpyRanges
from .phrases import PhraseTableBuilder
from .quotes import QuoteTableBuilder
from .segment import Segment, SegmentData
from .texts import ArticleTable, TextStore

# analyze(title, chunk text) -> the BM25 terms of a chunk (what the build counted).
Analyzer = Callable[[str, str], list[str]]


def merge_segments(inputs: Sequence[Segment | SegmentData], alive: Sequence[np.ndarray],
                   analyze: Analyzer | None) -> tuple[SegmentData, list[np.ndarray]]:
    """One segment holding the live articles of `inputs`, in input order; `analyze` given:
    BM25 terms counted again from the texts. Returns it, and for each input the new article
    row of each of its rows (-1: deleted)."""
    from scipy import sparse

    articles: list[JSONObject] = []
    text_pieces: list[tuple[TextStore, int, int]] = []
    tables, offsets, count_blocks, vector_blocks, maps = [], [], [], [], []
    terms: dict[str, int] = {}
    builder = QuoteTableBuilder()
    phrase_builder = PhraseTableBuilder()
    sentence_blocks: list[np.ndarray] = []
    has_vectors = all(_has_vectors(seg) for seg in inputs)
    for seg, live in zip(inputs, alive):
        rows = np.flatnonzero(live)
        mapping = np.full(len(live), -1, np.int64)
        mapping[rows] = len(articles) + np.arange(len(rows))
        maps.append(mapping)
        offsets.append(len(articles))
        records = seg.articles
        articles.extend(records.take(rows.tolist()))
        store = seg.texts
        text_pieces.extend((store, a, z) for a, z in runs(rows))
        table = seg.chunks
        sub = table.take_articles(rows)
        tables.append(sub)
        lo = np.searchsorted(table.article, rows, side="left")
        hi = np.searchsorted(table.article, rows, side="right")
        chunk_rows = ranges(lo, hi)
        if analyze is None:
            counts = seg.postings.counts()[chunk_rows]
            local = seg.postings.terms
            cols = np.asarray([terms.setdefault(t, len(terms)) for t in local], dtype=np.int32)
            counts = sparse.csr_matrix((counts.data, cols[counts.indices], counts.indptr),
                                       shape=(len(chunk_rows), max(len(terms), 1)))
            count_blocks.append(counts)
        else:
            from .bm25 import term_counts

            docs: list[list[str]] = []
            for r, a, b in zip(rows.tolist(), lo.tolist(), hi.tolist()):
                text, title = store[r], records.titles[r]
                docs.extend(analyze(title, text[int(table.start[c]) : int(table.end[c])])
                            for c in range(a, b))
            count_blocks.append(term_counts(docs, terms))
        if has_vectors:
            vectors = _vectors_of(seg)
            block = np.empty((len(chunk_rows), int(vectors.shape[1])), np.float32)
            at = 0
            for a, b in runs(chunk_rows):
                if isinstance(vectors, np.ndarray):
                    block[at : at + b - a] = vectors[a:b]
                else:
                    vectors.read_into(block[at : at + b - a], a)
                at += b - a
            vector_blocks.append(block)
        quotes = seg.quotes
        qrows = np.flatnonzero(mapping[np.asarray(quotes.article, dtype=np.int64)] >= 0) \
            if len(quotes) else np.zeros(0, np.int64)
        builder.add_rows(quotes, qrows, mapping[np.asarray(quotes.article)[qrows]])
        phrases = seg.phrases
        prows = np.flatnonzero(mapping[phrases.article.astype(np.int64)] >= 0)
        phrase_builder.add_rows(phrases, prows, mapping[phrases.article[prows]])
        ptr = np.asarray(table.sent_ptr, dtype=np.int64)
        sentence_blocks.append(seg.sentence_vectors.take(ranges(ptr[chunk_rows],
                                                                ptr[chunk_rows + 1])))
    width = len(terms)
    blocks = [sparse.csr_matrix((b.data, b.indices, b.indptr), shape=(b.shape[0], width))
              for b in count_blocks]
    counts = sparse.vstack(blocks, format="csr") if blocks else sparse.csr_matrix((0, width))
    vocab = [""] * width
    for t, i in terms.items():
        vocab[i] = t
    chunks = ChunkTable.concat(tables, offsets)
    for a, n in zip(articles, np.bincount(np.asarray(chunks.article, dtype=np.int64),
                                          minlength=len(articles)).tolist()):
        a["chunks"] = n
    data = SegmentData(
        articles=ArticleTable.of(articles), texts=TextStore.concat(text_pieces), chunks=chunks,
        postings=Postings.from_counts(counts, vocab), quotes=builder.table(),
        phrases=phrase_builder.table(),
        sentence_vectors=sentences.concat(
            sentence_blocks, max((seg.sentence_vectors.dim for seg in inputs), default=1)),
        vectors=np.concatenate(vector_blocks) if has_vectors and vector_blocks else
        (np.zeros((0, 1), np.float32) if has_vectors else None),
    )
    return data, maps


def _has_vectors(seg: Segment | SegmentData) -> bool:
    if isinstance(seg, SegmentData):
        return seg.vectors is not None
    return bool(seg.layout)


def _vectors_of(seg: Segment | SegmentData) -> np.ndarray | NpyRanges:
    """The vectors of a segment `_has_vectors` says has them."""
    if isinstance(seg, SegmentData):
        assert seg.vectors is not None
        return seg.vectors
    return seg.vectors()
