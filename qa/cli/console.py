"""What the commands share: how they print to the terminal (answers, JSON, build progress,
errors and their exit codes) and read from it (standard input, the date flags).

Every string from an article, a file name or a path goes through `terminal_safe` before it
is printed (fields with `multiline=False`: a title never breaks a line); JSON output escapes
the same characters as \\uXXXX, so a program reading it gets the data unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from dataclasses import replace
from datetime import date
from typing import Protocol

from qa import config
from qa.errors import QAError
from qa.text import TERMINAL_UNSAFE, terminal_safe
from qa.types import Answer, DateRange

INDEX_HELP = "index folder (default index/; $QA_INDEX or the settings file)"
CORPUS_HELP = "articles folder (default corpus/; $QA_CORPUS or the settings file)"
DATE_HELP = "only articles published on or {} DATE (forms below)"
# The end of the examples of every command that takes --since and --until.
DATE_FORMS = """\
dates (--since, --until, and in a question): YYYY-MM-DD, YYYY-MM, YYYY, "March 2022",
"March", "today", "yesterday", "this week", "this month", "last week", "last 3 days",
"last year": counted from today, or from the newest article with the setting
relative_dates = "newest-article"."""


# --- answers ----------------------------------------------------------------------------
# The answer phrase is marked with two private-use characters while the text is made safe,
# then they become bold on a terminal (or nothing in a pipe): no article text can inject
# an escape sequence, and marks an article carries itself are removed first.
_MARKS = ("\ue000", "\ue001")


def _answer_for_terminal(answer: Answer) -> Answer:
    """An `Answer` whose fields are terminal-safe, for `format_answer` to lay out."""

    def safe(value: str, multiline: bool = False) -> str:
        return terminal_safe(value, multiline=multiline).replace(_MARKS[0], "").replace(
            _MARKS[1], "")

    def field(value: str | None) -> str | None:
        return safe(value) if value is not None else None

    citations = tuple(
        replace(c, title=safe(c.title), date=field(c.date), source=safe(c.source),
                url=field(c.url), text=safe(c.text), speaker=field(c.speaker))
        for c in answer.citations
    )
    phrase = answer.answer
    return replace(
        answer, question=safe(answer.question), resolved_question=safe(answer.resolved_question),
        text=safe(answer.text, multiline=True), citations=citations,
        fallback_reason=field(answer.fallback_reason),
        notes=tuple(safe(n) for n in answer.notes),
        answer=replace(phrase, text=safe(phrase.text)) if phrase is not None else None,
    )


def shown_answer(answer: Answer) -> str:
    """An answer laid out for the terminal (`format_answer`), its phrase bold on a tty."""
    from qa.answer import format_answer

    return _bold_on_a_tty(terminal_safe(format_answer(_answer_for_terminal(answer),
                                                      marks=_MARKS), multiline=True))


def _bold_on_a_tty(text: str) -> str:
    """`text` with its `_MARKS` pairs made bold on a terminal, and dropped in a pipe."""
    bold = ("\x1b[1m", "\x1b[22m") if sys.stdout.isatty() else ("", "")
    return text.replace(_MARKS[0], bold[0]).replace(_MARKS[1], bold[1])


def shown_passage(text: str, query: str, *, width: int = 100, indent: str = "   ") -> str:
    """A passage for `qa search`: its words on lines of at most `width`, each word the query
    matches (BM25's rule, `qa.text.matching_words`) bold on a terminal, as ripgrep marks
    what it found; nothing added in a pipe."""
    from qa.text import matching_words

    body = terminal_safe(" ".join(text.split())).replace(_MARKS[0], "").replace(_MARKS[1], "")
    lines = []
    for line in textwrap.wrap(body, width - len(indent)):
        for start, end in reversed(matching_words(line, query)):
            line = f"{line[:start]}{_MARKS[0]}{line[start:end]}{_MARKS[1]}{line[end:]}"
        lines.append(indent + line)
    return _bold_on_a_tty("\n".join(lines))


def print_json(payload: object) -> None:
    """`payload` as indented JSON on standard output, terminal-unsafe characters escaped."""
    text = json.dumps(payload, ensure_ascii=False, indent=2)
    # json.dumps escapes C0 controls inside strings itself, so a raw "\n" is layout; the rest
    # of the unsafe set only occurs inside strings, where \uXXXX is the same character to a
    # JSON reader.
    print(TERMINAL_UNSAFE.sub(
        lambda m: "".join(c if c == "\n" else f"\\u{ord(c):04x}" for c in m.group()), text))


# --- build progress ---------------------------------------------------------------------
class ProgressBar:
    """A one-line progress bar on stderr for long builds (quiet when stderr is not a tty,
    apart from a line every 10%).

    The time left is the chunks still to embed over the rate since the first batch came back
    (that batch also pays for the model's warm-up), and is shown only once that rate rests on
    a few seconds and a few percent of the chunks; before, the line says it is estimating.
    The embedders visit their batches in an order that costs as much early as late
    (qa.embed.batching.spread_order), so the rate so far is the rate to come.
    """

    SETTLE_SECONDS = 2.0
    SETTLE_FRACTION = 0.05

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.last_decile = -1
        self.first: tuple[float, int] | None = None  # when the first batch came back, and its size
        self.width = 0  # of the line on screen, which a shorter one must cover

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != "embed" or total < 50:
            return
        now = time.perf_counter()
        if self.first is None and done > 0:
            self.first = (now, done)
        frac = done / total if total else 1.0
        bar = "#" * int(frac * 30)
        line = f"embedding {done}/{total} chunks [{bar:<30}] {self.estimate(now, done, total)}"
        if self.tty:
            end = "\n" if done >= total else ""
            # "\r" only moves the cursor: what a shorter line does not cover stays on screen.
            print(f"\r{line}{' ' * max(self.width - len(line), 0)}", end=end, file=sys.stderr,
                  flush=True)
            self.width = 0 if end else len(line)
        elif int(frac * 10) != self.last_decile:
            self.last_decile = int(frac * 10)
            print(line, file=sys.stderr, flush=True)

    def estimate(self, now: float, done: int, total: int) -> str:
        """"12/s, ~40s left", or "estimating time left" while the rate means little yet."""
        if done >= total:
            return f"{total / max(now - self.t0, 1e-9):.0f}/s, done"
        if self.first is None:
            return "estimating time left"
        since, first_done = self.first
        seconds, counted = now - since, done - first_done
        if seconds < self.SETTLE_SECONDS or counted < self.SETTLE_FRACTION * total:
            return "estimating time left"
        rate = counted / seconds
        return f"{rate:.0f}/s, ~{(total - done) / rate:.0f}s left"

    def start(self, stage: str, done: int, total: int) -> None:
        if stage == "embed" and done == 0:
            self.t0 = time.perf_counter()
            self.first = None
            self.width = 0


class BuildProgress:
    """Names each stage of a build on stderr as it starts ("preparing the model for fast
    queries (one time, 10-40 s)…", "reading articles…", "embedding 1646 chunks…", "writing the
    index…"), with a bar while embedding many chunks.

    `every_stage=False` (qa watch, where a small update is one line) names only the stages
    that take long: the model's export and the embedding of many chunks.
    """

    def __init__(self, *, every_stage: bool = True) -> None:
        self.every_stage = every_stage
        self.stage = ""
        self.bar = ProgressBar()

    def __call__(self, stage: str, done: int, total: int) -> None:
        from qa.build.builder import describe_stage

        if stage != self.stage or (stage == "read" and done == total == 0):
            self.stage = stage
            long = stage == "model" or (stage == "embed" and total >= 50)
            # The bar names the embedding itself; "read n articles" comes as "embedding".
            quiet = (stage == "embed" and total >= 50) or (stage == "read" and total > 0)
            if (self.every_stage or long) and not quiet:
                print(f"{describe_stage(stage, done, total)}…", file=sys.stderr, flush=True)
        self.bar.start(stage, done, total)
        self.bar(stage, done, total)


# --- reading what the user gave ---------------------------------------------------------
def from_stdin(value: str, what: str) -> str:
    """`-` for a question or query means: read it from standard input."""
    if value != "-":
        return value
    if sys.stdin is None or sys.stdin.isatty():
        command = "search" if what == "query" else "ask"
        raise QAError(f"`-` reads the {what} from standard input, and nothing is piped in. "
                      f"Try: echo \"Who won the election?\" | qa {command} -")
    text = " ".join(sys.stdin.read().split())
    if not text:
        raise QAError(f"Standard input held no {what}. Pipe one in, e.g. "
                      "echo \"Who won the election?\" | qa ask -")
    return text


def add_date_flags(parser: argparse.ArgumentParser) -> None:
    """--since and --until, read by `date_filter` (their forms are in `DATE_FORMS`)."""
    parser.add_argument("--since", metavar="DATE", help=DATE_HELP.format("after"))
    parser.add_argument("--until", metavar="DATE", help=DATE_HELP.format("before"))


class DayReference(Protocol):
    """What `date_filter` reads of a retriever."""

    def reference_day(self) -> date: ...


def date_filter(args: argparse.Namespace, retriever: DayReference) -> DateRange:
    """--since/--until read (`qa.dates.read_range`); 'last week' counts from the retriever's
    reference day (today, or the newest article by the `relative_dates` setting)."""
    from qa.dates import read_range

    if not args.since and not args.until:
        return DateRange()
    return read_range(args.since, args.until, reference=retriever.reference_day(),
                      names=("--since", "--until"))


# --- errors and exit codes --------------------------------------------------------------
def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; a failure becomes one line on stderr and an exit code (2 for a
    `QAError`, 130 for Ctrl-C, 1 for the rest), never a traceback unless QA_DEBUG is set."""
    try:
        return int(args.func(args) or 0)
    except QAError as exc:  # messages name paths and articles: escaped like them
        print(f"qa: {terminal_safe(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("qa: interrupted; the previous index, if any, is unchanged.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # disk full, read-only or unreadable folder: the OS's words, no traceback
        where = f" ({exc.filename})" if exc.filename else ""
        tail = (" The previous index is unchanged; fix that, then run `qa index` again."
                if args.command == "index" else "")
        print(f"qa: {terminal_safe(f'{exc.strerror or exc}{where}')}.{tail}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug, or a library failing in a way we did not foresee
        if config.debug():
            raise
        tail = " The previous index is unchanged." if args.command == "index" else ""
        print(
            f"qa: unexpected error ({type(exc).__name__}: {terminal_safe(str(exc))}).{tail} "
            "Run again with QA_DEBUG=1 to see the traceback, and please report it.",
            file=sys.stderr,
        )
        return 1
