"""Read a folder of news articles into `Article`s, and say which files were skipped and why.

Formats: one reader per format in `qa.corpus.readers`, registered under its file suffixes
(`.txt`, `.md`, `.html`/`.htm`, `.jsonl`, `.csv`, `.tsv`, `.pdf`, `.docx`, `.eml`, `.mbox`,
`.rss`, `.atom`, `.xml` feeds, `.feeds` lists of feed URLs); each module's docstring says what
it reads and how. This module walks the folder, reads each file once, hands it to the reader
of its suffix, and keeps ids and contents unique. How a body becomes an `Article` (text,
title, date, id) is qa.corpus.article, for every format alike.

Limits (`qa.corpus.limits`): an article's text, the records of one file, and what a `.docx`
unpacks into are bounded, so one file cannot take a build's memory and time; each limit that
is hit is a skipped file (or record) with the reason.

Every other file that is not hidden is listed as skipped with the reason (unsupported format,
a README or licence file, not a regular file), never dropped silently; hidden files and folders
(`.git`, `.DS_Store`) are ignored. Symlinks are reported, never followed.

Ids: `Article.id` is the path relative to the corpus folder, without extension, slugified per
path part: `World/Xi Call.md` → `world/xi-call`. A file holding several articles gives
`<file slug>/<record>`, and every article of it keeps the file as its `path` (so an unchanged
file is reused whole by an incremental build).

A record that cannot be read is skipped as `<path>:<number>`. Two inputs with the same id, or
with exactly the same content (same `hash`), are not both indexed: the later one is skipped with
a reason, which keeps ids and chunk ids unique.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from qa.corpus import limits
from qa.corpus.article import decode_utf8, normalise
from qa.corpus.boilerplate import strip_boilerplate
from qa.corpus.readers import (
    UNREACHABLE,
    Read,
    Reader,
    SourceFile,
    Takes,
    formats_text,
    reader_for,
    suffixes,
)
from qa.dates import written_date
from qa.errors import CorpusError
from qa.regular_files import NotRegularFileError, read_regular
from qa.types import Article, Skipped

# FORMATS and FORMATS_TEXT come from the module's __getattr__ below.
__all__ = [  # noqa: F822
    "load_corpus", "read_article_file", "strip_boilerplate", "parse_date", "FORMATS",
    "FORMATS_TEXT",
]  # fmt: skip

# Dates written in articles and their files are read by qa.dates, the one date module.
parse_date = written_date
# Files that come with a downloaded corpus and describe it; they are not articles.
_NOT_ARTICLES = frozenset({"readme", "license", "licence", "copying"})


def __getattr__(name: str) -> Any:
    # FORMATS (the suffixes qa reads) and FORMATS_TEXT (as messages name them) are asked of the
    # registry each time: a reader registered after this module was imported counts too.
    if name == "FORMATS":
        return suffixes()
    if name == "FORMATS_TEXT":
        return formats_text()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- one file ----------------------------------------------------------------------------------


def _reader_of(name: str) -> Reader | str:
    """The reader of a file of this name, or why the file is not read as articles at all."""
    stem, ext = os.path.splitext(name)
    if stem.lower() in _NOT_ARTICLES:
        return "a README or licence file, not an article; rename it to index it"
    reader = reader_for(ext)
    if reader is not None:
        return reader
    if not ext:
        return f"unsupported format (no file extension); qa reads {formats_text()}"
    return f"unsupported format {ext.lower()}; qa reads {formats_text()}"


def read_article_file(path: Path, root: Path) -> tuple[list[Article], list[Skipped]]:
    """Read one article file, or the several articles of a `.jsonl`, `.csv`, `.tsv`, `.mbox`
    or feed file.

    Args:
        path: The file; its extension picks the reader.
        root: The corpus folder, for relative paths and ids.

    Returns:
        (articles, skipped). A file that cannot be read, or is not in a format qa reads, gives
        `([], [Skipped(...)])`; it never raises for bad content.
    """
    rel = path.relative_to(root).as_posix()
    reader = _reader_of(path.name)
    if isinstance(reader, str):
        return [], [Skipped(rel, reader)]
    try:
        # A regular file, not through a link (the walk reports links; this also holds if one
        # was put in its place since).
        data = read_regular(path, follow_links=False)
    except NotRegularFileError:
        return [], [Skipped(rel, "not a regular file (a pipe, socket or device)")]
    except PermissionError:
        return [], [Skipped(rel, "cannot be read (permission denied); check its permissions")]
    except OSError as exc:
        return [], [Skipped(rel, f"cannot be read ({exc.strerror or exc})")]
    try:
        return _read_with(reader, SourceFile(path=path, rel=rel, root=root, data=data))
    except limits.LimitHit as limit:
        return [], [Skipped(rel, str(limit))]


def _read_with(reader: Reader, file: SourceFile) -> Read:
    """The checks every file of the reader's kind passes (`Takes`), then the reader."""
    if not file.data.strip():
        return [], [Skipped(file.rel, "empty file")]
    if reader.takes is not Takes.DOCUMENT:
        problem = _bytes_problem(file.data)
        if problem:
            return [], [Skipped(file.rel, problem)]
    if reader.takes is Takes.TEXT:
        raw = decode_utf8(file.data)
        if raw is None:
            return [], [Skipped(file.rel, "not UTF-8 text; re-save it as UTF-8")]
        file = replace(file, text=normalise(raw))
    return reader.read(file)


