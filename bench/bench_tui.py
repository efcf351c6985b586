"""Chat start-up: time until the chat is on screen, and until the first answer.

    .venv/bin/python bench/bench_tui.py [--index index] [--corpus corpus] [--runs 3]

What `make run` does is `qa index` (a no-op when nothing changed) then `qa chat`. This script
times both parts from a fresh process each run, with the real packaged model and a built
index: the no-op `qa index`, then a child process that starts the app headless (Textual's
`run_test`, the same app and screens as `qa chat`) and reports, from its own process start:

- screen: the chat screen is mounted and drawn (before the index and the model are loaded);
- index: the index is open (status line shows the counts);
- first answer: a question typed as soon as the screen is up is answered (while the model
  still loads, so with BM25, marked "BM25 (model loading)");
- model: the embedding model finished loading in its worker;
- hybrid answer: a second question, answered with the model.

Prints the figures and rewrites the `## Chat start-up` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

QUESTION = "Who is Zhao Lijian?"
SECOND_QUESTION = "What did the Chinese diplomat say about sovereignty?"


def child(index: str, corpus: str | None, t0: float) -> None:
    """Run inside the measured process: start the app, ask, report times since `t0`."""
    from qa.tui.app import make_app  # counted: importing textual and the app is start-up cost
    from qa.tui.widgets.history_input import HistoryInput
    from qa.tui.widgets.message_list import AnswerMessage

    figures: dict[str, float | str] = {}

    def mark(name: str) -> None:
        figures[name] = round(time.time() - t0, 3)

    async def run() -> None:
        app = make_app(index, corpus)
        async with app.run_test(size=(120, 34)) as pilot:
            await pilot.pause()
            mark("screen")
            chat = app.chat
            box = app.query_one(HistoryInput)
            box.value = QUESTION
            await pilot.press("enter")
            while not chat.index_ready.is_set():
                await asyncio.sleep(0.005)
            mark("index")
            while not chat.query(AnswerMessage):
                await asyncio.sleep(0.005)
            mark("first_answer")
            figures["first_answer_mode"] = chat.query(AnswerMessage).last().mode_label
            while not chat.model_settled:
                await asyncio.sleep(0.01)
            mark("model")
            box.value = SECOND_QUESTION
            await pilot.press("enter")
            while len(chat.query(AnswerMessage)) < 2:
                await asyncio.sleep(0.005)
            mark("hybrid_answer")
            figures["second_answer_mode"] = chat.query(AnswerMessage).last().mode_label

    asyncio.run(run())
    print(json.dumps(figures))


def measure(index: str, corpus: str | None) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    args = [sys.executable, __file__, "--child", "--index", index]
    if corpus:
        args += ["--corpus", corpus]
    t0 = time.time()
    out = subprocess.run(args + ["--t0", repr(t0)], capture_output=True, text=True, env=env, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_noop_index(index: str, corpus: str) -> float:
    qa = Path(sys.executable).with_name("qa")
    t0 = time.perf_counter()
    subprocess.run([str(qa), "index", "--corpus", corpus, "--index", index], capture_output=True, check=True, timeout=600)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", default="index")
    parser.add_argument("--corpus", default="corpus")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    if args.child:
        child(args.index, args.corpus, args.t0)
        return

    os.chdir(ROOT)
    noop = [time_noop_index(args.index, args.corpus) for _ in range(2)][-1]  # first may really build
    runs = [measure(args.index, args.corpus) for _ in range(args.runs)]
    keys = ["screen", "index", "first_answer", "model", "hybrid_answer"]
    med = {k: statistics.median(float(r[k]) for r in runs) for k in keys}
    labels = {
        "screen": "chat on screen",
        "index": "index open (counts in the status line)",
        "first_answer": f"first answer ({runs[0]['first_answer_mode']})",
        "model": "model loaded (search becomes hybrid)",
        "hybrid_answer": f"answer after the model loaded ({runs[0]['second_answer_mode']})",
    }
    print(f"no-op `qa index`: {noop:.2f} s")
    for k in keys:
        print(f"{labels[k]:<50} median {med[k]:.2f} s   runs: " + ", ".join(f"{float(r[k]):.2f}" for r in runs))
    if args.no_write:
        return

    from bench.common import replace_section, section_header

    rows = "\n".join(
        f"| {labels[k]} | {med[k]:.2f} | {', '.join(f'{float(r[k]):.2f}' for r in runs)} |" for k in keys
    )
    body = (
        section_header()
        + f"- Index: `{args.index}` built from `{args.corpus}` with the packaged model; {args.runs} runs, "
        "each a fresh process (`run_test` headless at 120×34, the same app as `qa chat`).\n"
        f"- `make run` = no-op `qa index` ({noop:.2f} s here) + `qa chat`; add it to the figures below "
        "for time from `make run`.\n\n"
        "| seconds from process start | median | runs |\n|---|---|---|\n" + rows + "\n\n"
        "The chat is drawn before the index and the model load (both in workers); a question asked "
        "at once is answered with BM25 and marked so, and later ones use the model."
    )
    replace_section("Chat start-up", body)


if __name__ == "__main__":
    main()
