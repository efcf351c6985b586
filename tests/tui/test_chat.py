"""Pilot tests of the chat: what a user types, and what then shows on the screen."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from qa.errors import QAError
from qa.tui.app import QAApp, make_app
from qa.tui.screens.reader import ReaderScreen
from qa.tui.screens.welcome import WelcomeScreen
from qa.tui.session import ChatSettings
from qa.tui.widgets.history_input import HistoryInput
from qa.tui.widgets.message_list import AnswerMessage, MessageList
from qa.tui.widgets.sources_panel import SourcesPanel

from .conftest import HOSTILE_ARTICLE
from .screen import on_screen, screen_text

SIZE = (120, 34)


async def settle(pilot: Pilot) -> None:
    """Let workers finish and their messages be handled."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def ask(pilot: Pilot, question: str) -> None:
    app = pilot.app
    app.query_one(HistoryInput).focus()
    app.query_one(HistoryInput).value = question
    await pilot.press("enter")
    await settle(pilot)


def answers(app: QAApp) -> list[AnswerMessage]:
    return list(app.chat.query(AnswerMessage))


async def test_question_shows_answer_and_sources(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert on_screen(app, "5 articles · 19 chunks")
        await pilot.press(*"Who is Zhao Lijian?")
        await pilot.press("enter")
        await settle(pilot)
        [answer] = answers(app)
        assert not answer.answer.abstained
        assert "Zhao Lijian" in answer.answer.text and "[1]" in answer.answer.text
        text = screen_text(app)
        assert "Who is Zhao Lijian?" in text
        # The answer's first cited sentence and its marker are in the conversation.
        messages = app.query_one(MessageList)
        first = answer.answer.citations[0]
        assert on_screen(app, " ".join(first.text.split()[:6]), within=messages)
        assert on_screen(app, "[1]", within=messages)
        # The sources panel lists the citation: marker, title, outlet and date.
        citation = answer.answer.citations[0]
        panel = app.query_one(SourcesPanel)
        assert on_screen(app, f"[1] {citation.title}", within=panel)
        meta = " · ".join(part for part in (citation.source, citation.date) if part)
        assert meta and on_screen(app, meta, within=panel)
        # The input is empty and still focused, ready for the next question.
        assert app.query_one(HistoryInput).value == ""
        assert app.focused is app.query_one(HistoryInput)


async def test_open_source_shows_article_with_highlighted_passage(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Who is Zhao Lijian?")
        citation = answers(app)[0].answer.citations[0]
        app.query_one(SourcesPanel).focus()
        await pilot.press("enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        assert reader.article.id == citation.article_id
        [cited] = list(reader.query(".-cited"))
        # The cited sentence is styled inside its paragraph, at its offsets.
        paragraph = cited.content
        highlighted = [paragraph.plain[s.start : s.end] for s in paragraph.spans if "reverse" in str(s.style)]
        assert citation.text in highlighted
        await pilot.pause()
        # ...and it is scrolled into view.
        assert cited.region.height > 0 and app.screen.find_widget(cited).region.y < SIZE[1]
        assert on_screen(app, citation.text[:40])
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.chat


async def test_rebuild_finds_a_new_article(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        (corpus_dir / "2022-04-01-lighthouse.md").write_text(
            "---\ntitle: Lighthouse of Quillport reopens\ndate: 2022-04-01\nsource: Harbour Gazette\n---\n\n"
            "The Quillport lighthouse reopened on Friday after a two-year restoration, the harbour master said.\n\n"
            "Tourists queued along the pier to climb its 212 steps.\n",
            encoding="utf-8",
        )
        await ask(pilot, "/rebuild")
        assert on_screen(app, "6 articles")
        assert on_screen(app, "1 added")
        await ask(pilot, "When did the Quillport lighthouse reopen?")
        answer = answers(app)[-1].answer
        assert any(c.title == "Lighthouse of Quillport reopens" for c in answer.citations)
        assert on_screen(app, "Lighthouse of Quillport reopens", within=app.query_one(SourcesPanel))


async def test_rebuild_keeps_the_chat_usable(built_index: Path, corpus_dir: Path, embedder) -> None:
    """While a build runs, the progress bar shows and questions are still answered."""
    release = threading.Event()
    started = threading.Event()

    def slow_build(corpus, index, *, full, progress, embedder):
        from qa import build_index

        progress("read", 0, 5)
        started.set()
        release.wait(10)
        return build_index(corpus=corpus, index=index, full=full, progress=progress, embedder=embedder)

    settings = ChatSettings(index=built_index, corpus=corpus_dir, embedder=embedder, build_index=slow_build)
    app = QAApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one(HistoryInput).value = "/rebuild"
        await pilot.press("enter")
        assert started.wait(5)
        await pilot.pause(0.1)
        assert app.query_one("#rebuild-bar").display
        assert on_screen(app, "Rebuilding: read")
        app.query_one(HistoryInput).value = "Who is Zhao Lijian?"
        await pilot.press("enter")
        for _ in range(100):  # up to 5 s; the build stays blocked all along
            await pilot.pause(0.05)
            if answers(app):
                break
        assert answers(app), "the question was answered while the rebuild ran"
        assert not release.is_set() and app.chat.session.rebuilding
        release.set()
        await settle(pilot)
        assert not app.query_one("#rebuild-bar").display


async def test_welcome_screen_on_missing_index_then_build(tmp_path: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(tmp_path / "no-index", corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert on_screen(app, "Welcome to qa")
        assert on_screen(app, str(corpus_dir))
        assert on_screen(app, "Build index")
        await pilot.press("b")
        await settle(pilot)
        assert app.screen is app.chat
        assert on_screen(app, "5 articles")


async def test_welcome_screen_on_empty_corpus(tmp_path: Path, embedder) -> None:
    empty = tmp_path / "corpus"
    empty.mkdir()
    app = make_app(tmp_path / "index", empty, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        await pilot.press("b")
        await settle(pilot)
        # Still on the welcome screen, and the build's complaint is shown; nothing crashed.
        assert isinstance(app.screen, WelcomeScreen)
        assert app.screen.query_one("#build").disabled is False


async def test_markup_and_escapes_in_articles_and_questions_stay_literal(tmp_path: Path, corpus_dir: Path, embedder) -> None:
    from qa import build_index

    (corpus_dir / "2022-03-01-hostile.md").write_text(HOSTILE_ARTICLE, encoding="utf-8")
    index = tmp_path / "index"
    build_index(corpus=corpus_dir, index=index, embedder=embedder)
    app = make_app(index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        question = "When will the lighthouse [bold]Meridian[/bold] reopen? [/] [link=x]y[/link] \x1b[31m"
        await ask(pilot, question)
        text = screen_text(app)
        assert "\x1b" not in text
        assert "[bold]Meridian[/bold]" in text  # in the question and in the cited sentence
        assert "[link=x]y[/link]" in text
        answer = answers(app)[-1].answer
        assert any("Injected" in c.title for c in answer.citations)
        assert "[bold red]Injected[/] title" in text
        assert "␛" in text  # the escape shows as a visible placeholder
        # Open the hostile article: its markup is shown as typed.
        panel = app.query_one(SourcesPanel)
        index_of = next(i for i, c in enumerate(panel.citations) if "Injected" in c.title)
        panel.focus()
        panel.highlighted = index_of * 2  # entries are separated by dividers
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        reader_text = screen_text(app)
        assert "[link=http://evil.example]click here[/link]" in " ".join(reader_text.split()) or on_screen(
            app, "[link=http://evil.example]click here[/link]"
        )
        assert "[reverse]markup[/reverse]" in reader_text


async def test_input_history_walks_with_up_and_down(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Who is Zhao Lijian?")
        await ask(pilot, "What did Biden and Xi discuss?")
        box = app.query_one(HistoryInput)
        await pilot.press(*"draft")
        await pilot.press("up")
        assert box.value == "What did Biden and Xi discuss?"
        await pilot.press("up")
        assert box.value == "Who is Zhao Lijian?"
        await pilot.press("down", "down")
        assert box.value == "draft"


async def test_date_filter_commands_show_in_status_and_apply(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "/since 2022-03")
        await ask(pilot, "/until 2022")
        assert on_screen(app, "dates 2022-03-01 → 2022-12-31")
        await ask(pilot, "What did China say about sovereignty?")
        answer = answers(app)[-1].answer
        assert all(c.date and c.date >= "2022-03-01" for c in answer.citations)
        await ask(pilot, "/since nonsense")
        assert any("/since 'nonsense' is not a date" in n.message for n in app._notifications)
        await ask(pilot, "/since off")
        assert on_screen(app, "dates until 2022-12-31")


async def test_quotes_command_lists_cited_quotes(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "/quotes Zhao Lijian")
        [answer] = answers(app)
        assert answer.answer.citations
        assert all(c.speaker for c in answer.answer.citations)
        assert on_screen(app, "quoting")


async def test_worker_error_becomes_notification_and_question_returns(built_index: Path, corpus_dir: Path, embedder) -> None:
    class BrokenAssistant:
        def __init__(self, retriever) -> None:
            pass

        def ask(self, question, history, **kwargs):
            raise QAError("The answer engine is out to lunch. Run `qa index` and retry.")

    settings = ChatSettings(index=built_index, corpus=corpus_dir, embedder=embedder, make_assistant=BrokenAssistant)
    app = QAApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Who is Zhao Lijian?")
        assert any("out to lunch" in n.message for n in app._notifications)
        assert app.query_one(HistoryInput).value == "Who is Zhao Lijian?"
        assert not answers(app)


async def test_new_question_supersedes_a_slow_one(built_index: Path, corpus_dir: Path, embedder) -> None:
    first_started = threading.Event()
    release = threading.Event()

    def make_assistant(retriever):
        from qa.answer import Assistant

        real = Assistant(retriever)

        class Slow:
            def ask(self, question, history, **kwargs):
                if question.startswith("slow"):
                    first_started.set()
                    release.wait(10)
                return real.ask(question.removeprefix("slow "), history, **kwargs)

        return Slow()

    settings = ChatSettings(index=built_index, corpus=corpus_dir, embedder=embedder, make_assistant=make_assistant)
    app = QAApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one(HistoryInput).value = "slow Who is Zhao Lijian?"
        await pilot.press("enter")
        assert first_started.wait(5)
        app.query_one(HistoryInput).value = "What did Biden and Xi discuss?"
        await pilot.press("enter")
        await pilot.pause(0.2)
        release.set()
        await settle(pilot)
        assert [a.answer.question for a in answers(app)] == ["What did Biden and Xi discuss?"]
        assert on_screen(app, "Superseded by the next question.")


async def test_help_screen_and_palette_commands(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert on_screen(app, "/quotes NAME") and on_screen(app, "Ctrl+Q")
        await pilot.press("escape")
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Help", "Rebuild index", "Clear conversation", "Since date…", "Until date…", "Quotes by…"):
            assert title in titles


@pytest.mark.integration
async def test_real_model_answers_hybrid_after_loading(real_seed_index: Path) -> None:
    """With the packaged model: first answers may be BM25 while it loads, then hybrid."""
    app = make_app(real_seed_index, real_seed_index.parent / "corpus")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await ask(pilot, "Who is Zhao Lijian?")  # settle() also waits for the model worker
        assert app.chat.session.model_settled
        await ask(pilot, "What did the Chinese diplomat say about sovereignty?")
        last = answers(app)[-1]
        assert last.mode_label == "hybrid"
        assert last.answer.citations
        assert on_screen(app, "search hybrid")
        assert on_screen(app, "model all-MiniLM-L6-v2")


def test_core_never_imports_textual() -> None:
    """The library stays headless: only qa.tui pulls in textual."""
    import subprocess
    import sys

    code = (
        "import sys, qa, qa.search.retriever, qa.build.builder, qa.answer, qa.cli\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(len(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


async def test_an_index_rebuilt_in_another_terminal_is_picked_up(built_index: Path, corpus_dir: Path, embedder) -> None:
    """`qa index` run elsewhere, twice (so the chat's generation is deleted): the next question
    answers from the new index and says so, instead of failing with "run qa index --full"."""
    from qa import build_index

    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Who is Katrina Yu?")
        (corpus_dir / "2022-04-01-lighthouse.md").write_text(
            "---\ntitle: Lighthouse of Quillport reopens\ndate: 2022-04-01\n---\n\n"
            "The Quillport lighthouse reopened on Friday after a two-year restoration.\n", encoding="utf-8")
        build_index(corpus_dir, built_index, embedder=embedder)
        build_index(corpus_dir, built_index, embedder=embedder, full=True)
        await ask(pilot, "When did the Quillport lighthouse reopen?")
        answer = answers(app)[-1].answer
        assert any(c.title == "Lighthouse of Quillport reopens" for c in answer.citations)
        assert on_screen(app, "rebuilt elsewhere")
        assert not on_screen(app, "--full")


# --- watching the corpus folder -------------------------------------------------------------
async def wait_until(pilot: Pilot, condition, timeout: float = 10.0) -> bool:
    """Pause until `condition()` holds (the watcher never finishes, so no waiting for workers)."""
    loop_until = time.monotonic() + timeout
    while time.monotonic() < loop_until:
        await pilot.pause(0.1)
        if condition():
            return True
    return False


async def test_the_chat_picks_up_a_new_file_on_its_own(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.chat.session.watching and not app.chat.session.rebuilding
                                and app.chat.session.caught_up and on_screen(app, "5 articles"))
        assert not on_screen(app, "index updated")  # catching up on an unchanged folder is quiet
        (corpus_dir / "2022-04-01-lighthouse.md").write_text(
            "---\ntitle: Lighthouse of Quillport reopens\ndate: 2022-04-01\n---\n\n"
            "The Quillport lighthouse reopened on Friday after a two-year restoration.\n", encoding="utf-8")
        assert await wait_until(pilot, lambda: on_screen(app, "index updated: +1 article")), screen_text(app)
        assert on_screen(app, "6 articles")
        app.query_one(HistoryInput).value = "When did the Quillport lighthouse reopen?"
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: bool(answers(app)))
        answer = answers(app)[-1].answer
        assert any(c.title == "Lighthouse of Quillport reopens" for c in answer.citations)
        (corpus_dir / "2022-04-01-lighthouse.md").unlink()
        assert await wait_until(pilot, lambda: on_screen(app, "index updated: 1 removed")), screen_text(app)
        assert on_screen(app, "5 articles")
        chat = app.chat
    assert chat.session.watch_stop.is_set()  # quitting stops the watcher thread


async def test_the_chat_catches_up_on_changes_made_while_it_was_closed(built_index: Path, corpus_dir: Path, embedder) -> None:
    (corpus_dir / "2022-04-01-lighthouse.md").write_text(
        "---\ntitle: Lighthouse of Quillport reopens\ndate: 2022-04-01\n---\n\nThe lighthouse reopened.\n",
        encoding="utf-8")
    app = make_app(built_index, corpus_dir, embedder=embedder, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: on_screen(app, "index updated: +1 article")), screen_text(app)
        assert on_screen(app, "6 articles")


FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


async def test_an_automatic_update_says_what_it_skipped_and_f2_lists_why(
        built_index: Path, corpus_dir: Path, embedder) -> None:
    """A PDF, a DOCX, a spreadsheet and a broken PDF dropped into the open chat's corpus: the
    update names the two it could not index (it used to say only "+2 articles")."""
    app = make_app(built_index, corpus_dir, embedder=embedder, watch=True)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_until(pilot, lambda: app.chat.session.caught_up
                                and not app.chat.session.rebuilding and on_screen(app, "5 articles"))
        assert not on_screen(app, "skipped")  # nothing skipped: nothing said
        for name in ("port.pdf", "lighthouse.docx"):
            (corpus_dir / name).write_bytes((FORMATS / name).read_bytes())
        (corpus_dir / "budget.xlsx").write_bytes(b"PK\x03\x04 a spreadsheet")
        (corpus_dir / "scan.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog\ncut short")
        assert await wait_until(pilot, lambda: on_screen(app, "2 skipped (F2)")), screen_text(app)
        assert on_screen(app, "index updated: +2 articles, 2 skipped (F2)")
        # the conversation's line may be drawn a frame after the status line
        assert await wait_until(pilot, lambda: on_screen(
            app, "Skipped 2 files: budget.xlsx (unsupported format .xlsx), scan.pdf "
                 "(PDF could not be read). F2 lists them all, and why.")), screen_text(app)
        await pilot.press("f2")
        assert await wait_until(pilot, lambda: on_screen(app, "The last update skipped 2 files:"))
        assert on_screen(app, "qa reads .txt")  # the whole reason, not its first clause
        # The next update names only what is newly skipped.
        (corpus_dir / "notes.xlsx").write_bytes(b"PK\x03\x04 another")
        assert await wait_until(pilot, lambda: on_screen(app, "index unchanged, 1 skipped (F2)")), \
            screen_text(app)
        assert await wait_until(pilot, lambda: on_screen(app, "Skipped 1 file: notes.xlsx")), \
            screen_text(app)
        app.query_one(HistoryInput).value = "/skipped"
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: on_screen(app, "The last update skipped 3 files:"))


async def test_watching_off_leaves_the_index_alone(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        (corpus_dir / "2022-04-01-lighthouse.md").write_text("---\ntitle: Late\n---\n\nLate news.\n", encoding="utf-8")
        assert not await wait_until(pilot, lambda: on_screen(app, "6 articles"), timeout=2.0)
        assert not app.chat.session.watching


async def test_a_watch_update_during_a_rebuild_runs_after_it(built_index: Path, corpus_dir: Path, embedder) -> None:
    """Changes seen while /rebuild runs are not lost: one more update follows it."""
    release = threading.Event()
    started = threading.Event()
    builds: list[str] = []

    def slow_build(corpus, index, *, full, progress, embedder):
        from qa import build_index

        builds.append("build")
        if len(builds) == 1:
            started.set()
            release.wait(10)
        return build_index(corpus=corpus, index=index, full=full, progress=progress, embedder=embedder)

    settings = ChatSettings(index=built_index, corpus=corpus_dir, embedder=embedder, build_index=slow_build)
    app = QAApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one(HistoryInput).value = "/rebuild"
        await pilot.press("enter")
        assert started.wait(5)
        (corpus_dir / "2022-04-01-lighthouse.md").write_text("---\ntitle: Late\n---\n\nLate news.\n", encoding="utf-8")
        from qa.tui.messages import CorpusChanged

        app.chat.post_message(CorpusChanged({("added", str(corpus_dir / "2022-04-01-lighthouse.md"))}, first=False))
        await pilot.pause(0.2)
        assert app.chat.session.rebuild_again and len(builds) == 1
        release.set()
        assert await wait_until(pilot, lambda: on_screen(app, "6 articles") and not app.chat.session.rebuilding)
        assert len(builds) == 2


async def test_since_until_read_every_date_form_and_refuse_an_empty_range(
        built_index: Path, corpus_dir: Path, embedder, monkeypatch) -> None:
    monkeypatch.setenv("QA_RELATIVE_DATES", "newest-article")  # "last week" of the seeds
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "/since March 2022")
        assert on_screen(app, "dates from 2022-03-01")
        await ask(pilot, "/since last week")  # the newest article is dated 2022-03-18
        assert on_screen(app, "dates from 2022-03-12")
        await ask(pilot, "/until February 2022")
        assert any("/since 2022-03-12 is after /until 'February 2022' (2022-02-28)" in n.message
                   for n in app._notifications)
        assert on_screen(app, "dates from 2022-03-12")  # the filter is unchanged
        await ask(pilot, "/since off")
        await ask(pilot, "/until 2022-02")
        assert on_screen(app, "dates until 2022-02-28")


async def test_the_theme_setting_applies_and_an_unknown_one_is_named(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder, theme="nord")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "nord"
    app = make_app(built_index, corpus_dir, embedder=embedder, theme="no-such-theme")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert any("No theme called 'no-such-theme'" in n.message for n in app._notifications)


async def test_the_welcome_build_names_its_stages(tmp_path: Path, corpus_dir: Path, embedder) -> None:
    release = threading.Event()

    def paused_build(corpus, index, *, full, progress, embedder):
        from qa import build_index

        def held(stage, done, total):
            progress(stage, done, total)
            if stage == "embed" and done == 0:
                release.wait(10)

        return build_index(corpus=corpus, index=index, full=full, progress=held, embedder=embedder)

    settings = ChatSettings(index=tmp_path / "no-index", corpus=corpus_dir, embedder=embedder, build_index=paused_build)
    app = QAApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("b")
        assert await wait_until(pilot, lambda: on_screen(app, "Building: embedding 19 chunks…"))
        release.set()
        await settle(pilot)
        assert app.screen is app.chat and on_screen(app, "5 articles")


def test_status_line_names_a_store_other_than_the_folder() -> None:
    from qa.tui.widgets.status_bar import Status, render_status

    base = Status(articles=5, chunks=19, mode="hybrid", model="all-MiniLM-L6-v2")
    assert "store" not in render_status(base).plain  # the index folder: nothing to say
    line = render_status(base.with_(store="milvus")).plain
    assert "store milvus" in line and line.index("store") < line.index("model")
    assert "store" not in render_status(base.with_(store="milvus"), width=40).plain  # dropped with the model


@pytest.mark.parametrize("size", [(80, 24), (120, 34)])
async def test_sources_have_room_and_notifications_never_cover_the_input(
        built_index: Path, corpus_dir: Path, embedder, size) -> None:
    """At 80x24 the sources panel showed three lines of the passage, and a notification lay
    over the input."""
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=size, notifications=True) as pilot:
        await settle(pilot)
        await ask(pilot, "Who is Zhao Lijian?")
        sources = app.query_one(SourcesPanel)
        assert sources.region.height >= 10  # title, date and 6 lines of the passage, framed
        assert app.query_one(MessageList).region.height >= 10
        app.notify("A long notification: " + "it goes on and on " * 12, title="Index", timeout=30)
        app.notify("A second one, stacked above the first.", timeout=30)
        assert await wait_until(pilot, lambda: len(app.screen.query("Toast")) == 2)
        await pilot.pause()
        typed = app.query_one(HistoryInput).region
        toasts = list(app.screen.query("Toast"))
        for toast in toasts:
            assert not toast.region.overlaps(typed), (toast.region, typed)
