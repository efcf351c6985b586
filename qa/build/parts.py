"""New and changed articles into the parts of a new segment: chunks, vectors, BM25 counts,
quotes and phrases, and the same chunks as a search store takes them."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..corpus.chunking import chunk_article
from ..embed.chunk_input import embedding_input, spans_in_input
from ..embed.embedder import Embedder, backend_of
from ..index import SegmentData
from ..index.backend import StoreChunks, date_key
from ..index.bm25 import Postings, term_counts
from ..index.chunks import ChunkTable
from ..index.phrases import PhraseTableBuilder
from ..index.quotes import QuoteTableBuilder
from ..index.sentences import SentenceVectors, cited_rows
from ..index.texts import ArticleTable, TextStore
from ..text import terms
from ..types import Article, Chunk, JSONObject, Phrase, Quote, Span
from .executors import EmbedJob, Executor
from .progress import BuildProgress

# Recorded in the manifest: chunk ids depend on the article hash and position only, so a
# change of these settings must rebuild everything rather than reuse chunks.
CHUNKING = {"target_words": 150, "max_words": 200, "overlap_sentences": 1, "version": 1}


@dataclass
class Part:
    """One new or changed article's share of a new segment: chunks, phrases, quotes, vectors."""

    article: Article
    chunk_ids: list[int]
    ordinals: list[int]
    starts: list[int]
    ends: list[int]
    sentences: list[list[tuple[int, int]]]
    vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None  # one row per span of `sentences`, flattened
    quotes: list[Quote] = field(default_factory=list)
    phrases: list[Phrase] = field(default_factory=list)


def new_part(art: Article) -> Part:
    chunks: list[Chunk] = chunk_article(
        art,
        target_words=CHUNKING["target_words"],
        max_words=CHUNKING["max_words"],
        overlap_sentences=CHUNKING["overlap_sentences"],
    )
    return Part(
        article=art,
        chunk_ids=[c.id for c in chunks],
        ordinals=[c.ordinal for c in chunks],
        starts=[c.start for c in chunks],
        ends=[c.end for c in chunks],
        sentences=[list(c.sentences) for c in chunks],
    )


def embed_new_parts(parts: list[Part], embedder: Embedder, executor: Executor,
                     progress: BuildProgress | None) -> int:
    """Embed the chunks of new and changed articles with the executor, in one job; every
    vector is back before anything is written. Each chunk's sentences get their vectors
    from the same pass when the embedder can pool them (qa.embed.pooling)."""
    todo = parts
    texts: list[str] = []
    spans: list[tuple[Span, ...]] = []
    for p in todo:
        for s, e, sentences in zip(p.starts, p.ends, p.sentences):
            texts.append(embedding_input(p.article.title, p.article.text[s:e]))
            spans.append(spans_in_input(p.article.title, s, sentences))
    if not texts:
        return 0
    cb = (lambda done, total: progress("embed", done, total)) if progress else None
    if progress:
        progress("embed", 0, len(texts))
    job = EmbedJob(ids=_concat([p.chunk_ids for p in todo], np.int64), texts=texts,
                   model=embedder.name, backend=backend_of(embedder), spans=tuple(spans))
    embedded = executor.embed(job, progress=cb)
    at = row = 0
    for p in todo:
        n = len(p.starts)
        p.vectors = embedded.vectors[at : at + n]
        rows = sum(len(c) for c in p.sentences)
        if embedded.spans is not None:
            p.sentence_vectors = embedded.spans[row : row + rows]
        at += n
        row += rows
    return len(texts)


def embed_sentences(parts: list[Part], embedder: Embedder, executor: Executor) -> None:
    """The vectors of the sentences an answer may cite (qa.index.sentences): those the chunks'
    pass pooled, and the others (beyond a truncated chunk's end, or every one when the
    embedder cannot pool) embedded on their own, each distinct text once, with the executor
    that embedded the chunks. Rows of sentences never cited are zero. Needs the articles'
    phrases (sentence roles)."""
    unique: dict[str, int] = {}
    wanted: list[list[tuple[int, int]]] = []  # per part: (sentence row, text number)
    for p in parts:
        spans = [span for chunk in p.sentences for span in chunk]
        cited = cited_rows(p.article.text, spans, p.phrases)
        pooled = p.sentence_vectors
        out = np.zeros((len(spans), _dim_of_part(p, embedder)), np.float32)
        if pooled is not None and len(cited):
            out[cited] = pooled[cited]
        p.sentence_vectors = out
        wanted.append([(i, unique.setdefault(p.article.text[spans[i][0]:spans[i][1]], len(unique)))
                       for i in cited if not out[i].any()])
    texts = list(unique)
    if not texts:
        return
    ids = np.asarray([int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(),
                                     "little", signed=True) for t in texts], dtype=np.int64)
    vectors = executor.embed(EmbedJob(ids=ids, texts=texts, model=embedder.name,
                                      backend=backend_of(embedder), what="sentences")).vectors
    for p, rows in zip(parts, wanted):
        if rows:
            at, which = zip(*rows)
            assert p.sentence_vectors is not None
            p.sentence_vectors[list(at)] = vectors[list(which)]


