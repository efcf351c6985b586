"""`qa watch`: keep the index current as articles appear, change or go."""

from __future__ import annotations

import argparse
import sys

from qa import config
from qa.errors import QAError
from qa.text import terminal_safe

from .console import CORPUS_HELP, INDEX_HELP, BuildProgress

EXAMPLES = """\
examples:
  qa watch                                  # keep index/ current as corpus/ changes
  qa watch --corpus ~/news --index ~/news-index
  Each update is one line: "index updated: +1 article, 0 changed, 0 removed (0.4 s)".
  Ctrl-C stops."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watch", help="keep the index current as articles appear, change or go",
                       epilog=EXAMPLES)
    p.add_argument("--corpus", help=CORPUS_HELP)
    p.add_argument("--index", help=INDEX_HELP)
    p.set_defaults(func=watch)


def watch(args: argparse.Namespace) -> int:
    from qa.build.watch import describe_update, new_skips, watch_index
    from qa.types import BuildReport

    corpus, index = config.corpus_path(args.corpus), config.index_path(args.index)
    print(f"watching {terminal_safe(str(corpus))}/ for changes, keeping "
          f"{terminal_safe(str(index))}/ current (Ctrl-C stops)", file=sys.stderr, flush=True)
    skipped_before: set[str] = set()
    first = True
    progress = BuildProgress()  # the first build names every stage; updates only long ones
    try:
        for outcome in watch_index(corpus, index, progress=progress):
            progress.every_stage = False
            if isinstance(outcome, QAError):
                print(f"qa: {terminal_safe(str(outcome))}", file=sys.stderr, flush=True)
                continue
            report: BuildReport = outcome
            for s in new_skips(report, skipped_before):
                print(f"skipped {terminal_safe(s.path)}: {terminal_safe(s.reason)}",
                      file=sys.stderr)
            skipped_before = {s.path for s in report.skipped}
            for note in report.notes:
                print(f"note: {terminal_safe(note)}", file=sys.stderr)
            if report.up_to_date:
                if first:
                    print(f"index up to date: {report.articles} articles", flush=True)
            else:
                print(describe_update(report), flush=True)
            first = False
    except KeyboardInterrupt:
        # Between builds the watcher is only waiting; during one, the build is abandoned and
        # its temporary folder removed: the live index is the last one published.
        print("\nstopped watching; the index is as of the last update.", file=sys.stderr)
        return 0
    return 0
