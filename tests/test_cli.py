"""The `qa` command as a user runs it: index, search, errors, untrusted text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.cli import main
from qa.types import DateRange

QA = str(Path(sys.executable).with_name("qa"))


def run(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([QA, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, cwd=cwd)


@pytest.mark.integration
def test_index_then_search_from_a_fresh_process(seed_corpus, tmp_path):
    """The issue's done-when: `qa index` then `qa search` on the seed corpus, offline."""
    env = {"HF_HUB_OFFLINE": "1", "QA_INDEX": str(tmp_path / "ix")}
    out = run("index", "--corpus", str(seed_corpus), env=env)
    assert out.returncode == 0, out.stderr
    assert "5 added" in out.stdout and "chunks" in out.stdout
    out = run("search", "How long was the video call between Xi and Putin?", "--k", "3", env=env)
    assert out.returncode == 0, out.stderr
    assert "90-minute video call" in out.stdout and "The Mutual Embrace of True Friendship" in out.stdout
    out = run("search", "Who is Katrina Yu?", "--json", env=env)
    payload = json.loads(out.stdout)
    assert payload["query"] == "Who is Katrina Yu?" and payload["mode"] == "hybrid"
    assert set(payload["hits"][0]) >= {"chunk_id", "article_id", "title", "date", "source", "text",
                                       "start", "end", "score", "via"}
    again = run("index", "--corpus", str(seed_corpus), env=env)
    assert "up to date" in again.stdout


