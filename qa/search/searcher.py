"""What the chat and other readers of search need, whoever answers it: `Searcher`.

`qa.search.Retriever` (an index folder on this machine) and `qa.search.remote.RemoteRetriever`
(`qa serve` over HTTP) both satisfy it, so the chat takes either without probing for methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, runtime_checkable

from ..errors import QueryError
from ..types import (
    ANY_DATE,
    SEARCH_MODES,
    Answer,
    Article,
    Chunk,
    DateRange,
    Hit,
    IndexStats,
    Quote,
    SearchMode,
)


@runtime_checkable
class Searcher(Protocol):
    """Searches one index and reads its articles, chunks and quotes."""

    @property
    def mode(self) -> str:
        """"hybrid", or "bm25" while the dense side is unavailable (`fallback_reason`)."""
        ...

    @property
    def fallback_reason(self) -> str | None: ...

    @property
    def dense_ready(self) -> bool: ...

    @property
    def latest_date(self) -> str | None: ...

    @property
    def stats(self) -> IndexStats: ...

    def warm_up(self) -> None: ...

    def reload_if_changed(self) -> bool: ...

    def reference_day(self) -> date: ...

    def search(self, query: str, k: int = 5, *, dates: DateRange = ANY_DATE,
               mode: SearchMode = "auto") -> list[Hit]: ...

    def article(self, article_id: str) -> Article: ...

    def chunks_of(self, article_id: str) -> list[Chunk]: ...

    def quotes(self, speaker: str | None = None) -> list[Quote]: ...



def search_mode(value: str, allowed: tuple[SearchMode, ...] = SEARCH_MODES) -> SearchMode:
    """`value` as a search mode, when it is one of `allowed`.

    Raises:
        QueryError: any other value, with the modes there are.
    """
    for mode in allowed:
        if value == mode:
            return mode
    raise QueryError(f"Unknown search mode {value!r}; use one of {', '.join(allowed)}.")


@runtime_checkable
class Asker(Protocol):
    """Answers questions: qa's `Assistant` over a local index, or `RemoteAssistant` asking
    `qa serve`."""

    def ask(self, question: str, history: Sequence[str | Answer] = (), *,
            dates: DateRange = ANY_DATE, mode: SearchMode = "auto") -> Answer: ...
