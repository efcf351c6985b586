"""Past conversations on this index (`/history`): pick one to load it back into the chat and
carry it on (`qa ask --cid ID` does the same from the shell)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from qa.history import Conversation
from qa.tui.literal import one_line


def local_time(iso: str) -> str:
    """A saved UTC time as local `YYYY-MM-DD HH:MM`."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def conversation_row(conversation: Conversation) -> Text:
    """`#12 · 2024-05-01 14:03 · 3 questions` over the first question (literal)."""
    n = conversation.turns
    head = Text(f"#{conversation.id} · {local_time(conversation.last_asked)} · "
                f"{n} question{'s' if n != 1 else ''}", style="dim")
    return Text("\n").join([head, one_line(conversation.first_question, "bold")])


class HistoryScreen(ModalScreen[int | None]):
    """The saved conversations, newest first; Enter returns the chosen one's id."""

    BINDINGS = [Binding("escape", "dismiss_none", "Back to chat")]

    def __init__(self, conversations: list[Conversation]) -> None:
        super().__init__()
        self.conversations = conversations

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box") as box:
            box.border_title = "Past conversations on this index"
            if not self.conversations:
                yield Static(Text("No conversations on this index yet: every question you ask "
                                  "is kept (`qa history --all` lists other indexes').",
                                  style="italic"))
                return
            options = OptionList(id="history-list")
            for i, conversation in enumerate(self.conversations):
                if i:
                    options.add_option(None)  # a divider between conversations
                options.add_option(Option(conversation_row(conversation), id=f"h{conversation.id}"))
            yield options
            yield Static(Text("Enter loads it and new questions follow on from it · Escape "
                              "goes back", style="dim"))

    def on_mount(self) -> None:
        if self.conversations:
            options = self.query_one(OptionList)
            options.highlighted = 0
            options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.dismiss(int(event.option.id[1:]))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