def _bytes_problem(data: bytes) -> str | None:
    """Why these bytes are not an article file, or None."""
    if not data.strip():
        return "empty file"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text; re-save it as UTF-8"
    if b"\x00" in data:
        return "binary file (contains NUL bytes), not an article"
    return None


# --- the corpus walk ---------------------------------------------------------------------------


def _walk(root: Path, skipped: list[Skipped]) -> Iterator[Path]:
    """Every file and symlink under root that is not hidden, sorted by name at every level,
    depth first. Pipes, sockets and devices are reported in `skipped`.

    Symlinks are never followed: one pointing outside the corpus is a way out of it, one inside
    is a second copy of something read anyway, and a loop never ends. Each is reported.
    """
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            if folder == root:
                raise
            rel = Path(folder).relative_to(root).as_posix()
            skipped.append(Skipped(rel + "/", f"folder cannot be read ({exc.strerror or exc})"))
            continue
        subfolders: list[Path] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden files and folders (.git, .DS_Store, editor backups)
            path = Path(entry.path)
            if entry.is_symlink():
                yield path  # reported by _symlink_problem
                continue
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                subfolders.append(path)
            elif stat.S_ISREG(mode):
                yield path
            else:
                rel = path.relative_to(root).as_posix()
                skipped.append(Skipped(rel, "not a regular file (a pipe, socket or device)"))
        stack.extend(reversed(subfolders))


def _file_key(path: Path) -> FileKey | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _symlink_problem(path: Path, root: Path) -> str:
    try:
        target = path.resolve(strict=True)
    except RuntimeError:
        return "symlink loop; remove the link"
    except OSError as exc:
        if "loop" in str(exc).lower() or getattr(exc, "errno", None) == 40:
            return "symlink loop; remove the link"
        return "broken symlink (its target does not exist)"
    if not target.is_relative_to(root):
        return "symlink points outside the corpus folder; copy the file in instead"
    return "symlink inside the corpus; its target is read from its real location"


FileKey = tuple[int, int]  # (size, mtime_ns): a file whose key is unchanged is not re-read


# --- the corpus --------------------------------------------------------------------------------


