"""Calibrated scores: the chance that a sentence answers, and that a question has an answer.

Two logistic regressions over features that mean the same on any corpus
(`qa.candidates.FEATURES`), fitted on the dev splits of three question sets by
`bench/fit_answerer.py` and stored with the command, the sets and the date in
`qa/answer_model.json` (the tables are in docs/benchmarks.md):

- the sentence model ranks candidates: P(this sentence holds the answer), and its value for
  the best one decides how many sentences are cited (`AnswerModel.citations`);
- the question model decides abstention: P(the articles answer this question), from the best
  candidate's features and how far it stands above the next one. `Answer.confidence` is this
  probability, and qa abstains below `threshold`, the one number fitted for abstention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from .candidates import FEATURES, Candidate

#: Features of the question model, beyond the best candidate's own.
QUESTION_FEATURES = (*(f"top_{name}" for name in FEATURES), "top_probability",
                     "probability_gap", "best_cosine", "best_coverage")


@dataclass(frozen=True)
class Logistic:
    """P(y = 1 | x) = 1 / (1 + exp(-(x · weights + bias))), on standardised x."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = ((np.atleast_2d(x) - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    @classmethod
    def from_json(cls, doc: dict[str, Any], names: tuple[str, ...]) -> "Logistic":
        if list(doc["features"]) != list(names):
            raise ValueError("the model was fitted on other features")
        return cls(np.asarray(doc["weights"], float), float(doc["bias"]),
                   np.asarray(doc["mean"], float), np.asarray(doc["scale"], float))

    def to_json(self, names: tuple[str, ...]) -> dict[str, Any]:
        return {"features": list(names), "weights": [round(float(w), 6) for w in self.weights],
                "bias": round(self.bias, 6), "mean": [round(float(m), 6) for m in self.mean],
                "scale": [round(float(s), 6) for s in self.scale]}


@dataclass(frozen=True)
class AnswerModel:
    """The fitted answerer for one way of scoring ("hybrid", or "lexical" when the embedding
    model cannot load and every cosine is 0): sentence and question models, the abstention
    threshold, and how many sentences to cite: the best one alone when its probability is at
    least `single_above`; the two best; and the sentence after the best one too when its
    probability is under `third_below` (the answer often follows the sentence that matches
    the question). Fitted so that answers cite no more characters than the baseline."""

    sentence: Logistic
    question: Logistic
    threshold: float
    single_above: float
    third_below: float

    def citations(self, best_probability: float) -> int:
        """How many sentences to cite when the best one has this probability."""
        if best_probability >= self.single_above:
            return 1
        return 3 if best_probability < self.third_below else 2

    def rank(self, candidates: list[Candidate]) -> list[Candidate]:
        """Set each candidate's probability; return them best first."""
        if not candidates:
            return []
        x = np.stack([c.features for c in candidates])  # type: ignore[misc]
        for c, p in zip(candidates, self.sentence.probability(x)):
            c.probability = float(p)
        return sorted(candidates, key=lambda c: (-c.probability, c.chunk_rank, c.start))

    def confidence(self, ranked: list[Candidate]) -> float:
        """P(the articles answer the question), from the ranked candidates."""
        if not ranked:
            return 0.0
        return float(self.question.probability(question_features(ranked))[0])

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "AnswerModel":
        return cls(sentence=Logistic.from_json(doc["sentence"], FEATURES),
                   question=Logistic.from_json(doc["question"], QUESTION_FEATURES),
                   threshold=float(doc["threshold"]), single_above=float(doc["single_above"]),
                   third_below=float(doc["third_below"]))


def question_features(ranked: list[Candidate]) -> np.ndarray:
    """The question model's input (QUESTION_FEATURES order) for candidates ranked best first."""
    top = ranked[0]
    second = ranked[1].probability if len(ranked) > 1 else 0.0
    cov = FEATURES.index("coverage")
    return np.concatenate([
        top.features,  # type: ignore[list-item]
        [top.probability, top.probability - second,
         max(c.cosine for c in ranked), max(float(c.features[cov]) for c in ranked)],  # type: ignore[index]
    ])


MODEL_FILE = "answer_model.json"


@lru_cache(maxsize=2)
def load_model(scoring: str = "hybrid") -> AnswerModel:
    """The fitted model shipped with qa (`qa/answer_model.json`) for "hybrid" or "lexical"
    scoring."""
    doc = json.loads(resources.files("qa").joinpath(MODEL_FILE).read_text("utf-8"))
    return AnswerModel.from_json(doc[scoring])
