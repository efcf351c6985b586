"""The chat screen: the conversation, the sources of the selected answer, status and input.

It also owns the session: the open retriever and assistant, the date filter, the
conversation history, and the workers that open the index, load the model, answer, rebuild
and watch the corpus folder (a change there starts the same incremental rebuild as /rebuild,
and the status line says "index updated: +1 article"). Workers run in threads and only post
messages; the handlers here touch widgets.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from qa.citation import locate_citation
from qa.errors import IndexChangedError, IndexCorruptError, IndexMismatchError, IndexMissingError, QAError
from qa.tui.commands import Command, CommandError, date_filter_after, parse_command
from qa.tui.literal import literal, one_line
from qa.tui.screens.help import HelpScreen
from qa.tui.screens.history import HistoryScreen
from qa.tui.screens.reader import ReaderScreen
from qa.tui.screens.welcome import WelcomeScreen
from qa.tui.widgets.history_input import HistoryInput
from qa.tui.widgets.message_list import AnswerMessage, MessageList, NoteMessage, PendingMessage, QuestionMessage
from qa.tui.widgets.sources_panel import SourcesPanel
from qa.tui.widgets.status_bar import Status, StatusBar, date_filter_label
from qa.types import Answer, BuildReport, Citation

MODEL_LOADING = "BM25 (model loading)"
INDEX_WAIT_SECONDS = 120.0  # a question asked before the index is open waits this long for it
MAX_QUOTES = 20
NO_SELECTION = "Sources of the selected answer show here; Enter on one opens the article."


def _open_retriever(index: Path, embedder: Any | None) -> Any:
    from qa import Retriever

    return Retriever.open(index, embedder=embedder)


def _make_assistant(retriever: Any) -> Any:
    from qa.answer import Assistant

    return Assistant(retriever)


# Browsers that run inside the terminal: started from the chat they would fight it for the screen.
CONSOLE_BROWSERS = {"www-browser", "links", "links2", "elinks", "lynx", "w3m"}


def _open_in_browser(url: str) -> str | None:
    """Open `url` in a graphical browser; None when it opened, else why it did not."""
    import webbrowser  # stdlib; only needed when a source is opened

    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return "no web browser is set up here"
    if getattr(browser, "name", "") in CONSOLE_BROWSERS:
        return f"the only browser here ({browser.name}) runs in the terminal"
    return None if browser.open(url, new=2) else "the browser did not start"


def _build_index(corpus: Path, index: Path, *, full: bool, progress: Callable[[str, int, int], None], embedder: Any | None) -> BuildReport:
    from qa import build_index

    return build_index(corpus=corpus, index=index, full=full, progress=progress, embedder=embedder)


@dataclass
class ChatSettings:
    """Where the index and corpus are, and the seams tests use to swap in a fake embedder."""

    index: Path
    corpus: Path | None = None  # None: the manifest's recorded corpus, else corpus/ beside the index
    embedder: Any | None = None
    open_retriever: Callable[[Path, Any | None], Any] = _open_retriever
    make_assistant: Callable[[Any], Any] = _make_assistant
    build_index: Callable[..., BuildReport] = _build_index
    server: str | None = None  # the URL of a `qa serve` that answers instead (`--server`)
    watch: bool = False  # re-index as the corpus folder changes (`qa chat`: the `watch` setting)
    open_url: Callable[[str], str | None] = _open_in_browser  # None: opened; else the reason
    history_path: Path | None = None  # the conversation history (None: qa.config.history_path())

    @classmethod
    def for_server(cls, url: str, *, transport: Any | None = None) -> "ChatSettings":
        """Ask the `qa serve` at `url` (`qa chat --server URL`) instead of opening an index;
        its index is rebuilt where it runs. `transport`: how requests travel (tests)."""
        from qa.search.remote import RemoteAssistant, RemoteRetriever

        def open_remote(_index: Path, _embedder: Any | None) -> RemoteRetriever:
            return RemoteRetriever.open(url, transport=transport)

        return cls(index=Path(url), server=url, open_retriever=open_remote,
                   make_assistant=RemoteAssistant)

    def corpus_folder(self) -> Path:
        """The folder `/rebuild` reads: `--corpus`, else the manifest's, else `corpus/` beside the index."""
        if self.corpus is not None:
            return Path(self.corpus)
        from qa.index import recorded_corpus

        recorded = recorded_corpus(self.index)
        if isinstance(recorded, str) and recorded:
            path = Path(recorded)
            return path if path.is_absolute() else (self.index.resolve().parent / path)
        return self.index.resolve().parent / "corpus"


