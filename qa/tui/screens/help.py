"""The help screen: keys and commands, read from the same table the input uses."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from qa.tui.commands import COMMANDS

KEYS: tuple[tuple[str, str], ...] = (
    ("Enter", "ask the question (or run the /command) in the input"),
    ("Up / Down", "in the input: earlier / later lines; in the chat: previous / next answer"),
    ("Tab / Shift+Tab", "input → sources → conversation, and round"),
    ("Enter on a source", "open the article at the cited passage (Escape comes back to the input)"),
    ("Ctrl+Down / Ctrl+Up", "next / previous source of the selected answer (n / p in the sources)"),
    ("Ctrl+Y", "copy the selected source: its sentence, title, outlet, date and URL (c in the sources)"),
    ("Ctrl+O", "open the selected source's URL in a browser (o in the sources)"),
    ("Escape", "back to the input"),
    ("F1", "this help"),
    ("Ctrl+P", "command palette (the same actions as the commands)"),
    ("Ctrl+R", "rebuild the index from the corpus folder"),
    ("F2", "the files the last update skipped, and why"),
    ("Ctrl+L", "clear the conversation"),
    ("Ctrl+Q", "quit"),
)


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row(Text("Keys", style="underline"), "")
    for key, what in KEYS:
        table.add_row(key, what)
    table.add_row("", "")
    table.add_row(Text("Commands", style="underline"), "")
    for spec in COMMANDS:
        table.add_row(spec.usage, spec.help)
    table.add_row("", "")
    table.add_row(
        "",
        Text(
            "Every answer is made of sentences quoted verbatim from the articles; [n] points "
            "to the source. Questions asked while the model loads are answered with BM25 "
            "(keyword search) and say so.",
            style="dim",
        ),
    )
    return table


class HelpScreen(ModalScreen[None]):
    """A modal over the chat; Escape, F1 or q closes it."""

    BINDINGS = [
        Binding("escape,f1,q", "app.pop_screen", "Close help"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Help"
            yield Static(help_table())
