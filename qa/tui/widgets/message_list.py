"""The conversation: questions, answers (with their `[n]` markers) and notes, oldest first."""

from __future__ import annotations

import re

from rich.console import RenderableType
from rich.text import Text
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from qa.tui.literal import literal
from qa.types import Answer

_MARKER = re.compile(r"\[(\d+)\]")


def render_answer(answer: Answer, mode_label: str) -> Text:
    """The answer body: one paragraph per source article (`qa.export.source_paragraphs`),
    citation markers emphasised, then how it was found.

    Only markers whose number is one of the answer's citations are styled: an article
    sentence that itself contains "[3]" is left alone unless 3 is cited.
    """
    from qa.answer.compose import phrase_in_text
    from qa.export import source_paragraphs  # small, no heavy imports

    cited = {c.n for c in answer.citations}
    body = literal(answer.text, "italic" if answer.abstained else "")
    phrase = phrase_in_text(answer)
    if phrase is not None:
        body.stylize("bold underline", *phrase)
    for match in _MARKER.finditer(answer.text):
        if int(match.group(1)) in cited:
            body.stylize("bold reverse", match.start(), match.end())
    spans = source_paragraphs(answer) or [(0, len(answer.text))]
    lines = [Text("\n\n").join(body[start:end] for start, end in spans)]
    if answer.resolved_question and answer.resolved_question.strip() != answer.question.strip():
        lines.append(Text.assemble(("understood as: ", "dim"), literal(answer.resolved_question, "dim italic")))
    for note in answer.notes:
        lines.append(literal(note, "dim italic"))
    footer = Text.assemble(("via ", "dim"), (mode_label, "dim bold"))
    if answer.certainty and not answer.abstained:
        footer.append(" · ", "dim")
        footer.append(answer.certainty, "bold" if answer.certainty == "sure" else "dim bold")
    if answer.citations:
        n = len(answer.citations)
        footer.append(f" · {n} source{'s' if n != 1 else ''}", "dim")
    dates = answer.date_range
    if dates.bounded:
        footer.append(f" · dates {dates.since or '…'} → {dates.until or '…'}"
                      f"{' (from the question)' if dates.from_question else ''}", "dim")
    lines.append(footer)
    return Text("\n").join(lines)


class QuestionMessage(Static):
    """What the user asked, shown literally."""

    def __init__(self, question: str) -> None:
        super().__init__(literal(question))
        self.question = question
        self.border_title = "You"


class NoteMessage(Static):
    """A line from the app itself: command results, cancelled questions, errors."""

    def __init__(self, text: RenderableType, *, classes: str = "") -> None:
        """`text`: a string (shown literally), or what Rich renders (a `Text`, a table of
        untrusted text built with `literal`)."""
        super().__init__(literal(text) if isinstance(text, str) else text, classes=classes)


class PendingMessage(Static):
    """Stands where the answer will appear while a worker looks for it."""

    def __init__(self, label: str) -> None:
        super().__init__(Text(label, style="italic"))
        self.border_title = "Answer"


class AnswerMessage(Static, can_focus=True):
    """An answer; focusing it (Tab, click, Up/Down in the list) shows its sources."""

    class Selected(Message):
        """This answer became the one whose sources are shown."""

        def __init__(self, message: AnswerMessage) -> None:
            super().__init__()
            self.message = message

        @property
        def answer(self) -> Answer:
            return self.message.answer

    def __init__(self, answer: Answer, mode_label: str) -> None:
        super().__init__(render_answer(answer, mode_label))
        self.answer = answer
        self.mode_label = mode_label
        self.border_title = "Answer" if not answer.abstained else "No answer"

    def on_focus(self) -> None:
        self.post_message(self.Selected(self))


class MessageList(VerticalScroll, can_focus=False):
    """The scrolling conversation. Up/Down move between answers when one is focused."""

    BINDINGS = [
        ("up", "select_answer(-1)", "Previous answer"),
        ("down", "select_answer(1)", "Next answer"),
    ]

    def add(self, widget: Static) -> Static:
        """Append a message and keep the newest in view."""
        self.mount(widget)
        self.call_after_refresh(self.scroll_end, animate=False)
        return widget

    def answers(self) -> list[AnswerMessage]:
        return list(self.query(AnswerMessage))

    def action_select_answer(self, step: int) -> None:
        answers = self.answers()
        if not answers:
            return
        focused = self.screen.focused
        index = answers.index(focused) if focused in answers else len(answers)
        target = answers[max(0, min(len(answers) - 1, index + step))]
        target.focus()
        self.scroll_to_widget(target, animate=False)

    def clear(self) -> None:
        """Remove every message."""
        self.remove_children()
