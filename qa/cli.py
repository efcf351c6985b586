"""The `qa` command: index, search, ask, quotes, eval, chat.

Kept light at import: each subcommand imports what it needs, so `qa --help` is instant and
`qa search` never waits on the chat UI's libraries.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from dataclasses import asdict
from typing import Any

from . import config
from .errors import QAError
from .text import TERMINAL_UNSAFE, terminal_safe
from .types import Answer

# Every string from an article, a file name or a path goes through `terminal_safe` before it
# is printed (fields with `multiline=False`: a title never breaks a line); JSON output escapes
# the same characters as \uXXXX, so a program reading it gets the data unchanged.


# --- shared bits ------------------------------------------------------------------------
def _answer_for_terminal(answer: Answer) -> Answer:
    """An `Answer` whose fields are terminal-safe, for `format_answer` to lay out."""
    from dataclasses import replace

    def field(value: str | None) -> str | None:
        return terminal_safe(value) if value is not None else None

    citations = tuple(
        replace(c, title=terminal_safe(c.title), date=field(c.date), source=terminal_safe(c.source),
                url=field(c.url), text=terminal_safe(c.text), speaker=field(c.speaker))
        for c in answer.citations
    )
    return replace(
        answer, question=terminal_safe(answer.question),
        resolved_question=terminal_safe(answer.resolved_question),
        text=terminal_safe(answer.text, multiline=True), citations=citations,
        fallback_reason=field(answer.fallback_reason),
        notes=tuple(terminal_safe(n) for n in answer.notes),
    )


class _ProgressBar:
    """A one-line progress bar on stderr for long builds (quiet when stderr is not a tty,
    apart from a line every 10%)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.last_decile = -1

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != "embed" or total < 50:
            return
        frac = done / total if total else 1.0
        rate = done / max(time.perf_counter() - self.t0, 1e-9)
        eta = (total - done) / rate if rate > 0 else 0.0
        bar = "#" * int(frac * 30)
        line = f"embedding {done}/{total} chunks [{bar:<30}] {rate:.0f}/s, ~{eta:.0f}s left"
        if self.tty:
            end = "\n" if done >= total else ""
            print(f"\r{line}", end=end, file=sys.stderr, flush=True)
        elif int(frac * 10) != self.last_decile:
            self.last_decile = int(frac * 10)
            print(line, file=sys.stderr, flush=True)

    def start(self, stage: str, done: int, total: int) -> None:
        if stage == "embed" and done == 0:
            self.t0 = time.perf_counter()


def _print_json(payload: Any) -> None:
    text = json.dumps(payload, ensure_ascii=False, indent=2)
    # json.dumps escapes C0 controls inside strings itself, so a raw "\n" is layout; the rest
    # of the unsafe set only occurs inside strings, where \uXXXX is the same character to a
    # JSON reader.
    print(TERMINAL_UNSAFE.sub(
        lambda m: "".join(c if c == "\n" else f"\\u{ord(c):04x}" for c in m.group()), text))


# --- qa index ---------------------------------------------------------------------------
def _cmd_index(args: argparse.Namespace) -> int:
    if args.check:
        return _check_index(config.index_path(args.index))
    from .build import build_index

    bar = _ProgressBar()

    def progress(stage: str, done: int, total: int) -> None:
        bar.start(stage, done, total)
        bar(stage, done, total)

    report = build_index(
        corpus=config.corpus_path(args.corpus), index=config.index_path(args.index),
        full=args.full, progress=progress, wait=args.wait, backend=args.backend,
    )
    if args.json:
        _print_json(asdict(report))
        return 0
    for s in report.skipped:
        print(f"skipped {terminal_safe(s.path)}: {terminal_safe(s.reason)}", file=sys.stderr)
    for note in report.notes:
        print(f"note: {terminal_safe(note)}", file=sys.stderr)
    where = terminal_safe(report.index)
    if report.up_to_date:
        print(
            f"Index {where}/ is up to date: {report.articles} articles, "
            f"{report.chunks} chunks ({report.seconds:.1f}s)."
        )
        return 0
    kind = "Full build" if report.full else "Updated"
    print(
        f"{kind} {where}/ in {report.seconds:.1f}s: {len(report.added)} added, "
        f"{len(report.changed)} changed, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped; "
        f"{report.articles} articles, {report.chunks} chunks ({report.embedded_chunks} embedded)."
    )
    return 0


