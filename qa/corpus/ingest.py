"""Read a folder of news articles into `Article`s, and say which files were skipped and why.

Formats (`FORMATS`):

* `.txt`; `.md` with optional front matter between `---` lines (`title`, `date`, `url`,
  `source`, `outlet`; simple `key: value` lines, quotes optional);
* `.html`/`.htm` through trafilatura (main text plus title, date, site name and URL);
* `.jsonl`, one article per line (`id` or `_id`, `title`, `date`, `url`, `text`,
  `source`/`outlet`);
* `.csv`/`.tsv` with a header row, one article per row: a text column (`text`, `body`,
  `content`, `article`, ...) and optionally `title`/`headline`, `date`/`published`/`pubdate`,
  `url`/`link`, `source`/`outlet`/`publisher` and `id` (names compared case-insensitively);
* `.pdf` (its text layer, through pypdf; `/Title` and `/CreationDate` from the metadata);
* `.docx` (paragraph text, through python-docx; title and created date from the core
  properties);
* `.eml` and `.mbox` newsletters (subject → title, `Date` → date, sender name → source; the
  text/plain part, else the text/html part through the HTML path);
* RSS/Atom feeds (`.rss`, `.atom`, and `.xml` files that are feeds), through feedparser: one
  article per entry (title, published date, link, content or summary as text);
* `.feeds` files: feed URLs, one a line, fetched on every `qa index` (qa.corpus.fetch: one deadline
  for the whole feed, a size cap, public addresses only unless `allow_private_feeds` is set,
  `file://` only inside the corpus folder); a feed that cannot be fetched (no network) is
  listed as skipped and keeps what was indexed from it.

Limits: an article's text, the records of one file, and what a `.docx` unpacks into are
bounded (`MAX_ARTICLE_CHARS`, `MAX_RECORDS`, `MAX_DOCX_UNPACKED`, `MAX_DOCX_PARTS`,
`MAX_PARAGRAPHS`), so one file cannot take a build's memory and time; each limit that is hit
is a skipped file (or record) with the reason.

Every other file that is not hidden is listed as skipped with the reason (unsupported format,
a README or licence file, not a regular file), never dropped silently; hidden files and folders
(`.git`, `.DS_Store`) are ignored.

What ends up in `Article.text` (every offset in qa points into it):

* line ends are `\\n` (CRLF and CR are normalised), a UTF-8 BOM is removed, and the text is
  trimmed of leading and trailing whitespace;
* boilerplate lines are removed (`strip_boilerplate`); everything else is kept as written
  (a PDF's hard-wrapped lines are joined back into their paragraphs first);
* metadata lines at the top of a body (all formats but `.jsonl` and HTML) are **removed** from
  the text because they are stored in fields: a leading ` date 2022-02-26 ` marker (→ `date`),
  a dateline line such as `Friday, December 17, 2021` (→ `date`) and a headline — the first
  short line with no final period (→ `title`; when the file already gives a title, only a line
  equal to that title is removed). A body that would be left empty keeps its lines;
* with no headline, the title is the first sentence, shortened to 12 words with an ellipsis.

Dates: a date the record states (front matter, a CSV column, a feed's or e-mail's date) wins
over a dateline in the text, and a dateline wins over a file's own metadata (a PDF's or DOCX's
creation date is when the file was made, often long after the article). All are read by
`parse_date`, the one date parser of ingestion.

Ids: `Article.id` is the path relative to the corpus folder, without extension, slugified per
path part (lower-case `[a-z0-9-]`, `/` kept): `World/Xi Call.md` → `world/xi-call`. A file
holding several articles gives `<file slug>/<record>`, and every article of it keeps the file
as its `path` (so an unchanged file is reused whole by an incremental build):

* `.jsonl`, `.csv`, `.tsv`: the record's `id`/`_id` kept verbatim (so BEIR qrels map back), or
  its line number (`.jsonl`) or row number (1 = the first row after the header);
* feeds: the entry's guid (or link), slugified without its `https://`, else its position;
  feeds grow at the top, so positions would shift with every refresh;
* `.mbox`: the message's position (mailboxes grow at the end).

A record that cannot be read is skipped as `<path>:<number>`. Two inputs with the same id, or
with exactly the same content (same `hash`), are not both indexed: the later one is skipped with
a reason, which keeps ids and chunk ids unique.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import itertools
import json
import logging
import os
import re
import stat
import time
import unicodedata
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from qa import config
from qa.corpus.chunking import split_sentences
from qa.dates import written_date
from qa.errors import CorpusError
from qa.corpus.fetch import FeedRefused, FeedUnavailable, fetch_feed
from qa.regular_files import NotRegularFileError, read_regular
from qa.types import Article, Skipped

if TYPE_CHECKING:
    from email.message import EmailMessage

__all__ = [
    "load_corpus", "read_article_file", "strip_boilerplate", "parse_date", "FORMATS",
    "FORMATS_TEXT",
]  # fmt: skip

FORMATS = (
    ".txt", ".md", ".html", ".htm", ".jsonl", ".csv", ".tsv", ".pdf", ".docx", ".eml", ".mbox",
    ".rss", ".atom", ".xml", ".feeds",
)  # fmt: skip
# The readable formats as the user reads them in messages (.htm and .xml feeds go unsaid).
FORMATS_TEXT = ".txt .md .html .jsonl .csv .tsv .pdf .docx .eml .mbox .rss .atom .feeds"
# A `.feeds` file lists feed URLs, one a line; each is fetched on every `qa index`.
_FETCH_FAILED = "could not be fetched"
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
# Files that come with a downloaded corpus and describe it; they are not articles.
_NOT_ARTICLES = frozenset({"readme", "license", "licence", "copying"})

# --- dates -----------------------------------------------------------------------------------
# Dates written in articles and their files are read by qa.dates, the one date module.
parse_date = written_date


def _iso_date(value: object) -> str | None:
    """A date from a library's field: a datetime or date as it is, a string via `parse_date`."""
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, time.struct_time):
        return _dt.date(value.tm_year, value.tm_mon, value.tm_mday).isoformat()
    if isinstance(value, str):
        return parse_date(value)
    return None


