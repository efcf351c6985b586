"""Incremental, crash-safe index builds.

`build_index` reads the corpus, compares each article's content hash with the live index,
and chunks and embeds only articles that are new or changed, into one new segment; the
articles they replace, and removed ones, are recorded as deleted. Unchanged articles stay
where they are: an update costs what changed, not the size of the index. Segments are
merged by a size-tiered policy (qa.index.writer), and everything is published by replacing
the manifest atomically, under a lock.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import config
from ..corpus import nlp
from .analysis import Analysis
from ..corpus.chunking import chunk_article
from ..embed.calibrate import build_embedder
from ..embed.embedder import Embedder, backend_of, default_embedder
from ..errors import (
    CorpusError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    QAError,
    StoreUnavailableError,
)
from .executors import EmbedJob, Executor, LocalExecutor
from ..index import (
    FORMAT_VERSION,
    Index,
    IndexWriter,
    SegmentData,
    build_lock,
    claim_index_dir,
    collect_garbage,
    folders_of,
    read_manifest,
    refuse_foreign_manifest,
)
from ..index.backend import BACKENDS as STORE_BACKENDS
from ..index.backend import LOCAL, MILVUS, StoreChunks, date_key, store_of
from ..index.bm25 import B, EPSILON, K1, Postings, term_counts
from ..index.chunks import ChunkTable
from ..index.phrases import PhraseTableBuilder
from ..index.quotes import QuoteTableBuilder
from ..index.sentences import SentenceVectors, cited_rows
from ..index.texts import ArticleTable, TextStore
from ..index.store_sync import (
    StoreSync,
    chunks_of,
    connect,
    live_chunk_ids,
    milvus_target,
    resolve_uri,
)
from ..corpus.ingest import load_corpus
from ..text import TOKENIZER, terms
from ..types import Article, BuildReport, Chunk, Phrase, Quote

# progress(stage, done, total), stages in this order: "model" (only when the machine has no
# ONNX export of the model yet: the first build, ~10-40 s), "read" (0, 0 before reading; n, n
# after), "embed" (chunks done of total), "analyse" (articles parsed of total: the parse runs
# beside the embedding, this is the wait for what is left) and "write" (0, 1 then 1, 1).
BuildProgress = Callable[[str, int, int], None]


def describe_stage(stage: str, done: int, total: int) -> str:
    """A build stage as the CLI's stderr and the chat's progress label name it."""
    if stage == "model":
        return "preparing the model for fast queries (one time, 10-40 s)"
    if stage == "read":
        return f"read {total} article{'s' if total != 1 else ''}" if total else "reading articles"
    if stage == "analyse":
        return f"analysing {total} article{'s' if total != 1 else ''}"
    if stage == "embed":
        return f"embedding {total} chunk{'s' if total != 1 else ''}"
    if stage == "write":
        return "writing the index"
    return stage

# Recorded in the manifest: chunk ids depend on the article hash and position only, so a
# change of these settings must rebuild everything rather than reuse chunks.
# torch, fp32 ONNX (cosine 1.0) and OpenVINO (bf16: cosine >= 0.9999; tested) give the same
# vectors for retrieval purposes: their builds mix freely. int8 is a backend of its own.
_EQUIVALENT = frozenset({"torch", "onnx", "openvino"})

CHUNKING = {"target_words": 150, "max_words": 200, "overlap_sentences": 1, "version": 1}


def embedding_input(title: str, chunk_text: str) -> str:
    """What a chunk is embedded and BM25-indexed as: its article's title, then its text."""
    return f"{title}\n{chunk_text}" if title else chunk_text


@dataclass
class _Part:
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