def user_message(error: BaseException) -> str:
    """What to tell the user about a worker's failure."""
    if isinstance(error, QAError):
        return str(error)
    return f"Unexpected {type(error).__name__}: {error}"


# Messages posted by worker threads -------------------------------------------------------


class IndexReloaded(Message):
    """The retriever switched to an index built by another process."""

    def __init__(self, retriever: Any) -> None:
        super().__init__()
        self.retriever = retriever


class IndexOpened(Message):
    def __init__(self, retriever: Any, assistant: Any) -> None:
        super().__init__()
        self.retriever = retriever
        self.assistant = assistant


class IndexNeedsBuild(Message):
    def __init__(self, reason: str, full: bool) -> None:
        super().__init__()
        self.reason = reason
        self.full = full


class ModelReady(Message):
    def __init__(self, retriever: Any) -> None:
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

    def __init__(self, history: Any, questions: list[str]) -> None:
        super().__init__()
        self.history = history
        self.questions = questions


class ConversationsListed(Message):
    def __init__(self, conversations: list[Any]) -> None:
        super().__init__()
        self.conversations = conversations


class ConversationLoaded(Message):
    def __init__(self, conversation: Any, turns: list[Any]) -> None:
        super().__init__()
        self.conversation = conversation
        self.turns = turns


class CorpusChanged(Message):
    """Files in the corpus folder appeared, changed or went (or, `first`: watching began)."""

    def __init__(self, changes: set[tuple[str, str]], first: bool) -> None:
        super().__init__()
        self.changes = changes
        self.first = first


# The screen -----------------------------------------------------------------------------


