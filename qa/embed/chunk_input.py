"""What a chunk is embedded as: its article's title, a newline, then its text (BM25 indexes
the same string); and where the chunk's sentences stand in that string, for the vectors
pooled from its pass (qa.embed.pooling). The build and the answerer both use these, so a
sentence's vector made at question time is the one the build would have stored."""

from __future__ import annotations

from collections.abc import Sequence

from ..types import Span


def embedding_input(title: str, chunk_text: str) -> str:
    """What a chunk is embedded and BM25-indexed as: its article's title, then its text."""
    return f"{title}\n{chunk_text}" if title else chunk_text


def spans_in_input(title: str, chunk_start: int, spans: Sequence[Span]) -> tuple[Span, ...]:
    """Article offsets of sentences of a chunk starting at `chunk_start` -> their offsets in
    the chunk's `embedding_input`."""
    at = (len(title) + 1 if title else 0) - chunk_start
    return tuple((start + at, end + at) for start, end in spans)
