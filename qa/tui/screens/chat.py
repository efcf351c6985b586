"""The chat screen: the conversation, the sources of the selected answer, status and input.

The screen lays these out, binds the keys and handles what happens: what the user types and
what the session's workers report (qa/tui/messages.py). The session (qa/tui/session.py)
holds the chat's state and does its work without touching a widget; the handlers here are
the only code that does.
"""

from __future__ import annotations

import time

from rich.console import RenderableType
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static
from textual.worker import Worker, WorkerState

from qa.citation import locate_citation
from qa.errors import QAError
from qa.tui.commands import Command, CommandError, parse_command
from qa.tui.literal import literal, one_line
from qa.tui.messages import (
    AnswerReady,
    ConversationLoaded,
    ConversationsListed,
    CorpusChanged,
    HistoryOpened,
    IndexNeedsBuild,
    IndexOpened,
    IndexReloaded,
    ModelReady,
    RebuildFinished,
    RebuildProgress,
)
from qa.tui.screens.help import HelpScreen
from qa.tui.screens.history import HistoryScreen
from qa.tui.screens.reader import ReaderScreen
from qa.tui.screens.welcome import WelcomeScreen
from qa.tui.session import MODEL_LOADING, ChatSession, ChatSettings
from qa.tui.widgets.build_report import rebuild_summary, skipped_list, update_notice
from qa.tui.widgets.history_input import HistoryInput
from qa.tui.widgets.message_list import (
    AnswerMessage,
    MessageList,
    NoteMessage,
    PendingMessage,
    QuestionMessage,
)
from qa.tui.widgets.sources_panel import SourcesPanel
from qa.tui.widgets.status_bar import StatusBar, date_filter_label
from qa.types import Citation

NO_SELECTION = "Sources of the selected answer show here; Enter on one opens the article."


def user_message(error: BaseException) -> str:
    """What to tell the user about a worker's failure."""
    if isinstance(error, QAError):
        return str(error)
    return f"Unexpected {type(error).__name__}: {error}"


