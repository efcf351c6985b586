"""Sweep the abstention threshold on the dev set and print precision/recall of abstention.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/calibrate_abstention.py [--index DIR] [--mode bm25]
        [--devset qa/devset.jsonl --devset qa/devset_heldout.jsonl] [--show-misses]

Builds an index of `corpus/` in a temporary folder unless `--index` is given. Abstention is
the positive class; "not answerable" is the truth. For every threshold it also prints the
answer-in-cited-sentences rate over the answerable questions. Pick the threshold with the
best F1 that keeps the answer rate high on qa/devset.jsonl, and record it (with its figures)
in qa/answer.py. qa/devset_heldout.jsonl (swept by default too) was written apart from the
scoring work: its figures show whether a change generalises, and must not be tuned on.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def calibrate(index: str, devset: str, mode: str = "auto", thresholds: list[float] | None = None) -> list[dict]:
    """Run the dev set once per threshold; return one row of figures per threshold."""
    from qa import Retriever
    from qa.answer import Assistant
    from qa.evaluation import contains_answer, load_qa_examples

    retriever = Retriever.open(index)
    examples = load_qa_examples(devset)
    thresholds = thresholds or [round(0.30 + 0.02 * i, 2) for i in range(21)]
    rows = []
    for t in thresholds:
        assistant = Assistant(retriever, abstain_threshold=t, abstain_threshold_bm25=t)
        tp = fp = fn = answered_ok = answerable = 0
        misses = []
        for ex in examples:
            ans = assistant.ask(ex.question, mode=mode)
            cited = "\n".join(c.text for c in ans.citations)
            if ex.answerable:
                answerable += 1
                ok = not ans.abstained and contains_answer(cited, ex.answers)
                answered_ok += ok
                if ans.abstained:
                    fp += 1
                if not ok:
                    misses.append(ex.question)
            else:
                if ans.abstained:
                    tp += 1
                else:
                    fn += 1
                    misses.append(ex.question)
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(dict(threshold=t, answer_rate=answered_ok / max(answerable, 1),
                         precision=precision, recall=recall, f1=f1, misses=misses))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index")
    parser.add_argument("--devset", action="append",
                        help="a dev set (repeatable); default: qa/devset.jsonl and "
                             "qa/devset_heldout.jsonl")
    parser.add_argument("--mode", default="auto", choices=["auto", "hybrid", "bm25"])
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    index = args.index
    if index is None:
        from qa import build_index

        index = str(Path(tempfile.mkdtemp(prefix="qa-calib-")) / "index")
        build_index(corpus=str(ROOT / "corpus"), index=index, full=True)
    devsets = args.devset or [str(ROOT / "qa" / "devset.jsonl"),
                               str(ROOT / "qa" / "devset_heldout.jsonl")]
    for devset in devsets:
        rows = calibrate(index, devset, args.mode)
        print(f"mode={args.mode} devset={devset}")
        print("threshold  answer-in-cited  abstain-precision  abstain-recall  F1")
        for r in rows:
            print(f"{r['threshold']:9.2f}  {r['answer_rate']:15.3f}  {r['precision']:17.3f}"
                  f"  {r['recall']:14.3f}  {r['f1']:.3f}")
        best = max(rows, key=lambda r: (round(r["f1"], 3), r["answer_rate"]))
        print(f"best F1: threshold {best['threshold']:.2f}")
        if args.show_misses:
            print("misses:", *best["misses"], sep="\n  ")
        print()


if __name__ == "__main__":
    main()
