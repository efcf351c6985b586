"""What the chat's workers report to the UI thread (`ChatSession` posts them; `ChatScreen`
handles them, the only place they touch widgets)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from qa.types import Answer, BuildReport

if TYPE_CHECKING:
    from qa.history import Conversation, History, Turn
    from qa.search.searcher import Asker, Searcher


class IndexReloaded(Message):
    """The retriever switched to an index built by another process."""

    def __init__(self, retriever: Searcher) -> None:
        super().__init__()
        self.retriever = retriever


class IndexOpened(Message):
    def __init__(self, retriever: Searcher, assistant: Asker) -> None:
        super().__init__()
        self.retriever = retriever
        self.assistant = assistant


class IndexNeedsBuild(Message):
    def __init__(self, reason: str, full: bool) -> None:
        super().__init__()
        self.reason = reason
        self.full = full


class ModelReady(Message):
    def __init__(self, retriever: Searcher) -> None:
        super().__init__()
        self.retriever = retriever


class AnswerReady(Message):
    def __init__(self, seq: int, answer: Answer, mode_label: str) -> None:
        super().__init__()
        self.seq = seq
        self.answer = answer
        self.mode_label = mode_label


class RebuildProgress(Message):
    def __init__(self, stage: str, done: int, total: int) -> None:
        super().__init__()
        self.stage = stage
        self.done = done
        self.total = total


class RebuildFinished(Message):
    def __init__(self, report: BuildReport, source: str = "user") -> None:
        super().__init__()
        self.report = report
        self.source = source  # "user" (/rebuild, the welcome's button) or "watch"


class HistoryOpened(Message):
    """The conversation history is open; `questions` are the latest asked, oldest first."""

    def __init__(self, history: History, questions: list[str]) -> None:
        super().__init__()
        self.history = history
        self.questions = questions


class ConversationsListed(Message):
    def __init__(self, conversations: list[Conversation]) -> None:
        super().__init__()
        self.conversations = conversations


class ConversationLoaded(Message):
    def __init__(self, conversation: Conversation, turns: list[Turn]) -> None:
        super().__init__()
        self.conversation = conversation
        self.turns = turns


class CorpusChanged(Message):
    """Files in the corpus folder appeared, changed or went (or, `first`: watching began)."""

    def __init__(self, changes: set[tuple[str, str]], first: bool) -> None:
        super().__init__()
        self.changes = changes
        self.first = first
