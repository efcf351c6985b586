"""Incremental, crash-safe index builds.

`build_index` reads the corpus, compares each article's content hash with the live index,
and chunks and embeds only articles that are new or changed, into one new segment; the
articles they replace, and removed ones, are recorded as deleted. Unchanged articles stay
where they are: an update costs what changed, not the size of the index. Segments are
merged by a size-tiered policy (qa.index.writer), and everything is published by replacing
the manifest atomically, under a lock.

The build's pieces: the live generation it builds on (qa.build.previous), the new
articles' parts (qa.build.parts), the parse beside the embedding (qa.build.analysis), where
chunks are embedded (qa.build.executors) and the search store it syncs (qa.build.store).
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import config
from ..corpus import nlp
from ..corpus.ingest import load_corpus
from ..dates import EARLIEST_YEAR, impossible_date
from ..embed.calibrate import build_embedder
from ..embed.chunk_input import embedding_input
from ..embed.embedder import Embedder, backend_of, default_embedder
from ..errors import CorpusError, IndexCorruptError, QAError
from ..index import (
    FORMAT_VERSION,
    LOCAL_STORE,
    BuildRecord,
    Index,
    IndexWriter,
    Manifest,
    ModelRecord,
    StoreRecord,
    build_lock,
    claim_index_dir,
    collect_garbage,
    read_manifest,
    refuse_foreign_manifest,
)
from ..index.bm25 import EPSILON, K1, B
from ..index.store_sync import StoreSync, milvus_target
from ..text import TOKENIZER, terms
from ..types import Article, BuildReport, Skipped
from .analysis import Analysis
from .executors import Executor, LocalExecutor
from .parts import (
    CHUNKING,
    Part,
    dim_of,
    embed_new_parts,
    embed_sentences,
    new_part,
    segment_data,
)
from .previous import PreviousFiles, load_previous
from .progress import BuildProgress, describe_stage
from .store import moved_home, store_uri, sync_before_publish, unchanged_on_failure


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
            $QA_BUILD_BACKEND, else the index's own backend, else "openvino" when the
            openvino package is installed, else "torch".
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
    uri = store_uri(index_dir, store, milvus_uri)
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
        live_before: Manifest | None = None
        with contextlib.suppress(QAError):
            live_before = read_manifest(index_dir)
        target = milvus_target(owner, uri) if uri else LOCAL_STORE
        sync = None
        if uri:
            with unchanged_on_failure(index_dir):
                sync = StoreSync.open(index_dir, target, dim_of(embedder), live_before)
        job = _Job(corpus_dir, index_dir, owner, embedder, executor or LocalExecutor(embedder),
                   progress, optimize, live_before, t0, target, sync)
        prev = None if full else load_previous(index_dir, embedder.name, backend_of(embedder))[0]
        try:
            return _build(job, prev)
        except IndexCorruptError:
            if prev is None:
                raise
            # A part of the previous index this update had to read is damaged (sizes were
            # checked on open, contents only when read): build everything afresh.
            return _build(job, None)


@dataclass(frozen=True)
class _Job:
    """One build under the lock: what it reads, writes and reports to."""

    corpus_dir: Path
    index_dir: Path
    owner: str
    embedder: Embedder
    executor: Executor
    progress: BuildProgress | None
    optimize: bool
    live_before: Manifest | None  # the live manifest when the build started
    t0: float
    target: StoreRecord
    sync: StoreSync | None


@dataclass
class _Diff:
    """The corpus against the previous generation: what is new, changed, kept and removed,
    and where each article will be (segment, row; segment -1: the new segment)."""

    added: list[str]
    changed: list[str]
    unchanged: list[str]
    removed: list[str]
    fresh: list[Article]  # new and changed articles, in corpus order
    order_seg: np.ndarray
    order_row: np.ndarray
    deleted: dict[int, list[int]]  # segment -> article rows no longer live


def _diff(articles: list[Article], known: PreviousFiles | None) -> _Diff:
    live = known.live if known is not None else {}
    d = _Diff([], [], [], [], [], np.empty(len(articles), np.int64),
              np.empty(len(articles), np.int64), {})
    for i, art in enumerate(articles):
        old = live.get(art.id)
        if old is not None and old[2] == art.hash:
            d.unchanged.append(art.id)
            d.order_seg[i], d.order_row[i] = old[0], old[1]
            continue
        (d.changed if old is not None else d.added).append(art.id)
        if old is not None:
            d.deleted.setdefault(old[0], []).append(old[1])
        d.order_seg[i], d.order_row[i] = -1, len(d.fresh)
        d.fresh.append(known.with_its_text(art) if known is not None else art)
    current = {a.id for a in articles}
    d.removed = [aid for aid in live if aid not in current]
    for aid in d.removed:
        d.deleted.setdefault(live[aid][0], []).append(live[aid][1])
    return d


def _build(job: _Job, prev: Index | None) -> BuildReport:
    """One build under the lock: read the corpus, diff it against `prev` (None: build
    everything), embed what is new, write the next generation and publish it."""
    file_keys: dict[str, tuple[int, int]] = {}
    known = PreviousFiles(prev) if prev is not None else None
    progress = job.progress
    if progress:
        progress("read", 0, 0)
    articles, skipped = load_corpus(job.corpus_dir, known=known, file_keys=file_keys)
    articles = _dedupe(articles, skipped)
    articles, undated = _without_impossible_dates(articles)
    if progress:
        progress("read", len(articles), len(articles))
    if not articles:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5])
        raise CorpusError(
            f"No article in {job.corpus_dir}/ could be read ({len(skipped)} skipped: {reasons}). "
            "Fix or replace those files, then run `qa index` again. The previous index, "
            "if any, is unchanged."
        )
    diff = _diff(articles, known)
    recount = prev is not None and prev.manifest.tokenizer != TOKENIZER
    writer = IndexWriter(job.index_dir, job.owner, prev, _analyze)
    # A store the live manifest does not record, or one emptied behind its back, is filled.
    before = job.live_before.store if job.live_before is not None else LOCAL_STORE
    moves = before != job.target or (job.sync is not None and job.sync.fresh)
    # Files whose times changed but not their contents (a copy): the next manifest records
    # the new times, so that opening the index does not hash them again.
    restamp = prev is not None and bool(prev.verified)
    # --optimize on a Milvus store also rewrites the store (see sync_before_publish).
    if prev is not None and not (diff.added or diff.changed or diff.removed or recount
                                 or moves or restamp) \
            and not (job.optimize and (not writer.optimized or job.sync is not None)):
        return _up_to_date(job, prev, diff, articles, skipped, undated)
    parts, embedded = _new_parts(job, diff.fresh)
    if progress:
        progress("write", 0, 1)
    for seg, rows in diff.deleted.items():
        writer.delete(seg, rows)
    if parts:
        new = writer.add(segment_data(parts, file_keys, job.embedder))
        diff.order_seg[diff.order_seg == -1] = new
    writer.set_order(diff.order_seg, diff.order_row)
    notes = sync_before_publish(job.sync, parts, writer, prev, job.live_before, diff.unchanged,
                                rewrite=job.optimize) if job.sync is not None else []
    if recount:
        writer.recount()
    if job.optimize:
        writer.merge_all()
    else:
        writer.merge_due()
    manifest = writer.commit(_build_record(job, skipped))
    notes += _after_publish(job, manifest)
    notes += undated
    if prev is not None and restamp:
        notes.append(f"{len(prev.verified)} index files had other modification times than the "
                     "index recorded (a copy?); their checksums matched, and the index now "
                     "records their times")
    if progress:
        progress("write", 1, 1)
    return BuildReport(
        index=str(job.index_dir), added=tuple(diff.added), changed=tuple(diff.changed),
        removed=tuple(diff.removed), unchanged=tuple(diff.unchanged), skipped=tuple(skipped),
        articles=len(articles), chunks=manifest.counts.chunks or 0,
        embedded_chunks=embedded, seconds=time.perf_counter() - job.t0, full=prev is None,
        notes=tuple(notes),
    )


def _up_to_date(job: _Job, prev: Index, diff: _Diff, articles: list[Article],
                skipped: list[Skipped], undated: list[str]) -> BuildReport:
    """Nothing to do: the live index already describes this corpus (an index built before
    the fast query model existed still gets it, once)."""
    notes = _export_query_model(job.index_dir, job.embedder, job.progress) + undated
    if job.sync is not None:  # rows a crashed build left in the store go now
        job.sync.finish(prev)
    return BuildReport(
        index=str(job.index_dir), added=(), changed=(), removed=(),
        unchanged=tuple(diff.unchanged), skipped=tuple(skipped), articles=len(articles),
        chunks=prev.n_chunks, embedded_chunks=0,
        seconds=time.perf_counter() - job.t0, full=False, up_to_date=True, notes=tuple(notes),
    )


def _without_impossible_dates(articles: list[Article]) -> tuple[list[Article], list[str]]:
    """The articles, those read now with a date that cannot be right
    (`qa.dates.impossible_date`) with their date unknown; and a note naming them for the
    build's report. (An unchanged file is not read again: the index holds its date, unknown.)"""
    kept: list[Article] = []
    named: list[str] = []
    for article in articles:
        if isinstance(article, Article) and article.date and impossible_date(article.date):
            named.append(f"{article.path} ({article.date})")
            article = replace(article, date=None)
        kept.append(article)
    if not named:
        return kept, []
    shown = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
    return kept, [f"{len(named)} article(s) carry a date after tomorrow or before "
                  f"{EARLIEST_YEAR}, so they are indexed with the date unknown (date filters "
                  f"leave them out): {shown}. Fix the date in the file to date them."]