def _check_index(index: Any) -> int:
    from . import store

    problems = store.verify(index)
    if problems:
        for line in problems:
            print(f"damaged: {terminal_safe(line)}", file=sys.stderr)
        print(f"qa: the index in {terminal_safe(str(index))}/ is damaged. Run "
              f"`qa index --full --index {terminal_safe(str(index))}` to rebuild it.",
              file=sys.stderr)
        return 2
    print(f"Index {terminal_safe(str(index))}/ is intact: every file matches its checksum.")
    return 0


# --- qa search --------------------------------------------------------------------------
def _cmd_search(args: argparse.Namespace) -> int:
    from .retrieval import Retriever

    retriever = Retriever.open(config.index_path(args.index))
    hits = retriever.search(args.query, k=args.k, since=args.since, until=args.until,
                            mode=args.mode)
    mode = args.mode if args.mode != "auto" else retriever.mode
    if args.json:
        _print_json({"query": args.query, "mode": mode,
                     "fallback_reason": retriever.fallback_reason if mode == "bm25" else None,
                     "hits": [asdict(h) for h in hits]})
        return 0
    if retriever.fallback_reason and args.mode == "auto":
        print(f"[BM25 only: {terminal_safe(retriever.fallback_reason)}]", file=sys.stderr)
    if not hits:
        print("No passage matches. Try other words, or widen --since/--until.")
        return 0
    width = 100
    for h in hits:
        head = f"{h.rank}. {terminal_safe(h.title) or terminal_safe(h.article_id)}"
        meta = " · ".join(terminal_safe(x) for x in (h.date or "undated", h.source) if x)
        print(f"{head}  ({meta})  score {h.score:.4f} via {h.via}")
        print(f"   {terminal_safe(h.article_id)} [{h.start}:{h.end}]")
        body = terminal_safe(" ".join(h.text.split()))
        print(textwrap.fill(body, width, initial_indent="   ", subsequent_indent="   "))
        print()
    return 0


# The dev set `qa eval --qa` runs when no file is given.
_DEVSET = os.path.join(os.path.dirname(__file__), "devset.jsonl")


