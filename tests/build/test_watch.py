"""Watching: the index follows the corpus folder as files appear, change and go."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import HashEmbedder

from qa import Retriever
from qa.build.watch import describe_update, watch_index
from qa.errors import CorpusError
from qa.types import BuildReport

QA = str(Path(sys.executable).with_name("qa"))
TESTS = Path(__file__).resolve().parents[1]
FOLLOW_SECONDS = 10.0  # the index must follow a change within this (typically ~0.5 s)

LIGHTHOUSE = ("---\ntitle: Lighthouse of Quillport reopens\ndate: 2022-04-01\n---\n\n"
              "The Quillport lighthouse reopened on Friday after a two-year restoration.\n")


class Watcher:
    """`watch_index` running in a thread; its outcomes arrive on a queue."""

    def __init__(self, corpus: Path, index: Path) -> None:
        self.stop = threading.Event()
        self.outcomes: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, args=(corpus, index), daemon=True)
        self.thread.start()

    def _run(self, corpus: Path, index: Path) -> None:
        try:
            for outcome in watch_index(corpus, index, stop=self.stop, embedder=HashEmbedder()):
                self.outcomes.put(outcome)
        except BaseException as error:  # surfaced by next()
            self.outcomes.put(error)

    def next(self, timeout: float = FOLLOW_SECONDS) -> BuildReport | Exception:
        outcome = self.outcomes.get(timeout=timeout)
        if isinstance(outcome, BaseException) and not isinstance(outcome, CorpusError):
            raise outcome
        return outcome

    def next_change(self, timeout: float = FOLLOW_SECONDS) -> BuildReport | Exception:
        """The next outcome that is not 'nothing changed'."""
        deadline = time.monotonic() + timeout
        while True:
            outcome = self.next(max(0.1, deadline - time.monotonic()))
            if not (isinstance(outcome, BuildReport) and outcome.up_to_date):
                return outcome

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


@pytest.fixture
def watcher(seed_corpus, tmp_path):
    w = Watcher(seed_corpus, tmp_path / "index")
    yield w
    w.close()
    assert not w.thread.is_alive(), "the watcher did not stop when asked"


def _titles(index: Path) -> set[str]:
    retriever = Retriever.open(index, embedder=HashEmbedder())
    return {a.title for a in retriever.articles()}


def test_the_index_follows_added_edited_and_deleted_files(watcher, seed_corpus, tmp_path):
    index = tmp_path / "index"
    first = watcher.next()
    assert isinstance(first, BuildReport) and len(first.added) == 5  # built at once

    started = time.monotonic()
    (seed_corpus / "2022-04-01-lighthouse.md").write_text(LIGHTHOUSE, encoding="utf-8")
    added = watcher.next_change()
    assert isinstance(added, BuildReport) and len(added.added) == 1
    assert time.monotonic() - started < FOLLOW_SECONDS
    assert "Lighthouse of Quillport reopens" in _titles(index)
    assert describe_update(added).startswith("index updated: +1 article, 0 changed, 0 removed (")
    assert describe_update(added, short=True) == "index updated: +1 article"
    hits = Retriever.open(index, embedder=HashEmbedder()).search("Quillport lighthouse", k=1,
                                                                mode="bm25")
    assert "two-year restoration" in hits[0].text

    (seed_corpus / "2022-04-01-lighthouse.md").write_text(
        LIGHTHOUSE.replace("two-year", "three-year"), encoding="utf-8")
    changed = watcher.next_change()
    assert isinstance(changed, BuildReport) and len(changed.changed) == 1 and not changed.added
    hits = Retriever.open(index, embedder=HashEmbedder()).search("Quillport lighthouse", k=1,
                                                                mode="bm25")
    assert "three-year restoration" in hits[0].text

    (seed_corpus / "2022-04-01-lighthouse.md").unlink()
    removed = watcher.next_change()
    assert isinstance(removed, BuildReport) and len(removed.removed) == 1
    assert describe_update(removed, short=True) == "index updated: 1 removed"
    assert "Lighthouse of Quillport reopens" not in _titles(index)
    assert len(_titles(index)) == 5


def test_a_burst_of_files_is_one_update(watcher, seed_corpus, tmp_path):
    watcher.next()
    for n in range(12):
        (seed_corpus / f"2022-05-{n + 1:02d}-brief.md").write_text(
            f"---\ntitle: Brief {n}\ndate: 2022-05-{n + 1:02d}\n---\n\nHarbour brief number {n}.\n",
            encoding="utf-8")
    reports = [watcher.next_change()]
    while sum(len(r.added) for r in reports) < 12:  # debounced: one build, two at most
        reports.append(watcher.next_change())
    assert len(reports) <= 2
    assert len(_titles(tmp_path / "index")) == 17


def test_an_emptied_corpus_is_reported_and_watching_goes_on(watcher, seed_corpus, tmp_path):
    watcher.next()
    for path in seed_corpus.iterdir():
        path.unlink()
    error = watcher.next_change()
    assert isinstance(error, CorpusError)  # the previous index stays as it was
    (seed_corpus / "2022-04-01-lighthouse.md").write_text(LIGHTHOUSE, encoding="utf-8")
    report = watcher.next_change()
    assert isinstance(report, BuildReport)
    assert _titles(tmp_path / "index") == {"Lighthouse of Quillport reopens"}


def test_editor_swap_files_do_not_rebuild(watcher, seed_corpus):
    watcher.next()
    (seed_corpus / ".2022-04-01-lighthouse.md.swp").write_bytes(b"\x00vim swap")
    (seed_corpus / "2022-04-01-lighthouse.md~").write_text("backup", encoding="utf-8")
    with pytest.raises(queue.Empty):
        watcher.next(timeout=2.0)


def test_watching_a_missing_folder_says_so(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        next(watch_index(tmp_path / "nowhere", tmp_path / "index"))


# --- the command ----------------------------------------------------------------------
def _interruptible() -> None:
    """In the child before exec: Ctrl-C stops it, as in a terminal. A test run started as a
    background job of a script inherits SIGINT ignored, and Python keeps an inherited
    SIG_IGN, so the Ctrl-C these tests send would go unheard."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Process:
    """A running `qa watch`, its lines read in a thread."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env={**os.environ, **env},
                                     preexec_fn=_interruptible)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in {timeout:.0f} s; saw {self.seen}")

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


# Runs the real CLI with HashEmbedder in place of the model: the command's own code, in seconds.
_DRIVER = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from conftest import HashEmbedder
import qa.build.builder, qa.index.query_model
qa.build.builder.build_embedder = lambda model, backend: HashEmbedder()
qa.build.builder.default_embedder = lambda model=None: HashEmbedder()
qa.index.query_model.export_pending = lambda *a, **k: False
from qa.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _watch_process(argv: list[str]) -> Process:
    return Process(argv, env={"PYTHONUNBUFFERED": "1"})


def test_qa_watch_prints_one_line_per_update_and_stops_on_ctrl_c(seed_corpus, tmp_path):
    index = tmp_path / "index"
    proc = _watch_process([sys.executable, "-c", _DRIVER, "watch", "--corpus", str(seed_corpus),
                           "--index", str(index)])
    try:
        proc.wait_for("watching", 30)
        first = proc.wait_for("index updated", 30)
        assert first.startswith("index updated: +5 articles, 0 changed, 0 removed")
        (seed_corpus / "2022-04-01-lighthouse.md").write_text(LIGHTHOUSE, encoding="utf-8")
        line = proc.wait_for("index updated", FOLLOW_SECONDS)
        assert line.startswith("index updated: +1 article, 0 changed, 0 removed (")
        assert proc.seen[-2] == first  # one line per update: no stage names for a small one
        (seed_corpus / "2022-04-01-lighthouse.md").unlink()
        assert "1 removed" in proc.wait_for("index updated", FOLLOW_SECONDS)
    finally:
        code = proc.interrupt()
    assert code == 0
    proc.wait_for("stopped watching", 5)
    assert not any("Traceback" in line for line in proc.seen)


@pytest.mark.integration
def test_qa_watch_with_the_real_model(seed_corpus, tmp_path):
    """The real command and model: the seed corpus indexed, a new file followed, Ctrl-C."""
    index = tmp_path / "index"
    proc = _watch_process([QA, "watch", "--corpus", str(seed_corpus), "--index", str(index)])
    try:
        proc.wait_for("index updated: +5 articles", 180)
        (seed_corpus / "2022-04-01-lighthouse.md").write_text(LIGHTHOUSE, encoding="utf-8")
        proc.wait_for("index updated: +1 article", 60)
    finally:
        code = proc.interrupt()
    assert code == 0
    hits = Retriever.open(index).search("When did the Quillport lighthouse reopen?", k=1)
    assert "Quillport" in hits[0].text
