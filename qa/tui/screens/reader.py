"""The article reader: the whole article, scrolled to the cited passage, which is highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from qa.tui.literal import literal, one_line
from qa.tui.widgets.sources_panel import CITED_STYLE
from qa.types import Article, Citation

PASSAGE_STYLE = "underline"


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Spans of the paragraphs of `text` (split at blank lines), in order, never empty."""
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        cut = text.find("\n\n", start)
        end = len(text) if cut == -1 else cut
        if text[start:end].strip():
            spans.append((start, end))
        start = end + 2 if cut != -1 else len(text)
    return spans or [(0, len(text))]


def paragraph_text(article_text: str, span: tuple[int, int], citation: Citation | None) -> Text:
    """One paragraph as literal text, with the cited passage and sentence styled by offsets."""
    start, end = span
    text = literal(article_text[start:end])
    if citation is not None:
        for (a, b), style in (
            ((citation.chunk_start, citation.chunk_end), PASSAGE_STYLE),
            ((citation.start, citation.end), CITED_STYLE),
        ):
            lo, hi = max(a, start), min(b, end)
            if lo < hi:
                text.stylize(style, lo - start, hi - start)
    return text


class ReaderScreen(Screen[None]):
    """Shows one article; Escape goes back to the chat (whose input then has the focus)."""

    BINDINGS = [
        Binding("escape", "back", "Back to chat"),
        Binding("n", "jump_to_citation", "Cited passage"),
    ]

    def __init__(self, article: Article, citation: Citation | None = None) -> None:
        super().__init__()
        self.article = article
        self.citation = citation
        self._cited: Static | None = None

    def compose(self) -> ComposeResult:
        article = self.article
        meta = [p for p in (article.source, article.date) if p]
        header = Text("\n").join(
            [
                one_line(article.title or article.id, "bold"),
                one_line(" · ".join(meta) or "unknown outlet, no date", "dim"),
            ]
            + ([one_line(article.url, "dim underline")] if article.url else [])
        )
        yield Static(header, id="reader-header")
        with VerticalScroll(id="reader-body"):
            for span in paragraphs(article.text):
                touches = self.citation is not None and span[0] < self.citation.end and self.citation.start < span[1]
                widget = Static(
                    paragraph_text(article.text, span, self.citation if touches else None),
                    classes="paragraph -cited" if touches else "paragraph",
                )
                if touches and self._cited is None:
                    self._cited = widget
                yield widget
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#reader-body").focus()
        self.call_after_refresh(self.action_jump_to_citation)

    def action_back(self) -> None:
        self.dismiss(None)  # the chat's callback puts the focus back in its input

    def action_jump_to_citation(self) -> None:
        if self._cited is not None:
            self.query_one("#reader-body", VerticalScroll).scroll_to_center(self._cited, animate=False)
