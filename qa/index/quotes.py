"""The quotes part of a segment: attributed quotations found at build time, columnar.

One row per quote, rows grouped by article row (within the segment) in article order.
Columns: the article row (int32), char spans (int64 n x 4: start, end, sentence start,
sentence end), and the speaker and cue as int32 indexes into two name lists
(`quote_names.json`). The quoted words are not stored: they are `article_text[start:end]`.
A reader materialises only the quotes it asks for (one article's, one speaker's), so a
million-chunk index does not hold ~1M `Quote` objects (2 GB) to answer a question.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..types import Quote
from .chunks import rows_of
from .files import save_npy, write_new_text

ARRAYS = ("quote_article.npy", "quote_spans.npy", "quote_speaker.npy", "quote_cue.npy")
NAMES = "quote_names.json"
FILES = (*ARRAYS, NAMES)


class QuoteTable:
    """A segment's quotes (see the module docstring)."""

    def __init__(self, article: np.ndarray, spans: np.ndarray, speaker: np.ndarray,
                 cue: np.ndarray, speakers: list[str], cues: list[str]) -> None:
        self.article = article
        self.spans = spans.reshape(-1, 4)
        self.speaker = speaker
        self.cue = cue
        self.speakers = speakers
        self.cues = cues

    @classmethod
    def empty(cls) -> QuoteTable:
        return cls(np.zeros(0, np.int32), np.zeros((0, 4), np.int64), np.zeros(0, np.int32),
                   np.zeros(0, np.int32), [], [])

    def __len__(self) -> int:
        return int(len(self.article))

    def rows_of_article(self, row: int) -> tuple[int, int]:
        """The [lo, hi) rows holding article `row`'s quotes."""
        return rows_of(self.article, row)

    def rows_of_speakers(self, names: Iterable[str]) -> np.ndarray:
        """Rows whose speaker is one of `names` (exact), in article order."""
        wanted = set(names)
        idx = [i for i, n in enumerate(self.speakers) if n in wanted]
        if not idx or not len(self):
            return np.zeros(0, np.int64)
        return np.flatnonzero(np.isin(self.speaker, np.asarray(idx, dtype=np.int32)))

    def speakers_of(self, rows: np.ndarray) -> set[str]:
        """The speakers of quote rows `rows`."""
        if not len(rows):
            return set()
        return {self.speakers[i] for i in np.unique(np.asarray(self.speaker)[rows]).tolist()}

    def quote(self, row: int, article_id: str, article_text: str) -> Quote:
        s, e, s0, s1 = (int(v) for v in self.spans[row])
        return Quote(article_id=article_id, speaker=self.speakers[int(self.speaker[row])],
                     text=article_text[s:e], start=s, end=e, sentence=(s0, s1),
                     cue=self.cues[int(self.cue[row])])

    def save(self, folder: Path) -> None:
        arrays = {
            "quote_article.npy": np.asarray(self.article, dtype=np.int32),
            "quote_spans.npy": np.asarray(self.spans, dtype=np.int64).reshape(-1, 4),
            "quote_speaker.npy": np.asarray(self.speaker, dtype=np.int32),
            "quote_cue.npy": np.asarray(self.cue, dtype=np.int32),
        }
        for name, arr in arrays.items():
            save_npy(folder / name, np.ascontiguousarray(arr))
        write_new_text(folder / NAMES, json.dumps({"speakers": self.speakers, "cues": self.cues},
                                                  ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path, n_articles: int) -> QuoteTable:
        """Read a segment's quotes.

        Raises:
            ValueError, OSError, KeyError, TypeError: the files are not what `save` wrote.
        """
        names = json.loads((folder / NAMES).read_text(encoding="utf-8"))
        speakers, cues = list(map(str, names["speakers"])), list(map(str, names["cues"]))
        # Read, not mapped (~40 MB at 1M chunks): a map keeps every page cache folio a
        # lookup touches (see qa.index.diskarray), and speaker lookups scan a whole column.
        article, spans, speaker, cue = (np.load(folder / n, allow_pickle=False) for n in ARRAYS)
        table = cls(article, spans, speaker, cue, speakers, cues)
        n = len(table)
        ok = (
            all(len(c) == n for c in (table.spans, table.speaker, table.cue))
            and (n == 0 or (0 <= int(table.article.min()) and int(table.article.max()) < n_articles
                            and bool(np.all(np.diff(table.article) >= 0))
                            and int(table.speaker.max()) < len(speakers)
                            and int(table.cue.max()) < len(cues)
                            and int(table.speaker.min()) >= 0 and int(table.cue.min()) >= 0))
        )
        if not ok:
            raise ValueError("the quote columns disagree")
        return table


class QuoteTableBuilder:
    """Assembles a segment's QuoteTable article by article: new articles' `Quote`s, and rows
    copied from other segments' tables (their speaker and cue names mapped to this one's)."""

    def __init__(self) -> None:
        self._speakers: list[str] = []
        self._cues: list[str] = []
        self._speaker_ix: dict[str, int] = {}
        self._cue_ix: dict[str, int] = {}
        self._pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add_quotes(self, row: int, quotes: Sequence[Quote]) -> None:
        if not quotes:
            return
        n = len(quotes)
        spans = np.asarray([(q.start, q.end, q.sentence[0], q.sentence[1]) for q in quotes],
                           dtype=np.int64).reshape(n, 4)
        speaker = np.asarray([self._index(self._speaker_ix, self._speakers, q.speaker)
                              for q in quotes], dtype=np.int32)
        cue = np.asarray([self._index(self._cue_ix, self._cues, q.cue) for q in quotes],
                         dtype=np.int32)
        self._pieces.append((np.full(n, row, np.int32), spans, speaker, cue))

    def add_rows(self, table: QuoteTable, rows: np.ndarray, new_article: np.ndarray) -> None:
        """Copy quote rows `rows` of `table`; `new_article[i]` is row i's article row here."""
        if not len(rows):
            return
        speaker_map = np.asarray([self._index(self._speaker_ix, self._speakers, n)
                                  for n in table.speakers], dtype=np.int32)
        cue_map = np.asarray([self._index(self._cue_ix, self._cues, n) for n in table.cues],
                             dtype=np.int32)
        self._pieces.append((np.asarray(new_article, dtype=np.int32),
                             np.asarray(table.spans)[rows],
                             speaker_map[np.asarray(table.speaker)[rows]],
                             cue_map[np.asarray(table.cue)[rows]]))

    @staticmethod
    def _index(ix: dict[str, int], names: list[str], name: str) -> int:
        if name not in ix:
            ix[name] = len(names)
            names.append(name)
        return ix[name]

    def table(self) -> QuoteTable:
        if not self._pieces:
            return QuoteTable(np.zeros(0, np.int32), np.zeros((0, 4), np.int64),
                              np.zeros(0, np.int32), np.zeros(0, np.int32),
                              self._speakers, self._cues)
        cols = [np.concatenate([p[i] for p in self._pieces]) for i in range(4)]
        order = np.argsort(cols[0], kind="stable")  # grouped by article, text order kept
        if bool(np.any(np.diff(order) != 1)):
            cols = [c[order] for c in cols]
        return QuoteTable(cols[0], cols[1], cols[2], cols[3], self._speakers, self._cues)
