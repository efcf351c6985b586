"""What became of each question, for qa and the baseline, and the figures over a set.

`summarise_qa` turns per-question outcomes into a `QAReport`: for each system, answer inside
the cited text, false and correct abstention per kind of question, cited sentences and
characters per answer, latency; the answer-in-top-k-passages ceiling; qa's abstention curve
over confidence thresholds and the reliability of its confidence.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qa.evaluation.metrics import mean
from qa.evaluation.qasets import QA_KINDS, QuestionSet
from qa.types import JSONObject

#: Passages checked for "answer in the top-k retrieved passages", the ceiling of both systems.
CEILING_K = 5


#: An answer at this confidence or above is "sure" (`qa.answer.compose.certainty`).
SURE = 0.8


#: Confidence thresholds of the abstention curve: 0.00, 0.05, ..., 1.00.
CURVE_THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(21))


@dataclass(frozen=True)
class SystemOutcome:
    """What one system did with one question."""

    abstained: bool
    in_citations: bool  # not abstained, and an expected answer is inside the cited text
    cited: tuple[str, ...]  # the cited sentences, verbatim
    ms: float  # wall time of the answer
    confidence: float | None = None  # `Answer.confidence`, when the answer carries one
    phrase: str | None = None  # `Answer.answer.text`: the phrase marked as the answer
    phrase_holds_answer: bool = False  # that phrase contains an expected answer


@dataclass(frozen=True)
class QAOutcome:
    """What happened to one question, for both systems."""

    id: str
    question: str
    kind: str
    split: str | None
    article: str | None
    in_top_k: bool  # an expected answer is in the top CEILING_K retrieved passages
    qa: SystemOutcome
    baseline: SystemOutcome


@dataclass(frozen=True)
class SystemFigures:
    """One system's figures over a set. Rates are None when no question of the kind exists."""

    system: str
    answer_in_citations: float | None  # answerable; an abstention is a miss
    false_abstention: float | None  # answerable questions abstained on
    correct_abstention_unanswerable: float | None
    correct_abstention_off_topic: float | None
    answered: int  # questions (any kind) not abstained on
    cited_sentences: float | None  # mean per answered question
    cited_characters: float | None  # mean per answered question
    p50_ms: float | None
    # Of the answered questions, the share answered at confidence >= SURE whose cited text
    # holds no expected answer (or that had none to give): sure and wrong.
    sure_and_wrong: float | None = None
    # Of the answers whose citations hold an expected answer, the share whose answer phrase
    # holds one too.
    phrase_holds_answer: float | None = None


@dataclass(frozen=True)
class CurvePoint:
    """qa's abstention at one confidence threshold: it abstains iff confidence < threshold
    (or it abstained without a confidence, for another reason)."""

    threshold: float
    false_abstention: float | None  # over answerable
    correct_abstention: float | None  # over unanswerable and off-topic together
    correct_abstention_unanswerable: float | None
    correct_abstention_off_topic: float | None


@dataclass(frozen=True)
class ReliabilityBin:
    """Answers given at a confidence in [low, high) and the share of them that was right
    (their citations hold an expected answer)."""

    low: float
    high: float
    answers: int
    right: float | None


