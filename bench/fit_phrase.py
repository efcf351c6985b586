"""Fit the answer phrase's weights (qa/answer/phrase_parse.py `WEIGHTS`) on the DEV splits only.

    .venv/bin/python bench/fit_phrase.py      # prints the weights and the held-out figures

Each dev split's answerable questions are asked of qa (the sets and indexes of
bench/fit_answerer.py; `--cache FILE` keeps what the answer phrase was chosen from, to refit
after a change to the phrases only). For every answer whose cited text holds an accepted
answer, the phrases of its cited sentences are described (`phrase_parse.described`) and
labelled (does the phrase hold an accepted answer?). The weights are a conditional logit: one
softmax over an answer's phrases, fitted to put the phrases holding the answer first
(L2-regularised, L-BFGS). The extension weights (`EXTENSION_WEIGHTS`) are a second one, over
the chosen phrase and its extensions in the parse (`phrase_parse.extensions`), fitted to put
first the shortest of them that holds an answer. Figures: "phrase holds answer" as qa eval
counts it (of the answers whose citations hold an answer) for the choice before (the first
phrase by characters of the most probable cited sentence), for the module's weights, and for
the fitted weights on held-out folds (questions grouped by article, FOLDS folds), without and
with the extension; how often any phrase holds the answer (the ceiling), of the index's
phrases alone and with every phrase's extensions; and the chosen phrase's mean length in
words.

Test splits are never read here.
"""

from __future__ import annotations

import argparse
import pickle
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
    """One row per answer whose cited text holds an accepted answer: what the answer phrase
    was chosen from (the cited sentences, the question, the asked kind), the accepted
    answers, and whether the phrase chosen before holds one."""
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
            row = {"set": name, "group": example.article or example.id, "asked": None,
                   "answers": list(example.answers), "before": False}
            if asked and asked[-1][0]:
                row["asked"] = asked[-1]
                first = asked[-1][0][0]
                row["before"] = contains_answer(
                    first.text[first.found[0].start:first.found[0].end], example.answers)
            rows.append(row)
    finally:
        phrase_parse.best = best  # type: ignore[assignment]
    return rows


def describe(row: dict) -> dict:
    """The row with its phrases' features (`x`) and labels (`y`: does the phrase hold an
    accepted answer?), or None for both when its cited sentences hold no phrase."""
    row = dict(row, x=None, y=None, wider={})
    if row["asked"] is not None:
        sentences, question, kind = row["asked"]
        described = phrase_parse.described(sentences, question, kind)
        row["found"] = [(n, f) for n, f, _ in described]
        row["x"] = np.array([x for _, _, x in described])
        row["y"] = np.array([contains_answer(sentences[n].text[f.start:f.end], row["answers"])
                             for n, f, _ in described], dtype=float)
    return row


def widen(row: dict, i: int) -> dict:
    """The choice between phrase `i` of a row and its extensions (`phrase_parse.extensions`):
    their features (the phrase's all 0), whether each holds an answer, its words, and the
    one to learn: the shortest that holds an answer (the phrase itself when it does)."""
    if i not in row["wider"]:
        sentences, question, kind = row["asked"]
        n, f = row["found"][i]
        options = [(f, [0.0] * len(phrase_parse.EXTENSION_FEATURES)),
                   *phrase_parse.extensions(sentences[n], f, question, kind)]
        texts = [sentences[n].text[e.start:e.end] for e, _ in options]
        y = np.array([contains_answer(t, row["answers"]) for t in texts], dtype=float)
        words = np.array([len(t.split()) for t in texts])
        target = np.zeros(len(y))
        if y.any():
            target[np.flatnonzero(y)[np.argmin(words[y > 0])]] = 1.0
        row["wider"][i] = {"x": np.array([x for _, x in options]), "y": y, "words": words,
                           "target": target}
    return row["wider"][i]


def fit(items: list[dict], width: int) -> np.ndarray:
    """Conditional-logit weights over items (`x`: one row of features per option, `target`:
    the options to put first): the weights that maximise the log-probability of the target
    options (their share of the softmax over the item's options), less L2 / 2 times their
    squared norm (L-BFGS)."""
    from scipy.optimize import minimize

    usable = [r for r in items if r["x"] is not None and r["target"].any() and len(r["y"]) > 1]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * L2 * w @ w, L2 * w
        for r in usable:
            s = r["x"] @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            right = r["target"] > 0
            weight = SET_WEIGHT.get(r.get("set", ""), 1.0)
            total -= weight * np.log(p[right].sum())
            target = p * right / p[right].sum()
            grad = grad - weight * (r["x"].T @ (target - p))
        return float(total), grad

    return np.asarray(minimize(loss, np.zeros(width), jac=True, method="L-BFGS-B").x)


