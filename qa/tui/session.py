"""A chat's session: its state and its work, without a widget in sight.

`ChatSession` holds the open retriever and assistant, the date filter, the conversation (its
answers, where it is saved) and the state of rebuilds and of watching the corpus folder. Its
workers open the index, load the model, answer, rebuild, watch and keep the history; they run
in threads of the screen that hosts the session (so they end with it, and a failure reaches its
one handler) and only post messages (qa/tui/messages.py). Its state changes on the UI thread,
through the methods the screen's handlers call; they return what the screen should show.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from textual.message import Message
from textual.worker import Worker, get_current_worker

from qa.errors import (
    IndexChangedError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    QAError,
)
from qa.tui.commands import Command, date_filter_after
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
from qa.types import Answer, BuildReport, Citation, DateRange, SearchMode, Skipped

if TYPE_CHECKING:
    from qa.embed.embedder import Embedder
    from qa.history import Conversation, History
    from qa.search.remote import Transport
    from qa.search.searcher import Asker, Searcher

MODEL_LOADING = "BM25 (model loading)"
INDEX_WAIT_SECONDS = 120.0  # a question asked before the index is open waits this long for it
MAX_QUOTES = 20


def _open_retriever(index: Path, embedder: Embedder | None) -> Searcher:
    from qa import Retriever

    return Retriever.open(index, embedder=embedder)


def _make_assistant(retriever: Searcher) -> Asker:
    from qa.answer import Assistant
    from qa.search.retriever import Retriever

    assert isinstance(retriever, Retriever)  # a local index's (a server's: RemoteAssistant)
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


def _build_index(corpus: Path, index: Path, *, full: bool, progress: Callable[[str, int, int], None], embedder: Embedder | None) -> BuildReport:
    from qa import build_index

    return build_index(corpus=corpus, index=index, full=full, progress=progress, embedder=embedder)


@dataclass
class ChatSettings:
    """Where the index and corpus are, and the seams tests use to swap in a fake embedder."""

    index: Path
    corpus: Path | None = None  # None: the manifest's recorded corpus, else corpus/ beside the index
    embedder: Embedder | None = None
    open_retriever: Callable[[Path, Embedder | None], Searcher] = _open_retriever
    make_assistant: Callable[[Searcher], Asker] = _make_assistant
    build_index: Callable[..., BuildReport] = _build_index
    server: str | None = None  # the URL of a `qa serve` that answers instead (`--server`)
    watch: bool = False  # re-index as the corpus folder changes (`qa chat`: the `watch` setting)
    open_url: Callable[[str], str | None] = _open_in_browser  # None: opened; else the reason
    history_path: Path | None = None  # the conversation history (None: qa.config.history_path())

    @classmethod
    def for_server(cls, url: str, *, transport: Transport | None = None) -> ChatSettings:
        """Ask the `qa serve` at `url` (`qa chat --server URL`) instead of opening an index;
        its index is rebuilt where it runs. `transport`: how requests travel (tests)."""
        from qa.search.remote import RemoteAssistant, RemoteRetriever

        def open_remote(_index: Path, _embedder: Embedder | None) -> Searcher:
            return RemoteRetriever.open(url, transport=transport)

        def remote_assistant(retriever: Searcher) -> Asker:
            assert isinstance(retriever, RemoteRetriever)
            return RemoteAssistant(retriever)

        return cls(index=Path(url), server=url, open_retriever=open_remote,
                   make_assistant=remote_assistant)

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


class SessionHost(Protocol):
    """What a session needs of its screen: to receive its messages and run its workers."""

    def post_message(self, message: Message) -> bool: ...

    def run_worker(self, work: Callable[[], None], name: str | None = "", group: str = "default",
                   description: str = "", exit_on_error: bool = True, start: bool = True,
                   exclusive: bool = False, thread: bool = False) -> Worker[None]: ...


class ChatSession:
    """The state and work of one chat (see the module's docstring)."""

    def __init__(self, settings: ChatSettings, host: SessionHost) -> None:
        self.settings = settings
        self.host = host
        self.retriever: Searcher | None = None
        self.assistant: Asker | None = None
        self.index_ready = threading.Event()
        self.model_settled = False  # warm-up finished (loaded, or failed with a reason)
        self.since: str | None = None
        self.until: str | None = None
        self.history: list[Answer] = []  # the answers so far: the context of a follow-up
        self.question_seq = 0
        self.rebuilding = False
        self.rebuild_source = "user"
        self.rebuild_again = False  # the corpus changed during a rebuild: one more after it
        self.watch_stop = threading.Event()
        self.watching = False  # the watcher is listening
        self.caught_up = False  # the rebuild that follows changes made while the chat was closed
        self.skipped: tuple[Skipped, ...] | None = None  # what the last build skipped (None: none ran)
        self.saved: History | None = None  # once open
        self.history_lock = threading.Lock()  # turns are saved in order, to one conversation
        self.conversation_id: int | None = None  # where the next turn is saved (None: a new one)
        self.conversation_started: str | None = None

    @property
    def where(self) -> str:
        """The index the answers come from, as the history and an export record it."""
        return self.settings.server or str(self.settings.index.resolve())

    def _run(self, work: Callable[..., None], *args: object, group: str, exclusive: bool = True) -> None:
        """Run `work(*args)` in a thread worker of the host; exclusive: it cancels the group's
        running worker. A failure is not raised here: it reaches the host's handler."""
        self.host.run_worker(partial(work, *args), name=work.__name__, group=group,
                             exclusive=exclusive, exit_on_error=False, thread=True)

    def start(self) -> None:
        """Open the index and the history, and watch the corpus folder if the settings say so."""
        self._run(self._open_index, group="index")
        self._run(self._open_history, group="history")
        if self.settings.watch:
            self._run(self._watch_corpus, group="watch")

    def stop(self) -> None:
        self.watch_stop.set()

    # The index and the model ----------------------------------------------------------

    def _open_index(self) -> None:
        """Open the index (fast: no model), then hand it to the UI thread."""
        settings = self.settings
        try:
            retriever = settings.open_retriever(settings.index, settings.embedder)
        except IndexMissingError as error:
            self.host.post_message(IndexNeedsBuild(str(error), full=False))
            return
        except (IndexCorruptError, IndexMismatchError) as error:
            self.host.post_message(IndexNeedsBuild(str(error), full=True))
            return
        self.host.post_message(IndexOpened(retriever, settings.make_assistant(retriever)))

    def index_opened(self, retriever: Searcher, assistant: Asker) -> None:
        self.retriever, self.assistant = retriever, assistant
        self.index_ready.set()

    def warm_up(self) -> None:
        """Load the embedding model in a worker, unless that is done already."""
        if not self.model_settled and self.retriever is not None:
            self._run(self._warm_up, self.retriever, group="model")

    def _warm_up(self, retriever: Searcher) -> None:
        """Load the embedding model (seconds); `warm_up` never raises, it records a reason."""
        retriever.warm_up()
        self.host.post_message(ModelReady(retriever))

    def model_ready(self) -> None:
        self.model_settled = True

    # Questions --------------------------------------------------------------------------

    def ask(self, question: str) -> None:
        """Answer `question` in a worker, superseding any unanswered one (its answer is dropped)."""
        self.question_seq += 1
        if self.conversation_started is None:
            from datetime import datetime, timezone

            self.conversation_started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._run(self._answer_question, self.question_seq, question, tuple(self.history),
                  self.since, self.until, group="ask")

    def _answer_question(self, seq: int, question: str, history: tuple[Answer, ...], since: str | None, until: str | None) -> None:
        """Answer in a thread; a newer question cancels this one and its result is dropped."""
        if not self.index_ready.wait(INDEX_WAIT_SECONDS):
            raise QAError("The index is still not open; try again in a moment, or check `qa index`.")
        retriever, assistant = self.retriever, self.assistant
        if retriever is None or assistant is None:
            raise QAError("There is no index to search yet. Build one with /rebuild.")
        if retriever.reload_if_changed():  # rebuilt by `qa index` in another terminal
            self.host.post_message(IndexReloaded(retriever))
        model_loading = not retriever.dense_ready and not self.model_settled
        mode: SearchMode = "bm25" if model_loading else "auto"
        try:
            answer = assistant.ask(question, list(history), dates=DateRange(since, until),
                                   mode=mode)
        except IndexChangedError:  # rebuilt mid-question: once more, on the new generation
            retriever.reload_if_changed()
            answer = assistant.ask(question, list(history), dates=DateRange(since, until),
                                   mode=mode)
        if get_current_worker().is_cancelled:
            return
        if model_loading:
            label = MODEL_LOADING
        elif answer.mode == "hybrid":
            label = "hybrid"
        else:
            label = f"BM25 ({answer.fallback_reason})" if answer.fallback_reason else "BM25"
        self.host.post_message(AnswerReady(seq, answer, label))

    def is_current(self, seq: int) -> bool:
        """Is the answer numbered `seq` still wanted (no newer question, no /clear since)?"""
        return seq == self.question_seq

    def answered(self, answer: Answer) -> None:
        """Take `answer` into the conversation: the context of the next question, and saved."""
        self.history.append(answer)
        self._run(self._save_turn, answer, group="history-save", exclusive=False)

    def set_dates(self, command: Command) -> None:
        """Apply /since or /until (raises `CommandError` for a date or range that cannot be)."""
        reference = self.retriever.reference_day() if self.retriever is not None else None
        self.since, self.until = date_filter_after(command, since=self.since, until=self.until,
                                                   reference=reference)

    def quotes_answer(self, name: str) -> Answer | None:
        """The index's attributed quotes by `name` as a cited answer; None when there are none."""
        retriever = self.retriever
        assert retriever is not None, "the screen asks only once the index is open"
        quotes = retriever.quotes(name)
        if not quotes:
            return None
        citations: list[Citation] = []
        lines: list[str] = []
        for n, quote in enumerate(quotes[:MAX_QUOTES], start=1):
            article = retriever.article(quote.article_id)
            s_start, s_end = quote.sentence
            c_start, c_end = s_start, s_end
            for chunk in retriever.chunks_of(quote.article_id):
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
        return Answer(question=f"/quotes {name}", resolved_question=f"/quotes {name}", text="\n".join(lines),
                      citations=tuple(citations), abstained=False, mode="quotes",
                      notes=((f"and {more} more",) if more > 0 else ()))

    # The conversation and its history ---------------------------------------------------

    def _open_history(self) -> None:
        """Open the conversation history (creating it on first use) for ↑ and /history."""
        from qa.history import History

        history = History.open(self.settings.history_path)
        self.host.post_message(HistoryOpened(history, history.questions()))

    def history_opened(self, history: History) -> None:
        self.saved = history

    def _save_turn(self, answer: Answer) -> None:
        """Keep one answered question, in the conversation on screen."""
        history = self.saved
        if history is None:
            return
        with self.history_lock:
            turn = history.add_turn(self.conversation_id, answer, index_path=self.where)
            self.conversation_id = turn.conversation_id

    def list_conversations(self) -> None:
        """List the saved conversations in a worker (`ConversationsListed`)."""
        self._run(self._list_conversations, group="history")

    def _list_conversations(self) -> None:
        # This index's conversations only: a follow-up reads its answers as context.
        self.host.post_message(ConversationsListed(
            self.saved.conversations(limit=200, index_path=self.where) if self.saved else []))

    def load_conversation(self, conversation_id: int) -> None:
        """Read a saved conversation in a worker (`ConversationLoaded`)."""
        self._run(self._load_conversation, conversation_id, group="history")

    def _load_conversation(self, conversation_id: int) -> None:
        history = self.saved
        if history is None:
            return
        conversation = history.conversation(conversation_id)
        if conversation is not None:
            self.host.post_message(ConversationLoaded(conversation, history.turns(conversation_id)))

    def resume(self, conversation: Conversation, answers: list[Answer]) -> None:
        """Carry on a loaded conversation: its answers are the context, new turns join it."""
        self.history.extend(answers)
        with self.history_lock:
            self.conversation_id = conversation.id
        self.conversation_started = conversation.started

    def clear(self) -> None:
        """Start afresh: the next question begins a new saved conversation."""
        self.history.clear()
        self.question_seq += 1  # drop any answer still on its way
        with self.history_lock:
            self.conversation_id = None
        self.conversation_started = None

    def export_path(self, file: str = "") -> Path:
        """Where /export [FILE] writes: FILE, by default `qa-YYYY-MM-DD-HHMM.md` in the folder
        the chat was started from."""
        from datetime import datetime

        return Path(file).expanduser() if file else Path(f"qa-{datetime.now():%Y-%m-%d-%H%M}.md")

    def export(self, answers: list[Answer], path: Path) -> None:
        """Write `answers` as Markdown to `path` (raises `OSError` when it cannot)."""
        from datetime import datetime, timezone

        from qa.export import conversation_markdown

        started = self.conversation_started or datetime.now(timezone.utc).isoformat(timespec="seconds")
        path.write_text(conversation_markdown(answers, index=self.where, started=started), encoding="utf-8")

    # Rebuilding and watching -------------------------------------------------------------

    def start_rebuild(self, full: bool = False, source: str = "user") -> bool:
        """Rebuild incrementally in a worker; False when one is running already (then a change
        the watcher saw, `source` "watch", is taken in by one more rebuild after it)."""
        if self.rebuilding:
            if source == "watch":
                self.rebuild_again = True
            return False
        self.rebuilding = True
        self.rebuild_source = source
        self._run(self._rebuild, full, source, group="rebuild")
        return True

    def _rebuild(self, full: bool = False, source: str = "user") -> None:
        """Incremental build of the corpus into the index, then reload what the chat reads."""
        settings = self.settings
        if settings.server:
            raise QAError(f"This chat asks the server at {settings.server}: rebuild the index "
                          "where it runs (`qa index`); the server picks it up within a second.")

        def progress(stage: str, done: int, total: int) -> None:
            self.host.post_message(RebuildProgress(stage, done, total))

        report = settings.build_index(
            settings.corpus_folder(), settings.index, full=full, progress=progress, embedder=settings.embedder
        )
        retriever = self.retriever
        if retriever is None:
            retriever = settings.open_retriever(settings.index, settings.embedder)
            self.host.post_message(IndexOpened(retriever, settings.make_assistant(retriever)))
        else:
            retriever.reload_if_changed()
        self.host.post_message(RebuildFinished(report, source))

    def build_finished(self, report: BuildReport) -> tuple[Skipped, ...]:
        """Keep what `report` skipped (F2, /skipped); returns the files it skipped that the
        build before it did not (every one after the first build), as `qa watch` prints them."""
        from qa.build.watch import new_skips

        before = {s.path for s in self.skipped or ()}
        self.skipped = report.skipped
        return new_skips(report, before)

    def rebuild_ended(self) -> bool:
        """The rebuild finished or failed; True when the corpus changed meanwhile and one more
        should follow."""
        self.rebuilding = False
        again, self.rebuild_again = self.rebuild_again, False
        return again

    def _watch_corpus(self) -> None:
        """Watch the corpus folder (watchfiles: the thread sleeps until the system reports a
        change); each batch of changes becomes a `CorpusChanged` for the UI thread."""
        from qa.build.watch import corpus_changes

        first = True
        for changes in corpus_changes(self.settings.corpus_folder(), stop=self.watch_stop):
            self.host.post_message(CorpusChanged(changes, first))
            first = False

    def corpus_changed(self, changes: set[tuple[str, str]], first: bool) -> bool:
        """Should this report of the watcher start an update? (`first`: it began listening;
        an unchanged folder then still needs the catch-up, once the index is open.)"""
        if first:
            self.watching = True
            if not changes:
                return self.catch_up()
        self.caught_up = True  # this rebuild also takes in what changed while the chat was closed
        return True

    def catch_up(self) -> bool:
        """Should an update take in what changed in the corpus while the chat was closed? Once,
        when the watcher listens and the index is open (an unchanged folder costs a second and
        shows nothing)."""
        if self.watching and self.retriever is not None and not self.caught_up:
            self.caught_up = True
            return True
        return False
