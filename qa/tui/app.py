"""`QAApp`: the Textual application. Thin: the chat screen shows a session (qa/tui/session.py)."""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from qa.tui.screens.chat import ChatScreen
from qa.tui.screens.help import HelpScreen
from qa.tui.session import ChatSettings

if TYPE_CHECKING:
    from qa.embed.embedder import Embedder


#: How often the chat checks that its terminal is still there.
TERMINAL_CHECK_SECONDS = 2.0


def terminal_hung_up() -> bool:
    """Whether the terminal the chat reads its keys from has gone away (its window, tmux pane
    or ssh session closed without a SIGHUP reaching the chat). Textual's input thread would
    otherwise read end-of-file in a loop, a core at 100%, for as long as the process lives."""
    stdin = sys.__stdin__
    if stdin is None or not hasattr(select, "poll"):
        return False
    try:
        poller = select.poll()
        poller.register(stdin.fileno(), select.POLLIN)
        events = poller.poll(0)
    except (OSError, ValueError):
        return True
    return any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, mask in events)


class QAApp(App[None]):
    """Ask questions about the indexed articles; answers quote and cite them."""

    CSS_PATH = "app.tcss"
    TITLE = "qa"
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]
    # Below 100 columns the sources panel goes under the conversation instead of beside it.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    def __init__(self, settings: ChatSettings, theme: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.wanted_theme = theme

    def on_mount(self) -> None:
        if not self.is_headless:
            self.set_interval(TERMINAL_CHECK_SECONDS, self._exit_if_terminal_gone)
        theme = self.wanted_theme
        if not theme or theme == self.theme:
            return
        if theme in self.available_themes:
            self.theme = theme
        else:
            known = ", ".join(sorted(self.available_themes))
            self.notify(f"No theme called {theme!r} (the `theme` setting; see `qa config`). "
                        f"Themes: {known}.", severity="warning", markup=False, timeout=10)

    def _exit_if_terminal_gone(self) -> None:
        if terminal_hung_up():
            self.exit()

    def get_default_screen(self) -> Screen:
        return ChatScreen(self.settings)

    @property
    def chat(self) -> ChatScreen:
        """The chat screen (always at the bottom of the stack)."""
        return self.screen_stack[0]  # type: ignore[return-value]

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        chat = self.chat
        yield SystemCommand("Help", "Keys and commands (/help)", self.action_help)
        yield SystemCommand("Rebuild index", "Re-index what changed in the corpus folder (/rebuild)", chat.action_rebuild)
        yield SystemCommand("Skipped files", "The files the last update skipped, and why (F2, /skipped)", chat.action_show_skipped)
        yield SystemCommand("Clear conversation", "Forget the questions so far (/clear)", chat.action_clear)
        yield SystemCommand("Since date…", "Only use articles from a date on (/since DATE)", lambda: chat.prefill("/since "))
        yield SystemCommand("Until date…", "Only use articles up to a date (/until DATE)", lambda: chat.prefill("/until "))
        yield SystemCommand("Clear date filter", "Use articles of any date", lambda: chat.run_command_line("/since off", "/until off"))
        yield SystemCommand("Quotes by…", "What a person is quoted as saying (/quotes NAME)", lambda: chat.prefill("/quotes "))
        yield SystemCommand("Past conversations", "Load a saved conversation (/history)", chat.action_past_conversations)
        yield SystemCommand("Export conversation", "Save it as Markdown in the current folder (/export [FILE])", chat.export_conversation)
        yield SystemCommand("Copy source", "The selected source's sentence and reference (Ctrl+Y)", chat.action_copy_source)
        yield SystemCommand("Open source URL", "In a web browser (Ctrl+O)", chat.action_open_source_url)


def make_app(index_path: str | os.PathLike[str], corpus: str | os.PathLike[str] | None = None, *,
             embedder: Embedder | None = None, watch: bool = False, theme: str | None = None) -> QAApp:
    """Build the app for an index folder (and optionally the corpus folder `/rebuild` reads
    and, with `watch`, the chat watches for changes)."""
    settings = ChatSettings(index=Path(index_path), corpus=Path(corpus) if corpus else None,
                            embedder=embedder, watch=watch)
    return QAApp(settings, theme=theme)


def run_remote(server: str, *, theme: str | None = None) -> None:
    """Run the chat against the `qa serve` at `server` (what `qa chat --server URL` calls)."""
    QAApp(ChatSettings.for_server(server), theme=theme).run()


def run(index_path: str | os.PathLike[str] = "index", corpus: str | os.PathLike[str] | None = None,
        *, watch: bool = True, theme: str | None = None) -> None:
    """Run the chat in the terminal until the user quits (what `qa chat` and bare `qa` call).
    `qa chat` passes the resolved settings (`qa.config`): watch on unless turned off."""
    make_app(index_path, corpus, watch=watch, theme=theme).run()
