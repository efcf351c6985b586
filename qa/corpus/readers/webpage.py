"""Web pages (`.html`, `.htm`): the main text and its metadata through trafilatura, and the
plain text of HTML fragments (a feed entry, an e-mail) that trafilatura would drop.

A page's title, date, site name (→ source) and URL come from its metadata; trafilatura leaves
out navigation, comments and boilerplate, and qa's own boilerplate rules run after it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from qa.corpus.article import article_id, has_words, make_article, normalise, same_text
from qa.corpus.boilerplate import strip_boilerplate
from qa.corpus.readers.registry import Read, SourceFile, Takes, register
from qa.dates import written_date
from qa.types import Skipped


def extract_html(data: bytes | str) -> dict[str, str | None]:
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
    text = strip_boilerplate(normalise(doc.get("text") or ""))
    if title:
        # trafilatura keeps the <h1> as the first line of the text; the title field has it.
        first, _, rest = text.partition("\n")
        if rest.strip() and same_text(first, title):
            text = rest.strip()
    return {
        "text": text,
        "title": title,
        "date": written_date(doc.get("date") or ""),
        "url": doc.get("url") or None,
        "sitename": doc.get("sitename") or None,
    }


@register(".html", ".htm", takes=Takes.BYTES, hidden=(".htm",))
def read_html(file: SourceFile) -> Read:
    """One article: the page's main text."""
    rel = file.rel
    try:
        page = extract_html(file.data)
    except Exception as exc:  # trafilatura raises assorted lxml/parser errors on broken pages
        return [], [Skipped(rel, f"HTML could not be parsed ({type(exc).__name__}: {exc})")]
    if not has_words(page["text"] or ""):
        return [], [Skipped(rel, "no article text found in the HTML")]
    article = make_article(
        id=article_id(rel),
        rel=rel,
        text=page["text"] or "",
        title=page["title"],
        date=page["date"],
        source=page["sitename"],
        url=page["url"],
        fallback_title=Path(rel).stem,
    )
    return [article], []


# Tags that start a paragraph of their own in an HTML fragment, and tags whose text is not read.
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


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment (a feed entry, an e-mail), where trafilatura's search
    for the main text of a whole page finds nothing (it drops short fragments)."""
    parser = _HTMLText()
    parser.feed(markup)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()