# --- parser -----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa",
        description="Ask questions about a folder of news articles; answers are quoted and cited.",
        epilog="With no command, opens the chat on index/.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="build or update the index from a corpus folder")
    p.add_argument("--corpus", help="articles folder (default corpus/, or $QA_CORPUS)")
    p.add_argument("--index", help="index folder (default index/, or $QA_INDEX)")
    p.add_argument("--full", action="store_true", help="rebuild everything from scratch")
    p.add_argument("--check", action="store_true",
                   help="verify every file of the index against the checksums its manifest "
                        "records (finds damage that keeps a file's size); builds nothing")
    p.add_argument("--backend", choices=["torch", "onnx", "onnx-int8", "openvino"],
                   help="embedding runtime for the build (default: $QA_BUILD_BACKEND, else the "
                        "index's own, else openvino when installed, else torch); openvino is "
                        "about twice as fast as torch with the same vectors (bf16, cosine "
                        "0.9999); onnx-int8 1.7x, vectors within cosine 0.99")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another running build instead of failing")
    p.add_argument("--json", action="store_true", help="print the build report as JSON")
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("search", help="ranked passages for a query")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=5, help="number of passages (default 5)")
    p.add_argument("--since", help="only articles published on or after YYYY-MM-DD")
    p.add_argument("--until", help="only articles published on or before YYYY-MM-DD")
    p.add_argument("--mode", default="auto", choices=["auto", "hybrid", "dense", "bm25"])
    p.add_argument("--index", help="index folder (default index/, or $QA_INDEX)")
    p.add_argument("--json", action="store_true", help="print hits as JSON")
    p.set_defaults(func=_cmd_search)

    # Further subcommands (ask, quotes, eval, chat) are added below, one block each.

    # ask / quotes: cited answers and who-said-what (qa/answer.py, qa/quotes.py).
    def _cmd_ask(args: argparse.Namespace) -> int:
        from .answer import Assistant, format_answer
        from .retrieval import Retriever

        retriever = Retriever.open(config.index_path(args.index))
        answer = Assistant(retriever).ask(args.question, since=args.since, until=args.until,
                                          mode=args.mode)
        if args.json:
            _print_json(asdict(answer))
        else:
            print(terminal_safe(format_answer(_answer_for_terminal(answer)), multiline=True))
        return 0

    p = sub.add_parser("ask", help="a cited answer to a question (or “the articles don't say”)")
    p.add_argument("question")
    p.add_argument("--since", help="only articles published on or after YYYY-MM-DD")
    p.add_argument("--until", help="only articles published on or before YYYY-MM-DD")
    p.add_argument("--mode", default="auto", choices=["auto", "hybrid", "bm25"])
    p.add_argument("--index", help="index folder (default index/, or $QA_INDEX)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.set_defaults(func=_cmd_ask)

    def _cmd_quotes(args: argparse.Namespace) -> int:
        from .answer import Assistant
        from .dates import parse_date
        from .retrieval import Retriever

        # Read like search's and the chat's /quotes: "--until 2022-02" is February's last day.
        since = parse_date(args.since, name="since")
        until = parse_date(args.until, name="until", end=True)
        retriever = Retriever.open(config.index_path(args.index))
        found = Assistant(retriever).quotes(args.name, since=since, until=until)
        if args.json:
            _print_json([asdict(q) for q in found])
            return 0
        if not found:
            print(f"No quotes attributed to {terminal_safe(args.name)} in the articles.")
            return 0
        for q in found:
            art = retriever.article(q.article_id)
            print(f"{terminal_safe(q.speaker)} ({terminal_safe(q.cue)}) — "
                  f"{terminal_safe(art.title)}, {terminal_safe(art.date or 'undated')}")
            print(textwrap.fill("“" + terminal_safe(" ".join(q.text.split())) + "”", 100,
                                initial_indent="   ", subsequent_indent="   "))
        return 0

    p = sub.add_parser("quotes", help="what a person is quoted as saying")
    p.add_argument("name", help="full name or surname: “Zhao Lijian”, “Kritenbrink”")
    p.add_argument("--since", help="only articles published on or after YYYY-MM-DD")
    p.add_argument("--until", help="only articles published on or before YYYY-MM-DD")
    p.add_argument("--index", help="index folder (default index/, or $QA_INDEX)")
    p.add_argument("--json", action="store_true", help="print the quotes as JSON")
    p.set_defaults(func=_cmd_quotes)

    # chat: the Textual UI. textual is imported only when the chat opens.
    def _cmd_chat(args: argparse.Namespace) -> int:
        from qa.tui.app import run

        run(config.index_path(args.index), args.corpus or os.environ.get("QA_CORPUS"))
        return 0

    p = sub.add_parser("chat", help="open the chat (what bare `qa` does)")
    p.add_argument("--index", help="index folder (default index/, or $QA_INDEX)")
    p.add_argument("--corpus", help="folder /rebuild reads (default: the one the index was "
                                    "built from, else corpus/ beside the index)")
    p.set_defaults(func=_cmd_chat)

    # eval: retrieval quality on a BEIR folder, or answer quality on a question set
    # (qa/evaluation.py does the work; this block only parses and prints).
    def _cmd_eval(args: argparse.Namespace) -> int:
        from . import evaluation

        bar = _ProgressBar()
        asked_at = time.perf_counter()

        def progress(stage: str, done: int, total: int) -> None:
            nonlocal asked_at
            bar.start(stage, done, total)
            bar(stage, done, total)
            if stage.startswith("search:") and done == total:
                print(f"{stage[7:]}: {total} queries scored", file=sys.stderr, flush=True)
            if stage == "ask":
                if done == 1:
                    asked_at = time.perf_counter()
                if done % 25 == 0 or done == total:
                    rate = (done - 1) / max(time.perf_counter() - asked_at, 1e-9)
                    print(f"asked {done}/{total} questions ({rate:.1f}/s)", file=sys.stderr,
                          flush=True)

        if args.beir:
            if args.corpus or args.out or args.limit is not None:
                raise QAError("--corpus, --out and --limit go with --qa, not --beir.")
            report: Any = evaluation.evaluate_beir(
                args.beir, split=args.split or "test", modes=args.mode or evaluation.BEIR_MODES,
                index=args.index, progress=progress,
            )
        elif args.qa:
            report = evaluation.evaluate_qa(
                args.qa, corpus=args.corpus, split=args.split or "all", index=args.index,
                limit=args.limit, k=args.k, progress=progress,
            )
            if args.out:
                with open(args.out, "w", encoding="utf-8") as out:
                    for outcome in report.outcomes:
                        out.write(json.dumps(asdict(outcome), ensure_ascii=False) + "\n")
        else:
            raise QAError("Say what to evaluate: `qa eval --beir DIR` (retrieval on a BEIR "
                          "folder) or `qa eval --qa [FILE]` (answers on a question set).")
        if args.json:
            _print_json(report.as_json())
        else:
            # The set's, corpus's and index's names are file names: one rule for the terminal.
            print(terminal_safe(report.table(), multiline=True))
        return 0

    p = sub.add_parser("eval", help="retrieval scores on a BEIR folder, or answers of qa and "
                                    "a naive baseline on a question set")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--beir", metavar="DIR",
                      help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv): "
                           "nDCG@10, Recall@100, MRR@10 per mode, document level")
    what.add_argument("--qa", metavar="SET", nargs="?", const=_DEVSET,
                      help="question set: a .jsonl of {question, answers, kind, history?, "
                           "split?} about --corpus, or SQuAD 2.0 JSON (its paragraphs are the "
                           "corpus); default the packaged qa/devset.jsonl. qa and the baseline "
                           "side by side: answer cited, abstention, citation length, latency")
    p.add_argument("--corpus", help="--qa with a .jsonl set: the articles it is about "
                                    "(default corpus/, or $QA_CORPUS)")
    p.add_argument("--split", help="--beir: the qrels split (default test); --qa: dev, test or "
                                   "all (default all)")
    p.add_argument("--mode", action="append", choices=["hybrid", "dense", "bm25"],
                   help="for --beir; repeat for several (default: all three)")
    p.add_argument("--index", help="where the evaluation keeps its own index (default "
                                   "~/.cache/qa/eval/<name>/index); a folder holding anything "
                                   "else is refused")
    p.add_argument("--limit", type=int, metavar="N", help="--qa: only the first N questions")
    p.add_argument("--k", type=int, default=5,
                   help="--qa: passages checked for 'answer in the top-k' (default 5)")
    p.add_argument("--out", metavar="FILE.jsonl",
                   help="--qa: write each question's outcome there, one JSON line each")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_cmd_eval)

    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `qa` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `qa` opens the chat
        if "chat" not in _commands(parser):
            parser.print_help()
            return 0
        args = parser.parse_args(["chat"])
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
        if os.environ.get("QA_DEBUG"):
            raise
        tail = " The previous index is unchanged." if args.command == "index" else ""
        print(
            f"qa: unexpected error ({type(exc).__name__}: {terminal_safe(str(exc))}).{tail} "
            "Run again with QA_DEBUG=1 to see the traceback, and please report it.",
            file=sys.stderr,
        )
        return 1


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


if __name__ == "__main__":
    sys.exit(main())
