"""Sentence vectors from a chunk's own pass through the model ("late pooling").

A chunk's embedding runs every word piece of the chunk through the transformer; the vector of
a sentence inside it is the mean of that sentence's word-piece states, L2-normalised: the same
mean pooling the model uses for whole texts, over a part of the text, with the chunk around
it as context. It costs a mean per sentence instead of a second pass over every sentence. On
the dev splits the right sentence of an article ranked by its cosine to the question came
first as often as with sentences embedded alone, or more often (docs/benchmarks.md, "Sentence
vectors from the chunk's pass").

A sentence whose word pieces fall beyond the model's input length (the chunk was truncated)
has no tokens to pool: its row is zero, and the build embeds it on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ..types import Span

Progress = Callable[[int, int], None]


@runtime_checkable
class SpanEmbedder(Protocol):
    """An embedder that also gives the pooled vectors of character spans of each text."""

    def encode_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], *,
        batch_size: int = 32, progress: Progress | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(one unit vector per text, one per span of every text in order, zero when none of
        the span's word pieces is within the model's input)."""
        ...


def pool_spans(states: np.ndarray, offsets: Sequence[tuple[int, int]],
               spans: Sequence[Span]) -> np.ndarray:
    """Mean-pool one text's word-piece states over character spans.

    Args:
        states: (tokens, dim) the model's last hidden states for the text (padding excluded).
        offsets: each token's (start, end) characters in the text; special tokens are (0, 0).
        spans: (start, end) characters of the text to pool over.

    Returns:
        float32 (len(spans), dim): unit rows; zero for a span no word piece overlaps.
    """
    dim = states.shape[1] if states.ndim == 2 else 0
    out = np.zeros((len(spans), dim), np.float32)
    if not len(spans) or not dim:
        return out
    n = min(len(offsets), states.shape[0])
    bounds = np.asarray(offsets[:n], dtype=np.int64).reshape(n, 2)
    real = bounds[:, 1] > bounds[:, 0]
    for row, (start, end) in enumerate(spans):
        inside = real & (bounds[:, 0] < end) & (bounds[:, 1] > start)
        if inside.any():
            mean = states[:n][inside].astype(np.float32).mean(axis=0)
            norm = float(np.linalg.norm(mean))
            if norm > 0:
                out[row] = mean / norm
    return out


class SpanRows:
    """The pooled span vectors of one encode: every text's spans, flattened in text order."""

    def __init__(self, spans: Sequence[Sequence[Span]], dim: int) -> None:
        self.first = np.concatenate([[0], np.cumsum([len(s) for s in spans])]).astype(np.int64)
        self.rows = np.zeros((int(self.first[-1]), dim), np.float32)

    def put(self, text: int, vectors: np.ndarray) -> None:
        self.rows[self.first[text]:self.first[text + 1]] = vectors


def pool_batch(batch: np.ndarray, states: np.ndarray,
               offsets: Sequence[Sequence[tuple[int, int]]], spans: Sequence[Sequence[Span]],
               pooled: SpanRows) -> None:
    """Pool the spans of a batch's texts (rows `batch` of the encode) from the batch's token
    states (batch x width x dim, padded) and each text's word-piece offsets (unpadded)."""
    for row, (i, marks) in enumerate(zip(batch.tolist(), offsets)):
        if spans[i]:
            pooled.put(i, pool_spans(states[row, :len(marks)], marks, spans[i]))
