"""The phrases part of a segment: what the NLP pipeline found in each article (`qa.corpus.nlp`),
columnar.

One row per phrase, rows grouped by article row (within the segment), in text order.
Columns: the article row (int32), the char span (int32 n x 2, article offsets: articles are
far shorter than 2**31 characters) and the label (int8, a position in `qa.types.PHRASE_LABELS`, which
the format version pins). 13 bytes a phrase: about 50 phrases, 0.65 KB, per chunk of news.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..types import PHRASE_LABELS as LABELS
from ..types import Phrase
from .chunks import rows_of
from .files import save_npy

FILES = ("phrase_article.npy", "phrase_spans.npy", "phrase_label.npy")
_LABEL_ID = {label: i for i, label in enumerate(LABELS)}


class PhraseTable:
    """A segment's phrases (see the module docstring)."""

    def __init__(self, article: np.ndarray, spans: np.ndarray, label: np.ndarray) -> None:
        self.article = np.asarray(article, dtype=np.int32)
        self.spans = np.asarray(spans, dtype=np.int32).reshape(-1, 2)
        self.label = np.asarray(label, dtype=np.int8)

    @classmethod
    def empty(cls) -> PhraseTable:
        return cls(np.zeros(0, np.int32), np.zeros((0, 2), np.int32), np.zeros(0, np.int8))

    def __len__(self) -> int:
        return int(len(self.article))

    def rows_of_article(self, row: int) -> tuple[int, int]:
        """The [lo, hi) rows holding article `row`'s phrases."""
        return rows_of(self.article, row)

    def phrases(self, row: int) -> list[Phrase]:
        """Article `row`'s phrases, in text order."""
        lo, hi = self.rows_of_article(row)
        return [Phrase(int(s), int(e), LABELS[int(k)])
                for (s, e), k in zip(self.spans[lo:hi].tolist(), self.label[lo:hi].tolist())]

    def save(self, folder: Path) -> None:
        """Write the columns into new files of `folder` (qa.index.files.create: O_EXCL |
        O_NOFOLLOW, never through a link or over a file already there)."""
        for name, arr in zip(FILES, (self.article, self.spans, self.label)):
            save_npy(folder / name, np.ascontiguousarray(arr))

    @classmethod
    def load(cls, folder: Path, n_articles: int) -> PhraseTable:
        """Read a segment's phrases.

        Raises:
            ValueError, OSError (and the other `qa.index.files.READ_ERRORS` of a damaged .npy
            header): the files are not what `save` wrote. `Segment.phrases` turns them into
            IndexCorruptError, as it does for every part.
        """
        cols = [np.load(folder / name, allow_pickle=False) for name in FILES]
        if cols[0].dtype != np.int32 or cols[1].dtype != np.int32 or cols[2].dtype != np.int8:
            raise ValueError("the phrase columns have other types")
        if cols[0].ndim != 1 or cols[2].ndim != 1 or cols[1].ndim != 2 or cols[1].shape[1] != 2:
            raise ValueError("the phrase columns have other shapes")
        table = cls(*cols)
        n = len(table)
        ok = len(table.spans) == n and len(table.label) == n and (n == 0 or (
            0 <= int(table.article.min()) and int(table.article.max()) < n_articles
            and bool(np.all(np.diff(table.article) >= 0))
            and 0 <= int(table.label.min()) and int(table.label.max()) < len(LABELS)
            and bool(np.all(table.spans[:, 0] <= table.spans[:, 1]))
            and int(table.spans.min()) >= 0))
        if not ok:
            raise ValueError("the phrase columns disagree")
        return table


class PhraseTableBuilder:
    """Assembles a segment's PhraseTable: new articles' phrases, and rows copied from other
    segments' tables."""

    def __init__(self) -> None:
        self._pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add_phrases(self, row: int, phrases: Sequence[Phrase]) -> None:
        known = [p for p in phrases if p.label in _LABEL_ID]
        if not known:
            return
        spans = np.asarray([(p.start, p.end) for p in known], dtype=np.int32).reshape(-1, 2)
        label = np.asarray([_LABEL_ID[p.label] for p in known], dtype=np.int8)
        self._pieces.append((np.full(len(known), row, np.int32), spans, label))

    def add_rows(self, table: PhraseTable, rows: np.ndarray, new_article: np.ndarray) -> None:
        """Copy rows `rows` of `table`; `new_article[i]` is row i's article row here."""
        if len(rows):
            self._pieces.append((np.asarray(new_article, dtype=np.int32), table.spans[rows],
                                 table.label[rows]))

    def table(self) -> PhraseTable:
        if not self._pieces:
            return PhraseTable.empty()
        article, spans, label = (np.concatenate([p[i] for p in self._pieces]) for i in range(3))
        order = np.argsort(article, kind="stable")  # grouped by article, text order kept
        return PhraseTable(article[order], spans[order], label[order])
