"""Pilot tests of the chat's source keys, focus order, layout, export and kept conversations."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from qa.history import History
from qa.tui.app import QAApp, make_app
from qa.tui.screens.history import HistoryScreen
from qa.tui.screens.reader import ReaderScreen
from qa.tui.session import ChatSettings
from qa.tui.widgets.history_input import HistoryInput
from qa.tui.widgets.message_list import AnswerMessage, MessageList
from qa.tui.widgets.sources_panel import SourcesPanel
from qa.tui.widgets.status_bar import StatusBar
from qa.types import Answer, Citation

from .screen import on_screen, screen_lines

SIZE = (120, 34)
TWO_ARTICLES = "What did China say about Ukraine?"  # TwoSourceAssistant answers from two articles

LIGHTHOUSE = """---
title: Lighthouse of Quillport reopens
date: 2022-04-01
source: Harbour Gazette
url: https://news.example/quillport-lighthouse
---

The Quillport lighthouse reopened on Friday after a two-year restoration, the harbour master said.

Tourists queued along the pier to climb its 212 steps.
"""


class TwoSourceAssistant:
    """Answers every question with two sentences from each of two articles of the index, cited
    by their offsets: these tests are about the chat, whatever the answerer would choose."""

    def __init__(self, retriever) -> None:
        self.retriever = retriever

    def ask(self, question: str, history=(), *, dates=None, mode="auto") -> Answer:
        hits: list = []
        for hit in self.retriever.search("China Russia Ukraine", k=10, mode="bm25"):
            if all(h.article_id != hit.article_id for h in hits) and len(hit.sentences) >= 2:
                hits.append(hit)
        citations, parts = [], []
        for hit in hits[:2]:
            article = self.retriever.article(hit.article_id)
            parts.append(f"(as of {article.date})")
            for start, end in hit.sentences[:2]:
                n = len(citations) + 1
                citations.append(Citation(
                    n=n, article_id=article.id, title=article.title, date=article.date,
                    source=article.source, url=article.url, text=article.text[start:end],
                    start=start, end=end, score=0.9, chunk_text=hit.text, chunk_start=hit.start,
                    chunk_end=hit.end))
                parts.append(f"{' '.join(article.text[start:end].split())} [{n}]")
        return Answer(question=question, resolved_question=question, text=" ".join(parts),
                      citations=tuple(citations), abstained=False, mode="bm25", confidence=0.9,
                      generation="test")


def two_source_app(index: Path, corpus: Path, embedder) -> QAApp:
    return QAApp(ChatSettings(index=index, corpus=corpus, embedder=embedder,
                              make_assistant=TwoSourceAssistant))


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def ask(pilot: Pilot, line: str) -> None:
    field = pilot.app.query_one(HistoryInput)
    field.focus()
    field.value = line
    await pilot.press("enter")
    await settle(pilot)


def answers(app: QAApp) -> list[AnswerMessage]:
    return list(app.chat.query(AnswerMessage))


def notified(app: QAApp, text: str) -> bool:
    return any(text in n.message for n in app._notifications)


@pytest.fixture
def url_index(corpus_dir: Path, make_index, tmp_path: Path) -> Path:
    """The seed corpus plus an article that has a URL."""
    (corpus_dir / "2022-04-01-lighthouse.md").write_text(LIGHTHOUSE, encoding="utf-8")
    return make_index(corpus_dir, tmp_path / "url-index")


# --- sources one key away -----------------------------------------------------------------

async def test_tab_goes_input_sources_conversation(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = two_source_app(built_index, corpus_dir, embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Who is Zhao Lijian?")
        await ask(pilot, TWO_ARTICLES)
        question_input, panel = app.query_one(HistoryInput), app.query_one(SourcesPanel)
        newest = answers(app)[-1]
        assert app.focused is question_input
        await pilot.press("tab")
        assert app.focused is panel
        await pilot.press("tab")
        assert app.focused is newest  # the selected answer
        await pilot.press("up")  # inside the conversation, Up/Down move between answers
        assert app.focused is answers(app)[0]
        await pilot.press("tab")
        assert app.focused is question_input
        await pilot.press("shift+tab")
        assert app.focused is answers(app)[0]
        await pilot.press("shift+tab")
        assert app.focused is panel


async def test_next_previous_and_copy_a_source(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = two_source_app(built_index, corpus_dir, embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, TWO_ARTICLES)
        citations = answers(app)[-1].answer.citations
        first, second = citations[:2]
        panel = app.query_one(SourcesPanel)
        assert panel.current == first
        # From the input (still focused): keys that do not type.
        await pilot.press("ctrl+down")
        assert panel.current == second and app.focused is app.query_one(HistoryInput)
        await pilot.press("ctrl+y")
        copied = app.clipboard
        assert " ".join(second.text.split())[:60] in copied
        assert f"[2] {second.title} — " in copied and second.date in copied
        await pilot.press(*["ctrl+down"] * len(citations))  # stops at the last
        assert panel.current == citations[-1]
        await pilot.press(*["ctrl+up"] * len(citations))
        assert panel.current == first
        # In the sources panel, single letters.
        panel.focus()
        await pilot.press("n")
        assert panel.current == second
        await pilot.press("p", "c")
        assert f"[1] {first.title}" in app.clipboard
        assert notified(app, "Copied source [1]")


async def test_open_the_source_url_or_say_there_is_none(url_index: Path, corpus_dir: Path, embedder) -> None:
    opened: list[str] = []
    settings = ChatSettings(index=url_index, corpus=corpus_dir, embedder=embedder,
                            open_url=lambda url: opened.append(url))
    app = QAApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "When did the Quillport lighthouse reopen?")
        panel = app.query_one(SourcesPanel)
        index = next(i for i, c in enumerate(panel.citations) if c.url)
        panel.highlighted = index
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert opened == ["https://news.example/quillport-lighthouse"]
        # A source without a URL: said so, nothing opened.
        await ask(pilot, "Who is Zhao Lijian?")
        assert app.query_one(SourcesPanel).current.url is None
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert opened == ["https://news.example/quillport-lighthouse"]
        assert notified(app, "has no URL")


async def test_no_browser_is_said_and_the_url_copied(url_index: Path, corpus_dir: Path, embedder) -> None:
    settings = ChatSettings(index=url_index, corpus=corpus_dir, embedder=embedder,
                            open_url=lambda url: "no web browser is set up here")
    app = QAApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "When did the Quillport lighthouse reopen?")
        panel = app.query_one(SourcesPanel)
        panel.highlighted = next(i for i, c in enumerate(panel.citations) if c.url)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert app.clipboard == "https://news.example/quillport-lighthouse"
        assert notified(app, "Could not open a browser")


async def test_escape_from_the_reader_returns_to_the_input(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Who is Zhao Lijian?")
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.chat and app.focused is app.query_one(HistoryInput)


async def test_keys_are_shown_in_the_footer_and_help(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        footer = screen_lines(app)[-1]
        for shown in ("Copy source", "Open URL", "Next source", "Quit", "Help"):
            assert shown in footer, footer
        await pilot.resize_terminal(120, 60)
        await pilot.press("f1")
        await pilot.pause()
        for key in ("Ctrl+Y", "Ctrl+O", "Ctrl+Down / Ctrl+Up", "/history", "/export [FILE]"):
            assert on_screen(app, key), key


# --- export -------------------------------------------------------------------------------

async def test_export_writes_the_conversation_as_markdown(built_index: Path, corpus_dir: Path, embedder, tmp_path: Path) -> None:
    app = two_source_app(built_index, corpus_dir, embedder)
    out = tmp_path / "report.md"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "/export " + str(out))
        assert not out.exists() and notified(app, "Nothing to export yet")
        await ask(pilot, "Who is Zhao Lijian?")
        await ask(pilot, TWO_ARTICLES)
        await ask(pilot, "/export " + str(out))
        assert notified(app, "Saved 2 answers")
        last = answers(app)[-1].answer
    text = out.read_text(encoding="utf-8")
    assert "## 1. Who is Zhao Lijian?" in text and f"## 2. {TWO_ARTICLES}" in text
    first, second = last.citations[:2]
    # One paragraph per source article, then the numbered sources with their quoted spans.
    assert "[2]\n\n(as of" in text.split("## 2.")[1]
    assert f"**[2]** **{second.title}** — {second.date}" in text  # no outlet: left out
    assert f"> {' '.join(first.text.split())[:50]}" in text.replace("\\", "")


async def test_export_without_a_name_writes_in_the_current_folder(built_index: Path, corpus_dir: Path, embedder, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Who is Zhao Lijian?")
        await ask(pilot, "/export")
    [written] = list(tmp_path.glob("qa-*.md"))
    assert "## 1. Who is Zhao Lijian?" in written.read_text(encoding="utf-8")


# --- conversations kept -------------------------------------------------------------------

async def test_every_turn_is_saved_and_up_recalls_it_after_a_restart(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Who is Zhao Lijian?")
        await ask(pilot, "What did he say about Ukraine?")
    [conversation] = History.open().conversations()
    turns = History.open().turns(conversation.id)
    assert [t.answer.question for t in turns] == ["Who is Zhao Lijian?", "What did he say about Ukraine?"]
    assert all(t.answer.generation and t.index_path == str(built_index.resolve()) for t in turns)

    again = make_app(built_index, corpus_dir, embedder=embedder)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        field = again.query_one(HistoryInput)
        await pilot.press("up")
        assert field.value == "What did he say about Ukraine?"
        await pilot.press("up")
        assert field.value == "Who is Zhao Lijian?"
        await pilot.press("down", "down")
        assert field.value == ""
        # A new session is a new conversation.
        await ask(pilot, "Who is Katrina Yu?")
    assert len(History.open().conversations()) == 2


async def test_load_a_past_conversation_and_follow_up_on_it(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Who is Zhao Lijian?")
        await ask(pilot, "/clear")
        await ask(pilot, "Who is Katrina Yu?")
    first = History.open().conversations()[1]

    again = make_app(built_index, corpus_dir, embedder=embedder)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "/history")
        assert isinstance(again.screen, HistoryScreen)
        assert on_screen(again, "Who is Katrina Yu?") and on_screen(again, "Who is Zhao Lijian?")
        await pilot.press("down", "enter")  # the older one
        await settle(pilot)
        assert again.screen is again.chat
        assert again.focused is again.query_one(HistoryInput)
        [loaded] = answers(again)
        assert loaded.answer.question == "Who is Zhao Lijian?"
        assert on_screen(again, "Loaded the conversation")
        # Its sources are shown, and a follow-up reads "he" from it.
        assert again.query_one(SourcesPanel).citations == loaded.answer.citations
        await ask(pilot, "What did he say about Ukraine?")
        assert "Zhao Lijian" in answers(again)[-1].answer.resolved_question
    turns = History.open().turns(first.id)
    assert [t.answer.question for t in turns] == ["Who is Zhao Lijian?", "What did he say about Ukraine?"]


async def test_a_history_that_cannot_open_leaves_the_chat_working(built_index: Path, corpus_dir: Path, embedder, tmp_path: Path) -> None:
    broken = tmp_path / "history.db"
    broken.write_text("not a database\n" * 50, encoding="utf-8")
    settings = ChatSettings(index=built_index, corpus=corpus_dir, embedder=embedder, history_path=broken)
    app = QAApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert notified(app, "not kept")
        await ask(pilot, "Who is Zhao Lijian?")
        assert answers(app)
    assert broken.read_text(encoding="utf-8") == "not a database\n" * 50


# --- layout -------------------------------------------------------------------------------

async def test_status_line_never_wraps_at_80_columns(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = make_app(built_index, corpus_dir, embedder=embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.chat.set_status(notice="index updated: +1 article", since="2022-01-01", until="2022-03-31",
                            fallback_reason="the model could not be loaded (no space left on device)")
        await pilot.pause()
        bar = app.query_one(StatusBar)
        assert bar.region.height == 1
        line = screen_lines(app)[0]
        assert "index updated: +1 article" in line and "2022-01-01 → 2022-03-31" in line
        assert "5 articles" in line
        # Wide: everything, the model included.
        await pilot.resize_terminal(220, 34)
        await pilot.pause()
        assert "model test-hash-64" in screen_lines(app)[0]


async def test_narrow_layout_keeps_the_conversation_and_reflows_sources(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = two_source_app(built_index, corpus_dir, embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, TWO_ARTICLES)
        panel = app.query_one(SourcesPanel)
        title = panel.citations[0].title
        assert panel.region.width < 60
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        messages = app.query_one(MessageList)
        # The conversation keeps the larger share (3:2), the sources at least 10 rows: a third
        # of 24 left them three lines of the passage.
        assert messages.region.height >= panel.region.height >= 10
        assert panel.region.width == 80
        # The panel's entries are laid out again for the new width at once: the title that
        # wrapped in the narrow column is on one line now.
        assert on_screen(app, f"[1] {title}", within=panel)
        assert any(f"[1] {title}" in line for line in screen_lines(app))


async def test_an_answer_from_several_articles_has_a_paragraph_per_source(built_index: Path, corpus_dir: Path, embedder) -> None:
    app = two_source_app(built_index, corpus_dir, embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, TWO_ARTICLES)
        widget = answers(app)[-1]
        paragraphs = widget.content.plain.split("\n\n")
        assert paragraphs[0].startswith("(as of") and paragraphs[0].endswith("[2]")
        assert paragraphs[1].startswith("(as of") and paragraphs[1].split("\n")[0].endswith("[4]")


async def test_every_source_is_shown_whole_when_the_panel_scrolls(built_index: Path, corpus_dir: Path, embedder) -> None:
    """Entries that overflow the panel bring its scrollbar: each is still shown to its end,
    with the divider before the next (they were measured before the scrollbar narrowed them)."""
    app = two_source_app(built_index, corpus_dir, embedder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, TWO_ARTICLES)
        panel = app.query_one(SourcesPanel)
        assert panel.virtual_size.height > panel.scrollable_content_region.height  # it scrolls
        await pilot.press("ctrl+down")
        await pilot.pause()
        region = panel.region
        lines = [line[region.x + 1:region.right - 3].strip()
                 for line in screen_lines(app)[region.y + 1:region.bottom - 1]]
        second = next(i for i, line in enumerate(lines) if line.startswith("[2] "))
        assert second > 0 and set(lines[second - 1]) == {"─"}, lines
