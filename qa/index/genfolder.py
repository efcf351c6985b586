"""A generation's own folder (`gen-*`): what one manifest adds to the segments it names.

    gen-<stamp>-<id>/
      .qa-generation   the index's id
      terms.json, df.npy   corpus-level BM25 statistics of the live chunks (qa.index.bm25)
      deleted.npy          int64 chunk ids no longer live, each segment's sorted, in
                           segment order (the manifest counts each segment's)
      order.npy            int32 (live articles x 2): (segment number, article row), in
                           corpus order

Segments never change once written; deleting an article is an entry here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import IndexCorruptError
from .bm25 import STATS_FILES, CorpusStats
from .files import READ_ERRORS, save_npy
from .manifest import Manifest, rebuild_hint
from .segment import Segment
from .texts import corrupt

DELETED_FILE = "deleted.npy"
ORDER_FILE = "order.npy"
FILES = (*STATS_FILES, DELETED_FILE, ORDER_FILE)


def read_generation(index_dir: Path, manifest: Manifest, segments: Sequence[Segment]
                    ) -> tuple[CorpusStats, list[np.ndarray], np.ndarray]:
    """The corpus statistics, each segment's deleted chunk ids and the article order of the
    generation `manifest` names, checked against each other and the segments.

    Raises:
        IndexCorruptError: a file is damaged, or the files disagree.
    """
    folder = index_dir / manifest.data
    counts = [e.deleted_chunks for e in manifest.segments]
    try:
        stats = CorpusStats.load(folder, manifest.bm25)
        deleted_all = np.load(folder / DELETED_FILE, allow_pickle=False)
        order = np.load(folder / ORDER_FILE, allow_pickle=False)
        if deleted_all.ndim != 1 or deleted_all.dtype != np.int64 \
                or len(deleted_all) != sum(counts):
            raise ValueError("the deleted chunks disagree with the manifest")
        _check_order(order, segments)
    except READ_ERRORS as exc:
        raise corrupt(folder, exc) from exc
    bounds = np.cumsum([0, *counts])
    deleted = [deleted_all[bounds[i] : bounds[i + 1]] for i in range(len(counts))]
    live_chunks = sum(s.n_chunks for s in segments) - int(bounds[-1])
    if live_chunks != stats.n_docs:
        raise IndexCorruptError(
            f"The index in {index_dir}/ is inconsistent (its statistics count "
            f"{stats.n_docs} chunks, its segments {live_chunks}). {rebuild_hint(index_dir)}")
    return stats, deleted, order


def _check_order(order: np.ndarray, segments: Sequence[Segment]) -> None:
    if order.dtype != np.int32 or order.ndim != 2 or order.shape[1] != 2:
        raise ValueError("the article order is not (segment, row) pairs")
    if not len(order):
        return
    seg_of, row_of = order[:, 0].astype(np.int64), order[:, 1].astype(np.int64)
    sizes = np.asarray([s.n_articles for s in segments], np.int64)
    if int(seg_of.min()) < 0 or int(seg_of.max()) >= len(segments) \
            or int(row_of.min()) < 0 or bool(np.any(row_of >= sizes[seg_of])):
        raise ValueError("the article order names articles that do not exist")
    if len(np.unique(seg_of * (1 << 32) + row_of)) != len(order):
        raise ValueError("the article order lists an article twice")


def write_generation(folder: Path, stats: CorpusStats, deleted: Sequence[np.ndarray],
                     order_seg: np.ndarray, order_row: np.ndarray) -> None:
    """Write a generation's files into `folder` (a new temporary folder of the index)."""
    stats.save(folder)
    save_npy(folder / DELETED_FILE,
             np.concatenate([np.asarray(d, np.int64) for d in deleted]) if len(deleted)
             else np.zeros(0, np.int64))
    save_npy(folder / ORDER_FILE,
             np.stack([order_seg, order_row]).T.astype(np.int32).reshape(-1, 2))
