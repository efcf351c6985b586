"""One reader per article format, each registered under its file suffixes.

`load_corpus` (qa.corpus.ingest) walks the corpus folder and looks each file's suffix up here
(`reader_for`); a reader turns the file into articles with the rules of qa.corpus.article.
Adding a format is one new module that calls `register`, plus its line below; a reader
registered from elsewhere (a plugin, a test) is looked up the same way.

Built in: text (`.txt`, `.md`), webpage (`.html`, `.htm`), jsonl (`.jsonl`), table (`.csv`,
`.tsv`), pdf (`.pdf`), word (`.docx`), mail (`.eml`, `.mbox`), feeds (`.rss`, `.atom`, `.xml`,
`.feeds`). Each imports its parsing library only when it reads a file.
"""

from __future__ import annotations

from qa.corpus.readers.registry import (
    READERS,
    UNREACHABLE,
    Read,
    Reader,
    SourceFile,
    Takes,
    formats_text,
    reader_for,
    register,
    suffixes,
)

# The built-in readers register themselves on import. This order is the order messages list
# the formats in ("qa reads .txt .md .html ..."): the common ones first.
from qa.corpus.readers import text, webpage, jsonl, table, pdf, word, mail, feeds  # noqa: E402,F401,I001  isort: skip

__all__ = [
    "READERS", "UNREACHABLE", "Read", "Reader", "SourceFile", "Takes", "formats_text",
    "reader_for", "register", "suffixes",
]  # fmt: skip