class ChatScreen(Screen[None]):
    """Questions and answers on the left, sources on the right, input and status below."""

    BINDINGS = [
        Binding("ctrl+y", "copy_source", "Copy source"),
        Binding("ctrl+o", "open_source_url", "Open URL"),
        Binding("ctrl+down", "source(1)", "Next source"),
        Binding("ctrl+up", "source(-1)", "Previous source", show=False),  # in the help
        Binding("ctrl+r", "rebuild", "Rebuild"),
        Binding("ctrl+l", "clear", "Clear", show=False),  # in the help; /clear
        Binding("escape", "focus_input", "Input", show=False),
        # Three stops: the input, the sources, the conversation (Up/Down move inside it).
        Binding("tab", "focus_pane(1)", "Next pane", show=False),
        Binding("shift+tab", "focus_pane(-1)", "Previous pane", show=False),
    ]

    def __init__(self, settings: ChatSettings) -> None:
        super().__init__()
        self.settings = settings
        self.retriever: Any | None = None
        self.assistant: Any | None = None
        self.index_ready = threading.Event()
        self.model_settled = False  # warm-up finished (loaded, or failed with a reason)
        self.since: str | None = None
        self.until: str | None = None
        self.history: list[Answer] = []
        self.question_seq = 0
        self.pending: PendingMessage | None = None
        self.pending_question = ""
        self.rebuilding = False
        self.welcome: WelcomeScreen | None = None
        self.selected: AnswerMessage | None = None
        self._last_progress = 0.0
        self.rebuild_source = "user"
        self.rebuild_again = False  # the corpus changed during a rebuild: one more after it
        self.watch_stop = threading.Event()
        self.watching = False  # the watcher is listening
        self.caught_up = False  # the rebuild that follows changes made while the chat was closed
        self.saved: Any | None = None  # qa.history.History, once open
        self.history_lock = threading.Lock()  # turns are saved in order, to one conversation
        self.conversation_id: int | None = None  # where the next turn is saved (None: a new one)
        self.conversation_started: str | None = None

    # Layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="body"):
            yield MessageList(id="messages")
            yield SourcesPanel(id="sources")
        with Horizontal(id="rebuild-bar"):
            yield Static("", id="rebuild-label")
            yield ProgressBar(id="rebuild-progress", show_eta=False)
        yield HistoryInput(placeholder="Ask about the articles, or /help", id="question")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#rebuild-bar").display = False
        self.query_one(SourcesPanel).show((), empty=NO_SELECTION)
        self.query_one(MessageList).add(
            NoteMessage(Text("Ask a question about the articles. /help lists the commands; F1 shows the keys.", style="dim"))
        )
        self.query_one(HistoryInput).focus()
        self.open_index()
        self.open_history()
        if self.settings.watch:
            self.watch_corpus()

    def on_unmount(self) -> None:
        self.watch_stop.set()

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one(StatusBar)

    def set_status(self, **changes: object) -> None:
        self.status_bar.show(self.status_bar.status.with_(**changes))

    def note(self, text: Text | str, classes: str = "") -> None:
        self.query_one(MessageList).add(NoteMessage(text, classes=classes))

    # Workers ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="index", exit_on_error=False)
    def open_index(self) -> None:
        """Open the index (fast: no model), then hand it to the UI thread."""
        settings = self.settings
        try:
            retriever = settings.open_retriever(settings.index, settings.embedder)
        except IndexMissingError as error:
            self.post_message(IndexNeedsBuild(str(error), full=False))
            return
        except (IndexCorruptError, IndexMismatchError) as error:
            self.post_message(IndexNeedsBuild(str(error), full=True))
            return
        self.post_message(IndexOpened(retriever, settings.make_assistant(retriever)))

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def open_history(self) -> None:
        """Open the conversation history (creating it on first use) for ↑ and /history."""
        from qa.history import History

        history = History.open(self.settings.history_path)
        self.post_message(HistoryOpened(history, history.questions()))

    @work(thread=True, group="history-save", exit_on_error=False)
    def save_turn(self, answer: Answer) -> None:
        """Keep one answered question, in the conversation on screen."""
        history = self.saved
        if history is None:
            return
        where = self.settings.server or str(self.settings.index.resolve())
        with self.history_lock:
            turn = history.add_turn(self.conversation_id, answer, index_path=where)
            self.conversation_id = turn.conversation_id

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def list_conversations(self) -> None:
        self.post_message(ConversationsListed(self.saved.conversations(limit=200) if self.saved else []))

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def load_conversation(self, conversation_id: int) -> None:
        history = self.saved
        if history is None:
            return
        conversation = history.conversation(conversation_id)
        if conversation is not None:
            self.post_message(ConversationLoaded(conversation, history.turns(conversation_id)))

    @work(thread=True, exclusive=True, group="model", exit_on_error=False)
    def warm_up(self, retriever: Any) -> None:
        """Load the embedding model (seconds); `warm_up` never raises, it records a reason."""
        retriever.warm_up()
        self.post_message(ModelReady(retriever))

    @work(thread=True, exclusive=True, group="ask", exit_on_error=False)
    def answer_question(self, seq: int, question: str, history: tuple[Answer, ...], since: str | None, until: str | None) -> None:
        """Answer in a thread; a newer question cancels this one and its result is dropped."""
        if not self.index_ready.wait(INDEX_WAIT_SECONDS):
            raise QAError("The index is still not open; try again in a moment, or check `qa index`.")
        retriever, assistant = self.retriever, self.assistant
        if retriever is None or assistant is None:
            raise QAError("There is no index to search yet. Build one with /rebuild.")
        if retriever.reload_if_changed():  # rebuilt by `qa index` in another terminal
            self.post_message(IndexReloaded(retriever))
        model_loading = not retriever.dense_ready and not self.model_settled
        mode = "bm25" if model_loading else "auto"
        try:
            answer = assistant.ask(question, list(history), since=since, until=until, mode=mode)
        except IndexChangedError:  # rebuilt mid-question: once more, on the new generation
            retriever.reload_if_changed()
            answer = assistant.ask(question, list(history), since=since, until=until, mode=mode)
        if get_current_worker().is_cancelled:
            return
        if model_loading:
            label = MODEL_LOADING
        elif answer.mode == "hybrid":
            label = "hybrid"
        else:
            label = f"BM25 ({answer.fallback_reason})" if answer.fallback_reason else "BM25"
        self.post_message(AnswerReady(seq, answer, label))

    @work(thread=True, exclusive=True, group="watch", exit_on_error=False)
    def watch_corpus(self) -> None:
        """Watch the corpus folder (watchfiles: the thread sleeps until the system reports a
        change); each batch of changes becomes a `CorpusChanged` for the UI thread."""
        from qa.build.watch import corpus_changes

        first = True
        for changes in corpus_changes(self.settings.corpus_folder(), stop=self.watch_stop):
            self.post_message(CorpusChanged(changes, first))
            first = False

    @work(thread=True, exclusive=True, group="rebuild", exit_on_error=False)
    def rebuild(self, full: bool = False, source: str = "user") -> None:
        """Incremental build of the corpus into the index, then reload what the chat reads."""
        settings = self.settings
        if settings.server:
            raise QAError(f"This chat asks the server at {settings.server}: rebuild the index "
                          "where it runs (`qa index`); the server picks it up within a second.")

        def progress(stage: str, done: int, total: int) -> None:
            self.post_message(RebuildProgress(stage, done, total))

        report = settings.build_index(
            settings.corpus_folder(), settings.index, full=full, progress=progress, embedder=settings.embedder
        )
        retriever = self.retriever
        if retriever is None:
            retriever = settings.open_retriever(settings.index, settings.embedder)
            self.post_message(IndexOpened(retriever, settings.make_assistant(retriever)))
        else:
            retriever.reload_if_changed()
        self.post_message(RebuildFinished(report, source))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures become notifications."""
        if event.state != WorkerState.ERROR:
            return
        worker, error = event.worker, event.worker.error
        message = user_message(error) if error is not None else "Something went wrong."
        if worker.group in ("history", "history-save"):
            message += " Questions are still answered, but not kept."
        title = {"watch": "Not watching the corpus", "history": "Conversation history",
                 "history-save": "Not saved to the history"}.get(worker.group or "", "Error")
        self.app.notify(message, title=title, severity="error", markup=False, timeout=8)
        if worker.group == "ask":
            self.question_failed(message)
        elif worker.group == "rebuild":
            self.rebuild_ended()
            if self.welcome is not None:
                self.welcome.build_failed(message)
        elif worker.group == "index":
            self.set_status(mode="index could not be opened")
        elif worker.group == "watch":
            self.set_status(notice="not watching the corpus folder")

    # Worker results --------------------------------------------------------------------

    def on_index_opened(self, message: IndexOpened) -> None:
        self.retriever, self.assistant = message.retriever, message.assistant
        self.index_ready.set()
        self.show_index_stats()
        if self.retriever.stats.articles == 0:
            self.show_welcome("The index holds no articles yet.")
            return
        self.close_welcome()
        if not self.model_settled:
            self.warm_up(self.retriever)
        self.catch_up()

    def on_corpus_changed(self, message: CorpusChanged) -> None:
        if message.first:
            self.watching = True
            if not message.changes:
                self.catch_up()
                return
        self.caught_up = True  # this rebuild also takes in what changed while the chat was closed
        self.start_rebuild(source="watch")

    def catch_up(self) -> None:
        """Once the watcher listens and the index is open: take in what changed in the corpus
        while the chat was closed (an unchanged folder costs a second and shows nothing)."""
        if self.watching and self.retriever is not None and not self.caught_up:
            self.caught_up = True
            self.start_rebuild(source="watch")

    def on_history_opened(self, message: HistoryOpened) -> None:
        self.saved = message.history
        question_input = self.query_one(HistoryInput)
        # Lines typed before the history opened come after the saved ones.
        question_input.history[:0] = message.questions

    def on_conversations_listed(self, message: ConversationsListed) -> None:
        def chosen(conversation_id: int | None) -> None:
            if conversation_id is not None:
                self.load_conversation(conversation_id)
            else:
                self.action_focus_input()

        self.app.push_screen(HistoryScreen(message.conversations), chosen)

    def on_conversation_loaded(self, message: ConversationLoaded) -> None:
        """Show a past conversation as it was; new questions follow on from it."""
        from qa.tui.screens.history import local_time

        self.action_clear(note=False)
        messages = self.query_one(MessageList)
        last: AnswerMessage | None = None
        for turn in message.turns:
            messages.mount(QuestionMessage(turn.answer.question))
            last = AnswerMessage(turn.answer, f"{turn.answer.mode} · saved {local_time(turn.asked)}")
            messages.mount(last)
            self.history.append(turn.answer)
        with self.history_lock:
            self.conversation_id = message.conversation.id
        self.conversation_started = message.conversation.started
        n = len(message.turns)
        self.note(Text(f"Loaded the conversation of {local_time(message.conversation.started)} "
                       f"({n} question{'s' if n != 1 else ''}); new questions follow on from it.",
                       style="dim"))
        if last is not None:
            self.select_answer(last)
        self.action_focus_input()

    def on_index_reloaded(self, message: IndexReloaded) -> None:
        self.show_index_stats()
        self.note("The index was rebuilt elsewhere; answers now come from the new one.", classes="note")

    def on_index_needs_build(self, message: IndexNeedsBuild) -> None:
        self.set_status(articles=None, mode="no index")
        self.show_welcome(message.reason)

    def on_model_ready(self, message: ModelReady) -> None:
        self.model_settled = True
        retriever = message.retriever
        if retriever.dense_ready:
            self.set_status(mode="hybrid", fallback_reason=None)
        else:
            self.set_status(mode="BM25", fallback_reason=retriever.fallback_reason)

    def on_answer_ready(self, message: AnswerReady) -> None:
        if message.seq != self.question_seq or self.pending is None:
            return  # a newer question took over
        answer_widget = AnswerMessage(message.answer, message.mode_label)
        messages = self.query_one(MessageList)
        messages.mount(answer_widget, before=self.pending)
        self.pending.remove()
        self.pending = None
        messages.call_after_refresh(messages.scroll_end, animate=False)
        self.history.append(message.answer)
        self.save_turn(message.answer)
        self.select_answer(answer_widget)
        self.set_status(busy="")
        if message.mode_label != MODEL_LOADING:
            self.set_status(mode=message.answer.mode if message.answer.mode == "hybrid" else "BM25",
                            fallback_reason=message.answer.fallback_reason)

    def question_failed(self, message: str) -> None:
        """A worker error while answering: say so, and give the question back to edit."""
        if self.pending is not None:
            self.pending.update(literal(f"Could not answer: {message}", "italic"))
            self.pending.add_class("-error")
            self.pending = None
        question_input = self.query_one(HistoryInput)
        if not question_input.value:
            question_input.value = self.pending_question
            question_input.cursor_position = len(self.pending_question)
        question_input.focus()
        self.set_status(busy="")

    def on_rebuild_progress(self, message: RebuildProgress) -> None:
        now = time.monotonic()
        if now - self._last_progress < 0.05 and message.done not in (0, message.total):
            return  # at most ~20 repaints a second, whatever the build reports
        self._last_progress = now
        bar = self.query_one("#rebuild-progress", ProgressBar)
        bar.update(total=message.total or None, progress=message.done)
        from qa.build.builder import describe_stage

        verb = "Updating" if self.rebuild_source == "watch" else "Rebuilding"
        if message.stage == "model" or (message.stage == "embed" and message.total >= 50):
            self.query_one("#rebuild-bar").display = True  # a long stage: shown for any rebuild
        label = describe_stage(message.stage, message.done, message.total)
        self.query_one("#rebuild-label", Static).update(Text(f"{verb}: {label}…", style="italic"))
        if self.welcome is not None:
            self.welcome.show_progress(message.stage, message.done, message.total)

    def on_rebuild_finished(self, message: RebuildFinished) -> None:
        self.rebuild_ended()
        report = message.report
        if message.source == "watch" and self.welcome is None:
            # Watching is quiet: the status line says what changed, nothing when nothing did.
            if not report.up_to_date:
                from qa.build.watch import describe_update

                self.set_status(notice=describe_update(report, short=True))
            if self.retriever is not None:
                self.show_index_stats()
            return
        if report.up_to_date:
            summary = f"Index already up to date: {report.articles} articles, {report.chunks} chunks."
        else:
            summary = (
                f"Rebuilt in {report.seconds:.1f}s: {len(report.added)} added, {len(report.changed)} changed, "
                f"{len(report.removed)} removed; {report.articles} articles, {report.chunks} chunks."
            )
        if report.skipped:
            summary += f" Skipped {len(report.skipped)} file(s): " + "; ".join(f"{s.path} ({s.reason})" for s in report.skipped[:3])
        self.note(literal(summary, "dim"))
        self.app.notify(summary, title="Index", markup=False)
        if self.retriever is not None:
            self.show_index_stats()
            if self.retriever.stats.articles > 0:
                self.close_welcome()
                if not self.model_settled:
                    self.warm_up(self.retriever)
            elif self.welcome is not None:
                self.welcome.build_failed(f"No articles found in {self.settings.corpus_folder()}.")

    def rebuild_ended(self) -> None:
        self.rebuilding = False
        self.query_one("#rebuild-bar").display = False
        self.set_status(busy="")
        if self.rebuild_again:  # files changed while it ran: once more, after this one's results
            self.rebuild_again = False
            self.call_later(self.start_rebuild, source="watch")

    # Showing things --------------------------------------------------------------------

    def show_index_stats(self) -> None:
        retriever = self.retriever
        if retriever is None:
            return
        stats = retriever.stats
        if not self.model_settled:
            mode, reason = (MODEL_LOADING, None) if stats.dense else ("BM25", retriever.fallback_reason or "index has no dense part")
        else:
            mode, reason = self.status_bar.status.mode, self.status_bar.status.fallback_reason
        self.set_status(articles=stats.articles, chunks=stats.chunks, model=stats.model, store=stats.store, mode=mode, fallback_reason=reason)

    def show_welcome(self, reason: str | None) -> None:
        if self.welcome is None:
            self.welcome = WelcomeScreen(self.settings.corpus_folder(), self.settings.index, reason, on_build=self.start_rebuild)
            self.app.push_screen(self.welcome)

    def close_welcome(self) -> None:
        if self.welcome is not None:
            welcome, self.welcome = self.welcome, None
            if welcome.is_current:
                self.app.pop_screen()

    def select_answer(self, widget: AnswerMessage) -> None:
        """Show `widget`'s sources in the panel and mark it as the selected answer."""
        if self.selected is not None and self.selected is not widget:
            self.selected.remove_class("-selected")
        self.selected = widget
        widget.add_class("-selected")
        self.query_one(SourcesPanel).show(widget.answer.citations)

    @on(AnswerMessage.Selected)
    def _answer_focused(self, event: AnswerMessage.Selected) -> None:
        self.select_answer(event.message)

    @on(SourcesPanel.Open)
    def open_citation(self, event: SourcesPanel.Open) -> None:
        self.open_reader(event.citation)

    def open_reader(self, citation: Citation) -> None:
        """Push the reader for the citation's article, scrolled to the cited passage. After a
        rebuild changed the article, the cited text is looked for where it now stands."""
        if self.retriever is None:
            return
        try:
            article = self.retriever.article(citation.article_id)
        except (QAError, KeyError) as error:
            self.app.notify(f"Cannot open the article: {error}", severity="error", markup=False)
            return
        located = locate_citation(citation, article.text)
        if located is None:
            self.app.notify("This article has changed since the answer; the cited passage is "
                            f"no longer in it: “{citation.text}”", severity="warning",
                            markup=False, timeout=10)
        elif located != citation:
            self.app.notify("This article has changed since the answer; the cited passage is "
                            "highlighted where it now stands.", markup=False)
        # Escape from the reader comes back to the input, ready for the next question.
        self.app.push_screen(ReaderScreen(article, located), lambda _: self.action_focus_input())

    # Input and commands ----------------------------------------------------------------

    @on(HistoryInput.Submitted, "#question")
    def _submitted(self, event: HistoryInput.Submitted) -> None:
        line = event.value.strip()
        if not line:
            return
        question_input = self.query_one(HistoryInput)
        try:
            command = parse_command(line)
        except CommandError as error:
            self.app.notify(str(error), severity="warning", markup=False)
            return
        question_input.remember(line)
        question_input.value = ""
        if command is None:
            self.ask(line)
        else:
            self.run_command(command)

    def ask(self, question: str) -> None:
        """Show the question, and answer it in a worker (superseding any unanswered one)."""
        messages = self.query_one(MessageList)
        if self.pending is not None:
            self.pending.update(Text("Superseded by the next question.", style="dim italic"))
            self.pending.add_class("-cancelled")
        self.question_seq += 1
        self.pending_question = question
        if self.conversation_started is None:
            from datetime import datetime, timezone

            self.conversation_started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        messages.add(QuestionMessage(question))
        waiting = "Searching…"
        if self.retriever is None:
            waiting = "Searching as soon as the index is open…"
        elif not self.retriever.dense_ready and not self.model_settled:
            waiting = "Searching with BM25 while the model loads…"
        self.pending = PendingMessage(waiting)
        messages.add(self.pending)
        self.set_status(busy="answering…")
        self.answer_question(self.question_seq, question, tuple(self.history), self.since, self.until)

    def run_command(self, command: Command) -> None:
        try:
            if command.name == "help":
                self.app.push_screen(HelpScreen())
            elif command.name == "rebuild":
                self.action_rebuild()
            elif command.name == "clear":
                self.action_clear()
            elif command.name in ("since", "until"):
                latest = self.retriever.latest_date if self.retriever is not None else None
                self.since, self.until = date_filter_after(
                    command, since=self.since, until=self.until, latest=latest)
                self.date_filter_changed()
            elif command.name == "quotes":
                self.show_quotes(command.argument)
            elif command.name == "history":
                self.action_past_conversations()
            elif command.name == "export":
                self.export_conversation(command.argument)
        except CommandError as error:
            self.app.notify(str(error), severity="warning", markup=False)

    def run_command_line(self, *lines: str) -> None:
        """Run slash command lines as if typed (for the command palette)."""
        for line in lines:
            command = parse_command(line)
            if command is not None:
                self.run_command(command)

    def date_filter_changed(self) -> None:
        self.set_status(since=self.since, until=self.until)
        self.note(Text(f"Date filter: {date_filter_label(self.since, self.until)}.", style="dim"))

    def show_quotes(self, name: str) -> None:
        """List the index's attributed quotes by `name` as a cited answer."""
        if not name:
            raise CommandError("Whose quotes? Write /quotes NAME.")
        if self.retriever is None:
            self.app.notify("The index is not open yet.", severity="warning")
            return
        quotes = self.retriever.quotes(name)
        self.query_one(MessageList).add(QuestionMessage(f"/quotes {name}"))
        if not quotes:
            self.note(literal(f"No attributed quotes found for {name}.", "italic"))
            return
        citations: list[Citation] = []
        lines: list[str] = []
        for n, quote in enumerate(quotes[:MAX_QUOTES], start=1):
            article = self.retriever.article(quote.article_id)
            s_start, s_end = quote.sentence
            c_start, c_end = s_start, s_end
            for chunk in self.retriever.chunks_of(quote.article_id):
                if chunk.start <= s_start and s_end <= chunk.end:
                    c_start, c_end = chunk.start, chunk.end
                    break
            sentence = article.text[s_start:s_end]
            citations.append(
                Citation(n=n, article_id=article.id, title=article.title, date=article.date, source=article.source,
                         url=article.url, text=sentence, start=s_start, end=s_end, score=0.0,
                         chunk_text=article.text[c_start:c_end], chunk_start=c_start, chunk_end=c_end,
                         speaker=quote.speaker)
            )
            lines.append(f"{sentence} [{n}]")
        more = len(quotes) - len(citations)
        answer = Answer(question=f"/quotes {name}", resolved_question=f"/quotes {name}", text="\n".join(lines),
                        citations=tuple(citations), abstained=False, mode="quotes",
                        notes=((f"and {more} more",) if more > 0 else ()))
        widget = AnswerMessage(answer, f"quotes by {name}")
        self.query_one(MessageList).add(widget)
        self.select_answer(widget)

    # Actions (keys, palette, commands) -------------------------------------------------

    def start_rebuild(self, full: bool = False, source: str = "user") -> None:
        """Run an incremental rebuild in a worker, with the progress bar shown.

        `source` "watch" (the corpus changed): a rebuild already running is followed by one
        more, and the result shows in the status line only."""
        if self.rebuilding:
            if source == "watch":
                self.rebuild_again = True
            else:
                self.app.notify("A rebuild is already running.", severity="warning")
            return
        self.rebuilding = True
        self.rebuild_source = source
        verb = "Updating" if source == "watch" else "Rebuilding"
        # An update after a change is usually a fraction of a second: its bar shows only for a
        # long stage (on_rebuild_progress), the status line says "updating index…" meanwhile.
        self.query_one("#rebuild-bar").display = source != "watch"
        self.query_one("#rebuild-label", Static).update(Text(f"{verb}: starting…", style="italic"))
        self.query_one("#rebuild-progress", ProgressBar).update(total=None, progress=0)
        self.set_status(busy="updating index…" if source == "watch" else "rebuilding…")
        self.rebuild(full, source)

    def action_rebuild(self) -> None:
        if not self.settings.server:  # a server's index is not rebuilt here (the worker says so)
            self.note(Text.assemble(("Rebuilding the index from ", "dim"), one_line(str(self.settings.corpus_folder()), "dim bold"), ("…", "dim")))
        self.start_rebuild()

    def action_clear(self, note: bool = True) -> None:
        """Start afresh: the next question begins a new saved conversation."""
        self.query_one(MessageList).clear()
        self.history.clear()
        self.pending = None
        self.question_seq += 1  # drop any answer still on its way
        self.selected = None
        with self.history_lock:
            self.conversation_id = None
        self.conversation_started = None
        self.query_one(SourcesPanel).show((), empty=NO_SELECTION)
        if note:
            self.note(Text("Conversation cleared.", style="dim"))

    def action_past_conversations(self) -> None:
        """Pick a saved conversation to load (/history)."""
        if self.saved is None:
            self.app.notify("The conversation history is not open.", severity="warning")
            return
        self.list_conversations()

    def export_conversation(self, file: str = "") -> None:
        """Write the answers on screen as Markdown (/export [FILE]) into FILE, by default
        `qa-YYYY-MM-DD-HHMM.md` in the folder the chat was started from."""
        from datetime import datetime, timezone

        from qa.export import conversation_markdown

        answers = [widget.answer for widget in self.query_one(MessageList).answers()]
        if not answers:
            self.app.notify("Nothing to export yet: ask a question first.", severity="warning")
            return
        now = datetime.now()
        path = Path(file).expanduser() if file else Path(f"qa-{now:%Y-%m-%d-%H%M}.md")
        where = self.settings.server or str(self.settings.index.resolve())
        started = self.conversation_started or now.astimezone(timezone.utc).isoformat(timespec="seconds")
        try:
            path.write_text(conversation_markdown(answers, index=where, started=started), encoding="utf-8")
        except OSError as error:
            self.app.notify(f"Could not write {path}: {error.strerror or error}", severity="error", markup=False)
            return
        n = len(answers)
        self.app.notify(f"Saved {n} answer{'s' if n != 1 else ''} as Markdown to {path.resolve()}",
                        title="Export", markup=False, timeout=8)

    def action_copy_source(self) -> None:
        """Copy the highlighted source (its sentence and reference) to the clipboard."""
        from qa.export import citation_text

        citation = self.query_one(SourcesPanel).current
        if citation is None:
            self.app.notify("No source to copy: select an answer first.", severity="warning")
            return
        self.app.copy_to_clipboard(citation_text(citation))
        self.app.notify(f"Copied source [{citation.n}] with its reference.", markup=False)

    def action_open_source_url(self) -> None:
        """Open the highlighted source's URL in a browser (or say why not)."""
        citation = self.query_one(SourcesPanel).current
        if citation is None:
            self.app.notify("No source to open: select an answer first.", severity="warning")
            return
        if not citation.url:
            self.app.notify(f"Source [{citation.n}] has no URL. Enter on it opens the article here.",
                            severity="warning", markup=False)
            return
        self.open_in_browser(citation.url)

    @work(thread=True, group="browser", exit_on_error=False)
    def open_in_browser(self, url: str) -> None:
        """Start the browser in a thread (it can take a second); say when there is none."""
        reason = self.settings.open_url(url)
        if reason is None:
            self.app.call_from_thread(self.app.notify, f"Opened {url}", markup=False)
        else:
            self.app.call_from_thread(self.app.copy_to_clipboard, url)
            self.app.call_from_thread(
                self.app.notify, f"Could not open a browser ({reason}). The URL is copied: {url}",
                severity="warning", markup=False, timeout=10)

    def action_source(self, step: int) -> None:
        """Highlight the next or previous source of the selected answer."""
        self.query_one(SourcesPanel).move(step)

    def action_focus_pane(self, step: int) -> None:
        """Tab and Shift+Tab: input → sources → conversation, and round."""
        question_input, sources = self.query_one(HistoryInput), self.query_one(SourcesPanel)
        answers = self.query_one(MessageList).answers()
        conversation = self.selected if self.selected in answers else (answers[-1] if answers else None)
        stops = [w for w in (question_input, sources, conversation) if w is not None]
        focused = self.focused
        here = next((i for i, w in enumerate(stops) if w is focused), None)
        if here is None and focused in answers:
            here = len(stops) - 1
        target = stops[((here if here is not None else -1) + step) % len(stops)]
        target.focus()
        if target is conversation:
            self.query_one(MessageList).scroll_to_widget(target, animate=False)

    def action_focus_input(self) -> None:
        self.query_one(HistoryInput).focus()

    def prefill(self, text: str) -> None:
        """Put `text` in the input and focus it (the palette's way into commands with arguments)."""
        question_input = self.query_one(HistoryInput)
        question_input.value = text
        question_input.cursor_position = len(text)
        question_input.focus()
