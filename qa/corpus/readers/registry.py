"""The registry of readers: which function reads a file, looked up by the file's suffix.

A reader module registers each of its functions under the suffixes it reads:

    @register(".csv", ".tsv")
    def read_table(file: SourceFile) -> Read: ...

and `load_corpus` looks a file's suffix up with `reader_for`. The suffixes qa reads, and the
list of them its messages show, are whatever is registered.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa.types import Article, Skipped

Read = tuple[list[Article], list[Skipped]]

#: The words a live reader's skip reason holds when its source could not be reached (no
#: network); `load_corpus` then keeps the articles read from that file before.
UNREACHABLE = "could not be fetched"


class Takes(enum.Enum):
    """What a reader is given of a file, after the checks every file of its kind passes first
    (every file: not empty)."""

    #: A binary container (PDF, DOCX): the bytes as they are.
    DOCUMENT = "document"
    #: Bytes checked to be text-like (not UTF-16, no NUL byte); the reader decodes them.
    BYTES = "bytes"
    #: UTF-8 text with `\n` line ends and no BOM, in `SourceFile.text`.
    TEXT = "text"


@dataclass(frozen=True)
class SourceFile:
    """One file of a corpus, read once, as a reader gets it."""

    path: Path  # the file
    rel: str  # its path relative to the corpus folder: ids and skip reasons use it
    root: Path  # the corpus folder
    data: bytes
    text: str | None = None  # the decoded text, for a reader that `Takes.TEXT`


@dataclass(frozen=True)
class Reader:
    """A registered reader: the function and how it wants its files."""

    read: Callable[[SourceFile], Read]
    takes: Takes
    shown: bool  # its suffix is named where messages list the formats qa reads
    # Its articles come from elsewhere (a `.feeds` file's URLs), so the file is read on every
    # build even when it has not changed.
    live: bool


#: Suffix (lower case, with the dot) -> its reader, in the order they were registered.
READERS: dict[str, Reader] = {}


def register(
    *suffixes: str, takes: Takes = Takes.TEXT, hidden: tuple[str, ...] = (), live: bool = False
) -> Callable[[Callable[[SourceFile], Read]], Callable[[SourceFile], Read]]:
    """Register the decorated function as the reader of files with these suffixes.

    Args:
        suffixes: e.g. ".csv", ".tsv" (compared lower-cased).
        takes: what the function is given (`Takes`); the checks before it are the registry's.
        hidden: those of `suffixes` left out where messages list the formats (`.htm` beside
            `.html`).
        live: the file names sources read on every build (see `Reader.live`).

    Returns:
        The decorator; it returns the function unchanged.

    Raises:
        ValueError: a suffix has no leading dot or already has a reader (two modules would
            otherwise silently fight over it).
    """

    def decorate(read: Callable[[SourceFile], Read]) -> Callable[[SourceFile], Read]:
        for suffix in suffixes:
            key = suffix.lower()
            if not key.startswith(".") or len(key) < 2:
                raise ValueError(f"a reader's suffix starts with a dot: {suffix!r}")
            if key in READERS:
                raise ValueError(f"{key} already has a reader ({READERS[key].read.__qualname__})")
            READERS[key] = Reader(read=read, takes=takes, shown=suffix not in hidden, live=live)
        return read

    return decorate


def reader_for(suffix: str) -> Reader | None:
    """The reader of files with this suffix (".PDF" as ".pdf"); None when qa reads no such file."""
    return READERS.get(suffix.lower())


def suffixes() -> tuple[str, ...]:
    """Every suffix that has a reader, in the order they were registered."""
    return tuple(READERS)


def formats_text() -> str:
    """The formats qa reads as messages name them: ".txt .md .html ...", in registration order."""
    return " ".join(suffix for suffix, reader in READERS.items() if reader.shown)
