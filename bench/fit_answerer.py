"""Fit the answerer's models (qa/answer/scoring.py) on the DEV splits only.

    .venv/bin/python bench/fit_answerer.py            # writes qa/answer/model.json

For each dev split — bench/sets/seeds.jsonl over corpus/, the SQuAD 2.0 subset (dev articles,
see bench/sets/squad2-split.json), bench/sets/wikinews.jsonl and bench/sets/wikinews_dev.jsonl
over ../shared/news/wikinews —
every question's candidate sentences are described (`Assistant.candidates_for`) and labelled
(does the sentence hold an accepted answer?). Off-topic questions are made by asking one dev
set's questions of another set's articles. Then, for hybrid and for lexical scoring:

1. the sentence model: logistic regression, sentence features -> holds the answer, fitted on
   the candidates of answerable questions;
2. how many sentences to cite (`AnswerModel.share`, `budget`, `most`): the rule that cites
   the answer most often against the baseline, on the worst dev set, while citing no more
   characters on average than the baseline's two sentences on every dev set;
3. the question model: logistic regression, the ranked candidates' features -> the answer qa
   would cite holds a right answer (unanswerable and off-topic questions have none);
4. the calibration: isotonic regression of the question model's scores on held-out folds
   (questions grouped by article, FOLDS folds, every model refitted without the fold) ->
   P(right): `Answer.confidence`. One regression per corpus (its off-topic questions
   included), and the calibration is their lowest value at each score: a confidence of 0.8
   is meant to hold on every corpus, not on their average;
5. the threshold: the highest confidence at which every dev set keeps false abstention on
   answerable questions at or under MAX_FALSE_ABSTENTION.

Test splits are never read here. The figures it prints go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))

from qa.answer import Assistant  # noqa: E402
from qa.answer.baseline import BaselineAssistant  # noqa: E402
from qa.answer.features import FEATURES  # noqa: E402
from qa.answer.scoring import (  # noqa: E402
    QUESTION_FEATURES,
    AnswerModel,
    Calibration,
    Logistic,
    question_features,
)
from qa.evaluation import (  # noqa: E402
    contains_answer,
    eval_folders,
    load_question_set,
    write_squad_corpus,
)

# Which SQuAD articles are dev and which test: the split is data the caller passes.
SQUAD_SPLIT = REPO / "bench" / "sets" / "squad2-split.json"
SETS = (
    ("seeds", REPO / "bench" / "sets" / "seeds.jsonl", REPO / "corpus"),
    ("squad", SHARED / "eval" / "squad2-dev-subset" / "dev-v2.0-first5.json", None),
    ("wikinews", REPO / "bench" / "sets" / "wikinews.jsonl", SHARED / "news" / "wikinews"),
    ("wikinews_dev", REPO / "bench" / "sets" / "wikinews_dev.jsonl", SHARED / "news" / "wikinews"),
)
# Off-topic questions by construction: dev questions of one set asked of another set's
# articles (SQuAD's questions over Wikinews, Wikinews' over SQuAD's paragraphs).
CROSS = (("squad", "wikinews"), ("wikinews", "squad"), ("squad", "seeds"))
CROSS_QUESTIONS = 120
MAX_FALSE_ABSTENTION = 0.06  # on each dev set
# News sets weigh more in the sentence model than their size alone gives them: qa answers
# questions about news, and SQuAD's crowd questions about Wikipedia paragraphs are worded
# much closer to their sentences (held-out folds: Wikinews top-1 0.50 at equal weights,
# 0.58 at these, SQuAD 0.79 either way).
SET_WEIGHT = {"wikinews": 4.0, "wikinews_dev": 4.0}
SENTENCE_C = 0.1  # the sentence model's inverse regularisation (held-out folds)
FOLDS = 5
LEXICAL_ONLY = ("cosine", "cosine_gap")  # zero when the model cannot load


def open_set(path: Path, corpus: Path | None):
    from qa import Retriever, build_index

    qset = load_question_set(path, "dev", split_file=SQUAD_SPLIT)  # .jsonl sets ignore it
    corpus_dir, index_dir = eval_folders(qset, str(corpus) if corpus else None, None)
    if qset.articles is not None:
        write_squad_corpus(qset.articles, corpus_dir)
    build_index(corpus=str(corpus_dir), index=str(index_dir))
    retriever = Retriever.open(str(index_dir))
    retriever.warm_up()
    return qset, retriever


def collect(name: str, qset, retriever, mode: str) -> list[dict]:
    """Per question: candidates' features, their labels, the kind, the baseline's figures."""
    assistant = Assistant(retriever)
    baseline = BaselineAssistant(retriever)
    rows = []
    for i, ex in enumerate(qset.examples):
        cands, _, unmentioned = assistant.candidates_for(ex.question, list(ex.history), mode=mode)
        feats = np.stack([c.features for c in cands]) if cands else np.zeros((0, len(FEATURES)))
        if mode == "bm25":
            for f in LEXICAL_ONLY:
                feats[:, FEATURES.index(f)] = 0.0
        at = {(c.article.id, c.start): j for j, c in enumerate(cands)}
        following = [at.get((c.article.id, c.next_end and next(
            (d.start for d in cands if d.article.id == c.article.id and d.previous_start == c.start
             and d.end == c.next_end), None))) for c in cands]
        base = baseline.ask(ex.question) if mode != "bm25" else None
        rows.append({
            "set": name, "kind": ex.kind, "answers": ex.answers, "features": feats,
            "unmentioned": bool(unmentioned),
            "group": f"{name}:{ex.article or i}",
            "labels": np.asarray([contains_answer(c.text, ex.answers) for c in cands], bool),
            "texts": [c.text for c in cands], "following": following,
            "phrases": [c.article.text[c.found[0].start:c.found[0].end] if c.found else None
                        for c in cands],
            "cosines": [c.cosine for c in cands],
            "baseline_chars": sum(len(c.text) for c in base.citations) if base else 0,
            "baseline_hit": bool(base and contains_answer(" ".join(c.text for c in base.citations),
                                                           ex.answers)),
        })
        if (i + 1) % 100 == 0:
            print(f"  {name} {mode}: {i + 1}/{len(qset.examples)}", file=sys.stderr, flush=True)
    return rows


def off_topic(qset, n: int):
    """`n` answerable questions of a set, as off-topic questions for another corpus, every
    n-th one so that all its articles are represented."""
    answerable = [e for e in qset.examples if e.kind == "answerable" and not e.history]
    step = max(1, len(answerable) // n)
    picked = [replace(e, kind="off_topic", answers=()) for e in answerable[::step][:n]]
    return replace(qset, examples=tuple(picked))


def fit_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None,
                 c: float = 1.0) -> Logistic:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    lr = LogisticRegression(C=c, max_iter=3000).fit((x - mean) / scale, y, sample_weight=weight)
    return Logistic(lr.coef_[0], float(lr.intercept_[0]), mean, scale)


def set_weights(names: list[str]) -> np.ndarray:
    """Each set weighs the same in a fit, however many questions it has."""
    count = {n: names.count(n) for n in set(names)}
    w = np.asarray([1.0 / count[n] for n in names])
    return w * len(w) / w.sum()


class _Cand:
    """What `question_features` reads of a candidate."""

    def __init__(self, features: np.ndarray, probability: float, cosine: float) -> None:
        self.features, self.probability, self.cosine = features, probability, cosine


def fit_sentence(rows: list[dict]) -> Logistic:
    answerable = [r for r in rows if r["kind"] == "answerable" and len(r["features"])]
    x = np.concatenate([r["features"] for r in answerable])
    y = np.concatenate([r["labels"] for r in answerable])
    # A question weighs the same whatever its number of candidates; a set the same whatever
    # its number of questions.
    per_question = set_weights([r["set"] for r in answerable]) \
        * np.asarray([SET_WEIGHT.get(r["set"], 1.0) for r in answerable])
    w = np.concatenate([np.full(len(r["features"]), q / len(r["features"]))
                        for r, q in zip(answerable, per_question)])
    return fit_logistic(x, y, w * len(w) / w.sum(), c=SENTENCE_C)


def ranked_of(row: dict, sentence: Logistic) -> list[tuple[int, float]]:
    if not len(row["features"]):
        return []
    p = sentence.probability(row["features"])
    return sorted(enumerate(p), key=lambda t: (-t[1], t[0]))


def picked(row: dict, ranked: list[tuple[int, float]], share: float, budget: int,
           most: int) -> list[int]:
    """The candidates `Composer.choose` cites under this rule (duplicates aside)."""
    best, p1 = ranked[0]
    out, chars = [best], len(row["texts"][best])
    for j, p in ranked[1:]:
        if len(out) >= most or p < share * p1:
            break
        if chars + len(row["texts"][j]) > budget:
            continue
        out.append(j)
        chars += len(row["texts"][j])
    return out


def cited_text(row: dict, ranked, rule: tuple[float, int, int]) -> str:
    return " ".join(row["texts"][i] for i in picked(row, ranked, *rule))


def choose_policy(rows: list[dict], ranks: list) -> tuple[tuple[float, int, int], dict]:
    """The citation rule that beats the baseline by most on the worst dev set, citing no more
    characters than it on any (abstention left out: it is decided after)."""
    best = None
    for budget in range(150, 451, 30):
        for share in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8):
            for most in (1, 2, 3, 4):
                rule = (share, budget, most)
                per_set = {}
                for name in sorted({r["set"] for r in rows}):
                    hit = chars = n = base_chars = base_hit = 0
                    for r, ranked in zip(rows, ranks):
                        if r["set"] != name or r["kind"] != "answerable" or not ranked:
                            continue
                        n += 1
                        base_chars += r["baseline_chars"]
                        base_hit += r["baseline_hit"]
                        text = cited_text(r, ranked, rule)
                        hit += contains_answer(text, r["answers"])
                        chars += len(text)
                    if n:
                        per_set[name] = (hit / n, chars / n, base_hit / n, base_chars / n)
                margin = min(v[0] - v[2] for v in per_set.values())
                fits = all(v[1] <= v[3] for v in per_set.values())
                if fits and (best is None or margin > best[0]):
                    best = (margin, rule, per_set)
    if best is None:
        return (1.0, 10_000, 1), {}
    return best[1], best[2]


def question_rows(rows: list[dict], ranks: list) -> tuple[np.ndarray, list[int]]:
    """The question model's inputs: questions with candidates, except those qa abstains on
    whatever their score (a name no article found mentions, `qa.answer.mentions`)."""
    qx, which = [], []
    for i, (r, ranked) in enumerate(zip(rows, ranks)):
        if not ranked or r.get("unmentioned"):
            continue
        cands = [_Cand(r["features"][j], p, r["cosines"][j]) for j, p in ranked]
        qx.append(question_features(cands))  # type: ignore[arg-type]
        which.append(i)
    return np.stack(qx), which


def folds_of(rows: list[dict]) -> np.ndarray:
    """A fold per question, by article: all questions of an article share one."""
    import zlib

    return np.asarray([zlib.crc32(r["group"].encode()) % FOLDS for r in rows])


def fit(rows: list[dict]) -> tuple[AnswerModel, dict]:
    fold = folds_of(rows)
    # Held-out rankings: each fold ranked by a sentence model fitted without it.
    ranks: list = [None] * len(rows)
    for k in range(FOLDS):
        model = fit_sentence([r for r, f in zip(rows, fold) if f != k])
        for i in np.flatnonzero(fold == k):
            ranks[i] = ranked_of(rows[i], model)
    rule, policy = choose_policy(rows, ranks)
    right = np.asarray([r["kind"] == "answerable" and bool(ranked) and
                        contains_answer(cited_text(r, ranked, rule), r["answers"])
                        for r, ranked in zip(rows, ranks)])
    qx, which = question_rows(rows, ranks)
    qy = right[which]
    qw = set_weights([rows[i]["set"] for i in which])
    qfold = fold[which]
    held_out = np.zeros(len(which))
    for k in range(FOLDS):
        train = qfold != k
        model_q = fit_logistic(qx[train], qy[train], qw[train] * train.sum() / qw[train].sum())
        held_out[~train] = model_q.probability(qx[~train])
    calibration = calibrate(held_out, qy, [corpus_of(rows[i]["set"]) for i in which])
    confidences = np.zeros(len(rows))
    confidences[which] = [calibration(s) for s in held_out]
    threshold = 1.0
    for name in sorted({r["set"] for r in rows}):
        conf = sorted(c for r, c in zip(rows, confidences)
                      if r["set"] == name and r["kind"] == "answerable")
        if conf:
            allowed = int(np.floor(MAX_FALSE_ABSTENTION * len(conf)))
            threshold = min(threshold, conf[allowed] - 1e-6 if allowed < len(conf) else 0.0)
    threshold = max(0.0, threshold)
    sentence = fit_sentence(rows)
    question = fit_logistic(qx, qy, qw)
    model = AnswerModel(sentence, question, calibration, float(threshold), *rule)
    return model, {"ranks": ranks, "confidences": confidences, "right": right,
                   "policy": policy, "held_out": held_out, "which": which}


def corpus_of(name: str) -> str:
    """The corpus a dev set's questions are asked of ("squad over seeds": the seeds)."""
    corpus = name.split(" over ")[-1]
    return "wikinews" if corpus.startswith("wikinews") else corpus


