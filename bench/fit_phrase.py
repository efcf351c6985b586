"""Fit the answer phrase's weights (qa/answer/phrase_parse.py `WEIGHTS`) on the DEV splits only.

    .venv/bin/python bench/fit_phrase.py      # prints the weights and the held-out figures

Each dev split's answerable questions are asked of qa (the sets and indexes of
bench/fit_answerer.py). For every answer whose cited text holds an accepted answer, the
phrases of its cited sentences are described (`phrase_parse.described`) and labelled (does
the phrase hold an accepted answer?). The weights are a conditional logit: one softmax over
an answer's phrases, fitted to put the phrases holding the answer first (L2-regularised,
gradient ascent). Figures: "phrase holds answer" as qa eval counts it (of the answers whose
citations hold an answer) for the choice before (the first phrase by characters of the most
probable cited sentence) and for the fitted weights on held-out folds (questions grouped by
article, FOLDS folds).

Test splits are never read here.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from fit_answerer import SETS, open_set  # noqa: E402

from qa.answer import Assistant, phrase_parse  # noqa: E402
from qa.answer.answer_type import AnswerType  # noqa: E402
from qa.evaluation import contains_answer  # noqa: E402

FOLDS = 5
L2 = 0.3  # held-out folds: 0.03-0.3 alike, 1-10 worse
# How much a set's answers weigh beside their number (news weighed 2x or 4x was no better on
# held-out folds).
SET_WEIGHT: dict[str, float] = {}
PARSE_FEATURES = ("tree_words", "tree_anchor", "fills", "adjunct", "argument", "subject",
                  "object", "prep_object")


def collect(name: str, qset, retriever) -> list[dict]:  # type: ignore[no-untyped-def]
    """One row per answer whose cited text holds an accepted answer: its phrases' features
    and labels, and the phrase chosen before."""
    asked: list[tuple[list[phrase_parse.Cited], str, AnswerType]] = []
    best = phrase_parse.best

    def spy(cited, question, kind):  # type: ignore[no-untyped-def]
        asked.append((list(cited), question, kind))
        return best(cited, question, kind)

    phrase_parse.best = spy  # type: ignore[assignment]
    assistant = Assistant(retriever)
    rows = []
    try:
        for example in qset.examples:
            if not example.answerable:
                continue
            asked.clear()
            answer = assistant.ask(example.question, history=list(example.history))
            cited = "\n".join(c.text for c in answer.citations)
            if answer.abstained or not contains_answer(cited, example.answers):
                continue
            row = {"set": name, "group": example.article or example.id, "x": None, "y": None,
                   "before": False}
            if asked and asked[-1][0]:
                sentences, question, kind = asked[-1]
                described = phrase_parse.described(sentences, question, kind)
                first = sentences[0]
                row["before"] = contains_answer(
                    first.text[first.found[0].start:first.found[0].end], example.answers)
                row["x"] = np.array([x for _, _, x in described])
                row["y"] = np.array([contains_answer(sentences[n].text[f.start:f.end],
                                                     example.answers)
                                     for n, f, _ in described], dtype=float)
            rows.append(row)
    finally:
        phrase_parse.best = best  # type: ignore[assignment]
    return rows


def fit(rows: list[dict]) -> np.ndarray:
    """The conditional logit's weights over the rows that hold a right phrase: the weights
    that maximise the log-probability of the right phrases (their share of the softmax over
    each answer's phrases), less L2 / 2 times their squared norm (L-BFGS)."""
    from scipy.optimize import minimize

    usable = [r for r in rows if r["x"] is not None and r["y"].any() and len(r["y"]) > 1]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * L2 * w @ w, L2 * w
        for r in usable:
            s = r["x"] @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            right = r["y"] > 0
            total -= SET_WEIGHT.get(r["set"], 1.0) * np.log(p[right].sum())
            target = p * right / p[right].sum()
            grad = grad - SET_WEIGHT.get(r["set"], 1.0) * (r["x"].T @ (target - p))
        return float(total), grad

    return np.asarray(minimize(loss, np.zeros(len(phrase_parse.FEATURES)), jac=True,
                               method="L-BFGS-B").x)


def holds(row: dict, w: np.ndarray) -> bool:
    return row["x"] is not None and bool(row["y"][int(np.argmax(row["x"] @ w))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--characters-only", action="store_true",
                        help="fit without the parse's features (what the parse adds)")
    args = parser.parse_args()
    rows: list[dict] = []
    for name, path, corpus in SETS:
        qset, retriever = open_set(path, corpus)
        rows += collect(name, qset, retriever)
    if args.characters_only:
        keep = [i for i, n in enumerate(phrase_parse.FEATURES) if n not in PARSE_FEATURES]
        for r in rows:
            if r["x"] is not None:
                r["x"] = r["x"] * np.isin(np.arange(r["x"].shape[1]), keep)
    fold = np.asarray([zlib.crc32(r["group"].encode()) % FOLDS for r in rows])
    held = [False] * len(rows)
    for k in range(FOLDS):
        w = fit([r for r, f in zip(rows, fold) if f != k])
        for i, r in enumerate(rows):
            if fold[i] == k:
                held[i] = holds(r, w)
    print("| set (dev) | right answers | phrase holds answer, before | after (held-out folds) |")
    print("|---|---:|---:|---:|")
    for name, _, _ in SETS:
        mine = [i for i, r in enumerate(rows) if r["set"] == name]
        if mine:
            before = sum(rows[i]["before"] for i in mine) / len(mine)
            after = sum(held[i] for i in mine) / len(mine)
            print(f"| {name} | {len(mine)} | {before:.3f} | {after:.3f} |")
    w = fit(rows)
    print("\nWEIGHTS = {" + ", ".join(f'"{n}": {x:.3f}' for n, x in
                                      zip(phrase_parse.FEATURES, w)) + "}")


if __name__ == "__main__":
    main()