# --- boilerplate -------------------------------------------------------------------------------

# Whole lines that are site furniture, matched against the stripped line (case-insensitive).
_BOILERPLATE_LINE = re.compile(
    r"""(?ix)
    leave\ a\ (?:reply|comment)(?:\ cancel\ reply)?
    | your\ email\ address\ will\ not\ be\ published\.?(?:\s*required\ fields\ are\ marked\ \*)?
    | required\ fields\ are\ marked\ \*
    | back\ to\ top(?:\ button)?
    | labels:[\s,]*
    | (?:follow\ @\w+\s*)?tweet
    | follow\ @\w+
    | (?:share|follow\ us|like\ us)(?:\ this)?(?:\ (?:article|story|post))?
      (?:\ (?:on|via)\ (?:facebook|twitter|x|whatsapp|linkedin|telegram|email)
        (?:\s*[,|/]?\s*(?:facebook|twitter|x|whatsapp|linkedin|telegram|email))*)?:?
    | share\ (?:via|on):?(?:[ \t]+\w+)*
    | subscribe(?:\ (?:now|here|today))?(?:\ to\ (?:our|the)\ (?:newsletter|channel))?!?
    | sign\ up\ for\ (?:our|the)\ newsletter\.?
    | click\ here\ to\ subscribe\.?
    | (?:image|images|photo|photos|photograph|picture|credit|photo\ credit|image\ credit|
        image\ source|photo\ source)\s*:\s*[^.!?]{1,60}
    | \(?(?:[\w-]+\.)+[a-z]{2,}\)?                 # a bare credit such as "(Palace.gov)"
    | (?:https?://|www\.)\S+                        # a bare URL, usually an image
    """
)
# A photo credit glued to the end of a real line: "...met in the capital.  Example.org" or a
# caption ending in "(Example.org)". Only the credit goes; the sentence stays.
_TRAILING_CREDIT = re.compile(
    r"(?i)(?:(?<=[.!?\"”’'])[ \t\u00a0]+(?:[\w-]+\.)+[a-z]{2,}|[ \t\u00a0]+\((?:[\w-]+\.)+[a-z]{2,}\))"
    r"[ \t\u00a0]*$"
)
_MAX_BOILERPLATE_CHARS = 200  # longer lines are article text, whatever they start with


def strip_boilerplate(text: str) -> str:
    """Remove boilerplate lines and collapse the blank lines they leave.

    Only whole lines go ("Leave a Reply", "Your email address will not be published.",
    "Back to top button", "Labels: , , ,", "Follow @x Tweet", share/subscribe lines, bare URLs,
    photo credit lines such as "Image: AP" or "(Palace.gov)"), plus a credit glued to the end of
    a line ("... the capital.  Palace.gov"). Other lines are kept byte for byte; runs of blank
    (whitespace-only) lines become one empty line, and the result is trimmed.

    Args:
        text: Article text with `\\n` line ends.

    Returns:
        The cleaned text.
    """
    kept: list[str] = []
    blank = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and len(stripped) <= _MAX_BOILERPLATE_CHARS:
            if _BOILERPLATE_LINE.fullmatch(stripped):
                continue
            if stripped[-1] == ")" or "." in stripped[-40:]:
                line = _TRAILING_CREDIT.sub("", line)
                stripped = line.strip()
        elif stripped:
            tail = line[-80:]
            if _TRAILING_CREDIT.search(tail):
                line = line[: len(line) - len(tail)] + _TRAILING_CREDIT.sub("", tail)
                stripped = line.strip()
        if not stripped:
            blank = True
            continue
        if blank and kept:
            kept.append("")
        blank = False
        kept.append(line)
    return "\n".join(kept).strip()


# --- metadata recovery -------------------------------------------------------------------------

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
        date = date or parse_date(marker.group(1))
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
        if not found_dateline and parse_date(line):
            date = date or parse_date(line)
            found_dateline = True
        elif not found_title and _is_headline(line) and (title is None or _same(line, title)):
            title = title or line
            found_title = True
        else:
            break
        text = text[line_end:]
        pos = 0
    return text.strip(), date, title


def _same(a: str, b: str) -> bool:
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


