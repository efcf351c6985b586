"""Incremental, crash-safe index builds.

`build_index` reads the corpus, compares each article's content hash with the live index,
and embeds only articles that are new or changed; everything else (chunks, vectors, term
counts, quotes) is copied from the previous generation. The result is written into a fresh
folder beside the live data and published by replacing the manifest atomically, under a lock.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import config, store
from .bm25 import fit_weights, prune_vocab, term_counts
from .chunking import chunk_article
from .dense import dense_layout, make_dense_index, needs_faiss_file, set_faiss_threads
from .embedding import Embedder, backend_of, build_embedder, default_embedder
from .errors import CorpusError, IndexCorruptError, IndexMismatchError, IndexMissingError, QAError
from .ingest import load_corpus
from .quotes import extract_quotes
from .text import TOKENIZER, terms
from .types import Article, BuildReport, Chunk, Quote

# progress(stage, done, total): stages are "read", "embed" and "write".
BuildProgress = Callable[[str, int, int], None]

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
    """One article's share of a generation: chunks and everything derived from them."""

    article: Article
    chunk_ids: list[int]
    ordinals: list[int]
    starts: list[int]
    ends: list[int]
    sentences: list[list[tuple[int, int]]] | None  # new articles
    tf_rows: Any  # CSR rows (local vocab) or None when taken from the previous build
    vectors: np.ndarray | None  # new articles
    quotes: list[Quote] = field(default_factory=list)  # new articles
    quote_rows: tuple[int, int] = (0, 0)  # reused: its rows in the previous QuoteTable
    reused_rows: np.ndarray | None = None  # rows in the previous generation
    prev_article: int = -1  # reused: the article's row in the previous generation
    sent_block: np.ndarray | None = None  # reused: the sentence spans of its chunks, (m, 2)
    sent_counts: np.ndarray | None = None  # reused: sentences per chunk


def _load_previous(
    index_dir: Path, model: str, backend: str = "torch"
) -> tuple[dict[str, Any] | None, store.Contents | None, str]:
    """The live generation to reuse, or (None, None, why a full build is needed).

    Only the embedding model and the chunking decide what can be reused: with other tokenizer
    settings the chunks and vectors are still good and only the BM25 counts are redone.
    """
    try:
        manifest = store.read_manifest(index_dir)
        folder = store.data_dir(index_dir, manifest)
        if manifest.get("chunking") != CHUNKING:
            return None, None, "the chunking settings changed"
        if (manifest.get("model") or {}).get("name") != model:
            return None, None, f"the model changed to {model}"
        previous = manifest.get("embedding_backend", "torch")
        if previous != backend and not {previous, backend} <= _EQUIVALENT:
            return None, None, f"the embedding backend changed to {backend}"
        contents = store.load_contents(folder, with_tf=True, with_vectors=True)
        if contents.vectors is None and contents.n_chunks:
            return None, None, "the previous index has no vectors"
        if manifest.get("tokenizer") != TOKENIZER:
            contents.tf = None  # counts from another tokenizer: recount every chunk
        # Plain ndarray views of the memory-mapped tables: np.memmap's slicing overhead,
        # times ~7 slices per article, was half a second of an update at 100k chunks.
        for name in ("chunk_ids", "chunk_article", "chunk_ordinal", "chunk_start", "chunk_end",
                     "sent_spans", "sent_ptr"):
            setattr(contents, name, getattr(contents, name).view(np.ndarray))
        return manifest, contents, ""
    except IndexMissingError:
        return None, None, "there is no previous index"
    except (IndexCorruptError, IndexMismatchError) as exc:
        return None, None, f"the previous index is unusable ({exc})"