class ChatScreen(Screen[None]):
    """Questions and answers on the left, sources on the right, input and status below."""

    BINDINGS = [
        Binding("ctrl+y", "copy_source", "Copy source"),
        Binding("ctrl+o", "open_source_url", "Open URL"),
        Binding("ctrl+down", "source(1)", "Next source"),
        Binding("ctrl+up", "source(-1)", "Previous source", show=False),  # in the help
        Binding("ctrl+r", "rebuild", "Rebuild"),
        Binding("ctrl+l", "clear", "Clear", show=False),  # in the help; /clear
        Binding("f2", "show_skipped", "Skipped files", show=False),  # in the help; /skipped
        Binding("escape", "focus_input", "Input", show=False),
        # Three stops: the input, the sources, the conversation (Up/Down move inside it).
        Binding("tab", "focus_pane(1)", "Next pane", show=False),
        Binding("shift+tab", "focus_pane(-1)", "Previous pane", show=False),
    ]

    def __init__(self, settings: ChatSettings) -> None:
        super().__init__()
        self.session = ChatSession(settings, host=self)
        self.pending: PendingMessage | None = None
        self.pending_question = ""
        self.welcome: WelcomeScreen | None = None
        self.selected: AnswerMessage | None = None
        self._last_progress = 0.0

    @property
    def settings(self) -> ChatSettings:
        """Where the index and corpus are (the session's)."""
        return self.session.settings

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
        self.session.start()

    def on_unmount(self) -> None:
        self.session.stop()

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one(StatusBar)

    def set_status(self, **changes: object) -> None:
        self.status_bar.show(self.status_bar.status.with_(**changes))

    def note(self, text: RenderableType, classes: str = "") -> None:
        self.query_one(MessageList).add(NoteMessage(text, classes=classes))

    # Worker results --------------------------------------------------------------------

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

    def on_index_opened(self, message: IndexOpened) -> None:
        session = self.session
        session.index_opened(message.retriever, message.assistant)
        self.show_index_stats()
        if message.retriever.stats.articles == 0:
            self.show_welcome("The index holds no articles yet.")
            return
        self.close_welcome()
        session.warm_up()
        if session.catch_up():
            self.start_rebuild(source="watch")

    def on_corpus_changed(self, message: CorpusChanged) -> None:
        if self.session.corpus_changed(message.changes, message.first):
            self.start_rebuild(source="watch")

    def on_history_opened(self, message: HistoryOpened) -> None:
        self.session.history_opened(message.history)
        question_input = self.query_one(HistoryInput)
        # Lines typed before the history opened come after the saved ones.
        question_input.history[:0] = message.questions

    def on_conversations_listed(self, message: ConversationsListed) -> None:
        def chosen(conversation_id: int | None) -> None:
            if conversation_id is not None:
                self.session.load_conversation(conversation_id)
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
        self.session.resume(message.conversation, [turn.answer for turn in message.turns])
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
        self.session.model_ready()
        retriever = message.retriever
        if retriever.dense_ready:
            self.set_status(mode="hybrid", fallback_reason=None)
        else:
            self.set_status(mode="BM25", fallback_reason=retriever.fallback_reason)

    def on_answer_ready(self, message: AnswerReady) -> None:
        if not self.session.is_current(message.seq) or self.pending is None:
            return  # a newer question took over
        answer_widget = AnswerMessage(message.answer, message.mode_label)
        messages = self.query_one(MessageList)
        messages.mount(answer_widget, before=self.pending)
        self.pending.remove()
        self.pending = None
        messages.call_after_refresh(messages.scroll_end, animate=False)
        self.session.answered(message.answer)
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

        verb = "Updating" if self.session.rebuild_source == "watch" else "Rebuilding"
        if message.stage == "model" or (message.stage == "embed" and message.total >= 50):
            self.query_one("#rebuild-bar").display = True  # a long stage: shown for any rebuild
        label = describe_stage(message.stage, message.done, message.total)
        self.query_one("#rebuild-label", Static).update(Text(f"{verb}: {label}…", style="italic"))
        if self.welcome is not None:
            self.welcome.show_progress(message.stage, message.done, message.total)

    def on_rebuild_finished(self, message: RebuildFinished) -> None:
        self.rebuild_ended()
        report = message.report
        retriever = self.session.retriever
        new_skips = self.session.build_finished(report)
        if message.source == "watch" and self.welcome is None:
            # Watching is quiet: the status line says what changed (nothing when nothing did),
            # and files it could not index get one line here, as `qa watch` prints them.
            notice, line = update_notice(report, new_skips)
            if line is not None:
                self.note(line, classes="note")
            if notice:
                self.set_status(notice=notice)
            if retriever is not None:
                self.show_index_stats()
            return
        note, toast = rebuild_summary(report)
        self.note(note)
        self.app.notify(toast, title="Index", markup=False)
        if retriever is not None:
            self.show_index_stats()
            if retriever.stats.articles > 0:
                self.close_welcome()
                self.session.warm_up()
            elif self.welcome is not None:
                self.welcome.build_failed(f"No articles found in {self.settings.corpus_folder()}.")

    def rebuild_ended(self) -> None:
        again = self.session.rebuild_ended()
        self.query_one("#rebuild-bar").display = False
        self.set_status(busy="")
        if again:  # files changed while it ran: once more, after this one's results
            self.call_later(self.start_rebuild, source="watch")

    # Showing things --------------------------------------------------------------------

    def show_index_stats(self) -> None:
        retriever = self.session.retriever
        if retriever is None:
            return
        stats = retriever.stats
        if not self.session.model_settled:
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
        retriever = self.session.retriever
        if retriever is None:
            return
        try:
            article = retriever.article(citation.article_id)
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
        self.pending_question = question
        messages.add(QuestionMessage(question))
        retriever = self.session.retriever
        waiting = "Searching…"
        if retriever is None:
            waiting = "Searching as soon as the index is open…"
        elif not retriever.dense_ready and not self.session.model_settled:
            waiting = "Searching with BM25 while the model loads…"
        self.pending = PendingMessage(waiting)
        messages.add(self.pending)
        self.set_status(busy="answering…")
        self.session.ask(question)

    def run_command(self, command: Command) -> None:
        try:
            if command.name == "help":
                self.app.push_screen(HelpScreen())
            elif command.name == "rebuild":
                self.action_rebuild()
            elif command.name == "clear":
                self.action_clear()
            elif command.name in ("since", "until"):
                self.session.set_dates(command)
                self.date_filter_changed()
            elif command.name == "quotes":
                self.show_quotes(command.argument)
            elif command.name == "history":
                self.action_past_conversations()
            elif command.name == "export":
                self.export_conversation(command.argument)
            elif command.name == "skipped":
                self.action_show_skipped()
        except CommandError as error:
            self.app.notify(str(error), severity="warning", markup=False)

    def run_command_line(self, *lines: str) -> None:
        """Run slash command lines as if typed (for the command palette)."""
        for line in lines:
            command = parse_command(line)
            if command is not None:
                self.run_command(command)

    def date_filter_changed(self) -> None:
        since, until = self.session.since, self.session.until
        self.set_status(since=since, until=until)
        self.note(Text(f"Date filter: {date_filter_label(since, until)}.", style="dim"))

    def show_quotes(self, name: str) -> None:
        """List the index's attributed quotes by `name` as a cited answer."""
        if not name:
            raise CommandError("Whose quotes? Write /quotes NAME.")
        if self.session.retriever is None:
            self.app.notify("The index is not open yet.", severity="warning")
            return
        answer = self.session.quotes_answer(name)
        self.query_one(MessageList).add(QuestionMessage(f"/quotes {name}"))
        if answer is None:
            self.note(literal(f"No attributed quotes found for {name}.", "italic"))
            return
        widget = AnswerMessage(answer, f"quotes by {name}")
        self.query_one(MessageList).add(widget)
        self.select_answer(widget)

    # Actions (keys, palette, commands) -------------------------------------------------

    def start_rebuild(self, full: bool = False, source: str = "user") -> None:
        """Run an incremental rebuild in a worker, with the progress bar shown.

        `source` "watch" (the corpus changed): a rebuild already running is followed by one
        more, and the result shows in the status line only."""
        if not self.session.start_rebuild(full, source):
            if source != "watch":
                self.app.notify("A rebuild is already running.", severity="warning")
            return
        verb = "Updating" if source == "watch" else "Rebuilding"
        # An update after a change is usually a fraction of a second: its bar shows only for a
        # long stage (on_rebuild_progress), the status line says "updating index…" meanwhile.
        self.query_one("#rebuild-bar").display = source != "watch"
        self.query_one("#rebuild-label", Static).update(Text(f"{verb}: starting…", style="italic"))
        self.query_one("#rebuild-progress", ProgressBar).update(total=None, progress=0)
        self.set_status(busy="updating index…" if source == "watch" else "rebuilding…")

    def action_rebuild(self) -> None:
        if not self.settings.server:  # a server's index is not rebuilt here (the worker says so)
            self.note(Text.assemble(("Rebuilding the index from ", "dim"), one_line(str(self.settings.corpus_folder()), "dim bold"), ("…", "dim")))
        self.start_rebuild()

    def action_clear(self, note: bool = True) -> None:
        """Start afresh: the next question begins a new saved conversation."""
        self.query_one(MessageList).clear()
        self.session.clear()
        self.pending = None
        self.selected = None
        self.query_one(SourcesPanel).show((), empty=NO_SELECTION)
        if note:
            self.note(Text("Conversation cleared.", style="dim"))

    def action_show_skipped(self) -> None:
        """List the files the last update or rebuild skipped, each with why (F2, /skipped)."""
        self.note(skipped_list(self.session.skipped))

    def action_past_conversations(self) -> None:
        """Pick a saved conversation to load (/history)."""
        if self.session.saved is None:
            self.app.notify("The conversation history is not open.", severity="warning")
            return
        self.session.list_conversations()

    def export_conversation(self, file: str = "") -> None:
        """Write the answers on screen as Markdown (/export [FILE]) into FILE, by default
        `qa-YYYY-MM-DD-HHMM.md` in the folder the chat was started from."""
        answers = [widget.answer for widget in self.query_one(MessageList).answers()]
        if not answers:
            self.app.notify("Nothing to export yet: ask a question first.", severity="warning")
            return
        path = self.session.export_path(file)
        try:
            self.session.export(answers, path)
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