# --- front matter ------------------------------------------------------------------------------


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split `---` front matter off a Markdown text (hand-parsed `key: value` lines).

    Without a closing `---` (or `...`) line in the first 100 lines it is not front matter and
    the text is returned whole.
    """
    first_nl = text.find("\n")
    if first_nl == -1 or text[:first_nl].strip() != "---":
        return {}, text
    fields: dict[str, str] = {}
    pos = first_nl + 1
    for _ in range(100):
        nl = text.find("\n", pos)
        line = text[pos:] if nl == -1 else text[pos:nl]
        if line.strip() in ("---", "..."):
            return fields, "" if nl == -1 else text[nl + 1 :]
        if ":" in line and not line.lstrip().startswith("#"):
            key, value = line.split(":", 1)
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            fields[key.strip().lower()] = value
        if nl == -1:
            break
        pos = nl + 1
    return {}, text


# --- building articles -------------------------------------------------------------------------


def _slug(part: str) -> str:
    ascii_part = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_part.lower()).strip("-")
    if not slug:
        # A name with no Latin letters or digits (e.g. Chinese): keep it distinct and stable.
        slug = "x-" + hashlib.sha256(part.encode()).hexdigest()[:10]
    return slug


def _article_id(rel: str) -> str:
    parts = rel.split("/")
    parts[-1] = os.path.splitext(parts[-1])[0]
    return "/".join(_slug(p) for p in parts)


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


class _LimitHit(Exception):
    """A file or record goes past one of the limits above; the message is the skip reason."""


def _too_long(length: int, *, at_least: bool = False) -> _LimitHit:
    return _LimitHit(
        f"the article is {'over ' if at_least else ''}{length:,} characters long, more than qa "
        f"indexes as one article ({MAX_ARTICLE_CHARS:,}); split it into several files")


def _check_length(text: str) -> None:
    if len(text) > MAX_ARTICLE_CHARS:
        raise _too_long(len(text))


def _more_records(rel: str, counted: int, more: int) -> Skipped:
    return Skipped(rel, f"holds more than {counted:,} articles: the first {counted:,} are read "
                        f"and {more:,} more are not; split the file into smaller ones")


def _make_article(
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
    _check_length(text)
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


def _normalise(text: str) -> str:
    # Every leading BOM: a file saved twice by a BOM-writing editor, or BOM files concatenated.
    text = text.lstrip("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _bytes_problem(data: bytes) -> str | None:
    """Why these bytes are not an article file, or None."""
    if not data.strip():
        return "empty file"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text; re-save it as UTF-8"
    if b"\x00" in data:
        return "binary file (contains NUL bytes), not an article"
    return None


_WORD_CHAR = re.compile(r"\w")


def _has_words(text: str) -> bool:
    """An article needs at least one letter or digit: text made only of zero-width or
    combining characters would be indexed but could never be found or cited usefully."""
    return bool(text) and _WORD_CHAR.search(text) is not None


Read = tuple[list[Article], list[Skipped]]


def _article_from_body(
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
        _LimitHit: the text is longer than MAX_ARTICLE_CHARS.
    """
    _check_length(text)  # before the work below, which a huge text would make long
    body = strip_boilerplate(_normalise(text))
    body, date, title = _recover_header(body, date=date, title=title)
    if not _has_words(body):
        return None
    return _make_article(
        id=id, rel=rel, text=body, title=title, date=date or file_date, source=source, url=url,
        fallback_title=fallback_title,
    )  # fmt: skip


def _format_problem(name: str) -> str | None:
    """Why a file of this name is not read as articles at all, or None when it is."""
    stem, ext = os.path.splitext(name)
    if stem.lower() in _NOT_ARTICLES:
        return "a README or licence file, not an article; rename it to index it"
    ext = ext.lower()
    if ext in FORMATS:
        return None
    if not ext:
        return f"unsupported format (no file extension); qa reads {FORMATS_TEXT}"
    return f"unsupported format {ext}; qa reads {FORMATS_TEXT}"


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
    problem = _format_problem(path.name)
    if problem:
        return [], [Skipped(rel, problem)]
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
        return _read_data(path, rel, root, data)
    except _LimitHit as limit:
        return [], [Skipped(rel, str(limit))]


def _read_data(path: Path, rel: str, root: Path, data: bytes) -> Read:
    ext = path.suffix.lower()
    if not data.strip():
        return [], [Skipped(rel, "empty file")]
    if ext == ".pdf":
        return _read_pdf(data, rel)
    if ext == ".docx":
        return _read_docx(data, rel)
    problem = _bytes_problem(data)
    if problem:
        return [], [Skipped(rel, problem)]
    if ext in (".html", ".htm"):
        return _read_html(data, rel)
    if ext == ".eml":
        return _read_eml(data, rel)
    if ext == ".mbox":
        return _read_mbox(path, rel)
    if ext in (".rss", ".atom", ".xml"):
        return _read_feed(data, rel)
    if ext == ".feeds":
        return _read_feed_list(data, rel, root)
    raw = _decode(data)
    if raw is None:
        return [], [Skipped(rel, "not UTF-8 text; re-save it as UTF-8")]
    text = _normalise(raw)
    if ext == ".jsonl":
        return _read_jsonl(text, rel)
    if ext in (".csv", ".tsv"):
        return _read_table(text, rel, delimiter="\t" if ext == ".tsv" else _csv_delimiter(text))
    fields: dict[str, str] = {}
    if ext == ".md":
        fields, text = _front_matter(text)
    article = _article_from_body(
        text,
        id=_article_id(rel),
        rel=rel,
        title=fields.get("title") or None,
        date=parse_date(fields["date"]) if fields.get("date") else None,
        source=fields.get("outlet") or fields.get("source"),
        url=fields.get("url"),
        fallback_title=path.stem,
    )
    if article is None:
        return [], [Skipped(rel, "no article text (only metadata or boilerplate)")]
    return [article], []


