"""Answers laid out for people: one paragraph per source, and Markdown to paste into a report.

`source_paragraphs` splits an answer's text where it moves from one article to the next (the
chat shows each as a paragraph); `conversation_markdown` writes questions, answers and
numbered citations (title, outlet, date, URL, the quoted sentence) as Markdown, what
`/export` in the chat and `qa history --export` save.

Article text, titles and questions are untrusted: in Markdown they stay text. Whatever would
become markup, HTML or a link is escaped with a backslash, and control characters are
removed (`qa.text.terminal_safe`), so the file reads the same in a viewer and as plain text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .corpus.chunking import trim_span
from .text import terminal_safe
from .types import Answer, Citation

_MARKER = re.compile(r"\[(\d+)\]")

Span = tuple[int, int]


def source_paragraphs(answer: Answer) -> list[Span]:
    """Spans of `answer.text`, one per run of sentences cited from the same article.

    The text is cut after each `[n]` marker of a citation (markers side by side stay
    together); consecutive pieces citing the same article make one paragraph. Text after the
    last marker stays with the last paragraph. Spans are trimmed of surrounding whitespace.

    Returns:
        The spans in order; the whole text as one span when it cites nothing.
    """
    text = answer.text
    article_of = {c.n: c.article_id for c in answer.citations}
    cuts: list[tuple[int, str]] = []  # (end of a piece, the article it cites)
    for match in _MARKER.finditer(text):
        n = int(match.group(1))
        if n not in article_of:
            continue  # "[3]" written in an article, not a marker of this answer
        if cuts and not text[cuts[-1][0]:match.start()].strip():
            cuts[-1] = (match.end(), cuts[-1][1])  # "[1] [2]": one piece
        else:
            cuts.append((match.end(), article_of[n]))
    if not cuts:
        return [trim_span(text, 0, len(text))] if text.strip() else []
    spans: list[Span] = []
    start, article = 0, None
    for end, cited in cuts:
        if spans and cited == article:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
        start, article = end, cited
    if text[start:].strip():
        spans[-1] = (spans[-1][0], len(text))
    return [trim_span(text, a, b) for a, b in spans]


# --- Markdown -----------------------------------------------------------------------------

_INLINE = re.compile(r"[\\`*_\[\]<>|~]")
_LINE_START = re.compile(r"^([#>+=-]|\d+[.)])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_AUTOLINK = re.compile(r"(?<=\w)(://)|\b(www)\.", re.I)
_SAFE_URL = re.compile(r"https?://[^\s<>\\`]+", re.I)


def markdown_text(text: str | None, *, multiline: bool = False) -> str:
    """Untrusted text as Markdown that shows it literally (no emphasis, HTML, links or
    headings), kept readable: only what a renderer would act on gets a backslash."""
    return _line_starts(_inline(text, multiline=multiline))


def _inline(text: str | None, *, multiline: bool = False) -> str:
    text = terminal_safe(text or "", multiline=multiline)
    text = _INLINE.sub(lambda m: "\\" + m.group(), text)
    text = _ENTITY.sub(r"\\&", text)
    return _AUTOLINK.sub(lambda m: "\\://" if m.group(1) else m.group(2) + "\\.", text)


def _line_starts(text: str) -> str:
    """No indented code blocks, and no line that opens a heading, quote or list."""
    lines = [line.lstrip() for line in text.split("\n")]
    return "\n".join(_LINE_START.sub(lambda m: _escape_opener(m.group(1)), line) for line in lines)


def _escape_opener(opener: str) -> str:
    return opener[:-1] + "\\" + opener[-1] if opener[-1] in ".)" else "\\" + opener


def _url(url: str | None) -> str:
    """A link only for a plain http(s) URL; anything else is shown as text."""
    if not url:
        return ""
    url = terminal_safe(url).strip()
    if _SAFE_URL.fullmatch(url):
        return f"<{url}>"
    return markdown_text(url)


def citation_reference(citation: Citation) -> str:
    """`Title — Outlet, 2022-03-01, https://…` in plain text (an unknown outlet is left out)."""
    parts = [p for p in (citation.source, citation.date or "undated", citation.url) if p]
    return terminal_safe(f"{citation.title or citation.article_id} — " + ", ".join(parts))


def _folded(sentence: str) -> str:
    """A cited sentence on one line. No quotation marks are added: only words the article
    itself quotes carry them."""
    return " ".join(sentence.split())


def citation_text(citation: Citation) -> str:
    """The cited sentence, then `[n]` and its reference: what the chat copies."""
    who = f"{terminal_safe(citation.speaker)}: " if citation.speaker else ""
    return f"{who}{terminal_safe(_folded(citation.text))}\n[{citation.n}] {citation_reference(citation)}"


def _answer_markdown(answer: Answer) -> list[str]:
    cited = {c.n for c in answer.citations}
    phrase = answer.answer if not answer.abstained else None
    paragraphs = []
    for start, end in source_paragraphs(answer):
        piece = answer.text[start:end]
        out, last = [], 0
        for match in _MARKER.finditer(piece):
            if int(match.group(1)) in cited:  # our markers stay as [n]; the rest is text
                text = _inline(piece[last:match.start()], multiline=True)
                if phrase is not None and int(match.group(1)) == phrase.n:
                    text = _bold_once(text, _inline(_folded(phrase.text)))
                out.append(text)
                out.append(match.group())
                last = match.end()
        out.append(_inline(piece[last:], multiline=True))
        paragraph = _line_starts("".join(out))
        paragraphs.append(f"*{paragraph}*" if answer.abstained and paragraph else paragraph)
    return paragraphs


def _bold_once(markdown: str, phrase: str) -> str:
    """The last occurrence of `phrase` in a sentence's Markdown in bold: the answer phrase."""
    at = markdown.rfind(phrase) if phrase else -1
    if at < 0:
        return markdown
    return f"{markdown[:at]}**{phrase}**{markdown[at + len(phrase):]}"