def _new_parts(job: _Job, fresh: list[Article]) -> tuple[list[Part], int]:
    """Chunk, embed and parse the new and changed articles; returns their parts and how many
    chunks were embedded. The parse runs beside the embedding."""
    progress = job.progress
    parts = [new_part(art) for art in fresh]
    # Sentences repeat across overlapping chunks; each is analysed once.
    analysis = Analysis.start([p.article for p in parts],
                              [sorted({sp for spans in p.sentences for sp in spans}) for p in parts])
    try:
        embedded = embed_new_parts(parts, job.embedder, job.executor, progress)
        if progress and parts:
            progress("analyse", 0, len(parts))
        for part, found in zip(parts, analysis.results(
                (lambda done, total: progress("analyse", done, total)) if progress else None)):
            part.phrases, part.quotes = list(found.phrases), list(found.quotes)
    finally:
        analysis.close()
    embed_sentences(parts, job.embedder, job.executor)
    return parts, embedded


def _after_publish(job: _Job, manifest: Manifest) -> list[str]:
    """The store's stale rows dropped, old folders removed, the query model placed; returns
    notes for the report."""
    if job.sync is not None:
        job.sync.finish(Index.from_manifest(job.index_dir, manifest, for_search=False))
    keep = job.live_before.folders if job.live_before is not None else set()
    collect_garbage(job.index_dir, job.owner, keep=keep)
    if job.sync is not None and job.optimize:
        job.sync.compact()
    return moved_home(job.live_before, job.target) \
        + _export_query_model(job.index_dir, job.embedder, job.progress)


