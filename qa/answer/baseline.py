"""The naive baseline that `qa eval --qa` measures the assistant against (issue 11).

Exactly this, and nothing more:

1. retrieve the chunks `retriever.search(question, k=8)` returns (qa's own retrieval);
2. split them into their sentences: the sentence spans the index stores for each chunk
   (`Hit.sentences`), read from the article text (`retriever.article(id).text`); a sentence
   that two overlapping chunks share is taken once;
3. rank those sentences by reciprocal-rank fusion (k = 60) of two rankings: rank_bm25's
   `BM25Okapi` scores over the candidate sentences, tokenised with `qa.text.terms`, and the
   cosine similarity of `retriever.encode([question])` with `retriever.encode(sentences)`;
   ties keep retrieval order;
4. cite the top two, best first. It never abstains, and it ignores conversation history.

Sentence vectors are kept between questions (by sentence text), which changes its speed,
not its answers.

A question with no searchable words (`QueryError` from the search) gets an empty answer,
which the evaluation counts as an abstention, as it does for the assistant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import QueryError
from ..search.retriever import RRF_K, Retriever
from ..text import terms
from ..types import Answer, Citation, Hit

#: Chunks retrieved per question: the depth the assistant retrieves by default.
BASELINE_K = 8
#: Sentences cited per answer.
BASELINE_CITE = 2
#: Sentence vectors kept between questions (384 floats each: ~30 MB at most).
_VECTOR_CACHE = 20_000


def candidate_sentences(hits: Sequence[Hit]) -> list[tuple[Hit, int, int]]:
    """Every sentence of the retrieved chunks, once, in retrieval order.

    Returns:
        `(hit, start, end)` per sentence; `start`/`end` are offsets in the article text.
    """
    seen: set[tuple[str, int, int]] = set()
    out: list[tuple[Hit, int, int]] = []
    for hit in hits:
        for start, end in hit.sentences or ((hit.start, hit.end),):
            key = (hit.article_id, start, end)
            if key not in seen:
                seen.add(key)
                out.append((hit, start, end))
    return out


def rrf_rank(bm25_scores: Sequence[float], cosines: Sequence[float], k: int = RRF_K) -> list[int]:
    """Candidate positions ordered by reciprocal-rank fusion of two score lists.

    Each list is ranked best first (ties by position); a candidate scores
    `1 / (k + rank_bm25) + 1 / (k + rank_dense)`, ranks from 1.
    """
    fused = np.zeros(len(bm25_scores))
    for scores in (bm25_scores, cosines):
        order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
        for rank, i in enumerate(order, start=1):
            fused[i] += 1.0 / (k + rank)
    return sorted(range(len(fused)), key=lambda i: (-fused[i], i))


class BaselineAssistant:
    """Answers with the two best sentences of the retrieved chunks; see the module docstring.

    Args:
        retriever: an open `qa.Retriever`.
        k: chunks retrieved per question.
        cite: sentences cited.
    """

    def __init__(self, retriever: Retriever, *, k: int = BASELINE_K,
                 cite: int = BASELINE_CITE) -> None:
        self.retriever = retriever
        self.k = k
        self.cite = cite
        # Sentence vectors by text: the same answers, without re-embedding a sentence for every
        # question that retrieves its chunk (qa caches its sentence vectors too).
        self._vectors: dict[str, np.ndarray] = {}

    def ask(self, question: str, history: Sequence[Any] = ()) -> Answer:
        """The baseline's answer to `question` (`history` is ignored: it is naive).

        Returns:
            An `Answer` citing up to `cite` sentences; `abstained` only when the question has
            nothing to search for.
        """
        from rank_bm25 import BM25Okapi  # pure Python, but not needed to import qa

        try:
            hits = self.retriever.search(question, k=self.k)
        except QueryError:
            hits = []
        candidates = candidate_sentences(hits)
        if not candidates:
            return Answer(question=question, resolved_question=question, text="",
                          citations=(), abstained=True, mode=self.retriever.mode)
        texts = {hit.article_id: self.retriever.article(hit.article_id).text
                 for hit, _, _ in candidates}
        sentences = [texts[hit.article_id][start:end] for hit, start, end in candidates]
        # BM25Okapi divides by the mean document length: a sentence of only stop-words
        # would be an empty document, so it gets a placeholder term that matches nothing.
        bm25 = BM25Okapi([terms(s) or ["\x00"] for s in sentences])
        lexical = bm25.get_scores(terms(question))
        question_vector = self.retriever.encode([question])[0]
        cosines = self._sentence_vectors(sentences) @ question_vector
        best = rrf_rank(list(lexical), list(cosines))[: self.cite]
        citations = []
        for n, i in enumerate(best, start=1):
            hit, start, end = candidates[i]
            citations.append(Citation(
                n=n, article_id=hit.article_id, title=hit.title, date=hit.date,
                source=hit.source, url=hit.url, text=sentences[i], start=start, end=end,
                score=float(cosines[i]), chunk_text=hit.text, chunk_start=hit.start,
                chunk_end=hit.end,
            ))
        text = " ".join(f"{c.text} [{c.n}]" for c in citations)
        return Answer(question=question, resolved_question=question, text=text,
                      citations=tuple(citations), abstained=False, mode=self.retriever.mode)

    def _sentence_vectors(self, sentences: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(s for s in sentences if s not in self._vectors))
        if missing:
            if len(self._vectors) + len(missing) > _VECTOR_CACHE:
                self._vectors.clear()
            for sentence, vector in zip(missing, self.retriever.encode(missing)):
                self._vectors[sentence] = vector
        return np.stack([self._vectors[s] for s in sentences])
