"""The sentence vectors part of a segment: each sentence an answer may cite, its vector made at
build time with the index's model (pooled from its chunk's pass, qa.embed.pooling, or
embedded on its own), so that a question embeds nothing but itself.

Rows are the chunk table's sentence rows (qa.index.chunks: chunk i's sentences are rows
`sent_ptr[i]:sent_ptr[i+1]` of `sent_spans`), so a chunk's vectors are one contiguous read
and a merge copies them with the same row selection as the spans. A sentence that is never
cited (blank, or one the NLP part marks with a role of `qa.types.SENTENCE_ROLES`: a question,
the headline, a fragment) is not embedded: its row is zeros.

Stored as float16 (768 bytes a sentence of a 384-dimensional model; one chunk of news holds
about nine sentence rows, overlap included). Exactness: float16 rounds each component to
within 2**-11 of its value (relative), so a stored unit vector is within `MAX_DEVIATION` of
the float32 one in L2 norm, and its inner product with any unit query moves by at most that
much (Cauchy-Schwarz). `SentenceVectors.of` measures the deviation of every row when the part
is made and refuses one above the bound (or a vector that is not unit length: an embedder
that does not normalise); `read` checks each row a question reads (unit length within the
bound, or zero), so a damaged vector is refused rather than scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..types import SENTENCE_ROLES, Phrase, Span
from .diskarray import NpyRanges
from .files import save_npy

FILE = "sent_vectors.npy"
FILES = (FILE,)
DTYPE = np.float16
#: Largest L2 distance between a stored vector and the float32 one it was made from: float16's
#: unit roundoff (2**-11) on a unit vector, with room for subnormal components.
MAX_DEVIATION = 2.0 ** -11 + 1e-6
#: How far from 1 an embedder's vector's norm may be (float32 normalisation error).
NORM_TOLERANCE = 1e-4


class SentenceVectorError(ValueError):
    """A sentence vector fails the exactness check (see the module docstring)."""


def cited_rows(text: str, spans: Sequence[Span], phrases: Sequence[Phrase]) -> list[int]:
    """The positions in `spans` (sentence spans of one article) of the sentences an answer may
    cite: not blank, and not marked with a sentence role by the NLP part."""
    roles = {(p.start, p.end) for p in phrases if p.label in SENTENCE_ROLES}
    return [i for i, (s, e) in enumerate(spans)
            if text[s:e].strip() and (s, e) not in roles]


def _check_rows(rows: np.ndarray) -> None:
    """Raise SentenceVectorError unless every row is zero or of unit length within the bound."""
    if not len(rows):
        return
    norms = np.linalg.norm(rows.astype(np.float32), axis=1)
    bad = ~(np.isfinite(norms) & ((norms == 0) | (np.abs(norms - 1) <= NORM_TOLERANCE
                                                  + MAX_DEVIATION)))
    if bool(bad.any()):
        raise SentenceVectorError(f"{int(bad.sum())} sentence vectors are not unit length")


class SentenceVectors:
    """A segment's sentence vectors (see the module docstring): an array in memory, or the
    file read by range."""

    def __init__(self, rows: np.ndarray | NpyRanges) -> None:
        self.rows = rows  # float16 (m, dim)

    @classmethod
    def of(cls, vectors: np.ndarray) -> SentenceVectors:
        """Store float32 vectors (unit rows, or zero rows for sentences not embedded).

        Raises:
            SentenceVectorError: a row is not unit length, or float16 moves it by more than
                MAX_DEVIATION.
        """
        exact = np.asarray(vectors, dtype=np.float32)
        if exact.ndim != 2:
            raise SentenceVectorError("the sentence vectors are not rows")
        _check_rows(exact)
        stored = exact.astype(DTYPE)
        if len(exact):
            deviation = float(np.linalg.norm(stored.astype(np.float32) - exact, axis=1).max())
            if not deviation <= MAX_DEVIATION:
                raise SentenceVectorError(
                    f"float16 moves a sentence vector by {deviation:.2e} (> {MAX_DEVIATION:.2e})")
        return cls(stored)

    @classmethod
    def zeros(cls, n: int, dim: int) -> SentenceVectors:
        return cls(np.zeros((n, dim), DTYPE))

    @property
    def dim(self) -> int:
        return int(self.rows.shape[1])

    def __len__(self) -> int:
        return len(self.rows)

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Rows [lo, hi) as float32, each checked (zero rows: sentences not embedded).

        Raises:
            SentenceVectorError: a row fails the check (the file was damaged).
        """
        out = np.asarray(self.rows[lo:hi], dtype=np.float32)
        _check_rows(out)
        return out

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Rows `rows` (sorted), as stored (float16): what a merge copies."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.dim), DTYPE)
        if not len(rows):
            return out
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        at = 0
        for a, b in zip(np.concatenate([[0], breaks]), np.concatenate([breaks, [len(rows)]])):
            lo, n = int(rows[a]), int(b - a)
            out[at : at + n] = self.rows[lo : lo + n]
            at += n
        return out

    def save(self, folder: Path) -> None:
        """Write the vectors into a new file of `folder` (qa.index.files.save_npy)."""
        save_npy(folder / FILE, np.ascontiguousarray(np.asarray(self.rows[0 : len(self)],
                                                                dtype=DTYPE)))

    @classmethod
    def load(cls, folder: Path, n_rows: int) -> SentenceVectors:
        """Open a segment's sentence vectors for reading by range (`n_rows`: its sentence
        rows, from the chunk table).

        Raises:
            ValueError, OSError: the file is not what `save` wrote.
        """
        rows = NpyRanges(folder / FILE)
        if rows.dtype != DTYPE or len(rows.shape) != 2 or len(rows) != n_rows:
            raise ValueError("the sentence vectors disagree with the sentence spans")
        return cls(rows)


def concat(parts: Sequence[np.ndarray], dim: int) -> SentenceVectors:
    """Stored rows (float16) one after another: a merged segment's part."""
    blocks = [np.asarray(p, dtype=DTYPE).reshape(-1, dim) for p in parts]
    return SentenceVectors(np.concatenate(blocks) if blocks else np.zeros((0, dim), DTYPE))