def _dim_of_part(part: Part, embedder: Embedder) -> int:
    """The vectors' dimension: the part's chunk vectors', else the embedder's."""
    if part.vectors is not None and part.vectors.ndim == 2 and part.vectors.shape[1]:
        return int(part.vectors.shape[1])
    return dim_of(embedder) or 1


def segment_data(parts: list[Part], file_keys: dict[str, tuple[int, int]],
                  embedder: Embedder) -> SegmentData:
    """The new segment of an update (or the only one of a full build): its articles' texts,
    chunks, BM25 counts, vectors and quotes."""
    vocab: dict[str, int] = {}
    counts = term_counts(
        (terms(embedding_input(p.article.title, p.article.text[s:e]))
         for p in parts for s, e in zip(p.starts, p.ends)),
        vocab,
    )
    words = [""] * len(vocab)
    for w, i in vocab.items():
        words[i] = w
    sent_counts = [len(s) for p in parts for s in p.sentences]
    sent_ptr = np.zeros(len(sent_counts) + 1, np.int64)
    sent_ptr[1:] = np.cumsum(sent_counts)
    chunks = ChunkTable(
        ids=_concat([p.chunk_ids for p in parts], np.int64),
        article=np.concatenate([np.full(len(p.starts), row, np.int32)
                                for row, p in enumerate(parts)]) if parts else np.zeros(0, np.int32),
        ordinal=_concat([p.ordinals for p in parts], np.int32),
        start=_concat([p.starts for p in parts], np.int64),
        end=_concat([p.ends for p in parts], np.int64),
        sent_spans=np.asarray([span for p in parts for s in p.sentences for span in s],
                              dtype=np.int64).reshape(-1, 2),
        sent_ptr=sent_ptr,
    )
    quotes = QuoteTableBuilder()
    phrases = PhraseTableBuilder()
    for row, p in enumerate(parts):
        quotes.add_quotes(row, p.quotes)
        phrases.add_phrases(row, p.phrases)
    blocks = [p.vectors for p in parts if p.vectors is not None and len(p.vectors)]
    dim = int(blocks[0].shape[1]) if blocks else (dim_of(embedder) or 1)
    articles = []
    for p in parts:
        meta = _article_meta(p.article, len(p.starts))
        meta["file_key"] = list(file_keys.get(meta["path"], ()))
        articles.append(meta)
    return SegmentData(
        articles=ArticleTable.of(articles),
        texts=TextStore.concat([p.article.text for p in parts]),
        chunks=chunks,
        postings=Postings.from_counts(counts, words),
        quotes=quotes.table(),
        phrases=phrases.table(),
        sentence_vectors=SentenceVectors.of(
            np.concatenate([p.sentence_vectors for p in parts if p.sentence_vectors is not None])
            if parts else np.zeros((0, dim), np.float32)),
        vectors=np.concatenate(blocks).astype(np.float32, copy=False) if blocks
        else np.zeros((0, dim), np.float32),
    )


def dim_of(embedder: Embedder) -> int:
    """The embedder's vector width (0 when it does not say)."""
    with contextlib.suppress(Exception):
        return int(embedder.dim)
    return 0


def _concat(pieces: list[Any], dtype: Any) -> np.ndarray:
    arrays = [np.asarray(p, dtype=dtype) for p in pieces]
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype)


def _article_meta(a: Article, n_chunks: int) -> JSONObject:
    return {
        "id": a.id, "title": a.title, "date": a.date, "source": a.source, "url": a.url,
        "path": a.path, "hash": a.hash, "chunks": n_chunks,
    }


def store_chunks(parts: list[Part]) -> StoreChunks:
    """The chunks of new and changed articles, as a store takes them."""
    texts, articles, dates = [], [], []
    for p in parts:
        for s, e in zip(p.starts, p.ends):
            texts.append(embedding_input(p.article.title, p.article.text[s:e]))
            articles.append(p.article.id)
            dates.append(date_key(p.article.date))
    blocks = [p.vectors for p in parts if p.vectors is not None and len(p.vectors)]
    return StoreChunks(
        ids=_concat([p.chunk_ids for p in parts], np.int64),
        vectors=np.concatenate(blocks).astype(np.float32, copy=False) if blocks
        else np.zeros((0, 1), np.float32),
        texts=texts, articles=articles, dates=np.asarray(dates, np.int64),
        starts=_concat([p.starts for p in parts], np.int64),
        ends=_concat([p.ends for p in parts], np.int64))
