"""How a reader makes an `Article` of what it found in a file: one set of rules for all formats.

What ends up in `Article.text` (every offset in qa points into it):

* line ends are `\\n` (CRLF and CR are normalised), a UTF-8 BOM is removed, and the text is
  trimmed of leading and trailing whitespace;
* boilerplate lines are removed (`qa.corpus.boilerplate`); everything else is kept as written;
* metadata lines at the top of a body (`article_from_body`) are **removed** from the text
  because they are stored in fields: a leading ` date 2022-02-26 ` marker (→ `date`), a
  dateline line such as `Friday, December 17, 2021` (→ `date`) and a headline — the first
  short line with no final period (→ `title`; when the file already gives a title, only a line
  equal to that title is removed). A body that would be left empty keeps its lines;
* with no headline, the title is the first sentence, shortened to 12 words with an ellipsis.

Dates: a date the record states (front matter, a CSV column, a feed's or e-mail's date) wins
over a dateline in the text, and a dateline wins over a file's own metadata (a PDF's or DOCX's
creation date is when the file was made, often long after the article). All are read by
`qa.dates.written_date`, the one date parser.

Ids: `article_id` is the path relative to the corpus folder, without extension, slugified per
path part (lower-case `[a-z0-9-]`, `/` kept): `World/Xi Call.md` → `world/xi-call`. A reader of
a file holding several articles names them `<file slug>/<record>`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import time
import unicodedata
from urllib.parse import urlparse

from qa.corpus import limits
from qa.corpus.boilerplate import strip_boilerplate
from qa.corpus.chunking import split_sentences
from qa.dates import written_date
from qa.types import Article

# --- text -------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """`\\n` line ends and no leading BOM."""
    # Every leading BOM: a file saved twice by a BOM-writing editor, or BOM files concatenated.
    text = text.lstrip("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_utf8(data: bytes) -> str | None:
    """The text of UTF-8 bytes; None when they are not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


_WORD_CHAR = re.compile(r"\w")


def has_words(text: str) -> bool:
    """An article needs at least one letter or digit: text made only of zero-width or
    combining characters would be indexed but could never be found or cited usefully."""
    return bool(text) and _WORD_CHAR.search(text) is not None


# --- fields -----------------------------------------------------------------------------------


def iso_date(value: object) -> str | None:
    """A date from a library's field: a datetime or date as it is, a string via `written_date`."""
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, time.struct_time):
        return _dt.date(value.tm_year, value.tm_mon, value.tm_mday).isoformat()
    if isinstance(value, str):
        return written_date(value)
    return None


def str_or_none(value: object) -> str | None:
    """A record's field when it is a string with something in it, else None."""
    return value if isinstance(value, str) and value.strip() else None


def document_title(value: object) -> str | None:
    """A document's own title field, unless it is an editor's placeholder or a file name."""
    title = " ".join(str(value or "").split())
    if title.casefold() in ("", "untitled", "document", "word document", "untitled document"):
        return None
    if re.match(r"(?i)microsoft \w+ - ", title):  # "Microsoft Word - draft3.docx"
        return None
    if re.search(r"(?i)\.(docx?|pdf|odt|rtf|txt)$", title):
        return None
    return title


# --- the top of a body: date marker, dateline, headline ---------------------------------------


_DATE_MARKER = re.compile(r"\s*date\s+(\d{4}-\d{2}-\d{2})\b[ \t]*")
_HEADLINE_MAX_WORDS = 20
_TITLE_WORDS = 12


def _is_headline(line: str) -> bool:
    line = line.strip()
    if not line or len(line) > 200 or line.startswith(("http://", "https://", "www.")):
        return False
    if line[-1] in ".,;:" or len(line.split()) >= _HEADLINE_MAX_WORDS:
        return False
    return any(c.isalpha() for c in line)