# --- HTML ----------------------------------------------------------------------------------------


def _extract_html(data: bytes | str) -> dict[str, str | None]:
    """A page's main text and metadata through trafilatura: `text` (boilerplate removed),
    `title`, `date` (ISO), `url`, `sitename`. Raises what trafilatura raises on a broken page."""
    # trafilatura pulls in lxml, htmldate and courlan (~0.3 s): imported only when an HTML file
    # is actually read. It never touches the network when given the page itself.
    import trafilatura

    doc = trafilatura.bare_extraction(data, with_metadata=True, include_comments=False)
    if doc is not None and not isinstance(doc, dict):
        doc = doc.as_dict()
    doc = doc or {}
    title = (doc.get("title") or "").strip() or None
    text = strip_boilerplate(_normalise(doc.get("text") or ""))
    if title:
        # trafilatura keeps the <h1> as the first line of the text; the title field has it.
        first, _, rest = text.partition("\n")
        if rest.strip() and _same(first, title):
            text = rest.strip()
    return {
        "text": text,
        "title": title,
        "date": parse_date(doc.get("date") or ""),
        "url": doc.get("url") or None,
        "sitename": doc.get("sitename") or None,
    }


def _read_html(data: bytes, rel: str) -> Read:
    try:
        page = _extract_html(data)
    except Exception as exc:  # trafilatura raises assorted lxml/parser errors on broken pages
        return [], [Skipped(rel, f"HTML could not be parsed ({type(exc).__name__}: {exc})")]
    if not _has_words(page["text"] or ""):
        return [], [Skipped(rel, "no article text found in the HTML")]
    article = _make_article(
        id=_article_id(rel),
        rel=rel,
        text=page["text"] or "",
        title=page["title"],
        date=page["date"],
        source=page["sitename"],
        url=page["url"],
        fallback_title=Path(rel).stem,
    )
    return [article], []


_BLOCK_TAGS = frozenset(
    "address article aside blockquote dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table tr ul".split()
)
_HIDDEN_TAGS = frozenset({"script", "style", "title", "noscript", "template"})


class _HTMLText(HTMLParser):
    """The text of an HTML fragment: block elements become paragraphs, `<br>` a line end."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def _html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment (a feed entry, an e-mail), where trafilatura's search
    for the main text of a whole page finds nothing (it drops short fragments)."""
    parser = _HTMLText()
    parser.feed(markup)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- records: JSON lines and tables --------------------------------------------------------------


def _read_jsonl(text: str, rel: str) -> Read:
    articles: list[Article] = []
    skipped: list[Skipped] = []
    file_id = _article_id(rel)
    records = 0
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        records += 1
        if records > MAX_RECORDS:
            more = sum(1 for rest in lines[number - 1 :] if rest.strip())
            skipped.append(_more_records(rel, MAX_RECORDS, more))
            break
        where = f"{rel}:{number}"
        try:
            _check_length(line)
            record = json.loads(line)
        except _LimitHit as limit:
            skipped.append(Skipped(where, f"line {number}: {limit}"))
            continue
        except json.JSONDecodeError as exc:
            skipped.append(Skipped(where, f"line {number}: not valid JSON ({exc.msg})"))
            continue
        except RecursionError:
            skipped.append(Skipped(where, f"line {number}: JSON nested too deeply"))
            continue
        if not isinstance(record, dict):
            skipped.append(Skipped(where, f"line {number}: not a JSON object"))
            continue
        body = record.get("text")
        if body is not None and not isinstance(body, str):
            skipped.append(Skipped(where, f"line {number}: 'text' is not a string"))
            continue
        body = strip_boilerplate(_normalise(body or ""))
        if not body:
            skipped.append(Skipped(where, f"line {number}: no text"))
            continue
        raw_id = record.get("id", record.get("_id"))
        line_id = str(raw_id).strip() if raw_id is not None else ""
        date_value = record.get("date")
        articles.append(
            _make_article(
                id=f"{file_id}/{line_id or number}",
                rel=rel,
                text=body,
                title=_str_or_none(record.get("title")),
                date=parse_date(date_value) if isinstance(date_value, str) else None,
                source=_str_or_none(record.get("outlet")) or _str_or_none(record.get("source")),
                url=_str_or_none(record.get("url")),
                fallback_title=line_id or f"line {number}",
            )
        )
    return articles, skipped


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


# The header names a table's columns may have (compared lower-cased, spaces and dashes as `_`),
# the preferred name first.
_COLUMNS = {
    "text": ("text", "body", "content", "article", "story", "full_text", "article_text",
             "maintext"),
    "title": ("title", "headline", "heading"),
    "date": ("date", "published", "pubdate", "pub_date", "publish_date", "published_date",
             "published_at", "publication_date", "datetime"),
    "url": ("url", "link", "href", "article_url", "source_url"),
    "source": ("source", "outlet", "publisher", "publication", "site"),
    "id": ("id", "_id"),
}  # fmt: skip


def _csv_delimiter(text: str) -> str:
    """`,` unless the header row has none and uses `;` (a European spreadsheet) or a tab."""
    header = text.split("\n", 1)[0]
    for delimiter in (",", ";", "\t"):
        if delimiter in header:
            return delimiter
    return ","