def calibrate(scores: np.ndarray, right: np.ndarray, groups: list[str]) -> Calibration:
    """The lowest of one isotonic regression per group, at every score (see the docstring)."""
    from sklearn.isotonic import IsotonicRegression

    grid = np.unique(np.concatenate([[0.0, 1.0], np.quantile(scores, np.linspace(0, 1, 201))]))
    lowest = np.ones(len(grid))
    for group in sorted(set(groups)):
        mask = np.asarray([g == group for g in groups])
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(scores[mask], right[mask].astype(float))
        lowest = np.minimum(lowest, iso.predict(grid))
    keep = np.concatenate([[True], np.diff(lowest) != 0]) | (grid == grid[-1])
    return Calibration(grid[keep], np.maximum.accumulate(lowest)[keep])


def report(rows: list[dict], info: dict, model: AnswerModel, label: str) -> None:
    ranks, conf, right = info["ranks"], info["confidences"], info["right"]
    t = model.threshold
    print(f"\n{label}: threshold {t:.3f}, cite while p >= {model.share} of the best's, "
          f"{model.budget} characters, {model.most} sentences at most (held-out folds)")
    for name in sorted({r["set"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["set"] == name]
        ans = [i for i in idx if rows[i]["kind"] == "answerable"]
        una = [i for i in idx if rows[i]["kind"] == "unanswerable"]
        off = [i for i in idx if rows[i]["kind"] == "off_topic"]
        answered = [i for i in idx if conf[i] >= t]
        top1 = np.mean([bool(ranks[i]) and bool(rows[i]["labels"][ranks[i][0][0]])
                        for i in ans]) if ans else float("nan")
        hit = np.mean([conf[i] >= t and right[i] for i in ans]) if ans else float("nan")
        base = np.mean([rows[i]["baseline_hit"] for i in ans]) if ans else float("nan")
        fa = np.mean([conf[i] < t for i in ans]) if ans else float("nan")
        ua = np.mean([conf[i] < t for i in una]) if una else float("nan")
        oa = np.mean([conf[i] < t for i in off]) if off else float("nan")
        sure_wrong = sum(conf[i] >= 0.8 and not right[i] for i in answered) / max(len(answered), 1)
        phrase_ok = [i for i in ans if conf[i] >= t and right[i]]
        with_phrase = np.mean([_phrase_holds(rows[i], ranks[i], model) for i in phrase_ok]) \
            if phrase_ok else float("nan")
        print(f"  {name:18s} top-1 {top1:.3f}  answer cited {hit:.3f} (baseline {base:.3f})  "
              f"false abst {fa:.3f}  unanswerable abst {ua:.3f} ({len(una)})  "
              f"off-topic abst {oa:.3f} ({len(off)})  sure&wrong {sure_wrong:.3f}  "
              f"phrase holds answer {with_phrase:.3f}")
        curve = []
        for th in np.arange(0.05, 1.0, 0.05):
            f = np.mean([conf[i] < th for i in ans]) if ans else 0
            u = np.mean([conf[i] < th for i in una]) if una else float("nan")
            curve.append(f"{th:.2f}:{f:.2f}/{u:.2f}")
        print("    curve (t: false/unanswerable) " + " ".join(curve))
    print("  reliability (held-out, all dev sets): confidence bin -> share right (n)")
    for lo in np.arange(0.0, 1.0, 0.1):
        sel = [i for i in range(len(rows)) if lo <= conf[i] < lo + 0.1 + (lo >= 0.9) * 0.01]
        if sel:
            print(f"    {lo:.1f}-{lo + 0.1:.1f}: {np.mean(right[sel]):.3f} ({len(sel)})")


def _phrase_holds(row: dict, ranked, model: AnswerModel) -> bool:
    for i in picked(row, ranked, model.share, model.budget, model.most):
        if row["phrases"][i] is not None:
            return contains_answer(row["phrases"][i], row["answers"])
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "qa" / "answer" / "model.json"))
    parser.add_argument("--cache", help="keep the collected rows in this folder and reuse "
                                        "them (to try fitting choices without collecting again)")
    parser.add_argument("--hybrid-only", action="store_true",
                        help="fit and report hybrid scoring only (trying features)")
    args = parser.parse_args()
    doc: dict = {"fitted": {
        "command": "bench/fit_answerer.py", "date": _dt.date.today().isoformat(),
        "sets": [f"{name} (dev split)" for name, _, _ in SETS],
        "max_false_abstention_per_dev_set": MAX_FALSE_ABSTENTION, "folds": FOLDS,
    }}
    opened: list = []
    reference = None
    for scoring, mode in (("hybrid", "auto"), ("lexical", "bm25"))[: 1 if args.hybrid_only else 2]:
        cached = Path(args.cache) / f"{scoring}.pickle" if args.cache else None
        if cached is not None and cached.is_file():
            import pickle

            rows = pickle.loads(cached.read_bytes())
        else:
            if not opened:
                opened = [(name, *open_set(path, corpus)) for name, path, corpus in SETS]
                by_name = {name: (qset, retriever) for name, qset, retriever in opened}
                opened += [(f"{q} over {c}", off_topic(by_name[q][0], CROSS_QUESTIONS),
                            by_name[c][1]) for q, c in CROSS]
            rows = [row for name, qset, retriever in opened
                    for row in collect(name, qset, retriever, mode)]
            if reference is not None:  # the baseline runs in hybrid mode only
                for row, ref in zip(rows, reference):
                    row["baseline_chars"], row["baseline_hit"] = (ref["baseline_chars"],
                                                                  ref["baseline_hit"])
            if cached is not None:
                import pickle

                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_bytes(pickle.dumps(rows))
        if reference is not None and rows[0]["baseline_chars"] == 0:  # cached before the fix
            for row, ref in zip(rows, reference):
                row["baseline_chars"], row["baseline_hit"] = (ref["baseline_chars"],
                                                              ref["baseline_hit"])
        reference = reference or rows
        model, info = fit(rows)
        report(rows, info, model, scoring)
        print("  answers cited, characters, baseline's, per dev set (before abstention):")
        for name, (hit, chars, base_hit, base_chars) in sorted(info["policy"].items()):
            print(f"    {name:9s} qa {hit:.3f} ({chars:.0f} chars)  baseline {base_hit:.3f} "
                  f"({base_chars:.0f} chars)")
        doc[scoring] = {
            "sentence": model.sentence.to_json(FEATURES),
            "question": model.question.to_json(QUESTION_FEATURES),
            "calibration": model.calibration.to_json(),
            "threshold": round(model.threshold, 6), "share": model.share,
            "budget": model.budget, "most": model.most,
        }
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
