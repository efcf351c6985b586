"""The sentences that may answer a question.

Candidates are the sentences of the chunks a search returned, and for a who-said-what
question the sentences holding that speaker's quotes. Sentences that are never answers are
left out: questions (an interviewer's prompt answers nothing), the headline repeated in the
text, and fragments without a verb (bylines, captions, photo credits, datelines, navigation),
as the NLP pipeline marked them at index time. Each candidate carries the phrases of the kind
the question asks for that it holds (`qa.answer.phrase`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..text import terms
from ..types import Article, Hit
from . import phrase
from .answer_type import AnswerType

if TYPE_CHECKING:
    from .evidence import Evidence
    from .question import Question


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
    found: list[phrase.Found] = field(default_factory=list)  # answer phrases, best first

    @property
    def text(self) -> str:
        return self.article.text[self.start:self.end]

    @property
    def key(self) -> tuple[str, int]:
        return (self.article.id, self.start)


def gather(q: Question, hits: Sequence[Hit], evidence: Evidence) -> list[Candidate]:
    """The candidate sentences of a question (see the module docstring), in retrieval order."""
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    top = max((h.score for h in hits), default=1.0) or 1.0

    def add(article: Article, spans: Sequence[tuple[int, int]], chunk_id: int, cstart: int,
            cend: int, rank: int, score: float) -> None:
        for i, (s, e) in enumerate(spans):
            if (article.id, s) in seen or not article.text[s:e].strip():
                continue
            seen.add((article.id, s))
            if evidence.role_at(article.id, s, e):
                continue
            nxt = spans[i + 1][1] if i + 1 < len(spans) else None
            prev = spans[i - 1][0] if i > 0 else None
            c = Candidate(article, s, e, chunk_id, cstart, cend, rank, score,
                          evidence.speaker_at(article.id, s, e), nxt, prev)
            # A quote rarely names its speaker in its own sentence ("…," he said), but it is
            # theirs: the name counts as present.
            c.terms = terms(c.text + (" " + c.speaker if c.speaker else ""))
            c.found = answer_phrases(evidence, article, s, e, q.answer_type, q.search)
            out.append(c)

    for rank, hit in enumerate(hits):
        article = evidence.article(hit.article_id)
        add(article, hit.sentences or [(hit.start, hit.end)], hit.chunk_id, hit.start,
            hit.end, rank, hit.score / top)
    if q.speaker:
        # The speaker's own sentences compete even when retrieval ranked them low.
        for quote in evidence.speaker_quotes(q.speaker, query=q.search, dates=q.dates):
            article = evidence.article(quote.article_id)
            if not q.dates.contains(article.date):
                continue
            for chunk in evidence.retriever.chunks_of(quote.article_id):
                if chunk.start <= quote.sentence[0] < chunk.end:
                    spans = [sp for sp in chunk.sentences
                             if sp[0] < quote.sentence[1] and sp[1] > quote.sentence[0]]
                    add(article, spans, chunk.id, chunk.start, chunk.end, len(hits), 0.0)
                    break
    return out


def answer_phrases(evidence: Evidence, article: Article, start: int, end: int,
                   asked: AnswerType, question: str) -> list[phrase.Found]:
    """The phrases of the asked kind in one sentence, best first."""
    if asked.kind is None:
        return []
    phrases, starts = evidence.phrases(article.id)
    inside = phrase.in_sentence(phrases, starts, start, end)
    return phrase.candidates(article.text, start, end, inside, asked, question)
