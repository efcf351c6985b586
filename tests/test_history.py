"""Conversations kept (qa/history.py), `qa history`, `qa ask --continue`, and the Markdown
export (qa/export.py)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from qa import config
from qa.cli import main
from qa.errors import HistoryError
from qa.export import conversation_markdown, markdown_text, source_paragraphs
from qa.history import MIGRATIONS, History, migrate
from qa.types import Answer, Citation


def citation(n: int, article: str, text: str, **kw) -> Citation:
    fields = dict(n=n, article_id=article, title=f"Title of {article}", date="2022-03-01",
                  source="Harbour Gazette", url=f"https://news.example/{article}", text=text,
                  start=0, end=len(text), score=0.5, chunk_text=text, chunk_start=0,
                  chunk_end=len(text))
    fields.update(kw)
    return Citation(**fields)


def answer(question: str = "Who is Zhao Lijian?", **kw) -> Answer:
    cited = (citation(1, "a", "Zhao Lijian is a spokesman."),
             citation(2, "b", "He spoke on Monday.", date="2022-03-02", speaker="Zhao Lijian"))
    fields = dict(question=question, resolved_question=question,
                  text="Zhao Lijian is a spokesman. [1] He spoke on Monday. [2]",
                  citations=cited, abstained=False, mode="hybrid", confidence=0.91,
                  generation="gen-7", notes=("a note",))
    fields.update(kw)
    return Answer(**fields)


# --- the database ---------------------------------------------------------------------------

def test_the_default_file_is_under_xdg_data_home(data_home: Path) -> None:
    assert config.history_path() == data_home / "qa" / "history.db"
    History.open().add_turn(None, answer(), index_path="/ix")
    assert (data_home / "qa" / "history.db").is_file()


def test_a_turn_round_trips_with_its_generation_and_citations(tmp_path: Path) -> None:
    history = History.open(tmp_path / "h.db")
    saved = history.add_turn(None, answer(), index_path="/news/index")
    [turn] = history.turns(saved.conversation_id)
    assert turn.answer == answer()  # every field, citations and generation included
    assert turn.index_path == "/news/index" and turn.asked
    row = sqlite3.connect(tmp_path / "h.db").execute(
        "SELECT generation, question, abstained, confidence, citations FROM turns").fetchone()
    assert row[:4] == ("gen-7", "Who is Zhao Lijian?", 0, 0.91)
    assert json.loads(row[4])[1]["speaker"] == "Zhao Lijian"


def test_conversations_are_listed_newest_first(tmp_path: Path) -> None:
    history = History.open(tmp_path / "h.db")
    first = history.add_turn(None, answer("Q1"), index_path="/ix").conversation_id
    second = history.add_turn(None, answer("Q2"), index_path="/ix").conversation_id
    history.add_turn(first, answer("Q1 follow-up"), index_path="/ix")
    listed = history.conversations()
    assert [c.id for c in listed] == [first, second]  # the first was used last
    assert (listed[0].turns, listed[0].first_question) == (2, "Q1")
    assert history.last_conversation().id == first
    assert history.questions() == ["Q1", "Q2", "Q1 follow-up"]


def test_migrations_run_once_and_record_the_version(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    History.open(path).add_turn(None, answer(), index_path="/ix")
    History.open(path)  # a second open migrates nothing and keeps the turn
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 1


def test_a_later_migration_upgrades_an_older_file(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "h.db", isolation_level=None)
    assert migrate(db, MIGRATIONS[:1]) == 1  # a file of the first schema
    db.execute("INSERT INTO conversations (started, index_path) VALUES ('t', '/ix')")
    db.execute("""INSERT INTO turns (conversation_id, asked, index_path, question,
                  resolved_question, answer, abstained, mode, notes, citations)
                  VALUES (1, 't', '/ix', 'Q', 'Q', 'A', 0, 'hybrid', '[]', '[]')""")
    n = len(MIGRATIONS)
    assert migrate(db, MIGRATIONS) == n  # every later one, once
    assert db.execute("PRAGMA user_version").fetchone()[0] == n

    def m_next_add_a_column(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE conversations ADD COLUMN title TEXT")

    assert migrate(db, (*MIGRATIONS, m_next_add_a_column)) == n + 1
    assert db.execute("SELECT index_path, title FROM conversations").fetchall() == [("/ix", None)]
    assert db.execute("SELECT question, phrase, certainty, dates_from_question FROM turns"
                      ).fetchall() == [("Q", None, None, 0)]
    assert db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name = "
                      "'conversations_by_index'").fetchall() == [("conversations_by_index",)]


def test_a_failing_migration_leaves_the_last_good_version(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "h.db", isolation_level=None)
    migrate(db)

    def m002_broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError):
        migrate(db, (*MIGRATIONS, m002_broken))
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables


def test_a_newer_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    History.open(path)
    sqlite3.connect(path).execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    before = path.read_bytes()
    with pytest.raises(HistoryError, match="newer qa"):
        History.open(path)
    assert path.read_bytes() == before


def test_files_qa_did_not_make_are_left_alone(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE notes (text)")
    db.execute("INSERT INTO notes VALUES ('mine')")
    db.commit()
    db.close()
    before = other.read_bytes()
    with pytest.raises(HistoryError, match="did not create"):
        History.open(other)
    assert other.read_bytes() == before
    not_a_db = tmp_path / "text.db"
    not_a_db.write_text("just some notes\n" * 100, encoding="utf-8")
    with pytest.raises(HistoryError, match="Move it away"):
        History.open(not_a_db)
    assert not_a_db.read_text(encoding="utf-8") == "just some notes\n" * 100


# --- qa ask --continue and qa history -----------------------------------------------------

def test_ask_saves_and_continue_follows_up(seed_index: Path, capsys) -> None:
    assert main(["ask", "Who is Zhao Lijian?", "--index", str(seed_index), "--mode", "bm25"]) == 0
    assert main(["ask", "--continue", "What did he say about NATO?", "--index", str(seed_index),
                 "--mode", "bm25", "--json"]) == 0
    out = capsys.readouterr().out
    follow_up = json.loads(out[out.index("{"):])
    assert "Zhao Lijian" in follow_up["resolved_question"]  # "he" read from the saved turn
    history = History.open()
    [conversation] = history.conversations()
    turns = history.turns(conversation.id)
    assert [t.answer.question for t in turns] == ["Who is Zhao Lijian?",
                                                   "What did he say about NATO?"]
    assert all(t.answer.generation and t.index_path == str(seed_index.resolve()) for t in turns)
    # Without --continue, a new conversation.
    assert main(["ask", "Who is Katrina Yu?", "--index", str(seed_index), "--mode", "bm25"]) == 0
    assert len(History.open().conversations()) == 2


def test_continue_with_no_history_says_what_to_do(seed_index: Path, capsys) -> None:
    assert main(["ask", "--continue", "And then?", "--index", str(seed_index)]) == 2
    assert "no earlier conversation" in capsys.readouterr().err


def test_history_lists_shows_and_exports(seed_index: Path, tmp_path: Path, capsys) -> None:
    assert main(["history"]) == 0
    assert "No conversations yet" in capsys.readouterr().out
    for question in ("Who is Zhao Lijian?", "Who is Katrina Yu?"):
        assert main(["ask", question, "--index", str(seed_index), "--mode", "bm25"]) == 0
    capsys.readouterr()
    assert main(["history", "--index", str(seed_index)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "Who is Katrina Yu?" in lines[1] and "Who is Zhao Lijian?" in lines[2]
    assert main(["history", "--all", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["first_question"] for c in listed] == ["Who is Katrina Yu?", "Who is Zhao Lijian?"]
    assert main(["history", str(listed[1]["id"])]) == 0
    assert "Zhao Lijian" in capsys.readouterr().out
    out_file = tmp_path / "report.md"
    assert main(["history", "--export", str(listed[1]["id"]), "-o", str(out_file)]) == 0
    markdown = out_file.read_text(encoding="utf-8")
    assert "## 1. Who is Zhao Lijian?" in markdown and "**[1]**" in markdown
    assert main(["history", "--export", "--all"]) == 0  # the newest, to standard output
    assert "## 1. Who is Katrina Yu?" in capsys.readouterr().out
    assert main(["history", "--export", "999"]) == 2
    assert "no conversation 999. `qa history --all` lists them" in capsys.readouterr().err


def other_index(tmp_path: Path, make_index) -> Path:
    """A second index, of one article about something else."""
    corpus = tmp_path / "other-corpus"
    corpus.mkdir()
    (corpus / "pier.md").write_text(
        "---\ntitle: Pier reopens\ndate: 2020-05-01\n---\n\nMayor Ada Okafor said the pier "
        "would reopen in June after repairs.\n", encoding="utf-8")
    return make_index(corpus, tmp_path / "other-index")


def ask(*argv: str) -> int:
    return main(["ask", *argv, "--mode", "bm25"])


def test_continue_follows_this_index_never_another(seed_index: Path, tmp_path: Path,
                                                   make_index, capsys) -> None:
    """Issue 23: `--continue` on the seed index continued the newest conversation, which was
    about another index."""
    other = other_index(tmp_path, make_index)
    assert ask("Who is Zhao Lijian?", "--index", str(seed_index)) == 0
    assert ask("Who is Ada Okafor?", "--index", str(other)) == 0  # the newest of any index
    assert ask("--continue", "What did he say about NATO?", "--index", str(seed_index),
               "--json") == 0
    out = capsys.readouterr().out
    assert "Zhao Lijian" in json.loads(out[out.rindex('{\n  "question"'):])["resolved_question"]
    history = History.open()
    seed = history.conversations(index_path=str(seed_index.resolve()))
    assert [c.turns for c in seed] == [2]
    assert [c.turns for c in history.conversations(index_path=str(other.resolve()))] == [1]
    # An index with no conversation: an error naming the ways on, never another's.
    third = make_index(tmp_path / "other-corpus", tmp_path / "third-index")
    assert ask("--continue", "And then?", "--index", str(third)) == 2
    err = capsys.readouterr().err
    assert "no earlier conversation on the index" in err and "qa history --all" in err
    assert "--cid" in err


def test_cid_continues_the_conversation_named_on_its_index(seed_index: Path, tmp_path: Path,
                                                          make_index, capsys) -> None:
    other = other_index(tmp_path, make_index)
    assert ask("Who is Zhao Lijian?", "--index", str(seed_index)) == 0
    assert ask("Who is Katrina Yu?", "--index", str(seed_index)) == 0
    assert ask("Who is Ada Okafor?", "--index", str(other)) == 0
    history = History.open()
    zhao = next(c for c in history.conversations() if c.first_question == "Who is Zhao Lijian?")
    capsys.readouterr()
    # No --index: the conversation's own index is asked.
    assert ask("--cid", str(zhao.id), "What did he say about NATO?", "--json") == 0
    out = capsys.readouterr().out
    assert "Zhao Lijian" in json.loads(out[out.index("{"):])["resolved_question"]
    assert [t.answer.question for t in history.turns(zhao.id)] == [
        "Who is Zhao Lijian?", "What did he say about NATO?"]
    assert ask("--cid", "999", "And then?") == 2
    assert "no conversation 999. `qa history --all` lists them" in capsys.readouterr().err
    assert ask("--cid", str(zhao.id), "And then?", "--index", str(other)) == 2
    err = capsys.readouterr().err
    assert f"Conversation {zhao.id} is about the index {seed_index.resolve()}" in err
    with pytest.raises(SystemExit):  # one or the other
        main(["ask", "--cid", str(zhao.id), "--continue", "x"])
    assert "not allowed with argument --cid" in capsys.readouterr().err


def test_history_keeps_to_this_index_shows_index_and_turns_and_reads_oldest_first(
        seed_index: Path, tmp_path: Path, make_index, capsys) -> None:
    other = other_index(tmp_path, make_index)
    assert ask("Who is Zhao Lijian?", "--index", str(seed_index)) == 0
    assert ask("--continue", "What did he say about NATO?", "--index", str(seed_index)) == 0
    assert ask("Who is Ada Okafor?", "--index", str(other)) == 0
    capsys.readouterr()
    assert main(["history", "--index", str(seed_index)]) == 0
    listed = capsys.readouterr()
    rows = listed.out.splitlines()[1:]
    assert len(rows) == 1 and "Who is Zhao Lijian?" in rows[0]
    assert re.search(r"\b2\b", rows[0]) and "index" in rows[0]  # two turns, on index/
    assert "--all" in listed.err
    assert main(["history", "--all"]) == 0
    assert len(capsys.readouterr().out.splitlines()[1:]) == 2
    assert main(["history", "--all", "--json"]) == 0
    listed_json = json.loads(capsys.readouterr().out)
    assert {(c["index_path"], c["turns"]) for c in listed_json} == {
        (str(seed_index.resolve()), 2), (str(other.resolve()), 1)}
    zhao = next(c["id"] for c in listed_json if c["turns"] == 2)
    assert main(["history", str(zhao)]) == 0
    out = capsys.readouterr().out
    assert out.index("Who is Zhao Lijian?") < out.index("What did he say about NATO?")
    assert main(["history", str(zhao), "--json"]) == 0
    assert [t["answer"]["question"] for t in json.loads(capsys.readouterr().out)] == [
        "Who is Zhao Lijian?", "What did he say about NATO?"]


def test_the_date_range_of_a_turn_round_trips(tmp_path: Path) -> None:
    from qa.types import DateRange

    history = History.open(tmp_path / "h.db")
    dated = answer(date_range=DateRange("2022-02-01", "2022-02-28", from_question=True))
    turn = history.add_turn(None, dated, index_path="/ix")
    assert history.turns(turn.conversation_id)[0].answer.date_range == dated.date_range


# --- Markdown -----------------------------------------------------------------------------

def test_export_has_question_answer_and_numbered_sources() -> None:
    text = conversation_markdown([answer()], index="/news/index", started="2024-05-01T14:03:00+00:00")
    assert text.startswith("# Questions to qa\n\n2024-05-01 14:03:00 UTC · index /news/index · 1 question\n")
    assert "## 1. Who is Zhao Lijian?" in text
    # One paragraph per source article, markers kept.
    assert "Zhao Lijian is a spokesman. [1]\n\nHe spoke on Monday. [2]" in text
    # The cited sentence as the article has it: no quotation marks the article does not have.
    assert ("**[1]** **Title of a** — Harbour Gazette, 2022-03-01, <https://news.example/a>\n\n"
            "> Zhao Lijian is a spokesman.") in text
    assert "> Zhao Lijian: He spoke on Monday." in text and "“" not in text
    assert "*Note: a note*" in text


def test_untrusted_text_stays_text_in_markdown() -> None:
    hostile = citation(1, "x", "Click [here](javascript:alert(1)) or <script>x</script> *now*",
                       title="# [bold]Big[/] <b>title</b>", source="Evil_Outlet",
                       url="javascript:alert(1)")
    evil = answer(question="## <img src=x> [a](http://evil.example)",
                  text="Click [here](javascript:alert(1)) or <script>x</script> *now* [1]\n"
                       "# not a heading\n    not code https://evil.example &amp; [1]: http://x",
                  citations=(hostile,), notes=())
    text = conversation_markdown([evil])
    unescaped = re.compile(r"(?<!\\)[<\[*]")  # HTML, links and emphasis need these bare
    assert [m.group() for m in unescaped.finditer(text.split("Sources:")[0])
            if not text[m.start():].startswith("[1]")] == []
    assert "\\<script\\>" in text and "\\<b\\>title" in text
    assert "\n# not" not in text and "\n    not code" not in text
    assert "https\\://evil.example" in text and "\\&amp;" in text
    assert "<javascript" not in text and "javascript\\:" not in text  # shown, not linked
    # Still readable: the words are all there.
    assert "Click \\[here\\](javascript:alert(1))" in text
    assert markdown_text("AT&T said 3 * 4") == "AT&T said 3 \\* 4"


def test_source_paragraphs_split_where_the_article_changes() -> None:
    a = answer(text="(as of 2022-03-01) First. [1] Second. [2] Third. [3] Fourth [4] [5]",
               citations=(citation(1, "a", "First."), citation(2, "a", "Second."),
                          citation(3, "b", "Third."), citation(4, "c", "Fourth"),
                          citation(5, "c", "Fourth")))
    parts = [a.text[s:e] for s, e in source_paragraphs(a)]
    assert parts == ["(as of 2022-03-01) First. [1] Second. [2]", "Third. [3]", "Fourth [4] [5]"]
    plain = answer(text="The articles don't say.", citations=(), abstained=True)
    assert [plain.text[s:e] for s, e in source_paragraphs(plain)] == ["The articles don't say."]
    assert not re.search(r"\s$", parts[0])


def test_a_sentence_that_opens_a_quote_keeps_its_own_marks_and_no_outlet_is_left_out() -> None:
    quoted = citation(1, "a", "“We will reopen,” the master said.", source="")
    text = conversation_markdown([answer(text="“We will reopen,” the master said. [1]",
                                         citations=(quoted,))])
    assert "> “We will reopen,” the master said.\n" in text
    assert "**[1]** **Title of a** — 2022-03-01, <https://news.example/a>" in text


def test_the_answer_phrase_and_certainty_are_kept_and_exported_in_bold(tmp_path: Path) -> None:
    from qa.types import AnswerPhrase

    phrase = AnswerPhrase(text="a spokesman", start=15, end=26, article_id="a", n=1, label="NP")
    given = answer(answer=phrase, certainty="sure")
    history = History.open(tmp_path / "h.db")
    turn = history.add_turn(None, given, index_path="/ix")
    (read,) = history.turns(turn.conversation_id)
    assert read.answer.answer == phrase and read.answer.certainty == "sure"
    text = conversation_markdown([read.answer])
    assert "Zhao Lijian is **a spokesman**. [1]" in text


# --- a history that cannot be used, and what qa says (issue 22) ---------------------------
def connect_as(monkeypatch, setup) -> None:
    """Every connection History makes goes through `setup(connection)` first: how a
    read-only or full database is made here (the tests run as root, whom chmod and a full
    disk rarely stop)."""
    import qa.history

    real = sqlite3.connect

    def connect(path, *args, **kwargs):
        db = real(path, *args, **kwargs)
        setup(db, path)
        return db

    monkeypatch.setattr(qa.history.sqlite3, "connect", connect)


def readonly(db, path) -> None:
    db.execute("PRAGMA query_only = ON")


def full(db, path) -> None:
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")


@pytest.mark.parametrize("state, said, advice", [
    ("read-only", "read-only", "permission"),
    ("full", "full", "free"),
])
def test_a_history_that_cannot_be_written_says_why_and_what_to_do(tmp_path, monkeypatch, state,
                                                                    said, advice):
    path = tmp_path / "h.db"
    History.open(path).add_turn(None, answer(), index_path="/ix")
    connect_as(monkeypatch, readonly if state == "read-only" else full)
    with pytest.raises(HistoryError) as caught:
        History.open(path).add_turn(None, answer("x" * 20000), index_path="/ix")
    message = str(caught.value)
    assert said in message and advice in message.lower(), message
    assert "Move it away" not in message


def test_a_locked_history_says_another_program_holds_it(tmp_path, monkeypatch):
    import qa.history

    monkeypatch.setattr(qa.history, "BUSY_SECONDS", 0.2, raising=False)
    path = tmp_path / "h.db"
    History.open(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(HistoryError) as caught:
            History.open(path).add_turn(None, answer(), index_path="/ix")
    finally:
        other.execute("ROLLBACK")
        other.close()
    message = str(caught.value)
    assert "locked" in message and "again" in message and "Move it away" not in message


def test_a_damaged_row_is_a_clear_error(tmp_path, monkeypatch, capsys):
    """A turn whose citations are not JSON: 'unexpected error (JSONDecodeError)' before."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    history = History.open()
    saved = history.add_turn(None, answer(), index_path="/ix")
    db = sqlite3.connect(config.history_path())
    db.execute("UPDATE turns SET citations = '[{\"n\": 1' WHERE id = ?", (saved.id,))
    db.commit()
    db.close()
    assert main(["history", str(saved.conversation_id)]) == 2
    err = capsys.readouterr().err
    assert "unexpected" not in err and f"turn {saved.id}" in err and "qa history" in err, err


def test_a_huge_question_is_shortened_in_the_list(monkeypatch, capsys):
    History.open().add_turn(None, answer("Who is " + "very " * 200_000 + "tall?"),
                            index_path="/ix")
    assert main(["history", "--all"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) < 200, len(out)
    assert "Who is very" in out and "…" in out


def test_a_history_that_is_a_fifo_is_refused_not_waited_on(tmp_path):
    import os
    import signal

    path = tmp_path / "h.db"
    os.mkfifo(path)

    def hung(*_):
        raise AssertionError("History.open waited on a FIFO")

    signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        with pytest.raises(HistoryError, match="not a regular file"):
            History.open(path)
    finally:
        signal.alarm(0)
