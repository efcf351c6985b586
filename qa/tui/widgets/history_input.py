"""An input line that remembers what was submitted: Up and Down walk through it."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class HistoryInput(Input):
    """`Input` with shell-like history.

    Up recalls older entries, Down newer ones; going past the newest restores what was being
    typed before the walk started.
    """

    BINDINGS = [
        Binding("up", "history_back", "Previous", show=False),
        Binding("down", "history_forward", "Next", show=False),
    ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.history: list[str] = []
        self._position: int | None = None  # index into history while walking, else None
        self._draft = ""

    def remember(self, line: str) -> None:
        """Add a submitted line to the history (consecutive repeats are kept once)."""
        line = line.strip()
        if line and (not self.history or self.history[-1] != line):
            self.history.append(line)
        self._position = None
        self._draft = ""

    def action_history_back(self) -> None:
        if not self.history:
            return
        if self._position is None:
            self._draft = self.value
            self._position = len(self.history) - 1
        elif self._position > 0:
            self._position -= 1
        self._show(self.history[self._position])

    def action_history_forward(self) -> None:
        if self._position is None:
            return
        if self._position < len(self.history) - 1:
            self._position += 1
            self._show(self.history[self._position])
        else:
            self._position = None
            self._show(self._draft)

    def _show(self, value: str) -> None:
        self.value = value
        self.cursor_position = len(value)
