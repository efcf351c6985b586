"""Read a folder of news articles into `Article`s, and say which files were skipped and why.

Formats: `.txt`; `.md` with optional front matter between `---` lines (`title`, `date`, `url`,
`source`, `outlet`; simple `key: value` lines, quotes optional); `.html`/`.htm` through
trafilatura (main text plus title, date, site name and URL); `.jsonl` with one article per line
(`id` or `_id`, `title`, `date`, `url`, `text`, `source`/`outlet`). Other extensions and hidden
files or folders are ignored silently.

What ends up in `Article.text` (every offset in qa points into it):

* line ends are `\\n` (CRLF and CR are normalised), a UTF-8 BOM is removed, and the text is
  trimmed of leading and trailing whitespace;
* boilerplate lines are removed (`strip_boilerplate`); everything else is kept as written;
* metadata lines at the top of a `.txt`/`.md` body are **removed** from the text because they are
  stored in fields: a leading ` date 2022-02-26 ` marker (→ `date`), a dateline line such as
  `Friday, December 17, 2021` (→ `date`) and a headline — the first short line with no final
  period (→ `title`; with front matter that already has a title, only a line equal to that
  title is removed). A body that would be left empty keeps its lines;
* with no headline, the title is the first sentence, shortened to 12 words with an ellipsis.

Ids: `Article.id` is the path relative to the corpus folder, without extension, slugified per
path part (lower-case `[a-z0-9-]`, `/` kept): `World/Xi Call.md` → `world/xi-call`. For `.jsonl`
it is `<file slug>/<id>` with the line's `id`/`_id` kept verbatim (so BEIR qrels map back), or
the line number when there is none. Two inputs with the same id, or with exactly the same content
(same `hash`), are not both indexed: the later one is skipped with a reason, which keeps ids and
chunk ids unique.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import stat
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlparse

from qa.chunking import split_sentences
from qa.errors import CorpusError
from qa.types import Article, Skipped

__all__ = ["load_corpus", "read_article_file", "strip_boilerplate", "parse_date", "FORMATS"]

FORMATS = (".txt", ".md", ".html", ".htm", ".jsonl")
_FORMATS_TEXT = ".txt, .md, .html or .jsonl"

# --- dates -----------------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_PREFIX = (
    r"(?:(?:published|updated|posted)(?:\s+on)?:?\s+)?"
    r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"
)
_DATE_FORMS = [
    re.compile(r"(?P<year>\d{4})-(?P<mon>\d{1,2})-(?P<day>\d{1,2})(?:[T ][\d:.+\-Z ]*)?", re.I),
    re.compile(_PREFIX + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})", re.I),
    re.compile(_PREFIX + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>\d{4})", re.I),
]  # fmt: skip


def parse_date(value: str) -> str | None:
    """Parse a whole string as a date in a common English form.

    Args:
        value: e.g. `2021-12-17`, `December 17, 2021`, `Friday, December 17, 2021`,
            `17 December 2021`, `Dec. 17, 2021`, `2022-02-26T10:00:00Z`.

    Returns:
        The ISO date `YYYY-MM-DD`, or None when the string is not (only) a valid date.
    """
    value = value.strip()
    if len(value) > 60:  # a dateline is short; this also bounds the regex work
        return None
    for form in _DATE_FORMS:
        m = form.fullmatch(value)
        if not m:
            continue
        groups = m.groupdict()
        month = int(groups["mon"]) if groups.get("mon") else _MONTHS[groups["month"].lower()]
        try:
            return _dt.date(int(groups["year"]), month, int(groups["day"])).isoformat()
        except ValueError:
            return None
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
    | \(?(?:[\w-]+\.)+[a-z]{2,}\)?                 # a bare credit such as "(Kremlin.ru)"
    | (?:https?://|www\.)\S+                        # a bare URL, usually an image
    """
)
# A photo credit glued to the end of a real line: "...Moscow and Beijing.  Kremlin.ru" or a
# caption ending in "(Kremlin.ru)". Only the credit goes; the sentence stays.
_TRAILING_CREDIT = re.compile(
    r"(?i)(?:(?<=[.!?\"”’'])[ \t\u00a0]+(?:[\w-]+\.)+[a-z]{2,}|[ \t\u00a0]+\((?:[\w-]+\.)+[a-z]{2,}\))"
    r"[ \t\u00a0]*$"
)
_MAX_BOILERPLATE_CHARS = 200  # longer lines are article text, whatever they start with


