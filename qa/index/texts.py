"""The texts part of a segment: article metadata (`articles.jsonl`) and article texts
(`texts.bin`, UTF-8, concatenated; `text_offsets.npy` gives each text's byte range)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError
from .diskarray import PreadFile

ARTICLE_FIELDS = ("id", "title", "date", "source", "url", "path", "hash", "file_key", "chunks")
FILES = ("articles.jsonl", "texts.bin", "text_offsets.npy")


class TextStore:
    """Article texts in one UTF-8 file, read by byte range on demand."""

    def __init__(self, blob: Any, offsets: np.ndarray) -> None:
        self._blob = blob
        self._offsets = offsets

    @classmethod
    def concat(cls, pieces: Sequence[str | tuple["TextStore", int, int]]) -> "TextStore":
        """Texts from new strings and from row ranges [lo, hi) of other stores, in order.
        Ranges are copied as bytes straight into one buffer: unchanged articles are not
        decoded and encoded again, nor held twice."""
        encoded: list[bytes | tuple["TextStore", int, int]] = []
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
        for piece in encoded:
            if isinstance(piece, bytes):
                view[at : at + len(piece)] = piece
                at += len(piece)
                continue
            src, lo, hi = piece
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
        lo, hi = int(self._offsets[row]), int(self._offsets[row + 1])
        return bytes(self._blob[lo:hi]).decode("utf-8")

    def save(self, folder: Path) -> None:
        with open(folder / "texts.bin", "wb") as fh:
            fh.write(memoryview(self._blob)[: int(self._offsets[-1])])
        np.save(folder / "text_offsets.npy", self._offsets, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> "TextStore":
        """Open texts.bin, read by range with pread (see qa.index.diskarray)."""
        offsets = np.load(folder / "text_offsets.npy", allow_pickle=False)
        size = os.stat(folder / "texts.bin").st_size
        blob: Any = PreadFile(folder / "texts.bin") if size else b""
        if offsets.ndim != 1 or len(offsets) == 0 or int(offsets[-1]) != size \
                or (len(offsets) > 1 and bool(np.any(np.diff(offsets) < 0))):
            raise ValueError("texts.bin does not match its offsets")
        return cls(blob, offsets)


def save_articles(folder: Path, articles: Sequence[dict[str, Any]]) -> None:
    encode = json.JSONEncoder(ensure_ascii=False).encode  # one encoder, not one per dumps()
    with open(folder / "articles.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(encode({k: a.get(k) for k in ARTICLE_FIELDS}) + "\n" for a in articles)


def load_articles(folder: Path) -> list[dict[str, Any]]:
    """The article records of a segment, checked field by field.

    Raises:
        ValueError: a line is not a record a build wrote.
    """
    text = (folder / "articles.jsonl").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    articles = json.loads("[" + ",".join(lines) + "]")  # one parse, not one per line
    _check_articles(articles)
    return articles


def _check_articles(articles: Any) -> None:
    """Raise ValueError unless every article record has the fields and types a build wrote."""
    for i, a in enumerate(articles):
        if not isinstance(a, dict):
            raise ValueError(f"articles.jsonl line {i + 1} is not an object")
        if not (isinstance(a.get("id"), str) and a["id"] and isinstance(a.get("title"), str)
                and isinstance(a.get("hash"), str)):
            raise ValueError(f"articles.jsonl line {i + 1} lacks a text id, title or hash")
        for key in ("date", "source", "url", "path"):
            if a.get(key) is not None and not isinstance(a[key], str):
                raise ValueError(f"articles.jsonl line {i + 1}: {key} is not text")
        if a.get("date") and not re.fullmatch(r"\d{4}-\d\d-\d\d", a["date"]):
            raise ValueError(f"articles.jsonl line {i + 1}: date {a['date']!r} is not YYYY-MM-DD")


def corrupt(folder: Path, exc: BaseException) -> IndexCorruptError:
    """The error for a part of a segment that cannot be read."""
    return IndexCorruptError(
        f"The index data in {folder} cannot be read ({type(exc).__name__}: {exc}). "
        "Run `qa index --full` to rebuild the index."
    )