@dataclass(frozen=True)
class QAReport:
    """What `evaluate_qa` measured."""

    set: str
    format: str  # "jsonl" or "squad"
    split: str
    corpus: str
    index: str
    articles: int
    build_seconds: float
    questions: int
    kinds: dict[str, int]  # questions per kind
    k: int
    answer_in_top_k: float | None  # answerable: the ceiling of both systems
    qa: SystemFigures
    baseline: SystemFigures
    curve: tuple[CurvePoint, ...] | None  # None when answers carry no confidence
    outcomes: tuple[QAOutcome, ...] = ()
    reliability: tuple[ReliabilityBin, ...] | None = None  # qa's answers, by confidence

    def as_json(self) -> JSONObject:
        """Every figure, the curve and each question's outcome (rates to four places)."""
        return _rounded(asdict(self))

    def table(self) -> str:
        """qa and the baseline side by side, then the abstention curve."""
        kinds = self.kinds
        head = (f"{Path(self.set).name} ({self.format}), split {self.split}: {self.questions} "
                f"questions, {kinds['answerable']} answerable, {kinds['unanswerable']} "
                f"unanswerable, {kinds['off_topic']} off-topic")
        lines = [
            head,
            f"corpus {self.corpus} ({self.articles} articles), index {self.index} "
            f"(build {self.build_seconds:.1f} s)",
            "",
            f"{'':<52}{'qa':>9}{'baseline':>10}",
        ]
        rows: list[tuple[str, str, str]] = [
            (f"answer inside cited text ({kinds['answerable']} answerable)",
             _rate(self.qa.answer_in_citations), _rate(self.baseline.answer_in_citations)),
            (f"false abstention ({kinds['answerable']} answerable)",
             _rate(self.qa.false_abstention), _rate(self.baseline.false_abstention)),
            (f"correct abstention ({kinds['unanswerable']} unanswerable)",
             _rate(self.qa.correct_abstention_unanswerable),
             _rate(self.baseline.correct_abstention_unanswerable)),
            (f"correct abstention ({kinds['off_topic']} off-topic)",
             _rate(self.qa.correct_abstention_off_topic),
             _rate(self.baseline.correct_abstention_off_topic)),
            ("answered questions", str(self.qa.answered), str(self.baseline.answered)),
            ("cited sentences per answered question",
             _num(self.qa.cited_sentences, 2), _num(self.baseline.cited_sentences, 2)),
            ("cited characters per answered question",
             _num(self.qa.cited_characters, 0), _num(self.baseline.cited_characters, 0)),
            ("p50 latency per question (ms)", _num(self.qa.p50_ms, 1),
             _num(self.baseline.p50_ms, 1)),
            (f"answered at confidence >= {SURE} and wrong (of answered)",
             _rate(self.qa.sure_and_wrong), _rate(self.baseline.sure_and_wrong)),
            ("answer phrase holds the answer (of right answers)",
             _rate(self.qa.phrase_holds_answer), _rate(self.baseline.phrase_holds_answer)),
        ]
        lines += [f"{name:<52}{a:>9}{b:>10}" for name, a, b in rows]
        lines += ["", f"answer in the top-{self.k} retrieved passages (ceiling of both): "
                      f"{_rate(self.answer_in_top_k)} of {kinds['answerable']} answerable"]
        if self.reliability:
            lines += ["", "reliability of qa's confidence (answers given):",
                      f"{'confidence':>12}  {'answers':>7}  {'right':>6}"]
            lines += [f"{b.low:>5.2f}-{b.high:<5.2f}  {b.answers:>7}  {_rate(b.right):>6}"
                      for b in self.reliability]
        lines.append("")
        if self.curve is None:
            lines.append("abstention curve: n/a (qa's answers carry no confidence)")
        else:
            lines += ["abstention curve (qa abstains iff confidence < threshold):",
                      f"{'threshold':>9}  {'false abst.':>11}  {'correct abst.':>13}  "
                      f"{'unanswerable':>12}  {'off-topic':>9}"]
            lines += [f"{p.threshold:>9.2f}  {_rate(p.false_abstention):>11}  "
                      f"{_rate(p.correct_abstention):>13}  "
                      f"{_rate(p.correct_abstention_unanswerable):>12}  "
                      f"{_rate(p.correct_abstention_off_topic):>9}" for p in self.curve]
        return "\n".join(lines)


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _num(value: float | None, places: int) -> str:
    return "n/a" if value is None else f"{value:.{places}f}"


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def system_figures(system: str, outcomes: Sequence[QAOutcome]) -> SystemFigures:
    """The figures of one system ("qa" or "baseline") over per-question outcomes."""
    mine = [(o.kind, getattr(o, system)) for o in outcomes]
    by_kind = {kind: [s for k, s in mine if k == kind] for kind in QA_KINDS}
    answered = [s for _, s in mine if not s.abstained]

    def rate(flags: list[bool]) -> float | None:
        return sum(flags) / len(flags) if flags else None

    sure = [s for _, s in mine if not s.abstained and s.confidence is not None
            and s.confidence >= SURE]
    right_cited = [s for s in by_kind["answerable"] if s.in_citations]
    return SystemFigures(
        system=system,
        sure_and_wrong=(sum(not s.in_citations for s in sure) / len(answered)
                        if answered and any(s.confidence is not None for _, s in mine) else None),
        phrase_holds_answer=(rate([s.phrase_holds_answer for s in right_cited])
                             if any(s.phrase is not None for s in right_cited) else None),
        answer_in_citations=rate([s.in_citations for s in by_kind["answerable"]]),
        false_abstention=rate([s.abstained for s in by_kind["answerable"]]),
        correct_abstention_unanswerable=rate([s.abstained for s in by_kind["unanswerable"]]),
        correct_abstention_off_topic=rate([s.abstained for s in by_kind["off_topic"]]),
        answered=len(answered),
        cited_sentences=mean(len(s.cited) for s in answered) if answered else None,
        cited_characters=(mean(sum(len(c) for c in s.cited) for s in answered)
                          if answered else None),
        p50_ms=statistics.median(s.ms for _, s in mine) if mine else None,
    )