def _load_previous(
    index_dir: Path, model: str, backend: str = "torch"
) -> tuple[dict[str, Any] | None, Index | None, str]:
    """The live generation to build on, or (None, None, why a full build is needed).

    Only the embedding model and the chunking decide what can be kept: with other tokenizer
    settings the chunks and vectors are still good and only the BM25 counts are redone.
    Opening reads the article records and checks every file's size; the parts an update
    does not touch are never read.
    """
    try:
        index = Index.open(index_dir, for_search=False)
        manifest = index.manifest
        if manifest.get("chunking") != CHUNKING:
            return None, None, "the chunking settings changed"
        if manifest.get("nlp") != nlp.PIPELINE:
            return None, None, "the NLP pipeline changed"
        if (manifest.get("model") or {}).get("name") != model:
            return None, None, f"the model changed to {model}"
        previous = manifest.get("embedding_backend", "torch")
        if previous != backend and not {previous, backend} <= _EQUIVALENT:
            return None, None, f"the embedding backend changed to {backend}"
        if any(not seg.layout for seg in index.segments):
            return None, None, "the previous index has no vectors"
        if index.dense_error:  # damaged vectors: embed everything again
            return None, None, f"the previous index's {index.dense_error}"
        return manifest, index, ""
    except IndexMissingError:
        return None, None, "there is no previous index"
    except (IndexCorruptError, IndexMismatchError) as exc:
        return None, None, f"the previous index is unusable ({exc})"


def _analyze(title: str, chunk_text: str) -> list[str]:
    """A chunk's BM25 terms: what the build counts (and what deleting it uncounts)."""
    return terms(embedding_input(title, chunk_text))


def build_index(
    corpus: str | os.PathLike[str] = config.DEFAULT_CORPUS,
    index: str | os.PathLike[str] = config.DEFAULT_INDEX,
    *,
    full: bool = False,
    optimize: bool = False,
    progress: BuildProgress | None = None,
    embedder: Embedder | None = None,
    executor: Executor | None = None,
    model: str | None = None,
    backend: str | None = None,
    wait: float = 0.0,
    store: str | None = None,
    milvus_uri: str | None = None,
) -> BuildReport:
    """Build or update the index of a corpus folder.

    An update writes one new segment for new and changed articles, records the deleted
    ones, and swaps the manifest; segments are merged when a size tier fills up (see
    qa.index.writer).

    Args:
        corpus: folder of articles (.txt, .md, .html, .jsonl, ...).
        index: index folder; created if missing.
        full: rebuild everything instead of reusing unchanged articles.
        optimize: merge every segment into one afterwards (`qa index --optimize`).
        progress: optional callback progress(stage, done, total).
        embedder: the embedding model (default: the packaged all-MiniLM-L6-v2, or $QA_MODEL).
        executor: where the new chunks are embedded (qa.build.executors): None embeds here with
            `embedder`; a `RayExecutor` runs the same model and backend on a Ray cluster.
        model: a model name or path, when no embedder is given.
        backend: "torch", "onnx", "onnx-int8" or "openvino" (about twice as fast as torch,
            same vectors; see docs/benchmarks.md), when no embedder is given. Default:
            the `runtime` setting ($QA_RUNTIME), else the index's own backend, else the
            fastest measured on this machine (qa.embed.calibrate).
        wait: seconds to wait for another build's lock before giving up.
        store: where searches rank chunks: "local" (the folder's own FAISS and BM25 parts)
            or "milvus" (a Milvus collection, synced before the manifest is published; see
            qa.index.store_sync). Default: the index's own, else "local". Moving an index
            to another store reuses its vectors (nothing is embedded again).
        milvus_uri: the Milvus address (`http://host:19530`) or a milvus-lite file
            (`./x.db`, recorded absolute), for store "milvus" (default: the index's own).

    Returns:
        A BuildReport: what was added, changed, removed, kept, skipped, and how long it took.

    Raises:
        CorpusError: the corpus folder is missing, empty, or nothing in it could be read.
        BuildLockedError: another build of the same index is running.
        StoreUnavailableError: the Milvus store cannot be reached (the index is unchanged).
    """
    t0 = time.perf_counter()
    corpus_dir, index_dir = Path(corpus), Path(index)
    # The store first: a missing or unreachable address fails before any model loads.
    store_uri = _store_uri(index_dir, store, milvus_uri)
    if embedder is None:
        backend = backend or config.embedding_runtime() or _live_backend(index_dir)
        if backend != "torch":  # the first build on a machine exports the model (~30 s)
            _announce_export(progress, config.model_name(model), quantize=backend == "onnx-int8")
        embedder = build_embedder(model, backend) if backend != "torch" else default_embedder(model)
    owner = claim_index_dir(index_dir, corpus_dir)
    with build_lock(index_dir, wait=wait):
        refuse_foreign_manifest(index_dir)
        collect_garbage(index_dir, owner)
        # Readers may hold the live generation (FAISS loads lazily): its folders stay one
        # build longer, full rebuilds included.
        live_before: dict[str, Any] | None = None
        with contextlib.suppress(QAError):
            live_before = read_manifest(index_dir)
        target = milvus_target(owner, store_uri) if store_uri else {"backend": LOCAL}
        sync = None
        if store_uri:
            with _unchanged(index_dir):
                sync = StoreSync.open(index_dir, target, _dim_of(embedder), live_before)
        prev_manifest, prev, _why = (None, None, "full build requested")
        if not full:
            prev_manifest, prev, _why = _load_previous(index_dir, embedder.name, backend_of(embedder))
        try:
            return _build(corpus_dir, index_dir, owner, prev, prev_manifest, embedder,
                          executor or LocalExecutor(embedder), progress,
                          optimize=optimize, live_before=live_before, t0=t0, target=target,
                          sync=sync)
        except IndexCorruptError:
            if prev is None:
                raise
            # A part of the previous index this update had to read is damaged (sizes were
            # checked on open, contents only when read): build everything afresh.
            return _build(corpus_dir, index_dir, owner, None, None, embedder,
                          executor or LocalExecutor(embedder), progress,
                          optimize=optimize, live_before=live_before, t0=t0, target=target,
                          sync=sync)


