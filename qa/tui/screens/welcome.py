"""Shown when there is no usable index: where to put articles, and a button to build."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, ProgressBar, Static

from qa.tui.literal import literal

# The common ones, short enough for one line at 80 columns (qa.corpus.ingest.FORMATS has them all).
FORMATS = ".txt .md .html .pdf .docx .csv …"


def welcome_text(corpus: Path, index: Path, reason: str | None) -> Text:
    lines = [
        Text("Welcome to qa", style="bold"),
        Text("Ask questions about a folder of news articles; answers quote them and cite their sources.", style="dim"),
        Text(""),
        Text.assemble("1. Put articles (", FORMATS, ") in  ", literal(str(corpus), "bold")),
        Text.assemble("2. Build the index into  ", literal(str(index), "bold"), "  (press b, or run `qa index`)"),
        Text("3. Ask away."),
    ]
    if reason:
        lines += [Text(""), Text.assemble(("Why you see this: ", "dim"), literal(reason, "dim italic"))]
    return Text("\n").join(lines)


class WelcomeScreen(Screen[None]):
    """The first screen on an empty or missing index."""

    BINDINGS = [
        Binding("b", "build", "Build index"),
        Binding("f1", "app.help", "Help"),
    ]

    def __init__(self, corpus: Path, index: Path, reason: str | None, on_build: Callable[[], None]) -> None:
        super().__init__()
        self.corpus = corpus
        self.index = index
        self.reason = reason
        self._on_build = on_build

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="welcome-box"):
            yield Static(welcome_text(self.corpus, self.index, self.reason), id="welcome-text")
            with Center():
                yield Button("Build index", id="build", variant="primary")
            yield Static("", id="welcome-progress-label")
            yield ProgressBar(id="welcome-progress", show_eta=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#welcome-progress").display = False
        self.query_one("#welcome-progress-label").display = False
        self.query_one("#build", Button).focus(scroll_visible=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_build()

    def action_build(self) -> None:
        self.query_one("#build", Button).disabled = True
        self.show_progress("starting", 0, 0)
        self._on_build()

    def show_progress(self, stage: str, done: int, total: int) -> None:
        """Show the build's progress (called by the chat screen, on the UI thread), each
        stage named as `qa index` names it on the terminal."""
        from qa.build.builder import describe_stage

        bar = self.query_one("#welcome-progress", ProgressBar)
        bar.display = True
        self.query_one("#welcome-progress-label").display = True
        bar.update(total=total or None, progress=done)
        label = "starting" if stage == "starting" else describe_stage(stage, done, total)
        self.query_one("#welcome-progress-label", Static).update(Text(f"Building: {label}…", style="italic"))

    def build_failed(self, message: str) -> None:
        """Let the user try again after a failed build."""
        self.query_one("#build", Button).disabled = False
        self.query_one("#welcome-progress").display = False
        label = self.query_one("#welcome-progress-label", Static)
        label.display = True
        label.update(literal(message, "bold"))
