"""qa: ask questions about a folder of news articles; answers are quoted and cited.

    from qa import build_index, Retriever, Assistant
    build_index(corpus="corpus", index="index")        # incremental
    retriever = Retriever.open("index")                  # the model loads lazily
    hits = retriever.search("What did the mayor say about the strike?", k=5)
    answer = Assistant(retriever).ask("Who won the mayoral election?")

Names are imported on first use, so `import qa` stays instant (the embedding model's
libraries take seconds to import and are only loaded when a vector is needed).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import (
    BuildLockedError,
    CorpusError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    IndexOwnershipError,
    ModelUnavailableError,
    QAError,
    QueryError,
)
from .types import Answer, Article, BuildReport, Chunk, Citation, Hit, IndexStats, Quote, Skipped
from .version import __version__ as __version__

_LAZY = {
    "build_index": "qa.build.builder",
    "Retriever": "qa.search.retriever",
    "Assistant": "qa.answer",
    "format_answer": "qa.answer",
    "load_corpus": "qa.corpus.ingest",
    "chunk_article": "qa.corpus.chunking",
}

if TYPE_CHECKING:  # pragma: no cover
    from .answer import Assistant, format_answer
    from .build.builder import build_index
    from .corpus.chunking import chunk_article
    from .corpus.ingest import load_corpus
    from .search.retriever import Retriever


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Answer", "Article", "Assistant", "BuildLockedError", "BuildReport", "Chunk", "Citation",
    "CorpusError", "Hit", "IndexCorruptError", "IndexMismatchError", "IndexMissingError",
    "IndexOwnershipError",
    "IndexStats", "ModelUnavailableError", "QAError", "QueryError", "Quote", "Retriever",
    "Skipped", "build_index", "chunk_article", "format_answer", "load_corpus",
]