def _build(corpus_dir: Path, index_dir: Path, owner: str, prev: Index | None,
           prev_manifest: dict[str, Any] | None, embedder: Embedder, executor: Executor,
           progress: BuildProgress | None, *, optimize: bool,
           live_before: dict[str, Any] | None, t0: float, target: dict[str, str],
           sync: StoreSync | None) -> BuildReport:
    """One build under the lock: read the corpus, diff it against `prev` (None: build
    everything), embed what is new, write the next generation and publish it."""
    file_keys: dict[str, tuple[int, int]] = {}
    known = _PreviousFiles(prev, prev_manifest) if prev is not None else None
    if progress:
        progress("read", 0, 0)
    articles, skipped = load_corpus(corpus_dir, known=known, file_keys=file_keys)
    articles = _dedupe(articles, skipped)
    if progress:
        progress("read", len(articles), len(articles))
    if not articles:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5])
        raise CorpusError(
            f"No article in {corpus_dir}/ could be read ({len(skipped)} skipped: {reasons}). "
            "Fix or replace those files, then run `qa index` again. The previous index, "
            "if any, is unchanged."
        )

    live = known.live if known is not None else {}
    added, changed, unchanged = [], [], []
    fresh: list[Article] = []
    order_seg = np.empty(len(articles), np.int64)
    order_row = np.empty(len(articles), np.int64)
    deleted: dict[int, list[int]] = {}
    for i, art in enumerate(articles):
        old = live.get(art.id)
        if old is not None and old[2] == art.hash:
            unchanged.append(art.id)
            order_seg[i], order_row[i] = old[0], old[1]
            continue
        (changed if old is not None else added).append(art.id)
        if old is not None:
            deleted.setdefault(old[0], []).append(old[1])
        order_seg[i], order_row[i] = -1, len(fresh)
        fresh.append(known.with_its_text(art) if known is not None else art)
    current = {a.id for a in articles}
    removed = [aid for aid in live if aid not in current]
    for aid in removed:
        deleted.setdefault(live[aid][0], []).append(live[aid][1])
    recount = prev_manifest is not None and prev_manifest.get("tokenizer") != TOKENIZER

    writer = IndexWriter(index_dir, owner, prev, _analyze)
    # A store the live manifest does not record, or one emptied behind its back, is filled.
    moves = store_of(live_before or {}) != target or (sync is not None and sync.fresh)
    # Files whose times changed but not their contents (a copy): the next manifest records
    # the new times, so that opening the index does not hash them again.
    restamp = prev is not None and bool(prev.verified)
    # --optimize on a Milvus store also rewrites the store (see _sync_before_publish).
    if prev is not None and not (added or changed or removed or recount or moves or restamp) \
            and not (optimize and (not writer.optimized or sync is not None)):
        # Nothing to do: the live index already describes this corpus (an index built
        # before the fast query model existed still gets it, once).
        notes = _export_query_model(index_dir, embedder, progress)
        if sync is not None:  # rows a crashed build left in the store go now
            sync.finish(prev)
        return BuildReport(
            index=str(index_dir), added=(), changed=(), removed=(),
            unchanged=tuple(unchanged), skipped=tuple(skipped), articles=len(articles),
            chunks=prev.n_chunks, embedded_chunks=0,
            seconds=time.perf_counter() - t0, full=False, up_to_date=True, notes=tuple(notes),
        )

    parts = [_new_part(art) for art in fresh]
    # Sentences repeat across overlapping chunks; each is analysed once.
    analysis = Analysis.start([p.article for p in parts],
                              [sorted({sp for spans in p.sentences for sp in spans}) for p in parts])
    try:
        embedded = _embed_new_parts(parts, embedder, executor, progress)
        if progress and parts:
            progress("analyse", 0, len(parts))
        for part, found in zip(parts, analysis.results(
                (lambda done, total: progress("analyse", done, total)) if progress else None)):
            part.phrases, part.quotes = list(found.phrases), list(found.quotes)
    finally:
        analysis.close()
    _embed_sentences(parts, embedder, executor)
    if progress:
        progress("write", 0, 1)
    for seg, rows in deleted.items():
        writer.delete(seg, rows)
    if parts:
        new = writer.add(_segment_data(parts, file_keys, embedder))
        order_seg[order_seg == -1] = new
    writer.set_order(order_seg, order_row)
    store_notes = _sync_before_publish(sync, parts, writer, prev, live_before, unchanged,
                                       progress, rewrite=optimize) if sync is not None else []
    if recount:
        writer.recount()
    if optimize:
        writer.merge_all()
    else:
        writer.merge_due()
    manifest = writer.commit(dict(_manifest_fields(embedder, executor, corpus_dir, skipped), store=target))
    if sync is not None:
        sync.finish(Index.from_manifest(index_dir, manifest, for_search=False))
    collect_garbage(index_dir, owner, keep=folders_of(live_before))
    if sync is not None and optimize:
        sync.compact()
    notes = store_notes + _moved_home(live_before, target) \
        + _export_query_model(index_dir, embedder, progress)
    if restamp:
        notes.append(f"{len(prev.verified)} index files had other modification times than the "
                     "index recorded (a copy?); their checksums matched, and the index now "
                     "records their times")
    if progress:
        progress("write", 1, 1)
    return BuildReport(
        index=str(index_dir), added=tuple(added), changed=tuple(changed),
        removed=tuple(removed), unchanged=tuple(unchanged), skipped=tuple(skipped),
        articles=len(articles), chunks=int(manifest["counts"]["chunks"]),
        embedded_chunks=embedded, seconds=time.perf_counter() - t0, full=prev is None,
        notes=tuple(notes),
    )




