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
    store: str = "local"  # shown when it is not the index folder: "store milvus"
    since: str | None = None
    until: str | None = None
    busy: str = ""  # "rebuilding", "answering"...
    notice: str = ""  # the last thing that happened on its own: "index updated: +1 article"

    def with_(self, **changes: object) -> Status:
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
    """One line built from a `Status`, never wrapped: parts are shortened or dropped to fit
    the width (`render_status`), and it is laid out again when the terminal is resized."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.status = Status()

    def on_mount(self) -> None:
        self.show(self.status)

    def on_resize(self) -> None:
        self.show(self.status)

    def show(self, status: Status) -> None:
        """Replace what the line shows."""
        self.status = status
        width = self.content_size.width
        self.update(render_status(status, width if width > 0 else None))


# Ways to make the line shorter, tried in order until it fits: the model name goes first,
# then the chunk count, an unfiltered date range, the labels and the fallback's reason.
_SHORTER = (
    {},
    {"model": False},
    {"model": False, "chunks": False},
    {"model": False, "chunks": False, "any_dates": False},
    {"model": False, "chunks": False, "any_dates": False, "labels": False},
    {"model": False, "chunks": False, "labels": False, "any_dates": False, "reason": False},
)


def render_status(status: Status, width: int | None = None) -> Text:
    """The status line as literal `Text` (model names and reasons are never markup).

    Args:
        width: the cells it must fit in; parts are dropped (`_SHORTER`) and, as a last
            resort, the line is cut with an ellipsis. None: everything, whatever its length.
    """
    for shorter in _SHORTER:
        line = _status_line(status, **shorter)
        if width is None or line.cell_len <= width:
            return line
    line.truncate(width, overflow="ellipsis")
    return line


def _status_line(status: Status, *, model: bool = True, chunks: bool = True, labels: bool = True,
                 any_dates: bool = True, reason: bool = True) -> Text:
    sep = (" │ ", "dim")
    if status.articles is None:
        counts = Text("index loading…", style="italic")
    elif chunks:
        counts = Text.assemble((f"{status.articles}", "bold"), " articles · ", (f"{status.chunks}", "bold"), " chunks")
    else:
        counts = Text.assemble((f"{status.articles}", "bold"), " articles")
    mode = Text.assemble(("search " if labels else "", "dim"), (status.mode, "bold"))
    if status.fallback_reason and reason:
        mode.append(" — ")
        mode.append_text(one_line(status.fallback_reason, "italic"))
    line = Text.assemble(counts, sep, mode)
    if status.store != "local" and model:
        line.append_text(Text.assemble(sep, ("store ", "dim"), one_line(status.store)))
    if status.model and model:
        line.append_text(Text.assemble(sep, ("model ", "dim"), one_line(status.model)))
    if status.since or status.until or any_dates:
        dates = date_filter_label(status.since, status.until)
        line.append_text(Text.assemble(sep, ("dates " if labels else "", "dim"),
                                       (dates, "bold" if status.since or status.until else "")))
    if status.busy:
        line.append_text(Text.assemble(sep, (status.busy, "italic")))
    elif status.notice:
        line.append_text(Text.assemble(sep, (status.notice, "italic")))
    line.no_wrap = True
    return line
