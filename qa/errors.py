"""Errors written for the user: every message names the next step."""

from __future__ import annotations


class QAError(Exception):
    """Base class for every error qa raises on purpose.

    The message is shown to the user as it is (CLI: stderr and exit code 2; chat: a
    notification), so it must say what happened and what to run next.
    """

    exit_code = 2


class CorpusError(QAError):
    """The corpus folder is missing, empty or holds nothing readable."""


class IndexMissingError(QAError):
    """There is no built index where one was expected."""


class IndexCorruptError(QAError):
    """The index is half-written, truncated or inconsistent."""


class IndexChangedError(QAError):
    """A newer build replaced the generation being read mid-question; asking again works."""


class IndexMismatchError(QAError):
    """The index was built by another format version or another embedding model."""


class IndexOwnershipError(QAError):
    """The index folder is not qa's to write into (it holds the user's files, or the corpus)."""


class BuildLockedError(QAError):
    """Another build holds the index lock."""


class ConfigError(QAError):
    """The settings file or a QA_* variable holds something qa cannot use."""


class QueryError(QAError):
    """The query cannot be searched (empty, only punctuation...)."""


class ModelUnavailableError(QAError):
    """The embedding model could not be loaded; search falls back to BM25."""


class HistoryError(QAError):
    """The conversation history database cannot be opened, read or written."""


class ExecutorUnavailableError(QAError):
    """The build's executor (a Ray cluster) cannot be used: ray is not installed, the
    cluster cannot be reached, or its job failed. The index is unchanged."""


class StoreUnavailableError(QAError):
    """The index's search store (Milvus) cannot be used: its client library is missing or
    its address cannot be reached."""