def build_index(
    corpus: str | os.PathLike[str] = config.DEFAULT_CORPUS,
    index: str | os.PathLike[str] = config.DEFAULT_INDEX,
    *,
    full: bool = False,
    progress: BuildProgress | None = None,
    embedder: Embedder | None = None,
    model: str | None = None,
    backend: str | None = None,
    wait: float = 0.0,
) -> BuildReport:
    """Build or update the index of a corpus folder.

    Args:
        corpus: folder of articles (.txt, .md, .html, .jsonl).
        index: index folder; created if missing.
        full: rebuild everything instead of reusing unchanged articles.
        progress: optional callback progress(stage, done, total).
        embedder: the embedding model (default: the packaged all-MiniLM-L6-v2, or $QA_MODEL).
        model: a model name or path, when no embedder is given.
        backend: "torch", "onnx", "onnx-int8" or "openvino" (about twice as fast as torch,
            same vectors; see docs/benchmarks.md), when no embedder is given. Default:
            $QA_BUILD_BACKEND, else the index's own backend, else "openvino" when the
            openvino package is installed, else "torch".
        wait: seconds to wait for another build's lock before giving up.

    Returns:
        A BuildReport: what was added, changed, removed, kept, skipped, and how long it took.

    Raises:
        CorpusError: the corpus folder is missing, empty, or nothing in it could be read.
        BuildLockedError: another build of the same index is running.
    """
    t0 = time.perf_counter()
    corpus_dir, index_dir = Path(corpus), Path(index)
    if embedder is None:
        backend = backend or os.environ.get("QA_BUILD_BACKEND") or _live_backend(index_dir)
        embedder = build_embedder(model, backend) if backend != "torch" else default_embedder(model)
    owner = store.claim_index_dir(index_dir, corpus_dir)
    with store.build_lock(index_dir, wait=wait):
        store.collect_garbage(index_dir, owner)
        # Readers may hold the live generation (FAISS loads lazily): it stays one build
        # longer, full rebuilds included.
        live_before = None
        with contextlib.suppress(QAError):
            live_before = store.read_manifest(index_dir).get("data")
        prev_manifest, prev, _why = (None, None, "full build requested")
        if not full:
            prev_manifest, prev, _why = _load_previous(index_dir, embedder.name, backend_of(embedder))
        file_keys: dict[str, tuple[int, int]] = {}
        known = _PreviousFiles(prev, prev_manifest) if prev is not None else None
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
        prev_rows: dict[str, tuple[str, np.ndarray, int]] = {}
        if prev is not None:
            # Chunks are stored article after article: each article's rows are one range.
            arts = np.arange(len(prev.articles))
            lo = np.searchsorted(prev.chunk_article, arts, side="left")
            hi = np.searchsorted(prev.chunk_article, arts, side="right")
            for row, a in enumerate(prev.articles):
                prev_rows[a["id"]] = (a["hash"], np.arange(lo[row], hi[row]), row)

        quote_lo = quote_hi = np.zeros(0, np.int64)
        if prev is not None and prev.quotes is not None:
            arts = np.arange(len(prev.articles))
            quote_lo = np.searchsorted(prev.quotes.article, arts, side="left")
            quote_hi = np.searchsorted(prev.quotes.article, arts, side="right")
        added, changed, unchanged = [], [], []
        parts: list[_Part] = []
        for art in articles:
            old = prev_rows.get(art.id)
            if old is not None and old[0] == art.hash:
                unchanged.append(art.id)
                quote_rows = (int(quote_lo[old[2]]), int(quote_hi[old[2]])) if len(quote_lo) else (0, 0)
                part = _reused_part(art, prev, old[1], quote_rows)  # type: ignore[arg-type]
                part.prev_article = old[2]
                parts.append(part)
            else:
                (changed if old is not None else added).append(art.id)
                parts.append(_new_part(known.with_its_text(art) if known is not None else art))
        current = {a.id for a in articles}
        removed = [aid for aid in prev_rows if aid not in current]

        if prev is not None and prev.tf is not None and not (added or changed or removed):
            # Nothing to do: the live index already describes this corpus (an index built
            # before the fast query model existed still gets it, once).
            notes = _export_query_model(index_dir, embedder)
            return BuildReport(
                index=str(index_dir), added=(), changed=(), removed=(),
                unchanged=tuple(unchanged), skipped=tuple(skipped), articles=len(articles),
                chunks=prev.n_chunks, embedded_chunks=0,
                seconds=time.perf_counter() - t0, full=False, up_to_date=True, notes=tuple(notes),
            )

        embedded = _embed_new_parts(parts, embedder, progress)
        contents, weights = _assemble(parts, prev)
        for meta in contents.articles:
            meta["file_key"] = list(file_keys.get(meta["path"], ()))
        if progress:
            progress("write", 0, 1)
        layout = dense_layout(contents.n_chunks)
        dense = None  # exact search needs no trained index: readers make it from vectors.npy
        if needs_faiss_file(layout):
            updated = _updated_ivf(index_dir, prev_manifest, prev, contents, layout)
            if updated is not None:
                dense, layout = updated
            else:
                dense = make_dense_index(contents.vectors, contents.chunk_ids)  # type: ignore[arg-type]
                layout = dict(layout, trained_chunks=contents.n_chunks)
        tmp = store.new_tmp_dir(index_dir, owner)
        try:
            files = store.save_contents(tmp, contents, weights, dense)
            manifest = _manifest(contents, embedder, files, corpus_dir, skipped, layout)
            manifest["checksums"] = store.file_checksums(tmp)
            store.publish(index_dir, tmp, manifest)
        except BaseException:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
            raise
        store.collect_garbage(index_dir, owner, keep_previous=live_before)
        notes = _export_query_model(index_dir, embedder)
        if progress:
            progress("write", 1, 1)
        return BuildReport(
            index=str(index_dir), added=tuple(added), changed=tuple(changed),
            removed=tuple(removed), unchanged=tuple(unchanged), skipped=tuple(skipped),
            articles=len(articles), chunks=contents.n_chunks, embedded_chunks=embedded,
            seconds=time.perf_counter() - t0, full=prev is None, notes=tuple(notes),
        )