def abstention_curve(
    outcomes: Sequence[QAOutcome], thresholds: Sequence[float] = CURVE_THRESHOLDS
) -> tuple[CurvePoint, ...] | None:
    """qa's false and correct abstention if it abstained iff confidence < threshold.

    An answer that abstained without a confidence abstained for another reason (nothing
    retrieved, say) and abstains at every threshold; an answer with a confidence is taken to
    have abstained, or not, for its confidence alone.

    Returns:
        One point per threshold; None when no answer carries a confidence.
    """
    if all(o.qa.confidence is None for o in outcomes):
        return None

    def abstains(s: SystemOutcome, t: float) -> bool:
        return s.abstained if s.confidence is None else s.confidence < t

    def rate(kinds: tuple[str, ...], t: float) -> float | None:
        flags = [abstains(o.qa, t) for o in outcomes if o.kind in kinds]
        return sum(flags) / len(flags) if flags else None

    return tuple(
        CurvePoint(
            threshold=t,
            false_abstention=rate(("answerable",), t),
            correct_abstention=rate(("unanswerable", "off_topic"), t),
            correct_abstention_unanswerable=rate(("unanswerable",), t),
            correct_abstention_off_topic=rate(("off_topic",), t),
        )
        for t in thresholds
    )


def reliability(outcomes: Sequence[QAOutcome],
                bins: Sequence[float] = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)
                ) -> tuple[ReliabilityBin, ...] | None:
    """qa's answers (not abstentions) grouped by confidence, with the share right in each:
    whether a confidence means what it says. None when answers carry no confidence."""
    given = [o.qa for o in outcomes if not o.qa.abstained and o.qa.confidence is not None]
    if not given:
        return None
    out = []
    for low, high in zip(bins, bins[1:]):
        inside = [s for s in given if low <= s.confidence < high]  # type: ignore[operator]
        out.append(ReliabilityBin(round(low, 2), round(min(high, 1.0), 2), len(inside),
                                  sum(s.in_citations for s in inside) / len(inside)
                                  if inside else None))
    return tuple(out)


def summarise_qa(
    qset: QuestionSet, outcomes: Sequence[QAOutcome], *, corpus: str = "", index: str = "",
    articles: int = 0, build_seconds: float = 0.0, k: int = CEILING_K,
) -> QAReport:
    """Turn per-question outcomes into the report: both systems' figures and the curve."""
    answerable = [o for o in outcomes if o.kind == "answerable"]
    return QAReport(
        set=str(qset.path), format=qset.format, split=qset.split, corpus=corpus, index=index,
        articles=articles, build_seconds=build_seconds, questions=len(outcomes),
        kinds={kind: sum(o.kind == kind for o in outcomes) for kind in QA_KINDS},
        k=k,
        answer_in_top_k=(sum(o.in_top_k for o in answerable) / len(answerable)
                         if answerable else None),
        qa=system_figures("qa", outcomes),
        baseline=system_figures("baseline", outcomes),
        curve=abstention_curve(outcomes),
        outcomes=tuple(outcomes),
        reliability=reliability(outcomes),
    )
