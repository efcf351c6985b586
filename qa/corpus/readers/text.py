"""Plain text (`.txt`) and Markdown (`.md`) articles.

A `.md` file may open with front matter between `---` lines (`title`, `date`, `url`, `source`,
`outlet`; simple `key: value` lines, quotes optional); its fields win over what the text's top
lines say. Either file's body loses its date marker, dateline and headline to the fields
(`qa.corpus.article.article_from_body`).
"""

from __future__ import annotations

from pathlib import Path

from qa.corpus.article import article_from_body, article_id
from qa.corpus.readers.registry import Read, SourceFile, register
from qa.dates import written_date
from qa.types import Skipped


@register(".txt")
def read_text(file: SourceFile) -> Read:
    """One article: the whole file."""
    return _article_of(file, file.text or "", {})


@register(".md")
def read_markdown(file: SourceFile) -> Read:
    """One article: the file, its front matter as fields."""
    fields, body = front_matter(file.text or "")
    return _article_of(file, body, fields)


def _article_of(file: SourceFile, body: str, fields: dict[str, str]) -> Read:
    article = article_from_body(
        body,
        id=article_id(file.rel),
        rel=file.rel,
        title=fields.get("title") or None,
        date=written_date(fields["date"]) if fields.get("date") else None,
        source=fields.get("outlet") or fields.get("source"),
        url=fields.get("url"),
        fallback_title=Path(file.rel).stem,
    )
    if article is None:
        return [], [Skipped(file.rel, "no article text (only metadata or boilerplate)")]
    return [article], []


def front_matter(text: str) -> tuple[dict[str, str], str]:
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