def _live_backend(index_dir: Path) -> str:
    """An update keeps the backend the index was built with, unless told otherwise; a new
    index gets the default one (openvino when installed)."""
    from .embedding import BACKENDS, default_backend

    with contextlib.suppress(QAError):
        backend = store.read_manifest(index_dir).get("embedding_backend")
        if backend in BACKENDS:
            return str(backend)
    return default_backend()


def _export_query_model(index_dir: Path, embedder: Embedder) -> list[str]:
    """Export the model to ONNX beside the index once, so that questions never wait for torch.
    Only for sentence-transformers models; a failure only costs query speed, so it is a note."""
    from .embedding import SentenceTransformerEmbedder, ensure_query_model
    from .errors import ModelUnavailableError

    backend = backend_of(embedder)
    if not isinstance(embedder, SentenceTransformerEmbedder) and backend == "torch":
        return []  # a custom embedder: nothing to export
    try:
        # Queries use the same precision as the build, so both sides of a match agree.
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
    from .types import Skipped

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
    sentences = [list(c.sentences) for c in chunks]
    all_sentences = [s for c in chunks for s in c.sentences]
    # Sentences can repeat across overlapping chunks; quotes need each sentence once.
    unique_sentences = sorted(set(all_sentences))
    try:
        quotes = extract_quotes(art, unique_sentences)
    except Exception:  # a quote finder bug must never cost the user their index
        quotes = []
    return _Part(
        article=art,
        chunk_ids=[c.id for c in chunks],
        ordinals=[c.ordinal for c in chunks],
        starts=[c.start for c in chunks],
        ends=[c.end for c in chunks],
        sentences=sentences,
        tf_rows=None,
        vectors=None,
        quotes=quotes,
    )


def _reused_part(art: Article, prev: store.Contents, rows: np.ndarray,
                 quote_rows: tuple[int, int]) -> _Part:
    """An unchanged article's share, copied from the previous generation as array slices
    (per-row Python work here was most of an update's time at 100k chunks)."""
    lo, hi = (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, 0)
    ptr = np.asarray(prev.sent_ptr[lo : hi + 1])
    return _Part(
        article=art,
        chunk_ids=np.asarray(prev.chunk_ids[lo:hi]),  # type: ignore[arg-type]
        ordinals=np.asarray(prev.chunk_ordinal[lo:hi]),  # type: ignore[arg-type]
        starts=np.asarray(prev.chunk_start[lo:hi]),  # type: ignore[arg-type]
        ends=np.asarray(prev.chunk_end[lo:hi]),  # type: ignore[arg-type]
        sentences=None,
        tf_rows=None,
        vectors=None,  # copied from prev.vectors rows [lo, hi) by _assemble_vectors
        quote_rows=quote_rows,
        reused_rows=rows,
        sent_block=np.asarray(prev.sent_spans[int(ptr[0]) : int(ptr[-1])]) if len(ptr) else None,
        sent_counts=np.diff(ptr),
    )


