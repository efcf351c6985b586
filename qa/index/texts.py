"""The texts part of a segment: article records (`articles.json`, one list per field) and
article texts (`texts.bin`, UTF-8, concatenated; `text_offsets.npy` gives each text's byte
range).

The records are stored by column, not one object per article: a build reads every record of
every segment to diff the corpus against the index (150k articles at 1M chunks), and parsing
nine lists of strings and checking them column by column takes a tenth of the time that
150k objects did."""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError
from ..types import JSONObject
from .diskarray import PreadFile
from .files import create, save_npy, write_new_text

ARTICLE_FIELDS = ("id", "title", "date", "source", "url", "path", "hash", "file_key", "chunks")
FILES = ("articles.json", "texts.bin", "text_offsets.npy")


class TextStore:
    """Article texts in one UTF-8 file, read by byte range on demand."""

    def __init__(self, blob: bytes | bytearray | PreadFile, offsets: np.ndarray,
                 folder: Path | None = None) -> None:
        self._blob = blob
        self._offsets = offsets
        self.folder = folder  # where it was read from (for the message if it is damaged)

    @classmethod
    def concat(cls, pieces: Sequence[str | tuple[TextStore, int, int]]) -> TextStore:
        """Texts from new strings and from row ranges [lo, hi) of other stores, in order.
        Ranges are copied as bytes straight into one buffer: unchanged articles are not
        decoded and encoded again, nor held twice."""
        encoded: list[bytes | tuple[TextStore, int, int]] = []
        lengths: list[np.ndarray] = []
        for piece in pieces:
            if isinstance(piece, str):
                b = piece.encode("utf-8")
                encoded.append(b)
                lengths.append(np.asarray([len(b)], dtype=np.int64))
            else:
                src, lo, hi = piece
                encoded.append(piece)
                lengths.append(np.diff(np.asarray(src._offsets[lo : hi + 1], dtype=np.int64)))
        all_lengths = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
        offsets = np.zeros(len(all_lengths) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(all_lengths)
        blob = bytearray(int(offsets[-1]))
        view = memoryview(blob)
        at = 0
        for done in encoded:
            if isinstance(done, bytes):
                view[at : at + len(done)] = done
                at += len(done)
                continue
            src, lo, hi = done
            a, z = int(src._offsets[lo]), int(src._offsets[hi])
            if isinstance(src._blob, PreadFile):
                src._blob.read_into(view[at : at + z - a], a)
            else:
                view[at : at + z - a] = src._blob[a:z]
            at += z - a
        return cls(blob, offsets)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, row: int) -> str:
        """The text of article `row`.

        Raises:
            IndexCorruptError: the bytes read are not what was written (not UTF-8, or gone).
        """
        lo, hi = int(self._offsets[row]), int(self._offsets[row + 1])
        try:
            return bytes(self._blob[lo:hi]).decode("utf-8")
        except (UnicodeDecodeError, ValueError, OSError) as exc:
            raise corrupt(self.folder or Path("."), exc) from exc

    def save(self, folder: Path) -> None:
        # A store is saved as it was made (concat), never after being read from a folder.
        assert not isinstance(self._blob, PreadFile)
        with create(folder / "texts.bin") as fh:
            fh.write(memoryview(self._blob)[: int(self._offsets[-1])])
        save_npy(folder / "text_offsets.npy", self._offsets)

    @classmethod
    def load(cls, folder: Path) -> TextStore:
        """Open texts.bin, read by range with pread (see qa.index.diskarray)."""
        offsets = np.load(folder / "text_offsets.npy", allow_pickle=False)
        size = os.stat(folder / "texts.bin").st_size
        blob: bytes | bytearray | PreadFile = PreadFile(folder / "texts.bin") if size else b""
        if offsets.ndim != 1 or len(offsets) == 0 or int(offsets[-1]) != size \
                or (len(offsets) > 1 and bool(np.any(np.diff(offsets) < 0))):
            raise ValueError("texts.bin does not match its offsets")
        return cls(blob, offsets, folder)