def strip_boilerplate(text: str) -> str:
    """Remove boilerplate lines and collapse the blank lines they leave.

    Only whole lines go ("Leave a Reply", "Your email address will not be published.",
    "Back to top button", "Labels: , , ,", "Follow @x Tweet", share/subscribe lines, bare URLs,
    photo credit lines such as "Image: AP" or "(Kremlin.ru)"), plus a credit glued to the end of
    a line ("... Beijing.  Kremlin.ru"). Other lines are kept byte for byte; runs of blank
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


def read_article_file(path: Path, root: Path) -> tuple[list[Article], list[Skipped]]:
    """Read one article file (or several articles from one `.jsonl`).

    Args:
        path: The file; its extension picks the reader.
        root: The corpus folder, for relative paths and ids.

    Returns:
        (articles, skipped). A file that cannot be read gives `([], [Skipped(...)])`; it never
        raises for bad content.
    """
    rel = path.relative_to(root).as_posix()
    ext = path.suffix.lower()
    try:
        data = path.read_bytes()
    except PermissionError:
        return [], [Skipped(rel, "cannot be read (permission denied); check its permissions")]
    except OSError as exc:
        return [], [Skipped(rel, f"cannot be read ({exc.strerror or exc})")]
    problem = _bytes_problem(data)
    if problem:
        return [], [Skipped(rel, problem)]
    if ext in (".html", ".htm"):
        return _read_html(data, rel)
    raw = _decode(data)
    if raw is None:
        return [], [Skipped(rel, "not UTF-8 text; re-save it as UTF-8")]
    text = _normalise(raw)
    if ext == ".jsonl":
        return _read_jsonl(text, rel)
    fields: dict[str, str] = {}
    if ext == ".md":
        fields, text = _front_matter(text)
    body = strip_boilerplate(text)
    fm_date = parse_date(fields["date"]) if fields.get("date") else None
    body, date, title = _recover_header(body, date=fm_date, title=fields.get("title") or None)
    if not _has_words(body):
        return [], [Skipped(rel, "no article text (only metadata or boilerplate)")]
    article = _make_article(
        id=_article_id(rel),
        rel=rel,
        text=body,
        title=title,
        date=date,
        source=fields.get("outlet") or fields.get("source"),
        url=fields.get("url"),
        fallback_title=path.stem,
    )
    return [article], []


def _read_html(data: bytes, rel: str) -> tuple[list[Article], list[Skipped]]:
    # trafilatura pulls in lxml, htmldate and courlan (~0.3 s): imported only when an HTML file
    # is actually read. It never touches the network when given the page itself.
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(data, with_metadata=True, include_comments=False)
    except Exception as exc:  # trafilatura raises assorted lxml/parser errors on broken pages
        return [], [Skipped(rel, f"HTML could not be parsed ({type(exc).__name__}: {exc})")]
    if doc is not None and not isinstance(doc, dict):
        doc = doc.as_dict()
    raw_text = (doc or {}).get("text") or ""
    title = ((doc or {}).get("title") or "").strip() or None
    text = strip_boilerplate(_normalise(raw_text))
    if title:
        # trafilatura keeps the <h1> as the first line of the text; the title field has it.
        first, _, rest = text.partition("\n")
        if rest.strip() and _same(first, title):
            text = rest.strip()
    if not _has_words(text):
        return [], [Skipped(rel, "no article text found in the HTML")]
    date = parse_date(doc.get("date") or "") if doc else None
    url = (doc.get("url") or None) if doc else None
    article = _make_article(
        id=_article_id(rel),
        rel=rel,
        text=text,
        title=title,
        date=date,
        source=(doc.get("sitename") if doc else None),
        url=url,
        fallback_title=Path(rel).stem,
    )
    return [article], []


def _read_jsonl(text: str, rel: str) -> tuple[list[Article], list[Skipped]]:
    articles: list[Article] = []
    skipped: list[Skipped] = []
    file_id = _article_id(rel)
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{rel}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            skipped.append(Skipped(where, f"line {number}: not valid JSON ({exc.msg})"))
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


# --- the corpus walk ---------------------------------------------------------------------------


def _walk(root: Path, skipped: list[Skipped]) -> Iterator[Path]:
    """Candidate files under root, sorted by name at every level, depth first.

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
                ext = os.path.splitext(entry.name)[1].lower()
                if ext in FORMATS or not ext:
                    yield path  # reported by _symlink_problem, and counted as a candidate
                continue
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                subfolders.append(path)
            elif stat.S_ISREG(mode) and os.path.splitext(entry.name)[1].lower() in FORMATS:
                yield path
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
        (articles, skipped): everything that could be read, and every candidate file (or
        `.jsonl` line) that could not, with a reason the user can act on.

    Raises:
        CorpusError: The folder does not exist, is not a folder, cannot be listed, or holds no
            `.txt`, `.md`, `.html` or `.jsonl` file at all.
    """
    given = str(corpus)
    folder = Path(corpus)
    if not folder.exists():
        raise CorpusError(
            f"Corpus folder '{given}' does not exist. Create it and put {_FORMATS_TEXT} "
            "articles in it, then run `qa index`."
        )
    if not folder.is_dir():
        raise CorpusError(
            f"Corpus path '{given}' is a file, not a folder. Put {_FORMATS_TEXT} articles in "
            "a folder and point `qa index --corpus` at it."
        )
    root = folder.resolve()
    articles: list[Article] = []
    skipped: list[Skipped] = []
    seen_ids: dict[str, str] = {}
    seen_hashes: dict[str, str] = {}
    candidates = 0
    try:
        paths = list(_walk(root, skipped))
    except OSError as exc:
        raise CorpusError(
            f"Corpus folder '{given}' cannot be read ({exc.strerror or exc}). "
            "Check its permissions, then run `qa index`."
        ) from exc
    for path in paths:
        candidates += 1
        if path.is_symlink():
            skipped.append(Skipped(path.relative_to(root).as_posix(), _symlink_problem(path, root)))
            continue
        rel = path.relative_to(root).as_posix()
        key = _file_key(path)
        if file_keys is not None and key is not None:
            file_keys[rel] = key
        cached = known.get(rel) if known else None
        if cached is not None and key is not None and cached[0] == key:
            found, bad = list(cached[1]), []
        else:
            found, bad = read_article_file(path, root)
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
    if candidates == 0:
        raise CorpusError(
            f"Corpus folder '{given}' is empty: it holds no {_FORMATS_TEXT} files. "
            "Put your articles in it, then run `qa index`."
        )
    return articles, skipped