def _embed_new_parts(parts: list[_Part], embedder: Embedder, progress: BuildProgress | None) -> int:
    """Embed the chunks of new and changed articles in one batched pass."""
    todo = [p for p in parts if p.reused_rows is None]
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
    vectors = embedder.encode(texts, progress=cb)
    at = 0
    for p in todo:
        n = len(p.starts)
        p.vectors = vectors[at : at + n]
        at += n
    return len(texts)


def _assemble(parts: list[_Part], prev: store.Contents | None) -> tuple[store.Contents, Any]:
    from scipy import sparse

    recount = prev is None or prev.tf is None
    vocab: dict[str, int] = {} if recount else {w: i for i, w in enumerate(prev.vocab)}  # type: ignore[union-attr]
    blocks = []
    run: list[np.ndarray] = []  # consecutive reused articles: copied from prev.tf in one go

    def flush() -> None:
        if run:
            rows = np.concatenate(run)
            contiguous = len(rows) and rows[-1] - rows[0] + 1 == len(rows)
            blocks.append(prev.tf[int(rows[0]) : int(rows[-1]) + 1] if contiguous else prev.tf[rows])  # type: ignore[union-attr]
            run.clear()

    for p in parts:
        if p.reused_rows is not None and not recount:
            run.append(p.reused_rows)
        else:
            flush()
            docs = [
                terms(embedding_input(p.article.title, p.article.text[s:e]))
                for s, e in zip(p.starts, p.ends)
            ]
            blocks.append(term_counts(docs, vocab))
    flush()
    width = len(vocab)
    blocks = [sparse.csr_matrix((b.data, b.indices, b.indptr), shape=(b.shape[0], width)) for b in blocks]
    tf = sparse.vstack(blocks, format="csr") if blocks else sparse.csr_matrix((0, width))
    # The pieces and the previous counts are not needed past this point: let them go before
    # the weights, texts and vectors are assembled (1.5 GB at 1M chunks).
    del blocks
    if prev is not None:
        prev.tf = None
    vocab_list = [""] * width
    for w, i in vocab.items():
        vocab_list[i] = w
    tf, vocab_list = prune_vocab(tf, vocab_list)
    weights = fit_weights(tf, vocab_list)

    chunk_article = np.concatenate(
        [np.full(len(p.starts), row, dtype=np.int32) for row, p in enumerate(parts)]
    ) if parts else np.zeros(0, np.int32)
    blocks_s, counts = [], []
    for p in parts:
        if p.sentences is None:  # reused: array slices from the previous generation
            blocks_s.append(p.sent_block if p.sent_block is not None else np.zeros((0, 2), np.int64))
            counts.append(p.sent_counts)
        else:
            flat_p = [span for s in p.sentences for span in s]
            blocks_s.append(np.asarray(flat_p, dtype=np.int64).reshape(-1, 2))
            counts.append(np.asarray([len(s) for s in p.sentences], dtype=np.int64))
    all_counts = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    sent_ptr = np.zeros(len(all_counts) + 1, dtype=np.int64)
    sent_ptr[1:] = np.cumsum(all_counts)
    flat = np.concatenate(blocks_s) if blocks_s else np.zeros((0, 2), np.int64)
    contents = store.Contents(
        articles=[_article_meta(p.article, len(p.starts)) for p in parts],
        texts=_assemble_texts(parts, prev),
        chunk_ids=_concat([p.chunk_ids for p in parts], np.int64),
        chunk_article=chunk_article,
        chunk_ordinal=_concat([p.ordinals for p in parts], np.int32),
        chunk_start=_concat([p.starts for p in parts], np.int64),
        chunk_end=_concat([p.ends for p in parts], np.int64),
        sent_spans=flat.astype(np.int64).reshape(-1, 2),
        sent_ptr=sent_ptr,
        tf=tf,
        vocab=vocab_list,
        vectors=_assemble_vectors(parts, prev),
        quotes=_assemble_quotes(parts, prev),
    )
    return contents, weights


