"""The status line: what is indexed, how questions are searched, which dates are in play."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual.widgets import Static

from qa.tui.literal import one_line


@dataclass(frozen=True)
class Status:
    """Everything the status line shows; replaced whole, never mutated."""

    articles: int | None = None  # None until the index is open
    chunks: int | None = None
    mode: str = "loading index…"  # "hybrid", "BM25 (model loading)", "BM25"...
    fallback_reason: str | None = None
    model: str = ""
    since: str | None = None
    until: str | None = None
    busy: str = ""  # "rebuilding", "answering"...
    notice: str = ""  # the last thing that happened on its own: "index updated: +1 article"

    def with_(self, **changes: object) -> "Status":
        return replace(self, **changes)  # type: ignore[arg-type]


def date_filter_label(since: str | None, until: str | None) -> str:
    """`2020-01-01 → 2020-12-31`, `from 2020-01-01`, `until …`, or `all dates`."""
    if since and until:
        return f"{since} → {until}"
    if since:
        return f"from {since}"
    if until:
        return f"until {until}"
    return "any"


class StatusBar(Static):
    """One line (wrapping on narrow terminals) built from a `Status`."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.status = Status()

    def on_mount(self) -> None:
        self.show(self.status)

    def show(self, status: Status) -> None:
        """Replace what the line shows."""
        self.status = status
        self.update(render_status(status))


def render_status(status: Status) -> Text:
    """The status line as literal `Text` (model names and reasons are never markup)."""
    sep = (" │ ", "dim")
    if status.articles is None:
        counts = Text("index loading…", style="italic")
    else:
        counts = Text.assemble((f"{status.articles}", "bold"), " articles · ", (f"{status.chunks}", "bold"), " chunks")
    mode = Text.assemble(("search ", "dim"), (status.mode, "bold"))
    if status.fallback_reason:
        mode.append(" — ")
        mode.append_text(one_line(status.fallback_reason, "italic"))
    line = Text.assemble(counts, sep, mode)
    if status.model:
        line.append_text(Text.assemble(sep, ("model ", "dim"), one_line(status.model)))
    dates = date_filter_label(status.since, status.until)
    line.append_text(Text.assemble(sep, ("dates ", "dim"), (dates, "bold" if status.since or status.until else "")))
    if status.busy:
        line.append_text(Text.assemble(sep, (status.busy, "italic")))
    elif status.notice:
        line.append_text(Text.assemble(sep, (status.notice, "italic")))
    return line