def choose(row: dict, w: np.ndarray, w_wider: np.ndarray | None) -> tuple[bool, int]:
    """Whether the phrase chosen by `w`, extended by `w_wider` (None: not extended), holds
    an answer, and its words."""
    i = int(np.argmax(row["x"] @ w))
    options = widen(row, i)
    j = 0
    if w_wider is not None:
        scores = options["x"] @ w_wider
        # the phrase itself scores 0 and wins ties; among extensions the shortest first
        best = max(range(len(scores)), key=lambda k: (scores[k], -options["words"][k], -k))
        j = best if scores[best] > 0 else 0
    return bool(options["y"][j]), int(options["words"][j])


def chosen_options(rows: list[dict], w: np.ndarray) -> list[dict]:
    """The extension choices of the phrases `w` chooses (to fit the extension weights on)."""
    return [widen(r, int(np.argmax(r["x"] @ w))) for r in rows if r["x"] is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--characters-only", action="store_true",
                        help="fit without the parse's features (what the parse adds)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep the answers asked in this pickle and read them from it "
                             "when it exists (to refit after a change to the phrases only)")
    args = parser.parse_args()
    if args.cache is not None and args.cache.is_file():
        rows = pickle.loads(args.cache.read_bytes())
    else:
        rows = []
        for name, path, corpus in SETS:
            qset, retriever = open_set(path, corpus)
            rows += collect(name, qset, retriever)
        if args.cache is not None:
            args.cache.write_bytes(pickle.dumps(rows))
    rows = [describe(r) for r in rows]
    for r in rows:
        r["target"] = r["y"]
    if args.characters_only:
        keep = [i for i, n in enumerate(phrase_parse.FEATURES) if n not in PARSE_FEATURES]
        for r in rows:
            if r["x"] is not None:
                r["x"] = r["x"] * np.isin(np.arange(r["x"].shape[1]), keep)
    width, wider = len(phrase_parse.FEATURES), len(phrase_parse.EXTENSION_FEATURES)
    fold = np.asarray([zlib.crc32(r["group"].encode()) % FOLDS for r in rows])
    held: list[tuple[bool, int] | None] = [None] * len(rows)
    held_wider: list[tuple[bool, int] | None] = [None] * len(rows)
    for k in range(FOLDS):
        train = [r for r, f in zip(rows, fold) if f != k]
        w = fit(train, width)
        w_wider = fit(chosen_options(train, w), wider)
        for i, r in enumerate(rows):
            if fold[i] == k and r["x"] is not None:
                held[i], held_wider[i] = choose(r, w, None), choose(r, w, w_wider)
    current = np.array([phrase_parse.WEIGHTS[n] for n in phrase_parse.FEATURES])
    current_wider = np.array([phrase_parse.EXTENSION_WEIGHTS[n]
                              for n in phrase_parse.EXTENSION_FEATURES])
    print("| set (dev) | right answers | a phrase holds answer, of the index / with extensions "
          "| before | current weights | held-out: phrase | held-out: extended "
          "| words: phrase / extended |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, _, _ in SETS:
        mine = [i for i, r in enumerate(rows) if r["set"] == name]
        if not mine:
            continue
        with_x = [i for i in mine if rows[i]["x"] is not None]
        ceiling = sum(bool(rows[i]["y"].any()) for i in with_x) / len(mine)
        wide = sum(bool(rows[i]["y"].any()) or any(
            widen(rows[i], j)["y"].any() for j in range(len(rows[i]["y"]))) for i in with_x)
        before = sum(rows[i]["before"] for i in mine) / len(mine)
        now = sum(choose(rows[i], current, current_wider)[0] for i in with_x) / len(mine)
        plain = [held[i] for i in with_x if held[i] is not None]
        extended = [held_wider[i] for i in with_x if held_wider[i] is not None]
        print(f"| {name} | {len(mine)} | {ceiling:.3f} / {wide / len(mine):.3f} | {before:.3f} "
              f"| {now:.3f} | {sum(h for h, _ in plain) / len(mine):.3f} "
              f"| {sum(h for h, _ in extended) / len(mine):.3f} "
              f"| {np.mean([n for _, n in plain]):.2f} / {np.mean([n for _, n in extended]):.2f} |")
    w = fit(rows, width)
    w_wider = fit(chosen_options(rows, w), wider)
    print("\nWEIGHTS = {" + ", ".join(f'"{n}": {x:.3f}' for n, x in
                                      zip(phrase_parse.FEATURES, w)) + "}")
    print("EXTENSION_WEIGHTS = {" + ", ".join(f'"{n}": {x:.3f}' for n, x in
                                            zip(phrase_parse.EXTENSION_FEATURES, w_wider)) + "}")


if __name__ == "__main__":
    main()