def _moved_home(live_before: dict[str, Any] | None, target: dict[str, Any]) -> list[str]:
    """A note when an index leaves its Milvus store for the folder: the collection stays."""
    before = store_of(live_before or {})
    if before["backend"] != MILVUS or store_of({"store": target})["backend"] != LOCAL:
        return []
    return [f"search store: back in the index folder; the Milvus collection "
            f"{before.get('collection')} at {before.get('uri')} is left as it was (drop it "
            f"there when nothing else reads it)"]


def _store_uri(index_dir: Path, store: str | None, milvus_uri: str | None) -> str | None:
    """The Milvus address this build syncs (None: the local store), checked reachable: the
    store asked for, else the index's own, else the local one."""
    recorded: dict[str, str] = {"backend": LOCAL}
    with contextlib.suppress(QAError):
        recorded = store_of(read_manifest(index_dir))
    store = store or recorded["backend"]
    if store not in STORE_BACKENDS:
        raise QAError(f"Unknown store backend {store!r}; use one of {', '.join(STORE_BACKENDS)}.")
    if store == LOCAL:
        return None
    uri = milvus_uri or (recorded.get("uri") if recorded["backend"] == MILVUS else None)
    if not uri:
        raise QAError("A Milvus store needs its address: add `--milvus-uri http://HOST:19530` "
                      "(a Milvus server) or `--milvus-uri ./qa.db` (a milvus-lite file), or "
                      "set milvus_uri in the settings file.")
    uri = resolve_uri(uri)
    with _unchanged(index_dir):
        connect(uri)
    return uri