def _recover_header(
    text: str, *, date: str | None, title: str | None
) -> tuple[str, str | None, str | None]:
    """Take the date marker, a dateline and a headline off the top of a body.

    Returns:
        (text, date, title); fields already set win over what is found, but the lines that
        held them are still removed.
    """
    marker = _DATE_MARKER.match(text)
    if marker:
        date = date or written_date(marker.group(1))
        text = text[marker.end() :]
    found_dateline = False
    found_title = False
    pos = 0
    while True:
        # The next non-blank line.
        while pos < len(text) and text[pos] in " \t\n\u00a0":
            pos += 1
        nl = text.find("\n", pos)
        line_end = len(text) if nl == -1 else nl
        line = text[pos:line_end].strip()
        rest = text[line_end:].strip()
        if not line or not rest:
            break  # never empty the body to fill a field
        if not found_dateline and written_date(line):
            date = date or written_date(line)
            found_dateline = True
        elif not found_title and _is_headline(line) and (title is None or same_text(line, title)):
            title = title or line
            found_title = True
        else:
            break
        text = text[line_end:]
        pos = 0
    return text.strip(), date, title


def same_text(a: str, b: str) -> bool:
    """The same words, ignoring case and spacing (a title and the line that holds it)."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _title_from_text(text: str, fallback: str) -> str:
    """The first sentence, at most 12 words (then with an ellipsis)."""
    spans = split_sentences(text[:2000])
    if not spans:
        return fallback
    words = text[spans[0][0] : spans[0][1]].split()
    if len(words) <= _TITLE_WORDS:
        return " ".join(words)
    return " ".join(words[:_TITLE_WORDS]).rstrip(",;:-–—") + "…"


# --- ids and the content hash -----------------------------------------------------------------


def slug(part: str) -> str:
    """`part` as lower-case `[a-z0-9-]` (accents dropped), for ids."""
    ascii_part = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "-", ascii_part.lower()).strip("-")
    if not name:
        # A name with no Latin letters or digits (a name in a non-Latin script): keep it distinct and stable.
        name = "x-" + hashlib.sha256(part.encode()).hexdigest()[:10]
    return name


def article_id(rel: str) -> str:
    """The id of the article of a file: its path relative to the corpus, slugified per part,
    without the extension."""
    parts = rel.split("/")
    parts[-1] = os.path.splitext(parts[-1])[0]
    return "/".join(slug(p) for p in parts)


def _host(url: str | None) -> str:
    if not url:
        return ""
    try:
        host = urlparse(url).hostname or ""
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def _content_hash(title: str, date: str | None, source: str, url: str | None, text: str) -> str:
    canonical = json.dumps(
        {"date": date, "source": source, "text": text, "title": title, "url": url},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- the article ------------------------------------------------------------------------------


def make_article(
    *,
    id: str,
    rel: str,
    text: str,
    title: str | None,
    date: str | None,
    source: str | None,
    url: str | None,
    fallback_title: str,
) -> Article:
    """An article of a text that is already clean; the title, when missing, is its first
    sentence and the source, when missing, the host of its URL.

    Raises:
        limits.LimitHit: the text is longer than `limits.MAX_ARTICLE_CHARS`.
    """
    limits.check_length(text)
    url = url.strip() or None if url else None
    source = (source or "").strip() or _host(url)
    title = " ".join((title or "").split()) or _title_from_text(text, fallback_title)
    return Article(
        id=id,
        title=title,
        date=date,
        source=source,
        url=url,
        path=rel,
        text=text,
        hash=_content_hash(title, date, source, url, text),
    )


def article_from_body(
    text: str,
    *,
    id: str,
    rel: str,
    fallback_title: str,
    title: str | None = None,
    date: str | None = None,
    file_date: str | None = None,
    source: str | None = None,
    url: str | None = None,
) -> Article | None:
    """An article from a body of text and the fields its file gives; None when no text is left.

    The body loses its boilerplate and its header lines (date marker, dateline, headline).
    `date` (stated by the record) wins over a dateline, which wins over `file_date` (a
    document's own creation date).

    Raises:
        limits.LimitHit: the text is longer than `limits.MAX_ARTICLE_CHARS`.
    """
    limits.check_length(text)  # before the work below, which a huge text would make long
    body = strip_boilerplate(normalise(text))
    body, date, title = _recover_header(body, date=date, title=title)
    if not has_words(body):
        return None
    return make_article(
        id=id, rel=rel, text=body, title=title, date=date or file_date, source=source, url=url,
        fallback_title=fallback_title,
    )  # fmt: skip
