"""What describes a candidate sentence: numbers that mean the same on any corpus.

Cosines, shares of the question's words, ranks, and what the NLP pipeline found in the
sentence at index time: whether it holds a phrase of the kind the question asks for that the
question does not already say (`qa.answer.phrase`), how near the question's words that phrase
stands, and how many of the question's named entities the sentence, its passage and its article
mention. Never raw scores whose scale depends on the corpus. `qa.answer.scoring` turns them
into probabilities.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from ..corpus.quotes import speaker_matches
from ..text import terms
from ..types import Article
from .candidates import Candidate
from .evidence import ArticleTerms, Rarity

#: What each column of `Candidate.features` holds (the order the model was fitted in).
FEATURES = (
    "cosine", "cosine_gap", "cosine_rank", "bm25", "bm25_rank", "coverage", "chunk_coverage",
    "title_coverage", "previous_coverage", "previous_cosine", "chunk_rank", "chunk_score",
    "novelty", "lead", "speaker", "length", "names_missing", "unknown_share", "names_unknown",
    "typed_question", "type_new", "type_near", "type_context", "phrase_question", "phrase_new",
    "phrase_near", "phrase_context", "head_match", "entities_sentence", "entities_context",
    "entities_article", "pronoun_link", "next_type_new", "new_after_match", "article_coverage",
    "focus_coverage", "focus_article",
)

# A sentence that goes on about someone named before: "He also ran a small business."
_PRONOUN_START = re.compile(r"^\W*(?:\w+\W+){0,3}?(?:he|she|his|her|they|their|it|its)\b", re.I)


@dataclass(frozen=True)
class Asked:
    """What `describe` needs to know of the question."""

    search: str  # the question as searched
    terms: tuple[str, ...]  # its BM25 terms
    speaker: str | None  # whose words it asks for
    typed: bool  # it asks for a kind of entity (`AnswerType.typed`)
    has_kind: bool  # it asks for any kind of phrase (`AnswerType.kind` is not None)
    entities: tuple[str, ...]  # its named entities' texts
    names: tuple[str, ...] = ()  # its proper names (`AnswerType.names`), as BM25 terms


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1 / (1 + rank) of each score, best first (rank 0 is the best)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(len(scores))
    return 1.0 / (1.0 + ranks)


def _mentions(entity: str, text_folded: str) -> bool:
    """Whether a text (case-folded) mentions a question entity: the whole of it, or its last
    word for a name of several ("Okafor" for "Maria Okafor")."""
    e = entity.casefold().replace("’", "'")
    if e in text_folded:
        return True
    words = [w for w in re.findall(r"\w+", e) if len(w) > 2]
    return len(words) > 1 and words[-1] in re.findall(r"\w+", text_folded)


def _scores(q_terms: list[str], candidates: Sequence[Candidate], qvec: np.ndarray | None,
            vectors: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's BM25 score among the candidates, and its cosine to the question."""
    from rank_bm25 import BM25Okapi  # pure Python; only answering needs it

    n = len(candidates)
    bm25 = np.asarray(BM25Okapi([c.terms or ["\x00"] for c in candidates]).get_scores(q_terms)
                      if q_terms else np.zeros(n), dtype=np.float64)
    cosines = (vectors @ qvec).astype(np.float64) if (qvec is not None and vectors is not None) \
        else np.zeros(n)
    return bm25, cosines


def _term_sets(candidates: Sequence[Candidate], terms_of: Callable[[Article], ArticleTerms]
               ) -> tuple[dict[int, set[str]], dict[str, frozenset[str]],
                          dict[str, frozenset[str]], dict[object, str]]:
    """The BM25 terms of each candidate's chunk, article title and article, and the folded
    texts of each chunk and article (for entity mentions)."""
    chunk_terms: dict[int, set[str]] = {}
    title_terms: dict[str, frozenset[str]] = {}
    article_terms: dict[str, frozenset[str]] = {}
    folded: dict[object, str] = {}
    for c in candidates:
        if c.chunk_id not in chunk_terms:
            chunk_terms[c.chunk_id] = set(terms(c.article.text[c.chunk_start:c.chunk_end]))
            folded[c.chunk_id] = (c.article.title + "\n" + c.article.text[
                c.chunk_start:c.chunk_end]).casefold().replace("’", "'")
        if c.article.id not in title_terms:
            held = terms_of(c.article)
            title_terms[c.article.id], article_terms[c.article.id] = held.title, held.terms
            folded[c.article.id] = (c.article.title + "\n" + c.article.text).casefold()\
                .replace("’", "'")
    return chunk_terms, title_terms, article_terms, folded


@dataclass(frozen=True)
class _Weights:
    """How much of the question a set of terms or a text holds, weighted by rarity."""

    q_terms: list[str]
    idf: dict[str, float]
    total: float
    entities: list[str]
    focus_base: list[str]
    title_terms: Mapping[str, frozenset[str]]

    def coverage(self, held: AbstractSet[str]) -> float:
        return sum(self.idf[t] for t in self.q_terms if t in held) / self.total

    def share(self, text_folded: str) -> float:
        return sum(_mentions(e, text_folded) for e in self.entities) / len(self.entities) \
            if self.entities else 1.0

    def focus_of(self, article_id: str) -> list[str]:
        return [t for t in self.focus_base if t not in self.title_terms[article_id]]

    def focus_share(self, focus: list[str], held: AbstractSet[str]) -> float:
        weight = sum(self.idf[t] for t in focus)
        return sum(self.idf[t] for t in focus if t in held) / weight if weight else 1.0


