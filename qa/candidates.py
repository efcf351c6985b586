"""Gathering candidate sentences for an answer, and describing each by what it holds.

Candidates are the sentences of the chunks a search returned (and, for a who-said-what
question, the sentences holding that speaker's quotes). Each is described by a few numbers
that mean the same on any corpus — cosines, shares of the question's words, ranks — never by
raw scores whose scale depends on the corpus; `qa.scoring` turns them into probabilities.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .quotes import TITLES, speaker_matches
from .text import terms
from .types import Article

#: What each column of `features` holds (the order `qa/answer_model.json` was fitted in).
FEATURES = (
    "cosine", "cosine_gap", "cosine_rank", "bm25", "bm25_rank", "coverage", "chunk_coverage",
    "title_coverage", "previous_coverage", "previous_cosine", "chunk_rank", "chunk_score",
    "kind_match", "kind_new", "kind_near", "kind_miss", "novelty", "lead", "speaker", "length",
    "names_missing", "unknown_share", "names_unknown",
)

# Shapes of answers, for questions that ask for one (`qa.question.answer_kind`).
_YEAR = r"\b(?:1[5-9]|20)\d\d\b"
_MONTHS = (r"January|February|March|April|May|June|July|August|September|October|November|"
           r"December|Jan\.|Feb\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.")
_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
                 r"fifteen|twenty|thirty|forty|fifty|sixty|hundred|hundreds|thousand|thousands|"
                 r"million|millions|billion|billions|dozen|dozens|several|once|twice|half|"
                 r"percent|per cent")
_SHAPES = {
    "count": re.compile(rf"\b(?!{_YEAR[2:]})\d[\d,.]*|\b(?:{_NUMBER_WORDS})\b|%", re.I),
    "time": re.compile(
        rf"\b(?:{_MONTHS}|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|"
        rf"today|tonight|morning|evening|week|month|year|decade|century|ago|earlier|later|"
        rf"since|until)\b|{_YEAR}|\b\d{{1,2}}:\d\d\b", re.I),
    "place": re.compile(r"\b(?:in|at|from|near|to|outside|across)\s+(?:the\s+)?[A-Z][\w’'-]+"),
    "person": re.compile(r"\b[A-Z][a-z’'-]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z’'-]{2,}"),
    "reason": re.compile(r"\b(?:because|due to|owing to|as a result|result of|caused|cause|"
                         r"reason|after|following|since|so that|in order to|amid|over)\b", re.I),
}
# Roles and titles before or after a name: the person-name rule's own list (qa.quotes).
_ROLE_NOUNS = "|".join(sorted((re.escape(t) for t in TITLES), key=len, reverse=True))
_CAPITALISED = re.compile(r"\b[A-Z][\w’'.-]*")


@dataclass
class Candidate:
    """One sentence that may answer, where it stands, and what describes it.

    `article.text[start:end]` is the sentence; `next_end` is where the sentence after it ends
    (in the same chunk), so an answer that runs over can be cited as one span of two.
    """

    article: Article
    start: int
    end: int
    chunk_id: int
    chunk_start: int
    chunk_end: int
    chunk_rank: int
    chunk_score: float
    speaker: str | None = None
    next_end: int | None = None
    previous_start: int | None = None  # the sentence before it in the same chunk
    features: np.ndarray | None = None
    probability: float = 0.0
    cosine: float = 0.0
    terms: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.article.text[self.start:self.end]

    @property
    def key(self) -> tuple[str, int]:
        return (self.article.id, self.start)


def has_shape(kind: str | None, subject: str | None, text: str) -> bool:
    """Whether a sentence has the shape of the answer a question of this kind wants."""
    if kind == "who_is":
        return bool(subject) and appositive(subject, text)  # type: ignore[arg-type]
    pattern = _SHAPES.get(kind or "")
    return bool(pattern and pattern.search(text))


def shape_near_question_words(kind: str | None, question: str, text: str) -> bool:
    """Whether something of the wanted shape, not already in the question, stands within a
    few words of one of the question's words: "190 people" for "How many people …?"."""
    pattern = _SHAPES.get(kind or "")
    if pattern is None or kind == "reason":
        return False
    asked = question.casefold()
    stems = {w[:5] for w in re.findall(r"\w+", asked) if len(w) > 3}
    for m in pattern.finditer(text):
        if m.group(0).casefold() in asked:
            continue
        around = text[max(0, m.start() - 40): m.end() + 40].casefold()
        if any(w[:5] in stems for w in re.findall(r"\w+", around) if len(w) > 3):
            return True
    return False


def has_new_shape(kind: str | None, question: str, text: str) -> bool:
    """Whether the sentence holds something of the wanted shape that the question does not
    already say: "When did X happen?" wants a time other than the one it names."""
    pattern = _SHAPES.get(kind or "")
    if pattern is None or kind == "reason":
        return False
    asked = question.casefold()
    return any(m.group(0).casefold() not in asked for m in pattern.finditer(text))


def appositive(name: str, text: str) -> bool:
    """Whether a sentence gives the person a role: "Zhao Lijian, spokesperson for …" or
    "Secretary of State Antony Blinken"."""
    parts = name.split()
    variants = [name] + ([parts[-1]] if len(parts) > 1 and len(parts[-1]) >= 4 else [])
    for v in variants:
        n = re.escape(v)
        after = rf"\b{n}\s*,\s*[^,.;]{{0,60}}?\b(?i:{_ROLE_NOUNS})\b"
        before = (rf"\b(?i:{_ROLE_NOUNS})(?:\s+(?:of|for)\s+[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)?)?"
                  rf",?\s+{n}\b")
        if re.search(after, text) or re.search(before, text):
            return True
    return False