def load_corpus(
    corpus: str | Path,
    *,
    known: Mapping[str, tuple[FileKey, list[Article]]] | None = None,
    file_keys: dict[str, FileKey] | None = None,
) -> tuple[list[Article], list[Skipped]]:
    """Read every article under a corpus folder.

    Args:
        corpus: The folder; read recursively in sorted order, so the result is deterministic.
        known: articles already read from a file, by relative path, with the file's
            (size, mtime_ns) then; a file whose size and mtime are unchanged is not read again
            (re-parsing thousands of files was most of an incremental build's time).
        file_keys: filled with (size, mtime_ns) of every file read, by relative path.

    Returns:
        (articles, skipped): everything that could be read, and every file (or record of a
        multi-article file) that could not or is not in a format qa reads, with a reason the
        user can act on.

    Raises:
        CorpusError: The folder does not exist, is not a folder, cannot be listed, or holds no
            file in a format qa reads (`FORMATS`); the files it does hold are named.
    """
    given = str(corpus)
    root = _corpus_root(given, Path(corpus))
    skipped: list[Skipped] = []
    try:
        paths = list(_walk(root, skipped))
    except OSError as exc:
        raise CorpusError(
            f"Corpus folder '{given}' cannot be read ({exc.strerror or exc}). "
            "Check its permissions, then run `qa index`."
        ) from exc
    articles: list[Article] = []
    unique = _Unique(articles, skipped)
    candidates = 0
    not_articles: list[Skipped] = []  # files in no format qa reads
    for path in paths:
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            skipped.append(Skipped(rel, _symlink_problem(path, root)))
            if reader_for(path.suffix) is not None or not path.suffix:
                candidates += 1  # meant as an article, so the folder is not "empty"
            continue
        reader = _reader_of(path.name)
        if isinstance(reader, str):
            not_articles.append(Skipped(rel, reader))
            skipped.append(not_articles[-1])
            continue
        candidates += 1
        found, bad = _read_or_reuse(path, rel, root, reader, known, file_keys)
        skipped.extend(bad)
        for article in found:
            unique.add(article)
    if candidates == 0:
        raise _nothing_to_read(given, not_articles)
    return articles, skipped


def _corpus_root(given: str, folder: Path) -> Path:
    """The corpus folder, resolved.

    Raises:
        CorpusError: it does not exist or is a file.
    """
    if not folder.exists():
        raise CorpusError(
            f"Corpus folder '{given}' does not exist. Create it and put articles in it "
            f"({formats_text()}), then run `qa index`."
        )
    if not folder.is_dir():
        raise CorpusError(
            f"Corpus path '{given}' is a file, not a folder. Put articles ({formats_text()}) in "
            "a folder and point `qa index --corpus` at it."
        )
    return folder.resolve()


def _read_or_reuse(
    path: Path,
    rel: str,
    root: Path,
    reader: Reader,
    known: Mapping[str, tuple[FileKey, list[Article]]] | None,
    file_keys: dict[str, FileKey] | None,
) -> Read:
    """A file's articles: those read before when its size and mtime are unchanged (and its
    reader is not live), else read now."""
    key = _file_key(path)
    if file_keys is not None and key is not None:
        file_keys[rel] = key
    cached = known.get(rel) if known else None
    if cached is not None and key is not None and cached[0] == key and not reader.live:
        return list(cached[1]), []
    found, bad = read_article_file(path, root)
    if reader.live and cached is not None and any(UNREACHABLE in b.reason for b in bad):
        # No network: what was indexed from the unreachable sources stays.
        have = {a.id for a in found}
        found += [a for a in cached[1] if a.id not in have]
    return found, bad


class _Unique:
    """Keeps the articles whose id and content are new; skips the others with the reason."""

    def __init__(self, articles: list[Article], skipped: list[Skipped]) -> None:
        self.articles, self.skipped = articles, skipped
        self.ids: dict[str, str] = {}  # article id -> the file that has it
        self.hashes: dict[str, str] = {}  # content hash -> the file that has it

    def add(self, article: Article) -> None:
        where = article.path
        if article.id in self.ids:
            self.skipped.append(Skipped(
                where, f"article id '{article.id}' is already used by {self.ids[article.id]}; "
                       "rename one of them"))
        elif article.hash in self.hashes:
            self.skipped.append(Skipped(
                where, f"'{article.id}' is a duplicate of {self.hashes[article.hash]} "
                       "(same content)"))
        else:
            self.ids[article.id] = where
            self.hashes[article.hash] = where
            self.articles.append(article)


def _nothing_to_read(given: str, not_articles: list[Skipped]) -> CorpusError:
    """The error for a folder with no article file: naming the files it holds, if any."""
    if not_articles:
        named = ", ".join(f"{s.path} ({s.reason.split(';')[0]})" for s in not_articles[:5])
        more = f" and {len(not_articles) - 5} more" if len(not_articles) > 5 else ""
        return CorpusError(
            f"Corpus folder '{given}' holds no file qa can read: {named}{more}. qa reads "
            f"{formats_text()}; convert your articles to one of these, then run `qa index`."
        )
    return CorpusError(
        f"Corpus folder '{given}' is empty: it holds no article files ({formats_text()}). "
        "Put your articles in it, then run `qa index`."
    )
