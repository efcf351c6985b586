"""`qa search` marks the words it matched, as ripgrep does: bold on a terminal, nothing in a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from qa.cli import main
from qa.text import matching_words

BOLD, PLAIN = "\x1b[1m", "\x1b[22m"


def test_the_words_matched_are_bm25s_words() -> None:
    text = "Sanctioned banks: the sanctions on NATO's members and a NATO-led force."
    found = [text[s:e] for s, e in matching_words(text, "What sanctions did NATO face?")]
    # Stemmed ("Sanctioned"), possessive and case as BM25 reads them; stop-words never marked.
    assert found == ["Sanctioned", "sanctions", "NATO's", "NATO"]
    assert matching_words(text, "what did the") == []


def test_search_in_a_pipe_adds_nothing(seed_index: Path, capsys) -> None:
    assert main(["search", "NATO abandon", "--index", str(seed_index), "--mode", "bm25",
                 "--k", "1"]) == 0
    out = capsys.readouterr().out
    assert "NATO" in out and "\x1b" not in out


def test_search_on_a_terminal_marks_the_matched_words_bold(seed_index: Path) -> None:
    primary, replica = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    run = subprocess.Popen([sys.executable, "-m", "qa.cli", "search", "NATO abandon", "--index",
                            str(seed_index), "--mode", "bm25", "--k", "1"],
                           stdout=replica, stderr=subprocess.PIPE, env=env)
    os.close(replica)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # the other end closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    assert run.wait(timeout=120) == 0, run.stderr.read() if run.stderr else ""
    out = b"".join(chunks).decode()
    assert f"{BOLD}NATO{PLAIN}" in out and f"{BOLD}abandon{PLAIN}" in out
    head = out.splitlines()[0]
    assert BOLD not in head  # the title line is left as it is; the passage is marked
    for line in out.splitlines():  # the marks do not count against the 100 columns
        assert len(line.replace(BOLD, "").replace(PLAIN, "").rstrip("\r")) <= 100 or line is head
