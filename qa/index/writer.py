"""Writing the next generation of an index: new segments, deletions, merges, the manifest.

    writer = IndexWriter(index_dir, owner, base=Index.open(index_dir, for_search=False),
                         analyze=...)
    writer.delete(segment, article_rows)       # changed and removed articles
    new = writer.add(SegmentData(...))         # new and changed articles: one new segment
    writer.set_order(segments, rows)           # the live articles, in corpus order
    writer.merge_due()                         # size-tiered merging (or merge_all)
    manifest = writer.commit(record)           # generation folder, then the manifest

Use it only while holding the build lock. Every folder it writes is built as `.tmp-*`,
fsynced and renamed (qa.index.generations), and nothing is live until `commit` swaps the
manifest: a crash anywhere leaves the previous generation whole.

Size-tiered merging (the policy of Lucene's TieredMergePolicy, simplified): segments are
grouped in tiers by the power of ten of their live chunk count; when a tier holds
SEGMENTS_PER_TIER segments they are merged into one (which may fill the next tier), and a
segment with more than MAX_DELETED_SHARE of its chunks deleted is rewritten. An update thus
writes what changed, plus now and then a merge of small segments; the big ones are merged
rarely (`qa index --optimize` merges everything into one).
"""

from __future__ import annotations

import datetime as _dt
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..types import JSONObject
from . import dense
from .bm25 import CorpusStats, Postings
from .chunks import ChunkTable, ranges
from .files import READ_ERRORS, file_checksums, file_sizes, file_stamps
from .generations import new_tmp_dir, place
from .genfolder import write_generation
from .index import Index
from .layout import SEGMENT_FILES
from .manifest import (
    FORMAT_VERSION,
    GENERATION_PREFIX,
    SEGMENT_PREFIX,
    TRAINED_PREFIX,
    BuildRecord,
    Counts,
    Manifest,
    SegmentEntry,
    write_manifest,
)
from .merge import Analyzer, merge_segments
from .segment import Segment, SegmentData
from .texts import corrupt

if TYPE_CHECKING:  # FAISS loads on first dense use
    import faiss

SEGMENTS_PER_TIER = 10
MAX_DELETED_SHARE = 0.5


@dataclass
class _Seg:
    """A segment of the generation being written."""

    name: str | None  # None until written
    segment: Segment | None  # opened (existing segments; new ones once reopened)
    data: SegmentData | None  # a new segment's contents, until the commit
    n_articles: int
    n_chunks: int
    layout: JSONObject
    alive: np.ndarray  # bool per article row
    files: dict[str, int] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)
    stamps: dict[str, int] = field(default_factory=dict)
    deleted_ids: np.ndarray | None = None  # chunk ids of deleted articles, sorted


