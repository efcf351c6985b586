"""Feeds: RSS and Atom files (`.rss`, `.atom`, and `.xml` files that are feeds), and `.feeds`
files listing feed URLs to fetch.

A feed is read through feedparser: one article per entry (title, published date, link,
content or summary as text). An entry's id is `<file slug>/<guid>` (its guid, else its link,
slugified without `https://`), else its position: feeds grow at the top, so positions would
shift with every refresh.

A `.feeds` file lists feed URLs, one a line, fetched on every `qa index` (qa.corpus.fetch:
one deadline for the whole feed, a size cap, public addresses only unless
`allow_private_feeds` is set, `file://` only inside the corpus folder); a feed that cannot be
fetched (no network) is listed as skipped and keeps what was indexed from it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

from qa import config
from qa.corpus import limits
from qa.corpus.article import (
    article_from_body,
    article_id,
    decode_utf8,
    iso_date,
    slug,
    str_or_none,
)
from qa.corpus.fetch import FeedRefused, FeedUnavailable, fetch_feed
from qa.corpus.readers.registry import (
    UNREACHABLE,
    Read,
    SourceFile,
    Takes,
    formats_text,
    register,
)
from qa.corpus.readers.webpage import html_to_text
from qa.types import Article, Skipped


@register(".rss", ".atom", ".xml", takes=Takes.BYTES, hidden=(".xml",))
def read_feed(file: SourceFile) -> Read:
    """An article per entry of the feed."""
    return feed_articles(file.data, file.rel)


def feed_articles(data: bytes, rel: str) -> Read:
    """The articles of a feed's bytes (a file's, or fetched for a `.feeds` file)."""
    # feedparser (~0.1 s to import) parses the bytes it is given and never fetches anything:
    # a stream is read as it is, where a string could be taken for a URL.
    import feedparser

    try:
        feed = feedparser.parse(io.BytesIO(data))
    except Exception as exc:  # feedparser records most problems in `bozo`; not all
        return [], [Skipped(rel, f"feed could not be parsed ({type(exc).__name__}: {exc})")]
    if not feed.get("version"):
        if rel.lower().endswith(".xml"):
            why = f"XML that is not an RSS or Atom feed; qa reads {formats_text()}"
            return [], [Skipped(rel, why)]
        why = f" ({feed.get('bozo_exception')})" if feed.get("bozo") else ""
        return [], [Skipped(rel, f"not an RSS or Atom feed{why}")]
    if not feed.entries:
        return [], [Skipped(rel, "the feed has no entries")]
    source = str_or_none((feed.get("feed") or {}).get("title"))
    file_id = article_id(rel)
    articles: list[Article] = []
    skipped: list[Skipped] = []
    most = limits.MAX_RECORDS
    for number, entry in enumerate(feed.entries, start=1):
        if number > most:
            skipped.append(limits.more_records(rel, most, len(feed.entries) - most))
            break
        title = entry.get("title") or ""
        if (entry.get("title_detail") or {}).get("type") == "text/html":
            title = html_to_text(title)
        try:
            article = article_from_body(
                _entry_text(entry),
                id=f"{file_id}/{_entry_key(entry, number)}",
                rel=rel,
                title=title.strip() or None,
                date=iso_date(entry.get("published") or entry.get("updated") or "")
                or iso_date(entry.get("published_parsed") or entry.get("updated_parsed")),
                source=source,
                url=str_or_none(entry.get("link")),
                fallback_title=f"entry {number}",
            )
        except limits.LimitHit as limit:
            skipped.append(Skipped(f"{rel}:{number}", f"entry {number}: {limit}"))
            continue
        if article is None:
            skipped.append(Skipped(f"{rel}:{number}", f"entry {number}: no text"))
        else:
            articles.append(article)
    return articles, skipped


def _entry_text(entry: Mapping) -> str:
    """An entry's full content, else its summary, as plain text."""
    pieces = [c for c in entry.get("content") or [] if (c.get("value") or "").strip()]
    if pieces:
        best = max(pieces, key=lambda c: len(c.get("value") or ""))
        value, kind = best.get("value") or "", best.get("type") or "text/html"
    else:
        value = entry.get("summary") or ""
        kind = (entry.get("summary_detail") or {}).get("type") or "text/html"
    return value if kind == "text/plain" else html_to_text(value)


def _entry_key(entry: Mapping, number: int) -> str:
    """An entry's part of its article id: its guid (or link), else its position."""
    key = str(entry.get("id") or entry.get("link") or "").strip()
    key = re.sub(r"(?i)^[a-z][a-z0-9+.-]*://(?:www\.)?", "", key)
    return slug(key) if key else str(number)


@register(".feeds", takes=Takes.BYTES, live=True)
def read_feed_list(file: SourceFile) -> Read:
    """A `.feeds` file: feed URLs, one a line (`#` starts a comment). Each feed is fetched
    (qa.corpus.fetch: within `feed_timeout`, from allowed places only) and read like a feed
    file; one that cannot be fetched or is refused is listed as skipped with the reason, and
    the rest are read."""
    rel = file.rel
    text = decode_utf8(file.data)
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
            body = fetch_feed(url, corpus=file.root, timeout=timeout, allow_private=allow_private)
        except FeedRefused as refused:
            skipped.append(Skipped(f"{rel}:{n}", f"{url} is not fetched: {refused}"))
            continue
        except FeedUnavailable as reason:
            skipped.append(Skipped(
                f"{rel}:{n}", f"{url} {UNREACHABLE} ({reason}). The articles indexed from "
                "it before are kept; run `qa index` again when it is back"))
            continue
        found, bad = feed_articles(body, rel)
        articles.extend(found)
        skipped.extend(Skipped(f"{rel}:{n}", f"{url}: {s.reason}") for s in bad)
    return articles, skipped