@contextlib.contextmanager
def _unchanged(index_dir: Path) -> Iterator[None]:
    try:
        yield
    except StoreUnavailableError as exc:
        raise StoreUnavailableError(f"{exc} The index in {index_dir}/ is unchanged.") from exc


def _sync_before_publish(sync: StoreSync, parts: list[_Part], writer: IndexWriter,
                         prev: Index | None, live_before: dict[str, Any] | None,
                         unchanged: list[str], progress: BuildProgress | None, *,
                         rewrite: bool = False) -> list[str]:
    """Upsert this build's chunks into the Milvus store before the manifest names them
    (qa.index.store_sync); a store new to this index also gets every unchanged chunk, its
    stored vector reused, and so does one being rewritten (`rewrite`, `qa index --optimize`:
    milvus-lite keeps BM25 statistics per segment and each update adds one, so its lexical
    ranking drifts from a fresh build's until every row is in one segment again; see
    docs/reliability.md). Returns a note for the build report."""
    new_ids = np.concatenate([np.asarray(p.chunk_ids, np.int64) for p in parts]) if parts \
        else np.zeros(0, np.int64)
    removed = [*writer.removed_ids]
    if prev is None and live_before is not None and not sync.fresh:
        # A full rebuild: whatever was live before and is not rebuilt goes.
        with contextlib.suppress(QAError):
            removed.append(live_chunk_ids(Index.from_manifest(
                writer.index_dir, live_before, for_search=False)))
    gone = np.setdiff1d(np.concatenate(removed) if removed else np.zeros(0, np.int64), new_ids)
    sync.begin([new_ids, gone])
    sync.upsert(_store_chunks(parts))
    carried = 0
    if (sync.fresh or rewrite) and prev is not None and unchanged:
        for batch in chunks_of(prev, set(unchanged), embedding_input):
            sync.upsert(batch)
            carried += len(batch)
    sync.acknowledged()
    where = f"Milvus at {sync.target['uri']} (collection {sync.target['collection']})"
    if carried:
        return [f"search store: {where}; {carried} indexed chunks copied with their vectors "
                f"(not embedded again), {len(new_ids)} new ones upserted"]
    return [f"search store: {where}; {len(new_ids)} chunks upserted, {len(gone)} removed"]


def _store_chunks(parts: list[_Part]) -> StoreChunks:
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


def _live_backend(index_dir: Path) -> str:
    """An update keeps the backend the index was built with, unless told otherwise; a new
    index gets the default one (openvino when installed)."""
    from ..embed.calibrate import default_backend
    from ..embed.embedder import BACKENDS

    with contextlib.suppress(QAError):
        backend = read_manifest(index_dir).get("embedding_backend")
        if backend in BACKENDS:
            return str(backend)
    return default_backend()


def _announce_export(progress: BuildProgress | None, name: str, *, quantize: bool,
                     index_dir: Path | None = None) -> None:
    from ..index.query_model import export_pending

    if progress and export_pending(name, quantize=quantize, index_dir=index_dir):
        progress("model", 0, 1)


def _export_query_model(index_dir: Path, embedder: Embedder,
                        progress: BuildProgress | None = None) -> list[str]:
    """Export the model to ONNX beside the index once, so that questions never wait for torch.
    Only for sentence-transformers models; a failure only costs query speed, so it is a note."""
    from ..embed.embedder import SentenceTransformerEmbedder
    from ..index.query_model import ensure_query_model
    from ..errors import ModelUnavailableError

    backend = backend_of(embedder)
    if not isinstance(embedder, SentenceTransformerEmbedder) and backend == "torch":
        return []  # a custom embedder: nothing to export
    try:
        # Queries use the same precision as the build, so both sides of a match agree.
        _announce_export(progress, embedder.name, quantize=backend == "onnx-int8",
                         index_dir=index_dir)
        ensure_query_model(index_dir, embedder.name, quantize=backend == "onnx-int8")
    except ModelUnavailableError as exc:
        return [f"The fast query model was not exported ({exc}); questions will load torch."]
    except OSError as exc:  # disk full or read-only: the index itself is already published
        where = exc.filename or index_dir
        return [f"The index is published, but copying the fast query model into {index_dir}/ "
                f"failed ({exc.strerror or exc}: {where}). Free space there, then run "
                "`qa index` again; until then questions load torch (slower start)."]
    return []