class ArticleTable:
    """A segment's article records, column by column. `table[row]` is one record as a dict
    (id, title, date, source, url, path, hash, file_key, chunks); the columns are lists."""

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self.columns = columns
        self.ids: list[str] = columns["id"]
        self.hashes: list[str] = columns["hash"]
        self.paths: list[str | None] = columns["path"]
        self.file_keys: list[list[int]] = columns["file_key"]
        self.titles: list[str] = columns["title"]
        self.dates: list[str | None] = columns["date"]

    @classmethod
    def of(cls, records: Sequence[JSONObject]) -> ArticleTable:
        return cls({k: [r.get(k) for r in records] for k in ARTICLE_FIELDS})

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, row: int) -> JSONObject:
        return {k: col[row] for k, col in self.columns.items()}

    def take(self, rows: Sequence[int]) -> list[JSONObject]:
        return [self[r] for r in rows]

    def save(self, folder: Path) -> None:
        columns = {k: list(self.columns[k]) for k in ARTICLE_FIELDS}
        columns["file_key"] = [list(v) if v else [] for v in columns["file_key"]]
        write_new_text(folder / "articles.json",
                       json.JSONEncoder(ensure_ascii=False).encode(columns))

    @classmethod
    def load(cls, folder: Path) -> ArticleTable:
        """The article records of a segment, checked column by column.

        Raises:
            ValueError: the file is not what `save` wrote.
        """
        columns = json.loads((folder / "articles.json").read_text(encoding="utf-8"))
        if not isinstance(columns, dict) or set(columns) != set(ARTICLE_FIELDS):
            raise ValueError("articles.json does not hold the article fields")
        n = len(columns["id"]) if isinstance(columns["id"], list) else -1
        if not all(isinstance(c, list) and len(c) == n for c in columns.values()):
            raise ValueError("the columns of articles.json disagree")
        _check_columns(columns)
        return cls(columns)


def _check_columns(c: dict[str, list[Any]]) -> None:
    """Raise ValueError unless every column holds what a build wrote (checked with C-level
    passes over each column: a build reads every record of every segment)."""
    text, maybe_text = {str}, {str, type(None)}
    if not (set(map(type, c["id"])) <= text and all(c["id"])):
        raise ValueError("articles.json: an article lacks a text id")
    for key in ("title", "hash"):
        if not set(map(type, c[key])) <= text:
            raise ValueError(f"articles.json: an article's {key} is not text")
    for key in ("date", "source", "url", "path"):
        if not set(map(type, c[key])) <= maybe_text:
            raise ValueError(f"articles.json: an article's {key} is not text")
    dates = [v for v in c["date"] if v]
    if dates and not _DATES.fullmatch("\n".join(dates)):
        bad = next(v for v in dates if not _DATE.fullmatch(v))
        raise ValueError(f"articles.json: date {bad!r} is not YYYY-MM-DD")
    keys = c["file_key"]
    if not (set(map(type, keys)) <= {list} and set(map(len, keys)) <= {0, 2}
            and set(map(type, itertools.chain.from_iterable(keys))) <= {int}):
        raise ValueError("articles.json: a file key is not (size, mtime)")
    chunks = c["chunks"]
    if not (set(map(type, chunks)) <= {int} and (not chunks or min(chunks) >= 0)):
        raise ValueError("articles.json: a chunk count is not a count")


_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_DATES = re.compile(r"\d{4}-\d\d-\d\d(?:\n\d{4}-\d\d-\d\d)*")


def corrupt(folder: Path, exc: BaseException) -> IndexCorruptError:
    """The error for a part of a segment that cannot be read."""
    return IndexCorruptError(
        f"The index data in {folder} cannot be read ({type(exc).__name__}: {exc}). "
        "Run `qa index --full` to rebuild the index."
    )
