"""Fit the answerer's calibrated models (qa/scoring.py) on the DEV splits only.

    .venv/bin/python bench/fit_answerer.py            # writes qa/answer_model.json

For each dev split — qa/devset.jsonl over corpus/, the SQuAD 2.0 subset (dev articles, see
bench/sets/squad2-split.json) and bench/sets/wikinews.jsonl over ../shared/news/wikinews —
every question's candidate sentences are described (`Assistant.candidates_for`) and labelled
(does the sentence hold an accepted answer?). Then, for hybrid and for lexical scoring:

1. the sentence model: logistic regression, sentence features -> holds the answer, fitted on
   the candidates of answerable questions;
2. the question model: logistic regression, the ranked candidates' features -> the question
   is answerable (unanswerable and off-topic questions are the negatives);
3. the threshold: the highest confidence at which every dev set keeps false abstention on
   answerable questions at or under MAX_FALSE_ABSTENTION;
4. how many sentences to cite (`AnswerModel.citations`): the two probability bars that cite
   the answer most often, against the baseline, while citing no more characters on average
   than the baseline's two sentences on every dev set (the same run measures them).

Test splits are never read here. The figures it prints go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))

from qa.answer import Assistant  # noqa: E402
from qa.baseline import BaselineAssistant  # noqa: E402
from qa.candidates import FEATURES  # noqa: E402
from qa.evaluation import (  # noqa: E402
    _eval_folders, contains_answer, load_question_set, write_squad_corpus,
)
from qa.scoring import QUESTION_FEATURES, AnswerModel, Logistic, question_features  # noqa: E402

SETS = (
    ("devset", REPO / "qa" / "devset.jsonl", REPO / "corpus"),
    ("squad", SHARED / "eval" / "squad2-dev-subset" / "dev-v2.0-first5.json", None),
    ("wikinews", REPO / "bench" / "sets" / "wikinews.jsonl", SHARED / "news" / "wikinews"),
)
# Off-topic questions by construction: dev questions of one set asked of another set's
# articles (SQuAD's Normans over Wikinews, Wikinews' marathons over SQuAD's paragraphs).
CROSS = (("squad", "wikinews"), ("wikinews", "squad"), ("squad", "devset"))
CROSS_QUESTIONS = 120
MAX_FALSE_ABSTENTION = 0.04  # on each dev set; the target on test splits is 0.05
LEXICAL_ONLY = ("cosine", "cosine_gap")  # zero when the model cannot load


def open_set(path: Path, corpus: Path | None):
    from qa import Retriever, build_index

    qset = load_question_set(path, "dev")
    corpus_dir, index_dir = _eval_folders(qset, str(corpus) if corpus else None, None)
    if qset.articles is not None:
        write_squad_corpus(qset.articles, corpus_dir)
    build_index(corpus=str(corpus_dir), index=str(index_dir))
    retriever = Retriever.open(str(index_dir))
    retriever.warm_up()
    return qset, retriever


def collect(name: str, qset, retriever, mode: str) -> list[dict]:
    """Per question: candidates' features, their labels, the kind, the baseline's chars."""
    assistant = Assistant(retriever)
    baseline = BaselineAssistant(retriever)
    rows = []
    for i, ex in enumerate(qset.examples):
        cands, _ = assistant.candidates_for(ex.question, list(ex.history), mode=mode)
        feats = np.stack([c.features for c in cands]) if cands else np.zeros((0, len(FEATURES)))
        if mode == "bm25":
            for f in LEXICAL_ONLY:
                feats[:, FEATURES.index(f)] = 0.0
        labels = np.asarray([contains_answer(c.text, ex.answers) for c in cands], bool)
        pair_text = [c.article.text[c.start:c.next_end] if c.next_end else c.text for c in cands]
        at = {(c.article.id, c.start): j for j, c in enumerate(cands)}
        following = [at.get((c.article.id, c.next_end and next(
            (d.start for d in cands if d.article.id == c.article.id and d.previous_start == c.start
             and d.end == c.next_end), None))) for c in cands]
        base = baseline.ask(ex.question) if mode != "bm25" else None
        rows.append({
            "set": name, "kind": ex.kind, "answers": ex.answers, "features": feats,
            "labels": labels, "texts": [c.text for c in cands], "pairs": pair_text,
            "pair_labels": np.asarray([contains_answer(t, ex.answers) for t in pair_text], bool),
            "following": following, "starts": [c.start for c in cands],
            "chunks": [c.chunk_id for c in cands], "cosines": [c.cosine for c in cands],
            "baseline_chars": sum(len(c.text) for c in base.citations) if base else 0,
            "baseline_hit": bool(base and contains_answer(" ".join(c.text for c in base.citations),
                                                           ex.answers)),
        })
        if (i + 1) % 100 == 0:
            print(f"  {name} {mode}: {i + 1}/{len(qset.examples)}", file=sys.stderr, flush=True)
    return rows


def off_topic(qset, n: int):
    """The first `n` answerable questions of a set, as off-topic questions (for another
    corpus), with every n-th question taken so that all its articles are represented."""
    from dataclasses import replace

    answerable = [e for e in qset.examples if e.kind == "answerable" and not e.history]
    step = max(1, len(answerable) // n)
    picked = [replace(e, kind="off_topic", answers=()) for e in answerable[::step][:n]]
    return replace(qset, examples=tuple(picked))


def fit_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None,
                 c: float = 1.0) -> Logistic:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    lr = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y, sample_weight=weight)
    return Logistic(lr.coef_[0], float(lr.intercept_[0]), mean, scale)


def set_weights(names: list[str]) -> np.ndarray:
    """Each set weighs the same in a fit, however many questions it has: SQuAD's 950
    crowd-written questions (and its adversarial unanswerables) must not decide alone what
    news questions look like."""
    count = {n: names.count(n) for n in set(names)}
    w = np.asarray([1.0 / count[n] for n in names])
    return w * len(w) / w.sum()


class _Cand:
    """What `question_features` reads of a candidate."""

    def __init__(self, features: np.ndarray, probability: float, cosine: float) -> None:
        self.features, self.probability, self.cosine = features, probability, cosine


def ranked_of(row: dict, sentence: Logistic) -> list[tuple[int, float]]:
    if not len(row["features"]):
        return []
    p = sentence.probability(row["features"])
    return sorted(enumerate(p), key=lambda t: -t[1])


def fit(rows: list[dict], reference: list[dict] | None = None) -> tuple[AnswerModel, dict]:
    answerable = [r for r in rows if r["kind"] == "answerable" and len(r["features"])]
    x = np.concatenate([r["features"] for r in answerable])
    y = np.concatenate([r["labels"] for r in answerable])
    # A question weighs the same whatever its number of candidates; a set the same whatever
    # its number of questions.
    per_question = set_weights([r["set"] for r in answerable])
    w = np.concatenate([np.full(len(r["features"]), q / len(r["features"]))
                        for r, q in zip(answerable, per_question)])
    sentence = fit_logistic(x, y, w * len(w) / w.sum())
    qx, qy, per_row = [], [], []
    for r in rows:
        ranked = ranked_of(r, sentence)
        if not ranked:
            per_row.append(None)
            continue
        cands = [_Cand(r["features"][i], p, r["cosines"][i]) for i, p in ranked]
        qx.append(question_features(cands))  # type: ignore[arg-type]
        qy.append(r["kind"] == "answerable")
        per_row.append(ranked)
    question = fit_logistic(np.stack(qx), np.asarray(qy),
                            set_weights([r["set"] for r, k in zip(rows, per_row) if k is not None]))
    confidences = []
    j = 0
    for r, ranked in zip(rows, per_row):
        if ranked is None:
            confidences.append(0.0)
            continue
        confidences.append(float(question.probability(qx[j])[0]))
        j += 1
    # The threshold: as high as every set allows with false abstention <= the bound.
    threshold = 1.0
    for name in sorted({r["set"] for r in rows}):
        conf = sorted(c for r, c in zip(rows, confidences)
                      if r["set"] == name and r["kind"] == "answerable")
        if conf:
            allowed = int(np.floor(MAX_FALSE_ABSTENTION * len(conf)))
            threshold = min(threshold, conf[allowed] - 1e-6 if allowed < len(conf) else 0.0)
    threshold = max(0.0, threshold)
    # How many sentences to cite: most answers cited, no more characters than the baseline.
    reference = reference or rows
    best, table = None, []
    for single in np.arange(0.3, 1.01, 0.05):
        for third in np.arange(0.0, float(single) + 1e-9, 0.05):
            per_set = {}
            for name in sorted({r["set"] for r in rows}):
                hit = chars = n = base_chars = base_hit = 0
                for r, ref, ranked, conf in zip(rows, reference, per_row, confidences):
                    if r["set"] != name or r["kind"] != "answerable" or ranked is None:
                        continue
                    n += 1
                    base_chars += ref["baseline_chars"]
                    base_hit += ref["baseline_hit"]
                    if conf < threshold:
                        continue  # an abstention cites nothing and answers nothing
                    text = " ".join(r["texts"][i] for i in picked(r, ranked, single, third))
                    hit += contains_answer(text, r["answers"])
                    chars += len(text)
                per_set[name] = (hit / max(n, 1), chars / max(n, 1), base_hit / max(n, 1),
                                 base_chars / max(n, 1))
            margin = min(v[0] - v[2] for v in per_set.values())
            fits = all(v[1] <= v[3] for v in per_set.values())
            table.append((round(float(single), 2), round(float(third), 2), margin, fits))
            if fits and (best is None or margin > best[0]):
                best = (margin, float(single), float(third), per_set)
    if best is None:
        best = (0.0, 1.0, 0.0, {})
    model = AnswerModel(sentence, question, float(threshold), round(best[1], 2), round(best[2], 2))
    return model, {"threshold": threshold, "policy": best, "confidences": confidences}


def picked(row: dict, ranked: list[tuple[int, float]], single: float, third: float) -> list[int]:
    """The candidates `Assistant._choose` cites under these bars (duplicates aside)."""
    top = ranked[0][0]
    out = [top]
    if ranked[0][1] < single and len(ranked) > 1:
        out.append(ranked[1][0])
    if ranked[0][1] < third:
        after = row["following"][top]
        if after is not None and after not in out:
            out.append(after)
    return out


def report(rows: list[dict], confidences: list[float], model: AnswerModel, label: str) -> None:
    print(f"\n{label}: threshold {model.threshold:.3f}, one sentence at p >= "
          f"{model.single_above}, three below {model.third_below}")
    for name in sorted({r["set"] for r in rows}):
        sub = [(r, c) for r, c in zip(rows, confidences) if r["set"] == name]
        ans = [(r, c) for r, c in sub if r["kind"] == "answerable"]
        una = [(r, c) for r, c in sub if r["kind"] == "unanswerable"]
        off = [(r, c) for r, c in sub if r["kind"] == "off_topic"]
        fa = sum(c < model.threshold for _, c in ans) / max(len(ans), 1)
        ca = sum(c < model.threshold for _, c in una) / max(len(una), 1)
        co = sum(c < model.threshold for _, c in off) / max(len(off), 1)
        top1 = sum(bool(len(r["labels"])) and bool(r["labels"][ranked_of(r, model.sentence)[0][0]])
                   for r, _ in ans) / max(len(ans), 1)
        base = sum(r["baseline_hit"] for r, _ in ans) / max(len(ans), 1)
        print(f"  {name:9s} answerable {len(ans):4d}  top-1 holds answer {top1:.3f} "
              f"(baseline top-2 {base:.3f})  false abst {fa:.3f}  "
              f"unanswerable abst {ca:.3f} ({len(una)})  off-topic abst {co:.3f} ({len(off)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "qa" / "answer_model.json"))
    args = parser.parse_args()
    doc: dict = {"fitted": {
        "command": "bench/fit_answerer.py", "date": _dt.date.today().isoformat(),
        "sets": [f"{name} (dev split)" for name, _, _ in SETS],
        "max_false_abstention_per_dev_set": MAX_FALSE_ABSTENTION,
    }}
    opened = [(name, *open_set(path, corpus)) for name, path, corpus in SETS]
    by_name = {name: (qset, retriever) for name, qset, retriever in opened}
    opened += [(f"{q} over {c}", off_topic(by_name[q][0], CROSS_QUESTIONS), by_name[c][1])
               for q, c in CROSS]
    reference = None
    for scoring, mode in (("hybrid", "auto"), ("lexical", "bm25")):
        rows = [row for name, qset, retriever in opened
                for row in collect(name, qset, retriever, mode)]
        model, info = fit(rows, reference)
        reference = reference or rows  # the baseline's figures come from the hybrid run
        report(rows, info["confidences"], model, scoring)
        print("  answers cited, characters, baseline's, per dev set:")
        for name, (hit, chars, base_hit, base_chars) in sorted(info["policy"][3].items()):
            print(f"    {name:9s} qa {hit:.3f} ({chars:.0f} chars)  baseline {base_hit:.3f} "
                  f"({base_chars:.0f} chars)")
        doc[scoring] = {
            "sentence": model.sentence.to_json(FEATURES),
            "question": model.question.to_json(QUESTION_FEATURES),
            "threshold": round(model.threshold, 6), "single_above": model.single_above,
            "third_below": model.third_below,
        }
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