def _dedupe(articles: list[Article], skipped: list) -> list[Article]:
    """Keep the first article of each id; later ones are reported as skipped."""
    from ..types import Skipped

    seen: set[str] = set()
    out = []
    for a in articles:
        if a.id in seen:
            skipped.append(Skipped(a.path, f"duplicate article id {a.id!r}; the first one is indexed"))
            continue
        seen.add(a.id)
        out.append(a)
    return out


def _new_part(art: Article) -> _Part:
    chunks: list[Chunk] = chunk_article(
        art,
        target_words=CHUNKING["target_words"],
        max_words=CHUNKING["max_words"],
        overlap_sentences=CHUNKING["overlap_sentences"],
    )
    return _Part(
        article=art,
        chunk_ids=[c.id for c in chunks],
        ordinals=[c.ordinal for c in chunks],
        starts=[c.start for c in chunks],
        ends=[c.end for c in chunks],
        sentences=[list(c.sentences) for c in chunks],
    )


def _embed_new_parts(parts: list[_Part], embedder: Embedder, executor: Executor,
                     progress: BuildProgress | None) -> int:
    """Embed the chunks of new and changed articles with the executor, in one job; every
    vector is back before anything is written."""
    todo = parts
    texts = [
        embedding_input(p.article.title, p.article.text[s:e])
        for p in todo
        for s, e in zip(p.starts, p.ends)
    ]
    if not texts:
        return 0
    cb = (lambda done, total: progress("embed", done, total)) if progress else None
    if progress:
        progress("embed", 0, len(texts))
    job = EmbedJob(ids=_concat([p.chunk_ids for p in todo], np.int64), texts=texts,
                   model=embedder.name, backend=backend_of(embedder))
    vectors = executor.embed(job, progress=cb)
    at = 0
    for p in todo:
        n = len(p.starts)
        p.vectors = vectors[at : at + n]
        at += n
    return len(texts)


def _embed_sentences(parts: list[_Part], embedder: Embedder, executor: Executor) -> None:
    """Embed the sentences an answer may cite (qa.index.sentences), each distinct text once,
    with the executor that embedded the chunks. Needs the articles' phrases (sentence roles)."""
    unique: dict[str, int] = {}
    wanted: list[list[tuple[int, int]]] = []  # per part: (sentence row, text number)
    for p in parts:
        spans = [span for chunk in p.sentences for span in chunk]
        rows = cited_rows(p.article.text, spans, p.phrases)
        wanted.append([(i, unique.setdefault(p.article.text[spans[i][0]:spans[i][1]], len(unique)))
                       for i in rows])
    texts = list(unique)
    ids = np.asarray([int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(),
                                     "little", signed=True) for t in texts], dtype=np.int64)
    vectors = executor.embed(EmbedJob(ids=ids, texts=texts, model=embedder.name,
                                      backend=backend_of(embedder))) if texts else None
    dim = int(vectors.shape[1]) if vectors is not None else next(
        (int(p.vectors.shape[1]) for p in parts if p.vectors is not None), _dim_of(embedder) or 1)
    for p, rows in zip(parts, wanted):
        out = np.zeros((sum(len(c) for c in p.sentences), dim), np.float32)
        if rows and vectors is not None:
            at, which = zip(*rows)
            out[list(at)] = vectors[list(which)]
        p.sentence_vectors = out


def _segment_data(parts: list[_Part], file_keys: dict[str, tuple[int, int]],
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
    dim = int(blocks[0].shape[1]) if blocks else (_dim_of(embedder) or 1)
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


def _dim_of(embedder: Embedder) -> int:
    """The embedder's vector width (0 when it does not say)."""
    with contextlib.suppress(Exception):
        return int(embedder.dim)
    return 0


def _concat(pieces: list[Any], dtype: Any) -> np.ndarray:
    arrays = [np.asarray(p, dtype=dtype) for p in pieces]
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype)


def _article_meta(a: Article, n_chunks: int) -> dict[str, Any]:
    return {
        "id": a.id, "title": a.title, "date": a.date, "source": a.source, "url": a.url,
        "path": a.path, "hash": a.hash, "chunks": n_chunks,
    }


