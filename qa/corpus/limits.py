"""How much one file may hold or unpack into, so one file cannot take a build's memory and time.

Each limit that is hit is a skipped file (or record) with the reason, never an error. Readers
read the limits as attributes of this module (`limits.MAX_RECORDS`), at the moment they check
them, so a test can lower one for a run.
"""

from __future__ import annotations

from qa.types import Skipped

# What one file may unpack into. A news article is thousands of characters and a .docx a few
# hundred kilobytes unpacked; these are orders of magnitude above, and far below what would
# exhaust a build (a 1 MB .docx once unpacked to a 537-million-character article, 3.6 GB).
# One article's text (~10 million words): docs/reliability.md has a 50 MB article read and
# chunked in seconds; 537 million characters took 3.6 GB.
MAX_ARTICLE_CHARS = 64_000_000
MAX_RECORDS = 1_000_000  # rows of a table, lines of a .jsonl, messages, feed entries
MAX_DOCX_UNPACKED = 100 << 20  # bytes, all parts of a .docx together (python-docx reads all)
MAX_DOCX_PARTS = 10_000
MAX_PARAGRAPHS = 100_000  # of one document


class LimitHit(Exception):
    """A file or record goes past one of the limits above; the message is the skip reason."""


def too_long(length: int, *, at_least: bool = False) -> LimitHit:
    """The skip for an article of `length` characters (`at_least`: counting stopped there)."""
    return LimitHit(
        f"the article is {'over ' if at_least else ''}{length:,} characters long, more than qa "
        f"indexes as one article ({MAX_ARTICLE_CHARS:,}); split it into several files")


def check_length(text: str) -> None:
    """Raise `LimitHit` when `text` is longer than one article may be."""
    if len(text) > MAX_ARTICLE_CHARS:
        raise too_long(len(text))


def more_records(rel: str, counted: int, more: int) -> Skipped:
    """The one skip for the records of a file past `counted` (`more` of them)."""
    return Skipped(rel, f"holds more than {counted:,} articles: the first {counted:,} are read "
                        f"and {more:,} more are not; split the file into smaller ones")