def _assemble_vectors(parts: list[_Part], prev: store.Contents | None) -> np.ndarray:
    """All chunk vectors in one preallocated array: new articles' from the embedder, runs of
    reused articles read from the previous vectors.npy straight into place."""
    dims = [p.vectors.shape[1] for p in parts if p.vectors is not None and p.vectors.size]
    if prev is not None and prev.vectors is not None and prev.n_chunks:
        dims.append(int(prev.vectors.shape[1]))
    if not dims:
        return np.zeros((0, 1), np.float32)
    out = np.empty((sum(len(p.starts) for p in parts), dims[0]), dtype=np.float32)
    at = 0
    run: list[int] = []  # [out row, prev lo, prev hi] of consecutive reused rows

    def flush() -> None:
        if run and run[2] > run[1]:
            # prev.vectors is an NpyRanges (load_contents): read straight into place.
            prev.vectors.read_into(out[run[0] : run[0] + run[2] - run[1]], run[1])  # type: ignore[union-attr]
        run.clear()

    for p in parts:
        n = len(p.starts)
        if p.reused_rows is not None:
            lo = int(p.reused_rows[0]) if n else 0
            if run and run[2] == lo and run[0] + (run[2] - run[1]) == at:
                run[2] += n
            else:
                flush()
                run.extend([at, lo, lo + n])
        else:
            flush()
            if n:
                out[at : at + n] = p.vectors
        at += n
    flush()
    return out


def _assemble_texts(parts: list[_Part], prev: store.Contents | None) -> store.TextStore:
    """New articles' texts encoded; runs of reused ones copied as bytes from the previous
    generation (re-encoding every text was ~0.4 s of an update at 100k chunks)."""
    pieces: list[Any] = []
    for p in parts:
        if p.prev_article < 0 or prev is None:
            pieces.append(p.article.text)
        elif pieces and isinstance(pieces[-1], list) and pieces[-1][2] == p.prev_article:
            pieces[-1][2] += 1  # extends the run
        else:
            pieces.append([prev.texts, p.prev_article, p.prev_article + 1])
    return store.TextStore.concat([x if isinstance(x, str) else tuple(x) for x in pieces])


def _assemble_quotes(parts: list[_Part], prev: store.Contents | None) -> store.QuoteTable:
    builder = store.QuoteTableBuilder(prev.quotes if prev is not None else None)
    for row, p in enumerate(parts):
        if p.reused_rows is not None:
            builder.add_rows(row, *p.quote_rows)
        else:
            builder.add_quotes(row, p.quotes)
    return builder.table()


def _concat(pieces: list[Any], dtype: Any) -> np.ndarray:
    arrays = [np.asarray(p, dtype=dtype) for p in pieces]
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype)


def _article_meta(a: Article, n_chunks: int) -> dict[str, Any]:
    return {
        "id": a.id, "title": a.title, "date": a.date, "source": a.source, "url": a.url,
        "path": a.path, "hash": a.hash, "chunks": n_chunks,
    }


class _PreviousFiles:
    """Articles of the previous build by source file, for `load_corpus(known=...)`: a file
    whose size and mtime are unchanged is taken from the index instead of parsed again.
    Files that had unreadable parts last time are always re-read (to report them again)."""

    def __init__(self, prev: store.Contents, manifest: dict[str, Any] | None) -> None:
        self._prev = prev
        # Their texts are read only when a build needs them: reused articles are copied as
        # bytes, so decoding every unchanged text (1.7 GB of str at 1M chunks) was waste.
        # A BM25 recount (other tokenizer settings) re-reads every chunk, so it needs them.
        self.with_text = prev.tf is None
        self.without_text: dict[str, int] = {}  # article id -> its row in `prev`
        self._rows: dict[str, list[int]] = {}
        for row, a in enumerate(prev.articles):
            if a.get("file_key"):
                self._rows.setdefault(a["path"], []).append(row)
        self._reread = {p.split(":")[0] for p in (manifest or {}).get("skipped_paths", [])}

    def get(self, rel: str) -> tuple[tuple[int, int], list[Article]] | None:
        rows = self._rows.get(rel)
        if not rows or rel in self._reread:
            return None
        metas = [self._prev.articles[r] for r in rows]
        key = tuple(metas[0]["file_key"])
        articles = [
            Article(
                id=m["id"], title=m["title"], date=m.get("date"), source=m.get("source") or "",
                url=m.get("url"), path=m["path"],
                text=self._prev.texts[r] if self.with_text else "", hash=m["hash"],
            )
            for m, r in zip(metas, rows)
        ]
        if not self.with_text:
            self.without_text.update((m["id"], r) for m, r in zip(metas, rows))
        return key, articles  # type: ignore[return-value]

    def with_its_text(self, art: Article) -> Article:
        """`art` with its text, if it came from here without it."""
        row = self.without_text.get(art.id)
        if row is None or art.text:
            return art
        return replace(art, text=self._prev.texts[row])