class _Known:
    """An unchanged article as the index holds it, for `load_corpus(known=...)` and the diff:
    only what they read (id, hash, path). Materialising a full `Article` for each of the
    150k articles of a 1M-chunk index cost most of an update; an article that must be built
    again becomes one in `_PreviousFiles.with_its_text`."""

    __slots__ = ("id", "hash", "path", "where")
    text = ""

    def __init__(self, id: str, hash: str, path: str, where: tuple[int, int]) -> None:
        self.id, self.hash, self.path, self.where = id, hash, path, where


class _PreviousFiles:
    """The live articles of the previous build: by id (for the diff) and by source file,
    for `load_corpus(known=...)`: a file whose size and mtime are unchanged is taken from the
    index instead of parsed again. Files that had unreadable parts last time are always
    re-read (to report them again)."""

    def __init__(self, prev: Index, manifest: dict[str, Any] | None) -> None:
        self._prev = prev
        self.live: dict[str, tuple[int, int, str]] = {}  # article id -> (segment, row, hash)
        self._rows: dict[str, list[tuple[int, int]]] = {}
        for s, seg in enumerate(prev.segments):
            table = seg.articles
            rows = prev.live_rows(s).tolist()
            ids, hashes = table.ids, table.hashes
            self.live.update((ids[r], (s, r, hashes[r])) for r in rows)
            paths, keys = table.paths, table.file_keys
            for r in rows:
                if keys[r]:
                    self._rows.setdefault(paths[r], []).append((s, r))  # type: ignore[arg-type]
        skipped = (manifest or {}).get("skipped_paths")
        self._reread = {str(p).split(":")[0] for p in skipped} if isinstance(skipped, list) else set()

    def get(self, rel: str) -> tuple[tuple[int, int], list[Any]] | None:
        rows = self._rows.get(rel)
        if not rows or rel in self._reread:
            return None
        segments = self._prev.segments
        s0, r0 = rows[0]
        key = tuple(segments[s0].articles.file_keys[r0])
        found = []
        for s, r in rows:
            table = segments[s].articles
            found.append(_Known(table.ids[r], table.hashes[r], rel, (s, r)))
        return key, found  # type: ignore[return-value]

    def with_its_text(self, art: Any) -> Article:
        """A full `Article` with its text, for one that came from here without it."""
        if not isinstance(art, _Known):
            return art
        s, row = art.where
        seg = self._prev.segments[s]
        m = seg.articles[row]
        return Article(id=m["id"], title=m["title"], date=m.get("date"),
                       source=m.get("source") or "", url=m.get("url"), path=m["path"],
                       text=seg.texts[row], hash=m["hash"])


def _manifest_fields(embedder: Embedder, executor: Executor, corpus: Path,
                     skipped: list) -> dict[str, Any]:
    """What a build records in the manifest beside what the index writer does."""
    return {
        "corpus": str(corpus.resolve()),
        "model": {"name": embedder.name, "dim": _dim_of(embedder), "normalized": True},
        "embedding_backend": backend_of(embedder),
        "executor": executor.describe(),  # informational: where this build's chunks were embedded
        "tokenizer": TOKENIZER,
        "chunking": CHUNKING,
        "nlp": nlp.PIPELINE,
        "embedding_input": "title + newline + chunk text",
        "bm25": {"model": "rank_bm25.BM25Okapi", "k1": K1, "b": B, "epsilon": EPSILON},
        "counts": {"skipped": len(skipped)},
        "skipped_paths": sorted({s.path for s in skipped}),
        "versions": dict(_versions(), format=FORMAT_VERSION),
    }


@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    """The versions of qa, FAISS and rank-bm25 (the model of record) this process runs
    (looked up once: each package-metadata lookup scans the install)."""
    import sys
    from importlib.metadata import version

    from ..version import __version__

    faiss = sys.modules.get("faiss")  # importing it only for its version costs ~0.1 s
    return {
        "qa": __version__,
        "faiss": faiss.__version__ if faiss is not None else
        (version("faiss-cpu") if _installed("faiss-cpu") else "?"),
        "rank_bm25": version("rank-bm25") if _installed("rank-bm25") else "?",
    }


def _installed(dist: str) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        version(dist)
        return True
    except PackageNotFoundError:
        return False


__all__ = ["build_index", "embedding_input", "QAError"]
