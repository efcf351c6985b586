"""`qa eval`: retrieval quality on a BEIR folder, or answer quality on a question set
(qa/evaluation.py does the work; this module only parses and prints)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from typing import Any

from qa.errors import QAError
from qa.text import terminal_safe

from .console import ProgressBar, print_json

EXAMPLES = """\
examples:
  qa eval --qa                                         # the packaged dev set, beside a baseline
  qa eval --qa my-questions.jsonl --corpus ~/news --split dev   # your questions, your folder
  qa eval --beir ~/beir/scifact --mode hybrid               # a BEIR folder"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="retrieval scores on a BEIR folder, or answers of qa and "
                                    "a naive baseline on a question set", epilog=EXAMPLES)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--beir", metavar="DIR",
                      help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv): "
                           "nDCG@10, Recall@100, MRR@10 per mode, document level")
    what.add_argument("--qa", metavar="SET",
                      help="question set: a .jsonl of {question, answers, kind, history?, "
                           "split?} about --corpus, or SQuAD 2.0 JSON (its paragraphs are the "
                           "corpus). qa and the baseline side by side: answer cited, "
                           "abstention, confidence, citation length, latency")
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
    p.add_argument("--split-file", metavar="FILE",
                   help="--qa with SQuAD JSON: a JSON file naming each split's article titles "
                        '({"dev": [...], "test": [...]}); needed for --split dev or test')
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=evaluate)


def evaluate(args: argparse.Namespace) -> int:
    from qa import evaluation

    progress = EvalProgress()
    if args.beir:
        if args.corpus or args.out or args.limit is not None or args.split_file:
            raise QAError("--corpus, --out, --limit and --split-file go with --qa, not --beir.")
        report: Any = evaluation.evaluate_beir(
            args.beir, split=args.split or "test", modes=args.mode or evaluation.BEIR_MODES,
            index=args.index, progress=progress,
        )
    elif args.qa:
        report = evaluation.evaluate_qa(
            args.qa, corpus=args.corpus, split=args.split or "all", index=args.index,
            limit=args.limit, k=args.k, progress=progress, split_file=args.split_file,
        )
        if args.out:
            with open(args.out, "w", encoding="utf-8") as out:
                for outcome in report.outcomes:
                    out.write(json.dumps(asdict(outcome), ensure_ascii=False) + "\n")
    else:
        raise QAError("Say what to evaluate: `qa eval --beir DIR` (retrieval on a BEIR "
                      "folder) or `qa eval --qa [FILE]` (answers on a question set).")
    if args.json:
        print_json(report.as_json())
    else:
        # The set's, corpus's and index's names are file names: one rule for the terminal.
        print(terminal_safe(report.table(), multiline=True))
    return 0


class EvalProgress:
    """An evaluation's progress on stderr: the bar while its index is embedded, a line when a
    mode's queries are scored, and every 25 questions asked with the rate since the first."""

    def __init__(self) -> None:
        self.bar = ProgressBar()
        self.asked_at = time.perf_counter()

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.bar.start(stage, done, total)
        self.bar(stage, done, total)
        if stage.startswith("search:") and done == total:
            print(f"{stage[7:]}: {total} queries scored", file=sys.stderr, flush=True)
        if stage == "ask":
            if done == 1:
                self.asked_at = time.perf_counter()
            if done % 25 == 0 or done == total:
                rate = (done - 1) / max(time.perf_counter() - self.asked_at, 1e-9)
                print(f"asked {done}/{total} questions ({rate:.1f}/s)", file=sys.stderr,
                      flush=True)