def _updated_ivf(index_dir: Path, prev_manifest: dict[str, Any] | None,
                 prev: store.Contents | None, contents: store.Contents,
                 layout: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None:
    """The previous generation's trained IVF index with removed chunks taken out and new
    ones added, or None when it must be trained afresh (no usable previous index, another
    layout, or the corpus has halved or doubled since the lists were trained).

    Training (k-means over 4,000 lists) and re-adding every vector took ~90 s of an update
    at 1M chunks; chunk ids are stable, so an update touches only what changed.
    """
    import faiss

    prev_layout = (prev_manifest or {}).get("dense")
    if prev is None or not isinstance(prev_layout, dict) or prev_layout.get("type") != layout["type"]:
        return None
    trained = prev_layout.get("trained_chunks") or prev.n_chunks
    if not (0.5 * trained <= contents.n_chunks <= 2 * trained):
        return None
    try:
        index = faiss.read_index(str(store.data_dir(index_dir, prev_manifest) / "dense.faiss"))  # type: ignore[arg-type]
    except Exception:  # missing or damaged: train a new one
        return None
    set_faiss_threads("build")
    old_ids = np.asarray(prev.chunk_ids, dtype=np.int64)
    new_ids = np.asarray(contents.chunk_ids, dtype=np.int64)
    gone = np.setdiff1d(old_ids, new_ids)
    fresh = ~np.isin(new_ids, old_ids)
    if len(gone):
        index.remove_ids(gone)
    if fresh.any():
        index.add_with_ids(np.ascontiguousarray(contents.vectors[fresh], dtype=np.float32),  # type: ignore[index]
                           new_ids[fresh])
    if index.ntotal != contents.n_chunks:
        return None
    return index, dict(prev_layout, trained_chunks=trained)


def _manifest(
    c: store.Contents, embedder: Embedder, files: dict[str, int], corpus: Path, skipped: list,
    layout: dict[str, Any],
) -> dict[str, Any]:
    import faiss
    import rank_bm25  # noqa: F401  (the model of record; its version is recorded below)
    from importlib.metadata import version

    from .bm25 import B, EPSILON, K1

    dim = int(c.vectors.shape[1]) if c.vectors is not None else 0
    with contextlib.suppress(Exception):
        dim = int(embedder.dim)
    return {
        "format_version": store.FORMAT_VERSION,
        "built_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "corpus": str(corpus.resolve()),
        "model": {"name": embedder.name, "dim": dim, "normalized": True},
        "embedding_backend": backend_of(embedder),
        "tokenizer": TOKENIZER,
        "chunking": CHUNKING,
        "embedding_input": "title + newline + chunk text",
        "bm25": {"model": "rank_bm25.BM25Okapi", "k1": K1, "b": B, "epsilon": EPSILON},
        "dense": layout,
        "counts": {
            "articles": len(c.articles),
            "chunks": c.n_chunks,
            "sentences": int(len(c.sent_spans)),
            "vocab": len(c.vocab),
            "quotes": len(c.quotes) if c.quotes is not None else 0,
            "skipped": len(skipped),
        },
        "articles": {a["id"]: {"hash": a["hash"], "chunks": a["chunks"]} for a in c.articles},
        "skipped_paths": sorted({s.path for s in skipped}),
        "files": files,
        "versions": {
            "qa": version("qa") if _installed("qa") else "dev",
            "faiss": faiss.__version__,
            "rank_bm25": version("rank-bm25") if _installed("rank-bm25") else "?",
        },
    }


def _installed(dist: str) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        version(dist)
        return True
    except PackageNotFoundError:
        return False


__all__ = ["build_index", "embedding_input", "make_dense_index", "QAError"]