def describe(asked: Asked, candidates: Sequence[Candidate], qvec: np.ndarray | None,
             vectors: np.ndarray | None, rarity: Rarity | None = None,
             terms_of: Callable[[Article], ArticleTerms] = ArticleTerms.of) -> None:
    """Fill each candidate's `features` (in FEATURES order) and `cosine`.

    Args:
        asked: the question.
        candidates: the sentences, with `terms` and `found` (their answer phrases) filled.
        qvec, vectors: the question's and the sentences' vectors (None: lexical scoring only).
        rarity: how often the corpus uses each question term (None: not known).
        terms_of: an article's terms (`Evidence.article_terms` keeps them per generation).
    """
    n = len(candidates)
    if not n:
        return
    q_terms = list(dict.fromkeys(asked.terms))
    names = list(asked.names)
    # How rare each question word is among the candidates: a word every sentence holds
    # says nothing about which one answers.
    docs = [set(c.terms) for c in candidates]
    idf = {t: math.log((n + 1) / (sum(t in d for d in docs) + 0.5)) for t in q_terms}
    total = sum(idf.values()) or 1.0
    bm25, cosines = _scores(q_terms, candidates, qvec, vectors)
    top_bm25 = float(bm25.max()) if bm25.max() > 0 else 1.0
    best_cosine = float(cosines.max())
    cosine_rank = _ranks(cosines) if qvec is not None else np.zeros(n)
    bm25_rank = _ranks(bm25)
    top_score = max((c.chunk_score for c in candidates), default=1.0) or 1.0
    unknown = rarity.unknown_share(q_terms) if rarity else 0.0
    names_unknown = rarity.unknown_share(names) if (rarity and names) else 0.0
    chunk_terms, title_terms, article_terms, folded = _term_sets(candidates, terms_of)
    position = {c.key: i for i, c in enumerate(candidates)}
    following = {(c.article.id, c.previous_start): i for i, c in enumerate(candidates)
                 if c.previous_start is not None}
    q_set = set(q_terms)
    entities = asked.entities
    # The question's own focus: its words that are neither a name it mentions nor a word of
    # the article's title ("funeral" in "Where was X's funeral held?").
    entity_terms = set(terms(" ".join(entities)))
    focus_base = [t for t in q_terms if t not in entity_terms]

    w = _Weights(q_terms, idf, total, list(entities), focus_base, title_terms)
    coverage, share, focus_of, focus_share = w.coverage, w.share, w.focus_of, w.focus_share

    for i, c in enumerate(candidates):
        held = docs[i]
        focus = focus_of(c.article.id)
        context = chunk_terms[c.chunk_id] | title_terms[c.article.id]
        before = position.get((c.article.id, c.previous_start)) \
            if c.previous_start is not None else None
        after = following.get((c.article.id, c.start))
        novelty = (len(held - q_set) / len(held)) if held else 0.0
        missing = (sum(1 for t in set(names) if t not in context) / len(set(names))) \
            if names else 0.0
        best = c.found[0] if c.found else None
        typed = asked.typed and best is not None
        phrased = asked.has_kind and not asked.typed and best is not None
        in_sentence = share(c.text.casefold().replace("’", "'"))
        in_article = share(folded[c.article.id])
        previous = coverage(docs[before]) if before is not None else 0.0
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
            previous,
            float(cosines[before]) if before is not None else 0.0,
            1.0 / (1.0 + c.chunk_rank),
            c.chunk_score / top_score,
            novelty,
            1.0 if not c.article.text[:c.start].strip() else 0.0,
            1.0 if (asked.speaker and c.speaker and speaker_matches(asked.speaker, c.speaker))
            else 0.0,
            math.log1p(c.end - c.start) / 6.0,
            missing,
            unknown,
            names_unknown,
            1.0 if asked.typed else 0.0,
            1.0 if typed else 0.0,
            best.nearness if typed else 0.0,  # type: ignore[union-attr]
            best.context if typed else 0.0,  # type: ignore[union-attr]
            1.0 if (asked.has_kind and not asked.typed) else 0.0,
            1.0 if phrased else 0.0,
            best.nearness if phrased else 0.0,  # type: ignore[union-attr]
            best.context if phrased else 0.0,  # type: ignore[union-attr]
            1.0 if (best is not None and best.headed) else 0.0,
            in_sentence,
            share(folded[c.chunk_id]),
            in_article,
            1.0 if (entities and in_sentence < 1.0 and in_article == 1.0
                    and _PRONOUN_START.match(c.text)) else 0.0,
            1.0 if (asked.typed and after is not None and candidates[after].found) else 0.0,
            previous if (typed or phrased) else 0.0,
            coverage(article_terms[c.article.id]),
            focus_share(focus, held),
            focus_share(focus, article_terms[c.article.id]),
        ], dtype=np.float64)
