"""Calibrated scores: the chance that a sentence answers, and that an answer is right.

Two logistic regressions over features that mean the same on any corpus
(`qa.answer.features.FEATURES`), and a calibration, fitted on the dev splits of the question
sets by `bench/fit_answerer.py` and stored with the command, the sets and the date in
`qa/answer/model.json` (the tables are in docs/benchmarks.md):

- the sentence model ranks candidates: P(this sentence holds the answer), and its value for
  the best one decides how many sentences are cited (`AnswerModel.citations`);
- the question model scores the answer qa would give: from the best candidate's features and
  how far it stands above the next one. An isotonic calibration, fitted on held-out folds of
  the dev splits, turns its score into P(the cited text holds a right answer):
  `Answer.confidence`. qa abstains below `threshold`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..types import JSONObject
from .candidates import Candidate
from .features import FEATURES

#: Features of the question model, beyond the best candidate's own.
QUESTION_FEATURES = (*(f"top_{name}" for name in FEATURES), "top_probability",
                     "probability_gap", "best_cosine", "best_coverage", "best_entities_article",
                     "typed_in_top3", "best_article_coverage", "best_context_top3",
                     "best_focus_coverage")


@dataclass(frozen=True)
class Logistic:
    """P(y = 1 | x) = 1 / (1 + exp(-(x · weights + bias))), on standardised x."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = ((np.atleast_2d(x) - self.mean) / self.scale) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))

    @classmethod
    def from_json(cls, doc: JSONObject, names: tuple[str, ...]) -> Logistic:
        if list(doc["features"]) != list(names):
            raise ValueError("the model was fitted on other features")
        return cls(np.asarray(doc["weights"], float), float(doc["bias"]),
                   np.asarray(doc["mean"], float), np.asarray(doc["scale"], float))

    def to_json(self, names: tuple[str, ...]) -> JSONObject:
        return {"features": list(names), "weights": [round(float(w), 6) for w in self.weights],
                "bias": round(self.bias, 6), "mean": [round(float(m), 6) for m in self.mean],
                "scale": [round(float(s), 6) for s in self.scale]}


@dataclass(frozen=True)
class Calibration:
    """A monotone map from a score to a probability: piecewise linear through fitted points
    (isotonic regression's steps)."""

    x: np.ndarray
    y: np.ndarray

    def __call__(self, score: float) -> float:
        if not len(self.x):
            return float(score)
        return float(np.interp(score, self.x, self.y))

    @classmethod
    def from_json(cls, doc: JSONObject | None) -> Calibration:
        if not doc:
            return cls(np.zeros(0), np.zeros(0))
        return cls(np.asarray(doc["x"], float), np.asarray(doc["y"], float))

    def to_json(self) -> JSONObject:
        return {"x": [round(float(v), 6) for v in self.x],
                "y": [round(float(v), 6) for v in self.y]}


@dataclass(frozen=True)
class AnswerModel:
    """The fitted answerer for one way of scoring ("hybrid", or "lexical" when the embedding
    model cannot load and every cosine is 0): the sentence and question models, the
    calibration, the abstention threshold, and how many sentences to cite: the best, then
    the next ones in rank order while their probability is at least `share` of the best's,
    up to `most` sentences and `budget` characters in all. Fitted so that answers cite no more
    characters than the baseline on any dev set."""

    sentence: Logistic
    question: Logistic
    calibration: Calibration
    threshold: float
    share: float
    budget: int
    most: int

    def rank(self, candidates: list[Candidate]) -> list[Candidate]:
        """Set each candidate's probability; return them best first."""
        if not candidates:
            return []
        x = np.stack([c.features for c in candidates])  # type: ignore[misc]
        for c, p in zip(candidates, self.sentence.probability(x)):
            c.probability = float(p)
        return sorted(candidates, key=lambda c: (-c.probability, c.chunk_rank, c.start))

    def score(self, ranked: list[Candidate]) -> float:
        """The question model's score of the answer the ranked candidates give."""
        if not ranked:
            return 0.0
        return float(self.question.probability(question_features(ranked))[0])

    def confidence(self, ranked: list[Candidate]) -> float:
        """P(the answer from the ranked candidates is right), calibrated."""
        return self.calibration(self.score(ranked)) if ranked else 0.0

    @classmethod
    def from_json(cls, doc: JSONObject) -> AnswerModel:
        return cls(sentence=Logistic.from_json(doc["sentence"], FEATURES),
                   question=Logistic.from_json(doc["question"], QUESTION_FEATURES),
                   calibration=Calibration.from_json(doc.get("calibration")),
                   threshold=float(doc["threshold"]), share=float(doc["share"]),
                   budget=int(doc["budget"]), most=int(doc["most"]))


def question_features(ranked: list[Candidate]) -> np.ndarray:
    """The question model's input (QUESTION_FEATURES order) for candidates ranked best first."""
    top = ranked[0]
    second = ranked[1].probability if len(ranked) > 1 else 0.0
    features = [c.features for c in ranked if c.features is not None]
    cov, ent, typed, art, tctx, pctx, focus = (FEATURES.index(n) for n in (
        "coverage", "entities_article", "type_new", "article_coverage", "type_context",
        "phrase_context", "focus_coverage"))
    return np.concatenate([
        top.features if top.features is not None else np.zeros(len(FEATURES)),
        [top.probability, top.probability - second,
         max(c.cosine for c in ranked), max(float(f[cov]) for f in features),
         max(float(f[ent]) for f in features), max(float(f[typed]) for f in features[:3]),
         max(float(f[art]) for f in features),
         max(float(max(f[tctx], f[pctx])) for f in features[:3]),
         max(float(f[focus]) for f in features[:5])],
    ])


MODEL_FILE = "model.json"


@lru_cache(maxsize=2)
def load_model(scoring: str = "hybrid") -> AnswerModel:
    """The fitted model shipped with qa (`qa/answer_model.json`) for "hybrid" or "lexical"
    scoring."""
    doc = json.loads(resources.files("qa.answer").joinpath(MODEL_FILE).read_text("utf-8"))
    return AnswerModel.from_json(doc[scoring])
