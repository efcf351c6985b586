"""Where a citation stands in an article's text, after the article may have changed."""

from __future__ import annotations

from dataclasses import replace

from .types import Citation


def locate_citation(citation: Citation, article_text: str) -> Citation | None:
    """The citation with its offsets in `article_text`.

    An answer keeps the text it cited; a rebuild may have changed the article since. Returns
    the citation unchanged when its span still holds that text, the citation moved to where
    the text now stands (its passage moved with it, clamped to the article), or None when the
    cited text is no longer in the article.
    """
    if article_text[citation.start:citation.end] == citation.text:
        return citation
    at = article_text.find(citation.text) if citation.text else -1
    if at < 0:
        return None
    shift = at - citation.start
    n = len(article_text)
    return replace(
        citation, start=at, end=at + len(citation.text),
        chunk_start=max(0, min(n, citation.chunk_start + shift)),
        chunk_end=max(0, min(n, citation.chunk_end + shift)),
    )
