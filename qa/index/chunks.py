"""The chunks part of a segment: one row per chunk, in article order, and the sentence
spans of every chunk (`sent_spans[sent_ptr[i]:sent_ptr[i+1]]` are chunk i's)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..types import JSONObject
from .diskarray import NpyRanges
from .files import save_npy

FILES = ("chunk_ids.npy", "chunk_article.npy", "chunk_ordinal.npy", "chunk_start.npy",
         "chunk_end.npy", "sent_spans.npy", "sent_ptr.npy")
_DTYPES = {"ids": np.int64, "article": np.int32, "ordinal": np.int32, "start": np.int64,
           "end": np.int64, "sent_spans": np.int64, "sent_ptr": np.int64}


def runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive runs of sorted `rows` as [lo, hi) pairs."""
    if not len(rows):
        return []
    rows = np.asarray(rows, dtype=np.int64)
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(rows)]])
    return [(int(rows[a]), int(rows[b - 1]) + 1) for a, b in zip(starts, ends)]


def rows_of(article: np.ndarray, row: int) -> tuple[int, int]:
    """The [lo, hi) rows of a column of article rows (sorted: chunks, quotes and phrases are
    stored in article order) that belong to article `row`. The keys take the column's dtype:
    numpy would otherwise cast the whole column to int64 on every call (~5 ms at 5M rows)."""
    lo, hi = article.searchsorted(np.array([row, row + 1], dtype=article.dtype))
    return int(lo), int(hi)


def ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The integers of the ranges [lo[i], hi[i]) one after another (int64), vectorised."""
    lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
    lengths = hi - lo
    total = int(lengths.sum()) if len(lengths) else 0
    if total == 0:
        return np.zeros(0, np.int64)
    before = np.zeros(len(lengths), np.int64)
    before[1:] = np.cumsum(lengths)[:-1]
    return np.repeat(lo - before, lengths) + np.arange(total, dtype=np.int64)


@dataclass
class ChunkTable:
    """Chunk ids, article rows (within the segment), ordinals, char offsets into the
    article text, and sentence spans."""

    ids: np.ndarray
    article: np.ndarray
    ordinal: np.ndarray
    start: np.ndarray
    end: np.ndarray
    sent_spans: np.ndarray | NpyRanges  # int64 (m, 2); NpyRanges: read by range
    sent_ptr: np.ndarray  # int64 (n + 1)

    def __len__(self) -> int:
        return int(len(self.ids))

    @classmethod
    def empty(cls) -> ChunkTable:
        z = np.zeros(0, np.int64)
        return cls(z, z.astype(np.int32), z.astype(np.int32), z, z, np.zeros((0, 2), np.int64),
                   np.zeros(1, np.int64))

    @classmethod
    def concat(cls, tables: list[ChunkTable], article_offsets: list[int]) -> ChunkTable:
        """Tables one after another; table i's article rows are shifted by article_offsets[i]."""
        if not tables:
            return cls.empty()
        spans = [np.asarray(t.sent_spans[0 : len(t.sent_spans)]).reshape(-1, 2) for t in tables]
        counts = [np.diff(np.asarray(t.sent_ptr, dtype=np.int64)) for t in tables]
        all_counts = np.concatenate(counts)
        ptr = np.zeros(len(all_counts) + 1, np.int64)
        ptr[1:] = np.cumsum(all_counts)
        return cls(
            ids=np.concatenate([np.asarray(t.ids, np.int64) for t in tables]),
            article=np.concatenate([np.asarray(t.article, np.int64) + off
                                    for t, off in zip(tables, article_offsets)]).astype(np.int32),
            ordinal=np.concatenate([np.asarray(t.ordinal, np.int32) for t in tables]),
            start=np.concatenate([np.asarray(t.start, np.int64) for t in tables]),
            end=np.concatenate([np.asarray(t.end, np.int64) for t in tables]),
            sent_spans=np.concatenate(spans),
            sent_ptr=ptr,
        )

    def take_articles(self, rows: np.ndarray) -> ChunkTable:
        """The chunks of article rows `rows` (sorted), renumbered 0..len(rows)-1."""
        lo = np.searchsorted(self.article, rows, side="left")
        hi = np.searchsorted(self.article, rows, side="right")
        keep = ranges(lo, hi)
        new_article = np.repeat(np.arange(len(rows), dtype=np.int32), hi - lo)
        ptr = np.asarray(self.sent_ptr, dtype=np.int64)
        starts, ends = ptr[keep], ptr[keep + 1]
        spans = np.asarray(self.sent_spans[0 : len(self.sent_spans)]).reshape(-1, 2)
        sent_rows = ranges(starts, ends)
        new_ptr = np.zeros(len(keep) + 1, np.int64)
        new_ptr[1:] = np.cumsum(ends - starts)
        return ChunkTable(
            ids=np.asarray(self.ids)[keep], article=new_article,
            ordinal=np.asarray(self.ordinal)[keep], start=np.asarray(self.start)[keep],
            end=np.asarray(self.end)[keep], sent_spans=spans[sent_rows],
            sent_ptr=new_ptr,
        )

    def rows_of_article(self, row: int) -> tuple[int, int]:
        """The [lo, hi) chunk rows of article `row` (chunks are stored in article order)."""
        return rows_of(np.asarray(self.article), row)

    def sentences(self, row: int) -> tuple[tuple[int, int], ...]:
        spans = self.sent_spans[int(self.sent_ptr[row]) : int(self.sent_ptr[row + 1])]
        return tuple((int(s), int(e)) for s, e in np.asarray(spans).tolist())

    def save(self, folder: Path) -> None:
        arrays = {"ids": self.ids, "article": self.article, "ordinal": self.ordinal,
                  "start": self.start, "end": self.end, "sent_spans": self.sent_spans,
                  "sent_ptr": self.sent_ptr}
        for (key, arr), name in zip(arrays.items(), FILES):
            out = np.ascontiguousarray(np.asarray(arr), dtype=_DTYPES[key])
            save_npy(folder / name, out.reshape(-1, 2) if key == "sent_spans" else out)

    @classmethod
    def load(cls, folder: Path, n_articles: int, *, for_queries: bool = True) -> ChunkTable:
        """Read a segment's chunk table. `for_queries`: the tables in memory (~40 MB at 1M
        chunks), sentence spans read by range; otherwise (merges, which read every row in
        order) everything memory-mapped.

        Raises:
            ValueError: the files do not fit together.
        """
        arrays: JSONObject = {}  # ndarrays, and the spans read by range (NpyRanges)
        for key, name in zip(_DTYPES, FILES):
            if key == "sent_spans" and for_queries:
                arrays[key] = NpyRanges(folder / name)
            else:
                arrays[key] = np.load(folder / name, mmap_mode=None if for_queries else "r",
                                      allow_pickle=False)
        table = cls(**arrays)
        n = len(table)
        spans = table.sent_spans
        ok = (
            all(getattr(table, k).ndim == 1 and getattr(table, k).dtype == _DTYPES[k]
                for k in ("ids", "article", "ordinal", "start", "end", "sent_ptr"))
            and all(len(getattr(table, k)) == n for k in ("article", "ordinal", "start", "end"))
            and tuple(spans.shape[1:]) == (2,) and len(table.sent_ptr) == n + 1
            and (n == 0 or (0 <= int(table.article[0]) and int(table.article[-1]) < n_articles))
            and int(table.sent_ptr[-1]) == len(spans)
        )
        if not ok:
            raise ValueError("the chunk tables disagree with each other or with the articles")
        return table