def _citation_markdown(c: Citation) -> list[str]:
    meta = [markdown_text(p) for p in (c.source, c.date or "undated") if p]
    if c.url:
        meta.append(_url(c.url))
    head = f"**[{c.n}]** **{markdown_text(c.title or c.article_id)}** — {', '.join(meta)}"
    who = f"{markdown_text(c.speaker)}: " if c.speaker else ""
    return [head, "", f"> {who}{markdown_text(_folded(c.text))}"]


def conversation_markdown(answers: Sequence[Answer], *, index: str | None = None,
                          started: str | None = None) -> str:
    """A conversation as Markdown: each question as a heading, its answer one paragraph per
    source, then its numbered citations (title, outlet, date, URL, the quoted sentence).

    Args:
        answers: the turns, oldest first.
        index: the index (or server) they were asked of, shown under the title.
        started: when the conversation began (ISO 8601), shown under the title.

    Returns:
        The Markdown text, ending with a newline.
    """
    lines = ["# Questions to qa", ""]
    about = []
    if started:
        about.append(markdown_text(started.replace("T", " ").replace("+00:00", " UTC")))
    if index:
        about.append(f"index {markdown_text(index)}")
    count = len(answers)
    about.append(f"{count} question{'s' if count != 1 else ''}")
    lines += [" · ".join(about), ""]
    for number, answer in enumerate(answers, start=1):
        lines += [f"## {number}. {markdown_text(answer.question)}", ""]
        if answer.resolved_question and answer.resolved_question.strip() != answer.question.strip():
            lines += [f"*Read as: {markdown_text(answer.resolved_question)}*", ""]
        for paragraph in _answer_markdown(answer):
            lines += [paragraph, ""]
        for note in answer.notes:
            lines += [f"*Note: {markdown_text(note)}*", ""]
        if answer.citations:
            lines += ["Closest passages (not an answer):" if answer.abstained else "Sources:", ""]
            for citation in answer.citations:
                lines += _citation_markdown(citation) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"
