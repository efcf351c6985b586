"""Ranking metrics, one query at a time (`mean` over queries is left to the caller).

They follow `pytrec_eval` (what BEIR reports): nDCG uses gain = graded relevance and discount
log2(rank + 1); the ideal ranking is the judged documents sorted by relevance; documents
judged 0 count as not relevant for recall and MRR.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def ndcg_at_k(ranked: Sequence[str], judged: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of one ranking, as `pytrec_eval`'s `ndcg_cut`.

    Args:
        ranked: document ids, best first (duplicates are the caller's bug: they count twice).
        judged: document id -> graded relevance for this query (0 = judged not relevant).
        k: cut-off.

    Returns:
        DCG@k / IDCG@k with gain = relevance and discount log2(rank + 1), rank from 1;
        0.0 when the query has no relevant document.
    """
    dcg = sum(
        judged.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], start=1)
    )
    ideal = sorted((rel for rel in judged.values() if rel > 0), reverse=True)[:k]
    idcg = sum(rel / math.log2(rank + 1) for rank, rel in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: Sequence[str], judged: dict[str, int], k: int = 100) -> float:
    """Share of the relevant documents (relevance > 0) found in the top k.

    Returns 0.0 when the query has no relevant document.
    """
    relevant = {doc for doc, rel in judged.items() if rel > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def mrr_at_k(ranked: Sequence[str], judged: dict[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document in the top k, else 0.0."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if judged.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean; 0.0 for no values (an empty split scores nothing, not NaN)."""
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def documents_from_chunks(article_ids: Iterable[str]) -> list[str]:
    """Collapse a chunk ranking to a document ranking: each document at its best chunk's rank.

    Args:
        article_ids: the article id of each hit, best first.

    Returns:
        article ids in first-seen order, each once.
    """
    # dict keeps insertion order, so the first (best) chunk of each article fixes its place.
    return list(dict.fromkeys(article_ids))