def question_names(question: str) -> list[str]:
    """The proper names a question mentions, as BM25 terms: its capitalised words after the
    first (the first is capitalised anyway)."""
    names = [m.group(0) for m in _CAPITALISED.finditer(question) if m.start() > 0]
    return terms(" ".join(names)) if names else []


@dataclass(frozen=True)
class Rarity:
    """How often the corpus uses the question's words (`Retriever.document_frequencies`)."""

    document_frequency: dict[str, int]
    chunks: int

    def unknown_share(self, words: Sequence[str]) -> float:
        """The share of `words`, weighted by rarity, that the corpus never uses."""
        words = list(dict.fromkeys(words))
        if not words:
            return 0.0
        n = max(self.chunks, 1)
        weight = {w: math.log((n + 1) / (self.document_frequency.get(w, 0) + 0.5)) for w in words}
        total = sum(weight.values()) or 1.0
        return sum(weight[w] for w in words if not self.document_frequency.get(w)) / total


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1 / (1 + rank) of each score, best first (rank 0 is the best)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(len(scores))
    return 1.0 / (1.0 + ranks)


def describe(question: str, question_terms: Sequence[str], kind: str | None,
             subject: str | None, speaker: str | None, candidates: Sequence[Candidate],
             qvec: np.ndarray | None, vectors: np.ndarray | None,
             rarity: Rarity | None = None) -> None:
    """Fill each candidate's `features` (in FEATURES order) and `cosine`.

    Args:
        question: the question as searched.
        question_terms: its BM25 terms.
        kind, subject, speaker: from `qa.question.Question`.
        candidates: the sentences, with `terms` filled.
        qvec, vectors: the question's and the sentences' vectors (None: lexical scoring only).
        rarity: how often the corpus uses each question term (None: not known).
    """
    from rank_bm25 import BM25Okapi  # pure Python; only answering needs it

    n = len(candidates)
    if not n:
        return
    q_terms = list(dict.fromkeys(question_terms))
    names = question_names(question)
    # How rare each question word is among the candidates: a word every sentence holds
    # says nothing about which one answers.
    docs = [set(c.terms) for c in candidates]
    idf = {t: math.log((n + 1) / (sum(t in d for d in docs) + 0.5)) for t in q_terms}
    total = sum(idf.values()) or 1.0
    bm25 = np.asarray(BM25Okapi([c.terms or ["\x00"] for c in candidates]).get_scores(q_terms)
                      if q_terms else np.zeros(n), dtype=np.float64)
    top_bm25 = float(bm25.max()) if bm25.max() > 0 else 1.0
    cosines = (vectors @ qvec).astype(np.float64) if (qvec is not None and vectors is not None) \
        else np.zeros(n)
    best_cosine = float(cosines.max())
    cosine_rank = _ranks(cosines) if qvec is not None else np.zeros(n)
    bm25_rank = _ranks(bm25)
    top_score = max((c.chunk_score for c in candidates), default=1.0) or 1.0
    unknown = rarity.unknown_share(q_terms) if rarity else 0.0
    names_unknown = rarity.unknown_share(names) if (rarity and names) else 0.0
    chunk_terms: dict[int, set[str]] = {}
    title_terms: dict[str, set[str]] = {}
    for c in candidates:
        if c.chunk_id not in chunk_terms:
            chunk_terms[c.chunk_id] = set(terms(c.article.text[c.chunk_start:c.chunk_end]))
        if c.article.id not in title_terms:
            title_terms[c.article.id] = set(terms(c.article.title))
    position = {c.key: i for i, c in enumerate(candidates)}
    q_set = set(q_terms)

    def coverage(held: set[str]) -> float:
        return sum(idf[t] for t in q_terms if t in held) / total

    for i, c in enumerate(candidates):
        held = docs[i]
        context = chunk_terms[c.chunk_id] | title_terms[c.article.id]
        before = position.get((c.article.id, c.previous_start)) \
            if c.previous_start is not None else None
        shaped = has_shape(kind, subject, c.text) if kind else False
        novelty = (len(held - q_set) / len(held)) if held else 0.0
        missing = (sum(1 for t in set(names) if t not in context) / len(set(names))) \
            if names else 0.0
        c.cosine = float(cosines[i])
        c.features = np.asarray([
            c.cosine,
            c.cosine - best_cosine,
            cosine_rank[i],
            float(bm25[i]) / top_bm25,
            bm25_rank[i],
            coverage(held),
            coverage(context),
            coverage(title_terms[c.article.id]),
            coverage(docs[before]) if before is not None else 0.0,
            float(cosines[before]) if before is not None else 0.0,
            1.0 / (1.0 + c.chunk_rank),
            c.chunk_score / top_score,
            1.0 if (kind and shaped) else 0.0,
            1.0 if (kind and has_new_shape(kind, question, c.text)) else 0.0,
            1.0 if (kind and shape_near_question_words(kind, question, c.text)) else 0.0,
            1.0 if (kind and not shaped) else 0.0,
            novelty,
            1.0 if not c.article.text[:c.start].strip() else 0.0,
            1.0 if (speaker and c.speaker and speaker_matches(speaker, c.speaker)) else 0.0,
            math.log1p(c.end - c.start) / 6.0,
            missing,
            unknown,
            names_unknown,
        ], dtype=np.float64)
