"""The sources of the selected answer: one entry per citation, its sentence highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from qa.tui.literal import literal, one_line
from qa.types import Citation

CITED_STYLE = "bold reverse"


# How much of the passage to show around the cited sentence: a short lead-in, so the
# highlighted sentence is near the top even in a small panel, and a little more after it.
CONTEXT_BEFORE = 50
CONTEXT_AFTER = 140


def passage_with_citation(citation: Citation, before: int = CONTEXT_BEFORE, after: int = CONTEXT_AFTER) -> Text:
    """The passage around the citation with the cited sentence highlighted by its offsets.

    Long passages are cut at word boundaries to about `before`/`after` characters around
    the sentence, with an ellipsis; the reader shows the whole article.
    """
    chunk = citation.chunk_text
    start = citation.start - citation.chunk_start
    end = citation.end - citation.chunk_start
    if not 0 <= start < end <= len(chunk):
        # the sentence is not inside the passage it came with: show it on its own
        return literal(citation.text, CITED_STYLE)
    lo = 0 if start <= before else (chunk.find(" ", start - before, start) + 1 or start)
    if len(chunk) - end <= after:
        hi = len(chunk)
    else:
        cut = chunk.rfind(" ", end, end + after)
        hi = cut if cut > 0 else end
    passage = Text.assemble("…" if lo > 0 else "", literal(chunk[lo:hi]), "…" if hi < len(chunk) else "")
    shift = 1 if lo > 0 else 0
    passage.stylize(CITED_STYLE, start - lo + shift, end - lo + shift)
    return passage


def citation_meta(citation: Citation) -> Text:
    """`outlet · date` (and the speaker for quotes), literal."""
    parts = [p for p in (citation.source, citation.date) if p]
    meta = one_line(" · ".join(parts) or "unknown outlet, no date", "dim")
    if citation.speaker:
        meta.append_text(Text.assemble(("  quoting ", "dim"), one_line(citation.speaker, "dim bold")))
    return meta


def render_citation(citation: Citation) -> Text:
    """One entry of the panel: marker and title, meta line, then the passage."""
    head = Text.assemble((f"[{citation.n}] ", "bold"), one_line(citation.title or citation.article_id, "bold"))
    return Text("\n").join([head, citation_meta(citation), passage_with_citation(citation)])


class SourcesPanel(OptionList):
    """An `OptionList` of citations; Enter (or a click) opens the article at the citation.

    The chat's keys for the highlighted source (copy it, open its URL, next/previous) work
    from anywhere in the chat; here, focused, they also have single letters.
    """

    BINDINGS = [
        Binding("c", "screen.copy_source", "Copy", show=False),
        Binding("o", "screen.open_source_url", "Open URL", show=False),
        Binding("n", "screen.source(1)", "Next", show=False),
        Binding("p", "screen.source(-1)", "Previous", show=False),
    ]

    class Open(Message):
        """The user chose a citation to read in its article."""

        def __init__(self, citation: Citation) -> None:
            super().__init__()
            self.citation = citation

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.citations: tuple[Citation, ...] = ()
        self.border_title = "Sources"

    def show(self, citations: tuple[Citation, ...], empty: str = "No sources for this answer.") -> None:
        """Replace the listed citations (none: the `empty` hint instead), scrolled to the top."""
        self.citations = tuple(citations)
        self.clear_options()
        self.scroll_home(animate=False)
        if not self.citations:
            self.add_option(Option(Text(empty, style="dim italic"), disabled=True))
            return
        for i, citation in enumerate(self.citations):
            if i:
                self.add_option(None)  # a divider between entries
            self.add_option(Option(render_citation(citation), id=f"c{i}"))
        self.highlighted = 0

    @property
    def current(self) -> Citation | None:
        """The highlighted citation (the first when none is), or None when there are none."""
        if not self.citations:
            return None
        index = self.highlighted if self.highlighted is not None else 0
        return self.citations[max(0, min(index, len(self.citations) - 1))]

    def move(self, step: int) -> Citation | None:
        """Highlight the next (`step` 1) or previous (-1) citation, stopping at the ends,
        scrolled into view; returns it."""
        if not self.citations:
            return None
        index = self.highlighted if self.highlighted is not None else 0
        self.highlighted = max(0, min(index + step, len(self.citations) - 1))
        return self.current

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id
        if option_id and option_id.startswith("c"):
            self.post_message(self.Open(self.citations[int(option_id[1:])]))