def _read_table(text: str, rel: str, *, delimiter: str) -> Read:
    """One article per row of a CSV/TSV whose header names a text column."""
    # Article bodies are longer than csv's default 128 KB field limit (a process-wide setting).
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    parts = text.split("\n")
    lines = [line + "\n" for line in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    reader = csv.reader(iter(lines), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [Skipped(rel, f"the header row could not be parsed ({exc})")]
    names = [re.sub(r"[\s\-]+", "_", name.strip().lower()) for name in header or []]
    column: dict[str, int] = {}
    for field, synonyms in _COLUMNS.items():
        found = next((names.index(n) for n in synonyms if n in names), None)
        if found is not None:
            column[field] = found
    if "text" not in column:
        have = ", ".join(name.strip() for name in header or [] if name.strip()) or "none"
        return [], [
            Skipped(
                rel,
                f"no text column: its header names {have}; qa wants a column named "
                f"{', '.join(_COLUMNS['text'][:4])} (or {', '.join(_COLUMNS['text'][4:])}), "
                "and reads title, date, url, source and id columns when present",
            )
        ]
    articles: list[Article] = []
    skipped: list[Skipped] = []
    file_id = _article_id(rel)
    number = 0
    rows = _table_rows(lines, reader.line_num, delimiter)
    for line_no, row in rows:
        if not row:
            continue  # a blank line
        number += 1
        where = f"{rel}:{number}"
        if number > MAX_RECORDS:
            more = 1 + sum(1 for _, rest in rows if rest)
            skipped.append(_more_records(rel, MAX_RECORDS, more))
            break
        if isinstance(row, str):
            skipped.append(Skipped(where, f"row {number} (line {line_no}): {row}"))
            continue

        def cell(field: str, row: list[str] = row) -> str:
            at = column.get(field)
            return row[at].strip() if at is not None and at < len(row) else ""

        record_id = cell("id")
        try:
            article = _article_from_body(
                cell("text"),
                id=f"{file_id}/{record_id or number}",
                rel=rel,
                title=cell("title") or None,
                date=parse_date(cell("date")) if cell("date") else None,
                source=cell("source") or None,
                url=cell("url") or None,
                fallback_title=record_id or f"row {number}",
            )
        except _LimitHit as limit:
            skipped.append(Skipped(where, f"row {number}: {limit}"))
            continue
        if article is None:
            skipped.append(Skipped(where, f"row {number}: no text"))
        else:
            articles.append(article)
    return articles, skipped


_MAX_BROKEN_ROWS = 100  # rows a table may break before the rest of it is left unread


def _table_rows(lines: list[str], first: int, delimiter: str) -> Iterator[tuple[int, Any]]:
    """The rows of a table from line index `first` on, each with the line it starts on
    (1-based): its fields, or (a str) why it could not be read.

    Read strictly: a quote opened in a field and never closed would otherwise run on,
    silently, to the next quote anywhere in the file, merging the rows between into one
    field. A row that breaks strict reading on its own line (`"Quoted," he said`) is read
    leniently, as written; one that ran on over several lines is reported, and reading starts
    again on its second line, so the rows it swallowed are read.
    """
    broken = 0
    at = first
    while at < len(lines):
        reader = csv.reader(itertools.islice(lines, at, None), delimiter=delimiter, strict=True)
        done = 0  # lines of the rows read so far, from `at`
        try:
            for row in reader:
                yield at + done + 1, row
                done = reader.line_num
            return
        except csv.Error as exc:
            begin = at + done  # the broken row's first line
            if reader.line_num - done <= 1:
                try:
                    yield begin + 1, next(csv.reader([lines[begin]], delimiter=delimiter), [])
                except csv.Error as lenient:
                    yield begin + 1, f"not valid CSV ({lenient})"
            else:
                broken += 1
                if broken > _MAX_BROKEN_ROWS:
                    yield begin + 1, (f"not valid CSV ({exc}), and {_MAX_BROKEN_ROWS} rows "
                                      "before it were not either: the rest is unread")
                    return
                yield begin + 1, (
                    f"a quote opened on this line is not closed before the next row starts "
                    f"(a stray quote?), so this line is skipped and the lines after it are read "
                    f"as rows; fix the quotes to index it ({exc})")
            at = begin + 1


# --- documents: PDF and DOCX ---------------------------------------------------------------------


def _document_title(value: object) -> str | None:
    """A document's own title field, unless it is an editor's placeholder or a file name."""
    title = " ".join(str(value or "").split())
    if title.casefold() in ("", "untitled", "document", "word document", "untitled document"):
        return None
    if re.match(r"(?i)microsoft \w+ - ", title):  # "Microsoft Word - draft3.docx"
        return None
    if re.search(r"(?i)\.(docx?|pdf|odt|rtf|txt)$", title):
        return None
    return title


def _reflow_pdf_page(text: str) -> str:
    """Join a page's hard-wrapped lines back into paragraphs.

    A PDF's text layer breaks lines where the layout did; the sentence splitter would end a
    sentence at "President" / "Biden". A line as long as most of the page's lines ran to the
    margin and continues on the next one; a shorter line ends its paragraph or is a heading.
    """
    lines = [line.rstrip() for line in _normalise(text).split("\n")]
    lengths = sorted(len(line) for line in lines if line.strip())
    if not lengths:
        return ""
    full = 0.75 * lengths[int(0.9 * (len(lengths) - 1))]
    out: list[str] = []
    prev = ""  # the previous line as the page has it
    for line in lines:
        if prev.strip() and line.strip() and len(prev) >= max(full, 40):
            # "well-" / "known" is one word again; the hyphen stays (it may be a real one).
            joined = prev.endswith("-") and prev[-2:-1].isalpha() and line.lstrip()[:1].islower()
            out[-1] += ("" if joined else " ") + line.lstrip()
        else:
            out.append(line)
        prev = line
    return "\n".join(out)


def _read_pdf(data: bytes, rel: str) -> Read:
    # pypdf costs ~0.2 s to import: only when a PDF is read.
    import pypdf

    # pypdf logs every oddity it repairs ("EOF marker not found"); with no logging set up
    # they would land on the user's terminal. A PDF that cannot be read is reported below.
    log = logging.getLogger("pypdf")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            why = "encrypted PDF (it needs a password); save an unprotected copy"
            return [], [Skipped(rel, why)]
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = _document_title(info.title) if info is not None else None
        created = str(info.creation_date_raw or "") if info is not None else ""
    except Exception as exc:  # pypdf raises assorted errors on damaged files
        return [], [Skipped(rel, f"PDF could not be read ({type(exc).__name__}: {exc})")]
    finally:
        log.setLevel(level)
    text = "\n\n".join(_reflow_pdf_page(page) for page in pages)
    if not _has_words(text):
        return [], [Skipped(rel, "no text layer (scanned?)")]
    article = _article_from_body(
        text, id=_article_id(rel), rel=rel, title=title, file_date=parse_date(created),
        fallback_title=Path(rel).stem,
    )  # fmt: skip
    if article is None:
        return [], [Skipped(rel, "no article text (only metadata or boilerplate)")]
    return [article], []


# Every document python-docx makes from its template says it was created then.
_PYTHON_DOCX_TEMPLATE_CREATED = _dt.datetime(2013, 12, 23, 23, 15, tzinfo=_dt.timezone.utc)


def _read_docx(data: bytes, rel: str) -> Read:
    # python-docx costs ~0.2 s to import: only when a .docx is read.
    import zipfile

    import docx
    from docx.oxml.ns import qn

    # python-docx reads every part of the package into memory and parses its XML: what the
    # zip says it unpacks into is checked first (zipfile never yields more than a member's
    # declared size, so the declaration is a real bound).
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            members = package.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return [], [Skipped(rel, f"not a readable .docx file ({type(exc).__name__}: {exc})")]
    unpacked = sum(m.file_size for m in members)
    if len(members) > MAX_DOCX_PARTS or unpacked > MAX_DOCX_UNPACKED:
        return [], [Skipped(
            rel, f"the .docx unpacks to {unpacked / (1 << 20):,.0f} MB in {len(members):,} parts, "
                 f"more than qa reads ({MAX_DOCX_UNPACKED >> 20} MB, {MAX_DOCX_PARTS:,} parts); "
                 "save the text as a smaller document or a .txt")]
    try:
        document = docx.Document(io.BytesIO(data))
        body = document.element.body
        count = sum(1 for _ in itertools.islice(body.iterchildren(qn("w:p")), MAX_PARAGRAPHS + 1))
        if count > MAX_PARAGRAPHS:
            return [], [Skipped(
                rel, f"the document has more than {MAX_PARAGRAPHS:,} paragraphs, more than qa "
                     "reads in one article; split it into several documents")]
        paragraphs: list[str] = []
        length = 0
        for p in document.paragraphs:
            text = p.text
            if text.strip():
                paragraphs.append(text)
                length += len(text) + 2
                if length > MAX_ARTICLE_CHARS:
                    raise _too_long(length, at_least=True)
        props = document.core_properties
        title = _document_title(props.title)
        created = props.created
    except _LimitHit:
        raise
    except Exception as exc:  # not a zip, not a Word document, or a damaged one
        return [], [Skipped(rel, f"not a readable .docx file ({type(exc).__name__}: {exc})")]
    if created == _PYTHON_DOCX_TEMPLATE_CREATED:
        created = None
    if not paragraphs:
        return [], [Skipped(rel, "no text in the document")]
    article = _article_from_body(
        "\n\n".join(paragraphs), id=_article_id(rel), rel=rel, title=title,
        file_date=_iso_date(created), fallback_title=Path(rel).stem,
    )  # fmt: skip
    if article is None:
        return [], [Skipped(rel, "no article text (only metadata or boilerplate)")]
    return [article], []


# --- e-mail: .eml and .mbox ----------------------------------------------------------------------


def _email_article(
    message: EmailMessage, *, id: str, rel: str, fallback_title: str
) -> Article | str:
    """The article of one e-mail, or why there is none."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "no text/plain or text/html part"
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or wrong charset
        content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    text = _normalise(content)
    if part.get_content_type() == "text/html":
        try:
            text = _extract_html(text)["text"] or ""
        except Exception:  # trafilatura could not parse it: the plain conversion below
            text = ""
        if not _has_words(text):
            text = _html_to_text(content)
    else:
        text = text.split("\n-- \n", 1)[0]  # the signature
    sender = message.get("From")
    addresses = getattr(sender, "addresses", ())
    source = (addresses[0].display_name or addresses[0].domain) if addresses else None
    article = _article_from_body(
        text,
        id=id,
        rel=rel,
        title=str(message.get("Subject") or "").strip() or None,
        date=_iso_date(str(message.get("Date") or "")),
        source=source,
        fallback_title=fallback_title,
    )
    return article if article is not None else "no text in the message"


def _read_eml(data: bytes, rel: str) -> Read:
    import email
    from email import policy

    try:
        message = email.message_from_bytes(data, policy=policy.default)
        found = _email_article(message, id=_article_id(rel), rel=rel, fallback_title=Path(rel).stem)
    except _LimitHit:
        raise
    except Exception as exc:  # the email package raises on some malformed headers
        return [], [Skipped(rel, f"e-mail could not be read ({type(exc).__name__}: {exc})")]
    if isinstance(found, str):
        return [], [Skipped(rel, found)]
    return [found], []


def _read_mbox(path: Path, rel: str) -> Read:
    import email
    import mailbox
    from email import policy

    articles: list[Article] = []
    skipped: list[Skipped] = []
    file_id = _article_id(rel)
    try:
        box = mailbox.mbox(
            path,
            factory=lambda f: email.message_from_binary_file(f, policy=policy.default),
            create=False,
        )
    except Exception as exc:
        return [], [Skipped(rel, f"mailbox could not be read ({type(exc).__name__}: {exc})")]
    try:
        messages = enumerate(box, start=1)
        for number, message in messages:
            where = f"{rel}:{number}"
            if number > MAX_RECORDS:
                skipped.append(_more_records(rel, MAX_RECORDS, 1 + sum(1 for _ in messages)))
                break
            try:
                found = _email_article(
                    message, id=f"{file_id}/{number}", rel=rel, fallback_title=f"message {number}"
                )
            except _LimitHit as limit:
                found = str(limit)
            except Exception as exc:  # the email package raises on some malformed headers
                found = f"could not be read ({type(exc).__name__}: {exc})"
            if isinstance(found, str):
                skipped.append(Skipped(where, f"message {number}: {found}"))
            else:
                articles.append(found)
    except Exception as exc:
        skipped.append(Skipped(rel, f"mailbox could not be read ({type(exc).__name__}: {exc})"))
    finally:
        box.close()
    if not articles and not skipped:
        why = "no messages (each message of an .mbox starts with a 'From ' line)"
        return [], [Skipped(rel, why)]
    return articles, skipped


# --- feeds: RSS and Atom -------------------------------------------------------------------------


def _entry_text(entry: Mapping) -> str:
    """An entry's full content, else its summary, as plain text."""
    pieces = [c for c in entry.get("content") or [] if (c.get("value") or "").strip()]
    if pieces:
        best = max(pieces, key=lambda c: len(c.get("value") or ""))
        value, kind = best.get("value") or "", best.get("type") or "text/html"
    else:
        value = entry.get("summary") or ""
        kind = (entry.get("summary_detail") or {}).get("type") or "text/html"
    return value if kind == "text/plain" else _html_to_text(value)


def _entry_key(entry: Mapping, number: int) -> str:
    """An entry's part of its article id: its guid (or link), else its position."""
    key = str(entry.get("id") or entry.get("link") or "").strip()
    key = re.sub(r"(?i)^[a-z][a-z0-9+.-]*://(?:www\.)?", "", key)
    return _slug(key) if key else str(number)


def _read_feed(data: bytes, rel: str) -> Read:
    # feedparser (~0.1 s to import) parses the bytes it is given and never fetches anything:
    # a stream is read as it is, where a string could be taken for a URL.
    import feedparser

    try:
        feed = feedparser.parse(io.BytesIO(data))
    except Exception as exc:  # feedparser records most problems in `bozo`; not all
        return [], [Skipped(rel, f"feed could not be parsed ({type(exc).__name__}: {exc})")]
    if not feed.get("version"):
        if rel.lower().endswith(".xml"):
            why = f"XML that is not an RSS or Atom feed; qa reads {FORMATS_TEXT}"
            return [], [Skipped(rel, why)]
        why = f" ({feed.get('bozo_exception')})" if feed.get("bozo") else ""
        return [], [Skipped(rel, f"not an RSS or Atom feed{why}")]
    if not feed.entries:
        return [], [Skipped(rel, "the feed has no entries")]
    source = _str_or_none((feed.get("feed") or {}).get("title"))
    file_id = _article_id(rel)
    articles: list[Article] = []
    skipped: list[Skipped] = []
    for number, entry in enumerate(feed.entries, start=1):
        if number > MAX_RECORDS:
            skipped.append(_more_records(rel, MAX_RECORDS, len(feed.entries) - MAX_RECORDS))
            break
        title = entry.get("title") or ""
        if (entry.get("title_detail") or {}).get("type") == "text/html":
            title = _html_to_text(title)
        try:
            article = _article_from_body(
                _entry_text(entry),
                id=f"{file_id}/{_entry_key(entry, number)}",
                rel=rel,
                title=title.strip() or None,
                date=_iso_date(entry.get("published") or entry.get("updated") or "")
                or _iso_date(entry.get("published_parsed") or entry.get("updated_parsed")),
                source=source,
                url=_str_or_none(entry.get("link")),
                fallback_title=f"entry {number}",
            )
        except _LimitHit as limit:
            skipped.append(Skipped(f"{rel}:{number}", f"entry {number}: {limit}"))
            continue
        if article is None:
            skipped.append(Skipped(f"{rel}:{number}", f"entry {number}: no text"))
        else:
            articles.append(article)
    return articles, skipped


def _read_feed_list(data: bytes, rel: str, root: Path) -> Read:
    """A `.feeds` file: feed URLs, one a line (`#` starts a comment). Each feed is fetched
    (qa.corpus.fetch: within `feed_timeout`, from allowed places only) and read like a feed file; one
    that cannot be fetched or is refused is listed as skipped with the reason, and the rest
    are read."""
    text = _decode(data)
    if text is None:
        return [], [Skipped(rel, "not UTF-8 text; re-save it as UTF-8")]
    urls = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    urls = [u for u in urls if u]
    if not urls:
        return [], [Skipped(rel, "lists no feed URL (one URL a line)")]
    timeout, allow_private = config.feed_timeout(), config.allow_private_feeds()
    articles: list[Article] = []
    skipped: list[Skipped] = []
    for n, url in enumerate(urls, start=1):
        if not re.match(r"(?i)^(?:https?|file)://", url):
            skipped.append(Skipped(f"{rel}:{n}", f"{url!r} is not an http(s) or file URL"))
            continue
        try:
            body = fetch_feed(url, corpus=root, timeout=timeout, allow_private=allow_private)
        except FeedRefused as refused:
            skipped.append(Skipped(f"{rel}:{n}", f"{url} is not fetched: {refused}"))
            continue
        except FeedUnavailable as reason:
            skipped.append(Skipped(
                f"{rel}:{n}", f"{url} {_FETCH_FAILED} ({reason}). The articles indexed from "
                "it before are kept; run `qa index` again when it is back"))
            continue
        found, bad = _read_feed(body, rel)
        articles.extend(found)
        skipped.extend(Skipped(f"{rel}:{n}", f"{url}: {s.reason}") for s in bad)
    return articles, skipped


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
    folder = Path(corpus)
    if not folder.exists():
        raise CorpusError(
            f"Corpus folder '{given}' does not exist. Create it and put articles in it "
            f"({FORMATS_TEXT}), then run `qa index`."
        )
    if not folder.is_dir():
        raise CorpusError(
            f"Corpus path '{given}' is a file, not a folder. Put articles ({FORMATS_TEXT}) in "
            "a folder and point `qa index --corpus` at it."
        )
    root = folder.resolve()
    articles: list[Article] = []
    skipped: list[Skipped] = []
    seen_ids: dict[str, str] = {}
    seen_hashes: dict[str, str] = {}
    candidates = 0
    not_articles: list[Skipped] = []  # files in no format qa reads
    try:
        paths = list(_walk(root, skipped))
    except OSError as exc:
        raise CorpusError(
            f"Corpus folder '{given}' cannot be read ({exc.strerror or exc}). "
            "Check its permissions, then run `qa index`."
        ) from exc
    for path in paths:
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            skipped.append(Skipped(rel, _symlink_problem(path, root)))
            if path.suffix.lower() in FORMATS or not path.suffix:
                candidates += 1  # meant as an article, so the folder is not "empty"
            continue
        problem = _format_problem(path.name)
        if problem:
            not_articles.append(Skipped(rel, problem))
            skipped.append(not_articles[-1])
            continue
        candidates += 1
        key = _file_key(path)
        if file_keys is not None and key is not None:
            file_keys[rel] = key
        cached = known.get(rel) if known else None
        feed_list = path.suffix.lower() == ".feeds"  # fetched every time: feeds change
        if cached is not None and key is not None and cached[0] == key and not feed_list:
            found, bad = list(cached[1]), []
        else:
            found, bad = read_article_file(path, root)
            if feed_list and cached is not None and any(_FETCH_FAILED in b.reason for b in bad):
                # No network: what was indexed from the unreachable feeds stays.
                have = {a.id for a in found}
                found += [a for a in cached[1] if a.id not in have]
        skipped.extend(bad)
        for article in found:
            where = article.path
            if article.id in seen_ids:
                skipped.append(
                    Skipped(
                        where,
                        f"article id '{article.id}' is already used by {seen_ids[article.id]}; "
                        "rename one of them",
                    )
                )
            elif article.hash in seen_hashes:
                skipped.append(
                    Skipped(
                        where,
                        f"'{article.id}' is a duplicate of {seen_hashes[article.hash]} "
                        "(same content)",
                    )
                )
            else:
                seen_ids[article.id] = where
                seen_hashes[article.hash] = where
                articles.append(article)
    if candidates == 0 and not_articles:
        named = ", ".join(f"{s.path} ({s.reason.split(';')[0]})" for s in not_articles[:5])
        more = f" and {len(not_articles) - 5} more" if len(not_articles) > 5 else ""
        raise CorpusError(
            f"Corpus folder '{given}' holds no file qa can read: {named}{more}. qa reads "
            f"{FORMATS_TEXT}; convert your articles to one of these, then run `qa index`."
        )
    if candidates == 0:
        raise CorpusError(
            f"Corpus folder '{given}' is empty: it holds no article files ({FORMATS_TEXT}). "
            "Put your articles in it, then run `qa index`."
        )
    return articles, skipped
