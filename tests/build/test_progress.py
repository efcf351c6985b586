"""The build's progress line: what a terminal shows, and a time left that means something."""

from __future__ import annotations

import pytest

import qa.cli.console as console
from qa.cli.console import ProgressBar
from qa.embed.batching import length_sorted_batches


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def screen(written: str) -> str:
    """The last line a terminal shows after `written`: "\\r" moves to column 0, and each
    character overwrites the one under it (nothing is erased)."""
    line: list[str] = []
    col = 0
    for ch in written.rstrip("\n").split("\n")[-1]:
        if ch == "\r":
            col = 0
            continue
        if col < len(line):
            line[col] = ch
        else:
            line.append(ch)
        col += 1
    return "".join(line)


class Written:
    """What the bar wrote to stderr so far (pytest's capture stands in for the terminal)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys, self.text = capsys, ""

    def getvalue(self) -> str:
        self.text += self.capsys.readouterr().err
        return self.text


@pytest.fixture
def tty_bar(monkeypatch, capsys) -> tuple[ProgressBar, Clock, Written]:
    clock, err = Clock(), Written(capsys)
    monkeypatch.setattr(console.time, "perf_counter", clock)
    bar = ProgressBar()
    bar.tty = True
    bar.start("embed", 0, 1000)
    return bar, clock, err


def test_a_shorter_line_leaves_no_letters_of_the_longer_one(tty_bar) -> None:
    bar, clock, err = tty_bar
    clock.now = 1.0
    bar("embed", 10, 1000)  # the first batch: the warm-up, not counted in the rate
    clock.now = 101.0
    bar("embed", 100, 1000)  # 0.9/s: ~1000 s left
    clock.now = 111.0
    bar("embed", 990, 1000)  # much faster since: a few seconds left, a shorter line
    shown = screen(err.getvalue())
    assert shown.rstrip().endswith("~1s left"), shown  # not "~1s leftt left"


def test_the_time_left_is_not_shown_before_it_means_something(tty_bar) -> None:
    bar, clock, err = tty_bar
    clock.now = 3.0  # the first batch carried the model's warm-up
    bar("embed", 32, 1000)
    assert "estimating time left" in screen(err.getvalue())
    clock.now = 3.5
    bar("embed", 64, 1000)  # half a second, 3% of the chunks: too little to go on
    assert "estimating time left" in screen(err.getvalue())
    clock.now = 5.5
    bar("embed", 132, 1000)  # 100 chunks in 2.5 s since the first batch: 40/s
    assert screen(err.getvalue()).rstrip().endswith("40/s, ~22s left")


def test_the_time_left_falls_steadily_at_a_steady_rate(tty_bar) -> None:
    bar, clock, err = tty_bar
    estimates = []
    for step in range(1, 32):
        clock.now = 10.0 + step  # 10 s of warm-up in the first batch, then 32 chunks a second
        bar("embed", 32 * step, 1000)
        text = screen(err.getvalue()).rstrip()
        if text.endswith("s left"):
            estimates.append(int(text.split("~")[1].split("s")[0]))
    assert estimates, "never estimated"
    assert estimates == sorted(estimates, reverse=True)  # never climbs
    # The first estimate shown is already the true time left, to within a second.
    first_step = 32 - len(estimates)
    assert abs(estimates[0] - (1000 - 32 * first_step) / 32) <= 1


def test_early_batches_cost_what_late_ones_do() -> None:
    """Batches are length-sorted (padding costs time) but not visited shortest first: every
    tenth of the way, the texts embedded so far are as long on average as all of them."""
    texts = ["word " * n for n in range(1, 1001)]
    batches = length_sorted_batches(texts, 16)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert all(max(len(texts[i]) for i in b) - min(len(texts[i]) for i in b) <= 16 * 5
               for b in batches)  # still of similar length within a batch
    mean = sum(map(len, texts)) / len(texts)
    for tenth in range(1, 10):
        seen = [i for b in batches[: len(batches) * tenth // 10] for i in b]
        assert abs(sum(len(texts[i]) for i in seen) / len(seen) - mean) < 0.1 * mean