def _live_backend(index_dir: Path) -> str:
    """An update keeps the backend the index was built with, unless told otherwise; a new
    index gets the default one (openvino when installed)."""
    from ..embed.calibrate import default_backend
    from ..embed.embedder import BACKENDS

    with contextlib.suppress(QAError):
        backend = read_manifest(index_dir).embedding_backend
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
    from ..errors import ModelUnavailableError
    from ..index.query_model import ensure_query_model

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


def _dedupe(articles: list[Article], skipped: list[Skipped]) -> list[Article]:
    """Keep the first article of each id; later ones are reported as skipped."""
    seen: set[str] = set()
    out = []
    for a in articles:
        if a.id in seen:
            skipped.append(Skipped(a.path, f"duplicate article id {a.id!r}; the first one is indexed"))
            continue
        seen.add(a.id)
        out.append(a)
    return out


def _build_record(job: _Job, skipped: list[Skipped]) -> BuildRecord:
    """What a build records in the manifest beside what the index writer does."""
    embedder = job.embedder
    return BuildRecord(
        corpus=str(job.corpus_dir.resolve()),
        model=ModelRecord(embedder.name, dim_of(embedder), normalized=True),
        embedding_backend=backend_of(embedder),
        executor=job.executor.describe(),  # informational: where this build's chunks were embedded
        tokenizer=TOKENIZER,
        chunking=CHUNKING,
        nlp=nlp.PIPELINE,
        embedding_input="title + newline + chunk text",
        bm25={"model": "rank_bm25.BM25Okapi", "k1": K1, "b": B, "epsilon": EPSILON},
        skipped=len(skipped),
        skipped_paths=tuple(sorted({s.path for s in skipped})),
        versions=dict(_versions(), format=FORMAT_VERSION),
        store=job.target,
    )


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


__all__ = ["CHUNKING", "build_index", "describe_stage", "embedding_input", "QAError"]