def test_search_without_an_index_says_what_to_run(tmp_path, capsys):
    assert main(["search", "NATO", "--index", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "No index" in err and "qa index" in err and "Traceback" not in err


def test_empty_corpus(tmp_path, capsys):
    (tmp_path / "c").mkdir()
    assert main(["index", "--corpus", str(tmp_path / "c"), "--index", str(tmp_path / "ix")]) == 2
    assert "empty" in capsys.readouterr().err


def test_empty_query_is_reported(seed_index, capsys, monkeypatch):
    assert main(["search", "  ", "--index", str(seed_index), "--mode", "bm25"]) == 2
    assert "empty" in capsys.readouterr().err


def test_search_json_bm25_mode_and_markup_stays_literal(seed_corpus, make_index, capsys):
    (seed_corpus / "hostile.md").write_text(
        "---\ntitle: \"[bold red]Injected[/] \x1b[31mred\"\n---\n"
        "The lighthouse [bold]Meridian[/bold] reopens \x1b[2J in April [/].\n",
        encoding="utf-8",
    )
    index = make_index(seed_corpus)
    assert main(["search", "lighthouse Meridian", "--index", str(index), "--mode", "bm25"]) == 0
    out = capsys.readouterr().out
    assert "[bold]Meridian[/bold]" in out and "\x1b" not in out and "reopens [2J in April" in out
    assert main(["search", "lighthouse", "--index", str(index), "--mode", "bm25", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["mode"] == "bm25" and all(h["via"] == "bm25" for h in payload["hits"])
    assert "[bold]Meridian[/bold]" in payload["hits"][0]["text"]


def test_an_unexpected_model_failure_is_a_message_not_a_traceback(seed_corpus, seed_index, monkeypatch, capsys):
    from conftest import HashEmbedder

    import qa.build.builder
    from qa.index import read_manifest

    class Exploding(HashEmbedder):
        def encode(self, texts, **kw):
            raise RuntimeError("CPU kernel failure")

    before = read_manifest(seed_index)
    (seed_corpus / "new.md").write_text("---\ntitle: New\n---\nA new article about tulips.\n")
    monkeypatch.setattr(qa.build.builder, "default_embedder", lambda model=None: Exploding())
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(seed_index)]) == 1
    err = capsys.readouterr().err
    assert "CPU kernel failure" in err and "previous index is unchanged" in err
    assert "Traceback" not in err and read_manifest(seed_index) == before


# --- terminal safety: article and file text never drives the terminal ----------------------
# ESC, the C1 CSI, other controls, and bidi overrides/isolates/marks ("Trojan Source").
_UNSAFE = ["\x1b", "\x9b", "\x07", "\x00", "\r", "\x7f", "\x85", "\u202a", "\u202b", "\u202c",
           "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f"]
_INJECTED = "INJECTED-LINE"  # follows a newline inside a field: must never start a line


def _assert_terminal_safe(*streams: str) -> None:
    for stream in streams:
        for ch in _UNSAFE:
            assert ch not in stream, f"{ch!r} reached the terminal"
        for line in stream.split("\n"):
            assert not line.lstrip().startswith(_INJECTED), f"a field broke the line: {line!r}"


def _strings(payload) -> list[str]:
    if isinstance(payload, dict):
        return [s for v in payload.values() for s in _strings(v)]
    if isinstance(payload, list):
        return [s for v in payload for s in _strings(v)]
    return [payload] if isinstance(payload, str) else []


@pytest.fixture
def hostile_index(seed_corpus, make_index):
    nl = "\n" + _INJECTED
    record = {
        "id": f"id\x1b[2J{nl}\u202e",
        "title": f"Lighthouse\x1b]0;pwned\x07 title\u202eevil\u202c\x9b31m{nl}",
        "outlet": f"Harbour\x1b[31m News\u2066x\u2069{nl}",
        "url": f"https://example.org/\x1b[8m\u200f{nl}",
        "date": "2022-02-01",
        "text": ("The lighthouse at Meridian reopens\x1b[2J\x9b2J in April\u202e. "
                 "\"The lighthouse\x1b[5m is open\u2067 again,\" said Jane Smith, a spokeswoman.\r"
                 "She added that the\x07 keepers were \u200eback.\n"),
    }
    (seed_corpus / "hostile.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    (seed_corpus / f"empty\x1b[2J\u202e{nl}.txt").write_text("")  # skipped: its name is printed
    return make_index(seed_corpus)


def test_index_report_prints_hostile_file_names_safely(seed_corpus, hostile_index, capsys,
                                                      monkeypatch):
    from conftest import HashEmbedder

    import qa.build.builder

    monkeypatch.setattr(qa.build.builder, "default_embedder", lambda model=None: HashEmbedder())
    (seed_corpus / f"new\x1b[2J{chr(10)}{_INJECTED}.txt").write_bytes(b"\x00\x01binary")
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(hostile_index)]) == 0
    out, err = capsys.readouterr()
    _assert_terminal_safe(out, err)
    assert err.count("skipped ") == 2 and f"empty[2J {_INJECTED}.txt: empty file" in err


@pytest.mark.parametrize("argv", [
    ["search", "lighthouse Meridian", "--mode", "bm25"],
    ["ask", "When does the lighthouse at Meridian reopen?", "--mode", "bm25"],
    ["quotes", "Jane Smith"],
    ["search", "lighthouse Meridian", "--mode", "bm25", "--json"],
    ["ask", "When does the lighthouse at Meridian reopen?", "--mode", "bm25", "--json"],
    ["quotes", "Jane Smith", "--json"],
])
def test_article_text_never_drives_the_terminal(hostile_index, capsys, argv):
    assert main([*argv, "--index", str(hostile_index)]) == 0
    out, err = capsys.readouterr()
    _assert_terminal_safe(out, err)
    assert "INJECTED" in out  # the hostile article itself was printed
    if "--json" in argv:
        payload = json.loads(out)  # escaped for the terminal, the same data for a program
        assert f"hostile/id\x1b[2J\n{_INJECTED}\u202e" in _strings(payload)


def test_error_messages_print_paths_safely(tmp_path, capsys):
    where = tmp_path / f"no\x1b[2J\u202eindex{chr(10)}{_INJECTED}"
    assert main(["search", "NATO", "--index", str(where)]) == 2
    _assert_terminal_safe(*capsys.readouterr())


@pytest.mark.parametrize("argv", [
    ["search", "NATO", "--until", "9999-12"],
    ["search", "NATO", "--since", "9999-12-31"],
    ["ask", "What did NATO say?", "--until", "9999-12"],
    ["quotes", "Zhao Lijian", "--since", "9999-12-31"],
    ["ask", "What happened after December 31, 9999?"],
])
def test_dates_outside_the_calendar_are_a_clear_error(seed_index, capsys, argv):
    assert main([*argv, "--index", str(seed_index)]) == 2
    err = capsys.readouterr().err
    assert "unexpected error" not in err
    assert "outside the dates qa can search; use a year between 1 and 9998" in err


def test_quotes_read_dates_like_search(seed_index, capsys, monkeypatch):
    """`--until 2022-02` is February's last day, as in `qa search` and the chat's /quotes."""
    assert main(["quotes", "Zhao Lijian", "--until", "2022-02", "--index", str(seed_index),
                 "--json"]) == 0
    in_february = json.loads(capsys.readouterr().out)
    assert in_february
    assert main(["quotes", "Zhao Lijian", "--until", "2022-02-28", "--index", str(seed_index),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == in_february
    # "last week" counts back from today: no article of the seeds' 2022 is that recent
    assert main(["quotes", "Zhao Lijian", "--since", "last week", "--index", str(seed_index),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    # and from the newest article (2022-03-18) with the setting: 2022-03-12 on.
    monkeypatch.setenv("QA_RELATIVE_DATES", "newest-article")
    assert main(["quotes", "Zhao Lijian", "--since", "last week", "--index", str(seed_index),
                 "--json"]) == 0
    last_week = json.loads(capsys.readouterr().out)
    assert last_week and not any(q in in_february for q in last_week)
    assert main(["quotes", "Zhao Lijian", "--since", "whenever", "--index",
                 str(seed_index)]) == 2
    assert "is not a date" in capsys.readouterr().err


# --- shell habits -------------------------------------------------------------------------
def test_version(capsys):
    from qa import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"qa {__version__}"


def test_a_mistyped_command_suggests_the_right_one(capsys):
    assert main(["serach", "NATO"]) == 2
    assert capsys.readouterr().err.strip() == "qa: unknown command 'serach'. Did you mean 'search'?"
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'frobnicate'" in err and "search" in err and "Did you mean" not in err


def test_a_folder_given_without_corpus_names_the_flag(capsys, tmp_path):
    assert main(["index", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"qa index: the folder of articles is given with --corpus. "
        f"Run `qa index --corpus {tmp_path}`.")
    # anything else unknown keeps argparse's own message
    with pytest.raises(SystemExit) as exit_:
        main(["index", str(tmp_path / "missing")])
    assert exit_.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err


def test_every_command_has_examples_in_its_help(capsys):
    from qa.cli import build_parser, subcommands

    commands = subcommands(build_parser())
    assert {"index", "watch", "search", "ask", "quotes", "chat", "config", "completion",
            "eval"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        out = capsys.readouterr().out
        assert "examples:" in out, name
        # RawDescriptionHelpFormatter: each example stays on its own line, as typed.
        assert any(line.startswith(f"  qa {name}") or line.startswith("  qa ") or "| qa" in line
                   or "qa completion" in line for line in out.splitlines()), name


def test_bare_qa_without_a_terminal_prints_help():
    out = subprocess.run([QA], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 0
    assert "usage: qa" in out.stdout and "examples:" in out.stdout
    chat = subprocess.run([QA, "chat"], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert chat.returncode == 2 and "needs a terminal" in chat.stderr


def test_ask_and_search_read_from_stdin(seed_index, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("Who is Katrina Yu?\n"))
    assert main(["ask", "-", "--index", str(seed_index), "--mode", "bm25", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["question"] == "Who is Katrina Yu?" and answer["citations"]
    monkeypatch.setattr("sys.stdin", io.StringIO("Katrina Yu"))
    assert main(["search", "-", "--index", str(seed_index), "--mode", "bm25", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["query"] == "Katrina Yu"
    monkeypatch.setattr("sys.stdin", io.StringIO("   \n"))
    assert main(["ask", "-", "--index", str(seed_index)]) == 2
    assert "Standard input held no question" in capsys.readouterr().err


def test_ask_dash_from_a_real_pipe(seed_index):
    out = subprocess.run([QA, "ask", "-", "--index", str(seed_index), "--mode", "bm25"],
                         input="Who is Katrina Yu?", capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Katrina Yu" in out.stdout and "[1]" in out.stdout


@pytest.mark.integration
def test_a_cold_ask_that_fails_while_its_models_load_exits_with_its_message(real_seed_index):
    """`qa ask` starts loading spaCy on a thread at its start: a question refused before the
    load finishes still ends with qa's message and status (a thread loading native code,
    onnxruntime's, aborted the process at such an exit when it was a daemon)."""
    out = run("ask", "   ", "--index", str(real_seed_index), env={"HF_HUB_OFFLINE": "1"})
    assert out.returncode == 2, out.stderr
    assert "The question is empty" in out.stderr
    assert "terminate" not in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("since, until, first, last", [
    ("2022", None, "2021-12-17", None),  # nothing before 2022 is kept
    ("March 2022", None, "2022-03-01", None),
    ("2022-02", "2022-02", "2022-02-01", "2022-02-28"),
    ("last month", None, "2022-02-19", None),  # the newest article is dated 2022-03-18
    (None, "February 2022", None, "2022-02-28"),
])
def test_search_dates_in_every_form(seed_index, capsys, monkeypatch, since, until, first, last):
    monkeypatch.setenv("QA_RELATIVE_DATES", "newest-article")
    argv = ["search", "China", "--index", str(seed_index), "--mode", "bm25", "--json", "--k", "20"]
    argv += ["--since", since] if since else []
    argv += ["--until", until] if until else []
    assert main(argv) == 0
    dates = [h["date"] for h in json.loads(capsys.readouterr().out)["hits"]]
    assert dates
    if first and since != "2022":
        assert min(dates) >= first
    if since == "2022":
        assert min(dates) >= "2022-01-01"
    if last:
        assert max(dates) <= last


@pytest.mark.parametrize("argv", [
    ["search", "China", "--since", "2023", "--until", "2022"],
    ["ask", "What did China say?", "--since", "March 2022", "--until", "2022-02-01"],
    ["quotes", "Zhao Lijian", "--since", "2022-03-18", "--until", "2022-03-17"],
])
def test_an_impossible_date_range_names_both_dates(seed_index, capsys, argv):
    assert main([*argv, "--index", str(seed_index)]) == 2
    err = capsys.readouterr().err
    since, until = argv[argv.index("--since") + 1], argv[argv.index("--until") + 1]
    assert "--since" in err and "--until" in err and "is after" in err
    assert since in err and until in err


def test_completion_scripts(tmp_path):
    import shutil

    bash = subprocess.run([QA, "completion", "bash"], capture_output=True, text=True, timeout=60)
    assert bash.returncode == 0
    probe = tmp_path / "probe.sh"
    probe.write_text(bash.stdout + """
COMP_WORDS=(qa sea); COMP_CWORD=1; _qa; echo "1:${COMPREPLY[*]}"
COMP_WORDS=(qa search --mo); COMP_CWORD=2; _qa; echo "2:${COMPREPLY[*]}"
COMP_WORDS=(qa search --mode h); COMP_CWORD=3; _qa; echo "3:${COMPREPLY[*]}"
COMP_WORDS=(qa completion ''); COMP_CWORD=2; _qa; echo "4:${COMPREPLY[*]}"
COMP_WORDS=(qa ask --); COMP_CWORD=2; _qa; echo "5:${COMPREPLY[*]}"
""")
    out = subprocess.run(["bash", str(probe)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(":", 1) for line in out.stdout.splitlines())
    assert lines["1"] == "search" and lines["2"] == "--mode" and lines["3"] == "hybrid"
    assert lines["4"].split() == ["bash", "zsh", "fish"]
    # Each of ask's flags once: --help used to come twice, from the flags and the fallback.
    assert sorted(lines["5"].split()) == ["--cid", "--continue", "--help", "--index", "--json",
                                          "--mode", "--since", "--until"]
    for shell in ("zsh", "fish"):
        script = subprocess.run([QA, "completion", shell], capture_output=True, text=True,
                                timeout=60)
        since = "--since" if shell == "zsh" else "-l since"
        assert script.returncode == 0 and "watch" in script.stdout and since in script.stdout
        if shutil.which(shell):  # syntax check where the shell is installed
            check = subprocess.run([shell, "-n"], input=script.stdout, capture_output=True,
                                   text=True, timeout=60)
            assert check.returncode == 0, check.stderr


def test_index_has_one_flag_for_the_runtime_and_one_for_the_store(capsys, tmp_path):
    with pytest.raises(SystemExit) as shown:
        main(["index", "--help"])
    assert shown.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--runtime {torch,onnx,onnx-int8,openvino,openvino-int8}" in text
    assert "--store {local,milvus}" in text and "--backend" not in text
    # The old flag, which meant either, is refused with the two new ones named.
    with pytest.raises(SystemExit) as refused:
        main(["index", "--index", str(tmp_path / "ix"), "--backend", "milvus"])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "--backend is now two flags: --runtime" in err and "--store" in err
    assert not (tmp_path / "ix").exists()
    bash = subprocess.run([QA, "completion", "bash"], capture_output=True, text=True, timeout=60,
                          check=True)
    assert 'index:--runtime) COMPREPLY=($(compgen -W "torch onnx onnx-int8 openvino' in bash.stdout
    assert 'index:--store) COMPREPLY=($(compgen -W "local milvus"' in bash.stdout
    assert "--backend" not in bash.stdout


def test_index_names_each_stage_on_stderr(seed_corpus, tmp_path, capsys, monkeypatch):
    from conftest import HashEmbedder

    import qa.build.builder

    monkeypatch.setattr(qa.build.builder, "default_embedder", lambda model=None: HashEmbedder())
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(tmp_path / "ix"),
                 "--runtime", "torch"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == ["reading articles…", "embedding 19 chunks…", "analysing 5 articles…",
                   "writing the index…"]


def test_the_first_build_on_a_machine_says_it_prepares_the_model(seed_corpus, tmp_path, capsys,
                                                                 monkeypatch):
    """The one-time ONNX export (~30 s) is named before it starts, on stderr."""
    from conftest import HashEmbedder

    import qa.build.builder
    import qa.embed.embedder

    exported = []
    monkeypatch.setattr(qa.index.query_model, "export_pending", lambda name, **kw: not exported)
    monkeypatch.setattr(qa.build.builder, "build_embedder",
                        lambda model, backend: exported.append(backend) or HashEmbedder())
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(tmp_path / "ix"),
                 "--runtime", "onnx"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "preparing the model for fast queries (one time, 10-40 s)…"
    assert err[1:] == ["reading articles…", "embedding 19 chunks…", "analysing 5 articles…",
                       "writing the index…"]


def test_search_takes_k_short_and_long(seed_index, capsys):
    for flag in ("-k", "--k"):
        assert main(["search", "China", "--index", str(seed_index), "--mode", "bm25",
                     "--json", flag, "2"]) == 0
        assert len(json.loads(capsys.readouterr().out)["hits"]) == 2


# --- dates written in a question: applied and shown (issue 23) -------------------------------
@pytest.mark.parametrize("question, days", [
    ("What happened last week?", 7),
    ("What did they say yesterday?", 1),
    ("Any news since March?", None),
])
def test_the_dates_of_a_question_are_applied_and_shown(seed_index, capsys, question, days):
    """'What happened last week?' was searched over every article; now the range is the
    question's, counted from today, and shown. The seeds end in 2022, so nothing is in it:
    qa says so, with the newest date it has and what to do."""
    import datetime as dt

    today = dt.date.today()
    assert main(["ask", question, "--index", str(seed_index), "--mode", "bm25", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    if days is not None:
        end = today - dt.timedelta(days=1) if question.endswith("yesterday?") else today
        since, until = (end - dt.timedelta(days=days - 1)).isoformat(), end.isoformat()
    else:
        year = today.year if today.month >= 3 else today.year - 1
        since, until = f"{year}-03-01", None
    assert got["date_range"] == {"since": since, "until": until, "from_question": True}
    assert got["abstained"] and not got["citations"]
    assert any("No article was published" in n and "2022-03-18" in n
               and "relative_dates" in n for n in got["notes"]), got["notes"]
    assert main(["ask", question, "--index", str(seed_index), "--mode", "bm25"]) == 0
    shown = capsys.readouterr().out
    words = DateRange(since, until).text()  # "from … to …", "on …", "on or after …"
    assert f"(Dates: articles published {words}, as the question asks)" in shown


def test_last_week_counts_from_the_newest_article_with_the_setting(seed_index, capsys,
                                                                   monkeypatch):
    monkeypatch.setenv("QA_RELATIVE_DATES", "newest-article")
    assert main(["ask", "What did Zhao Lijian say last week?", "--index", str(seed_index),
                 "--mode", "bm25", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["date_range"] == {"since": "2022-03-12", "until": "2022-03-18",
                                 "from_question": True}
    assert got["citations"] and all(c["date"] == "2022-03-18" for c in got["citations"])
    assert any("counts back from the newest article, 2022-03-18" in n for n in got["notes"])


def test_search_shows_its_date_range(seed_index, capsys):
    assert main(["search", "China", "--since", "2022-02", "--until", "2022-02", "--index",
                 str(seed_index), "--mode", "bm25"]) == 0
    assert "(Dates: articles published from 2022-02-01 to 2022-02-28)" in capsys.readouterr().out
    assert main(["search", "China", "--since", "2030", "--index", str(seed_index),
                 "--mode", "bm25"]) == 0
    out = capsys.readouterr().out
    assert "No passage matches on or after 2030-01-01 (the nearest articles are from " \
        "2022-03-18)" in out
    assert main(["search", "China", "--since", "2022-03", "--index", str(seed_index),
                 "--mode", "bm25", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["date_range"] == {
        "since": "2022-03-01", "until": None, "from_question": False}


def test_an_unexpected_error_is_one_line_unless_qa_debug(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A bug reaches the user as one line naming QA_DEBUG; with QA_DEBUG set, as its traceback."""
    import argparse

    from qa.cli.console import run_command

    def broken(_: argparse.Namespace) -> int:
        raise RuntimeError("disk on fire")

    args = argparse.Namespace(func=broken, command="search")
    monkeypatch.delenv("QA_DEBUG", raising=False)
    assert run_command(args) == 1
    assert "unexpected error (RuntimeError: disk on fire)" in capsys.readouterr().err
    monkeypatch.setenv("QA_DEBUG", "1")
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_command(args)


def test_quotes_in_a_range_without_articles_names_the_nearest_dates(seed_index, capsys):
    """No article in the range: qa quotes says so and names the dates it has, as qa ask and
    qa search do; a range with articles but no quote of the name says that instead."""
    assert main(["quotes", "Zhao Lijian", "--since", "2023-01-01", "--index",
                 str(seed_index)]) == 0
    out = capsys.readouterr().out
    assert "No article was published" in out and "the nearest articles are from 2022-03-18" in out
    assert main(["quotes", "Nobody Atall", "--until", "2022-03-18", "--index",
                 str(seed_index)]) == 0
    assert "No quotes attributed to Nobody Atall" in capsys.readouterr().out
