"""BM25 stays rank-bm25's: scores equal `BM25Okapi.get_scores` on the same tokens."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from qa.bm25 import fit_weights, prune_vocab, term_counts
from qa.text import terms as tokenize

from conftest import SEED_CORPUS, SHARED


def _real_docs() -> list[str]:
    """Real news text: the Wikinews sample beside the repo, plus the seed articles."""
    docs = [p.read_text(encoding="utf-8") for p in sorted(SEED_CORPUS.glob("*.md"))]
    wikinews = sorted((SHARED / "news" / "wikinews").glob("*.csv"))
    assert wikinews, "shared/news/wikinews is expected beside the repository"
    csv.field_size_limit(10_000_000)
    with open(wikinews[0], encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = row.get("text") or ""
            # Split long articles into paragraph-sized documents, as chunks would be.
            docs += [p for p in text.split("\n\n") if p.strip()][:6]
    return docs


def test_scores_equal_bm25okapi_on_a_real_corpus():
    docs = [tokenize(d) for d in _real_docs()]
    assert len(docs) > 500
    vocab: dict[str, int] = {}
    tf = term_counts(docs, vocab)
    words = [""] * len(vocab)
    for w, i in vocab.items():
        words[i] = w
    weights = fit_weights(tf, words)
    okapi = BM25Okapi(docs)
    queries = [
        "What did Zhao Lijian say about NATO?",
        "election results president vote",
        "coronavirus cases hospital",
        "the the of",  # stop-words only: no tokens
        "nato nato expansion",  # a repeated term counts twice, as in rank-bm25
        "zzzunknownword climate",
    ]
    for q in queries:
        tokens = tokenize(q)
        np.testing.assert_allclose(weights.scores(tokens), okapi.get_scores(tokens), rtol=1e-9, atol=1e-9)
    assert weights.avgdl == pytest.approx(okapi.avgdl)
    assert weights.average_idf == pytest.approx(okapi.average_idf)


def test_negative_idf_floor_matches_rank_bm25():
    # "china" is in more than half the documents: its raw idf is negative and gets the floor.
    docs = [["china", "russia"], ["china", "nato"], ["china"], ["ukraine"]]
    vocab: dict[str, int] = {}
    tf = term_counts(docs, vocab)
    words = sorted(vocab, key=vocab.get)
    np.testing.assert_allclose(
        fit_weights(tf, words).scores(["china", "nato"]), BM25Okapi(docs).get_scores(["china", "nato"])
    )


def test_pruned_vocabulary_matches_a_fresh_fit():
    docs = [["a1", "b1"], ["b1", "c1"], ["c1", "d1"]]
    vocab: dict[str, int] = {}
    tf = term_counts(docs, vocab)
    words = sorted(vocab, key=vocab.get)
    tf2, words2 = prune_vocab(tf[1:], words)  # drop the first document: "a1" disappears
    assert "a1" not in words2
    np.testing.assert_allclose(
        fit_weights(tf2, words2).scores(["b1", "c1"]), BM25Okapi(docs[1:]).get_scores(["b1", "c1"])
    )


def test_bm25_terms_are_stemmed_lowercased_and_without_stopwords():
    from qa.text import terms

    assert terms("What were the SANCTIONS on Russia's banks?") == ["sanction", "russia", "bank"]
    assert terms("the of and") == []