class IndexWriter:
    """Builds the next generation of `index_dir` from `base` (None: a new index)."""

    def __init__(self, index_dir: Path, owner: str, base: Index | None,
                 analyze: Analyzer) -> None:
        self.index_dir = index_dir
        self.owner = owner
        self.base = base
        self.analyze = analyze
        self._segs: list[_Seg] = []
        self._made: list[Path] = []  # folders placed by this writer
        self._recount = False
        self._stats = base.stats if base is not None else CorpusStats.empty()
        self._removed: list[tuple[list[str], np.ndarray, int, int]] = []
        self._added: list[tuple[list[str], np.ndarray, int, int]] = []
        self._order_seg = np.zeros(0, np.int64)
        self._order_row = np.zeros(0, np.int64)
        self._dense = dict(base.manifest.dense) if base is not None else {}
        self._trained: faiss.Index | None = None  # the current quantizer, once read or trained
        if base is not None:
            files, sums = base.manifest.files, base.manifest.checksums
            stamps = base.stamps
            for seg, pos in zip(base.segments, base.position):
                prefix = seg.name + "/"
                self._segs.append(_Seg(
                    name=seg.name, segment=seg, data=None, n_articles=seg.n_articles,
                    n_chunks=seg.n_chunks, layout=dict(seg.layout), alive=pos >= 0,
                    files={k: v for k, v in files.items() if k.startswith(prefix)},
                    checksums={k: v for k, v in sums.items() if k.startswith(prefix)},
                    stamps={k: v for k, v in stamps.items() if k.startswith(prefix)},
                    deleted_ids=base.deleted[len(self._segs)]))
            self._order_seg = base.order[:, 0].astype(np.int64)
            self._order_row = base.order[:, 1].astype(np.int64)
        self._stats_stale = False
        # Chunk ids of the articles deleted by this writer (a store outside the folder
        # removes them after the commit: qa.index.store_sync).
        self.removed_ids: list[np.ndarray] = []

    # --- what changes ------------------------------------------------------------------------
    def delete(self, seg: int, article_rows: Sequence[int]) -> None:
        """Delete articles (rows of segment `seg`); their chunks leave the statistics."""
        if not len(article_rows):
            return
        s = self._segs[seg]
        rows = np.asarray(sorted(set(int(r) for r in article_rows)), dtype=np.int64)
        s.alive = s.alive.copy()
        s.alive[rows] = False
        segment = s.segment
        assert segment is not None, "only published segments have deletions"
        try:  # mapped: an update reads the rows of the deleted articles only
            table = ChunkTable.load(segment.folder, segment.n_articles, for_queries=False)
            if len(table) != segment.n_chunks:
                raise ValueError("the chunk table disagrees with the manifest")
        except READ_ERRORS as exc:
            raise corrupt(segment.folder, exc) from exc
        lo = np.searchsorted(table.article, rows, side="left")
        hi = np.searchsorted(table.article, rows, side="right")
        chunk_rows = ranges(lo, hi)
        gone = np.asarray(table.ids)[chunk_rows]
        self.removed_ids.append(gone)
        s.deleted_ids = np.union1d(s.deleted_ids if s.deleted_ids is not None
                                   else np.zeros(0, np.int64), gone)
        if self._stats_stale:
            return
        # The statistics lose what these chunks counted: their terms, found again the way
        # the build found them, and checked against the stored lengths.
        try:
            doclen = np.load(segment.folder / SEGMENT_FILES["bm25.doclen"], allow_pickle=False)
        except READ_ERRORS as exc:
            raise corrupt(segment.folder, exc) from exc
        df: Counter[str] = Counter()
        length = 0
        for r, a, b in zip(rows.tolist(), lo.tolist(), hi.tolist()):
            title = segment.articles.titles[r]
            text = segment.texts[r]
            for c in range(a, b):
                words = self.analyze(title, text[int(table.start[c]) : int(table.end[c])])
                if len(words) != int(doclen[c]):
                    self._stats_stale = True  # the tokenizer changed: count afresh at commit
                    return
                df.update(set(words))
                length += len(words)
        words = list(df)
        self._removed.append((words, np.asarray([df[w] for w in words], np.int64),
                              len(chunk_rows), length))

    def add(self, data: SegmentData) -> int:
        """Add a segment of new articles; returns its number (for `set_order`)."""
        postings = data.postings
        self._added.append((postings.terms, np.diff(postings.indptr),
                            postings.n_docs, int(np.asarray(postings.doclen, np.int64).sum())))
        self._segs.append(_Seg(name=None, segment=None, data=data, n_articles=len(data.articles),
                               n_chunks=data.n_chunks, layout={},
                               alive=np.ones(len(data.articles), bool),
                               deleted_ids=np.zeros(0, np.int64)))
        return len(self._segs) - 1

    def recount(self) -> None:
        """Count every chunk's BM25 terms again (other tokenizer settings): every segment is
        rewritten into one at the commit, its vectors and texts copied."""
        self._recount = True

    def set_order(self, segs: np.ndarray, rows: np.ndarray) -> None:
        """The live articles in corpus order: (segment number, article row) pairs."""
        self._order_seg = np.asarray(segs, dtype=np.int64)
        self._order_row = np.asarray(rows, dtype=np.int64)

    # --- merging -----------------------------------------------------------------------------
    def merges_due(self) -> list[list[int]]:
        """The merges the size-tiered policy asks for now (segment numbers)."""
        live = [(i, int(s.alive.sum()), self._live_chunks(s), s.n_chunks)
                for i, s in enumerate(self._segs) if s.alive.any()]
        tiers: dict[int, list[int]] = {}
        for i, _, chunks, _ in live:
            tiers.setdefault(len(str(max(chunks, 1))) - 1, []).append(i)
        due = [ids for _, ids in sorted(tiers.items()) if len(ids) >= SEGMENTS_PER_TIER]
        chosen = {i for ids in due for i in ids}
        for i, _, chunks, total in live:
            if i not in chosen and total and (total - chunks) / total > MAX_DELETED_SHARE:
                due.append([i])
        return due

    def merge_due(self) -> int:
        """Apply the policy until it asks for nothing more; returns how many merges ran."""
        done = 0
        while True:
            due = self.merges_due()
            if not due:
                return done
            for ids in due:
                self.merge(ids)
                done += 1

    @property
    def optimized(self) -> bool:
        """Whether the index is one segment without deletions (`merge_all` has nothing to do)."""
        ids = [i for i, s in enumerate(self._segs) if s.alive.any()]
        return not ids or (len(ids) == 1 and bool(self._segs[ids[0]].alive.all()))

    def merge_all(self) -> bool:
        """Merge every live segment into one, deletions dropped (`qa index --optimize`).
        Returns whether there was anything to do."""
        if self.optimized:
            return False
        self.merge([i for i, s in enumerate(self._segs) if s.alive.any()])
        return True

    def merge(self, ids: list[int]) -> int:
        """Merge segments `ids` into a new one (their live articles only); returns its number.
        The statistics do not change: the same chunks stay live."""
        ids = sorted(ids)
        inputs = [self._open(i) for i in ids]
        data, maps = merge_segments(inputs, [self._segs[i].alive for i in ids],
                                    self.analyze if self._recount else None)
        data.dense_index, data.dense_layout = self._merged_dense(ids, inputs, data,
                                                                 self._total_after(0))
        new = len(self._segs)
        self._segs.append(_Seg(name=None, segment=None, data=data, n_articles=len(data.articles),
                               n_chunks=data.n_chunks, layout={},
                               alive=np.ones(len(data.articles), bool),
                               deleted_ids=np.zeros(0, np.int64)))
        for i, mapping in zip(ids, maps):
            at = self._order_seg == i
            self._order_row[at] = mapping[self._order_row[at]]
            self._order_seg[at] = new
            old = self._segs[i]
            old.alive = np.zeros(old.n_articles, bool)  # gone from the next generation
            old.data = None
        return new

    def _open(self, i: int) -> Segment | SegmentData:
        s = self._segs[i]
        if s.segment is not None:
            return s.segment
        assert s.data is not None
        return s.data

    def _live_chunks(self, s: _Seg) -> int:
        return s.n_chunks - (len(s.deleted_ids) if s.deleted_ids is not None else 0)

    # --- the dense part ----------------------------------------------------------------------
    def _trained_index(self) -> faiss.Index | None:
        if self._trained is None and dense.is_ivf(self._dense):
            try:
                self._trained = dense.load_trained(self.index_dir / str(self._dense["trained"]))
            except Exception:  # missing or damaged: the next big segment trains a new one
                self._dense = {}
        return self._trained

    def _total_after(self, extra: int) -> int:
        return sum(self._live_chunks(s) for s in self._segs if s.alive.any()) + extra

    def _dense_for(self, vectors: np.ndarray | None, ids: np.ndarray,
                   total: int) -> tuple[faiss.Index | None, JSONObject]:
        """The FAISS index (None: exact, made on load) and layout of a new segment."""
        if vectors is None:
            return None, {}
        big = dense.needs_ivf(total)
        trained = self._trained_index() if big else None
        if trained is not None:
            trained_chunks = int(self._dense.get("trained_chunks") or 0)
            stale = not (0.5 * trained_chunks <= total <= 2 * trained_chunks)
            if not (stale and dense.needs_ivf(len(vectors))):
                layout = {k: self._dense[k] for k in ("type", "metric", "nlist", "nprobe",
                                                      "trained", "trained_chunks")}
                return dense.ivf_index(trained, vectors, ids), layout
        if big and dense.needs_ivf(len(vectors)):
            layout = dense.ivf_layout(len(vectors))
            self._trained = dense.train_ivf(vectors, layout)
            tmp = new_tmp_dir(self.index_dir, self.owner)
            try:
                dense.save_trained(tmp, self._trained)
                name = place(self.index_dir, tmp, TRAINED_PREFIX)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self._made.append(self.index_dir / name)
            self._dense = dict(layout, trained=name)
            return dense.ivf_index(self._trained, vectors, ids), dict(self._dense)
        return None, dict(dense.FLAT)

    def _merged_dense(self, ids: list[int], inputs: list[Segment | SegmentData],
                      data: SegmentData, total: int) -> tuple[faiss.Index | None, JSONObject]:
        """A merged segment's IVF index reuses the lists of its biggest IVF input with the
        current quantizer (deleted chunks removed, the other inputs' vectors added) rather
        than adding every vector again; otherwise as for a new segment."""
        if data.vectors is None:
            return None, {}
        current = self._dense.get("trained") if dense.is_ivf(self._dense) else None
        candidates = [(self._segs[i].n_chunks, i, seg) for i, seg in zip(ids, inputs)
                      if isinstance(seg, Segment) and dense.is_ivf(seg.layout)
                      and seg.layout.get("trained") == current]
        trained_chunks = int(self._dense.get("trained_chunks") or 0)
        fresh = dense.needs_ivf(total) and 0.5 * trained_chunks <= total <= 2 * trained_chunks
        if current and candidates and fresh:
            _, i, seg = max(candidates, key=lambda c: c[0])
            try:
                import faiss

                index = faiss.read_index(str(seg.folder / dense.FAISS_FILE))
            except Exception:  # damaged: add every vector to a copy of the quantizer
                index = None
            if index is not None:
                dense.set_faiss_threads("build")
                gone = self._segs[i].deleted_ids
                if gone is not None and len(gone):
                    index.remove_ids(np.asarray(gone, dtype=np.int64))
                ids_all = np.asarray(data.chunks.ids)
                extra = ~np.isin(ids_all, np.asarray(seg.chunks.ids))
                if extra.any():
                    index.add_with_ids(np.ascontiguousarray(data.vectors[extra], dtype=np.float32),
                                       ids_all[extra])
                if index.ntotal == data.n_chunks:
                    layout = {k: self._dense[k] for k in ("type", "metric", "nlist", "nprobe",
                                                          "trained", "trained_chunks")}
                    return index, layout
        return self._dense_for(data.vectors, np.asarray(data.chunks.ids), total)

    # --- publishing --------------------------------------------------------------------------
    def commit(self, record: BuildRecord) -> Manifest:
        """Write new segments and the generation folder, then swap the manifest.

        Args:
            record: what the build records beside what the writer computes.

        Returns:
            The manifest now live.
        """
        if self._recount:
            ids = [i for i, s in enumerate(self._segs) if s.alive.any()]
            if ids:
                self.merge(ids)
        keep = [i for i, s in enumerate(self._segs) if s.alive.any()]
        try:
            for i in keep:
                s = self._segs[i]
                if s.name is None:
                    self._write(s)
            if self._recount or self._stats_stale:
                self._stats = CorpusStats.of(self._postings_of(i) for i in keep)
            else:
                self._stats = self._stats.updated(self._added, self._removed)
            number = np.full(len(self._segs), -1, np.int64)
            number[keep] = np.arange(len(keep))
            order_seg = number[self._order_seg]
            if len(order_seg) and int(order_seg.min()) < 0:
                raise AssertionError("the article order names a segment that is not live")
            alive_total = sum(int(self._segs[i].alive.sum()) for i in keep)
            if alive_total != len(order_seg):
                raise AssertionError("the article order does not list every live article once")
            live_chunks = sum(self._live_chunks(self._segs[i]) for i in keep)
            if live_chunks != self._stats.n_docs:
                raise AssertionError("the statistics disagree with the live chunks")
            tmp = new_tmp_dir(self.index_dir, self.owner)
            try:
                deleted = [_ids_or_none(self._segs[i].deleted_ids) for i in keep]
                write_generation(tmp, self._stats, deleted, order_seg, self._order_row)
                files, sums, stamps = file_sizes(tmp), file_checksums(tmp), file_stamps(tmp)
                gen = place(self.index_dir, tmp, GENERATION_PREFIX)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self._made.append(self.index_dir / gen)
            manifest = self._manifest(record, gen, keep, files, sums, stamps)
            write_manifest(self.index_dir, manifest)
        except BaseException:
            # The folders this writer placed are named by no manifest; the next build's
            # clean-up removes them (they carry the index's marker).
            raise
        return manifest

    def _postings_of(self, i: int) -> tuple[Postings, np.ndarray | None]:
        s = self._segs[i]
        seg = self._open(i)
        postings = seg.postings
        if s.alive.all():
            return postings, None
        table = seg.chunks
        return postings, s.alive[np.asarray(table.article)]

    def _write(self, s: _Seg) -> None:
        data = s.data
        assert data is not None
        if data.dense_layout is None:
            data.dense_index, data.dense_layout = self._dense_for(
                data.vectors, np.asarray(data.chunks.ids), self._total_after(0))
        s.layout = data.dense_layout
        tmp = new_tmp_dir(self.index_dir, self.owner)
        try:
            data.save(tmp, self.owner)
            # Stamps now: renaming the folder into place leaves its files' times as they are.
            s.files, s.checksums, s.stamps = file_sizes(tmp), file_checksums(tmp), file_stamps(tmp)
            s.name = place(self.index_dir, tmp, SEGMENT_PREFIX)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._made.append(self.index_dir / s.name)
        s.files = {f"{s.name}/{k}": v for k, v in s.files.items()}
        s.checksums = {f"{s.name}/{k}": v for k, v in s.checksums.items()}
        s.stamps = {f"{s.name}/{k}": v for k, v in s.stamps.items()}

    def _manifest(self, record: BuildRecord, gen: str, keep: list[int],
                  gen_files: dict[str, int], gen_sums: dict[str, str],
                  gen_stamps: dict[str, int]) -> Manifest:
        files = {f"{gen}/{k}": v for k, v in gen_files.items()}
        sums = {f"{gen}/{k}": v for k, v in gen_sums.items()}
        stamps = {f"{gen}/{k}": v for k, v in gen_stamps.items()}
        entries = []
        for i in keep:
            s = self._segs[i]
            assert s.name is not None, "every kept segment is written before the manifest"
            files.update(s.files)
            sums.update(s.checksums)
            stamps.update(s.stamps)
            entries.append(SegmentEntry(name=s.name, articles=s.n_articles, chunks=s.n_chunks,
                                        deleted_chunks=len(_ids_or_none(s.deleted_ids)),
                                        dense=s.layout))
        total = self._stats.n_docs
        if dense.is_ivf(self._dense) and dense.needs_ivf(total):
            layout = dict(self._dense)
        else:
            layout = dict(dense.FLAT) if any(e.dense for e in entries) else {}
        previous = self.base.manifest.checksums if self.base is not None else {}
        trained = {e.dense.get("trained") for e in entries} | {layout.get("trained")}
        for t in sorted(x for x in trained if isinstance(x, str)):
            folder = self.index_dir / t
            files.update(file_sizes(folder, f"{t}/"))
            stamps.update(file_stamps(folder, f"{t}/"))
            carried = {k: v for k, v in previous.items() if k.startswith(f"{t}/")}
            sums.update(carried or file_checksums(folder, f"{t}/"))
        n_articles = sum(int(self._segs[i].alive.sum()) for i in keep)
        return Manifest(
            format_version=FORMAT_VERSION,
            built_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            corpus=record.corpus, model=record.model,
            embedding_backend=record.embedding_backend, executor=record.executor,
            tokenizer=record.tokenizer, chunking=record.chunking, nlp=record.nlp,
            embedding_input=record.embedding_input,
            bm25={**record.bm25, **self._stats.summary()},
            counts=Counts(skipped=record.skipped, articles=n_articles, chunks=self._stats.n_docs,
                          segments=len(entries), vocab=len(self._stats.terms)),
            skipped_paths=record.skipped_paths, versions=record.versions, store=record.store,
            data=gen, segments=tuple(entries), dense=layout,
            files=dict(sorted(files.items())), checksums=dict(sorted(sums.items())),
            stamps=dict(sorted(stamps.items())),
        )


def _ids_or_none(ids: np.ndarray | None) -> np.ndarray:
    return ids if ids is not None else np.zeros(0, np.int64)
