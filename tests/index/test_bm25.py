"""BM25 stays rank-bm25's: scores equal `BM25Okapi.get_scores` on the same tokens, over one
segment or many (corpus statistics are global; term counts and lengths per segment)."""

from __future__ import annotations

import csv
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SEED_CORPUS, SHARED, HashEmbedder
from rank_bm25 import BM25Okapi
from scipy import sparse

from qa.index.bm25 import CorpusStats, Postings, Scorer, term_counts
from qa.text import terms as tokenize


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


def _postings(docs: list[list[str]]) -> Postings:
    vocab: dict[str, int] = {}
    counts = term_counts(docs, vocab)
    words = [""] * len(vocab)
    for w, i in vocab.items():
        words[i] = w
    return Postings.from_counts(counts, words)


def _scores(parts: list[tuple[Postings, np.ndarray | None]], stats: CorpusStats,
            tokens: list[str]) -> np.ndarray:
    """Scores of every live document, segment after segment, as an Index computes them."""
    scores = Scorer(stats, [p for p, _ in parts]).scores(tokens)
    live = [np.ones(p.n_docs, bool) if lv is None else lv for p, lv in parts]
    return scores[np.concatenate(live)] if live else scores


QUERIES = [
    "What did Zhao Lijian say about NATO?",
    "election results president vote",
    "coronavirus cases hospital",
    "the the of",  # stop-words only: no tokens
    "nato nato expansion",  # a repeated term counts twice, as in rank-bm25
    "zzzunknownword climate",
]


def test_scores_equal_bm25okapi_on_a_real_corpus():
    docs = [tokenize(d) for d in _real_docs()]
    assert len(docs) > 500
    postings = _postings(docs)
    stats = CorpusStats.of([(postings, None)])
    okapi = BM25Okapi(docs)
    for q in QUERIES:
        tokens = tokenize(q)
        np.testing.assert_allclose(_scores([(postings, None)], stats, tokens),
                                   okapi.get_scores(tokens), rtol=1e-9, atol=1e-9)
    assert stats.avgdl == pytest.approx(okapi.avgdl)
    assert stats.average_idf == pytest.approx(okapi.average_idf)


def test_segments_with_deletions_score_exactly_as_one_segment_and_as_bm25okapi():
    """The corpus cut into segments, some documents deleted and re-added elsewhere: every
    score equals (to the bit) a one-segment fit of the live documents, and BM25Okapi's."""
    docs = [tokenize(d) for d in _real_docs()]
    rng = random.Random(7)
    cuts = sorted(rng.sample(range(1, len(docs)), 4))
    pieces = [docs[a:b] for a, b in zip([0, *cuts], [*cuts, len(docs)])]
    parts = []
    for piece in pieces:
        live = np.asarray([rng.random() > 0.2 for _ in piece])
        parts.append((_postings(piece), live))
    # The statistics as builds keep them: whole segments added, deleted documents removed.
    stats = CorpusStats.empty()
    for (postings, live), piece in zip(parts, pieces):
        stats = stats.updated([(postings.terms, np.diff(postings.indptr), postings.n_docs,
                                int(postings.doclen.sum()))], [])
        from collections import Counter

        gone = [d for d, keep in zip(piece, live) if not keep]
        df = Counter(w for d in gone for w in set(d))
        stats = stats.updated([], [(list(df), np.asarray(list(df.values())), len(gone),
                                    sum(len(d) for d in gone))])
    live_docs = [d for (_, live), piece in zip(parts, pieces) for d, keep in zip(piece, live) if keep]
    assert stats.n_docs == len(live_docs)
    recounted = CorpusStats.of(parts)
    assert dict(zip(stats.terms, stats.df.tolist())) == dict(zip(recounted.terms, recounted.df.tolist()))
    one = _postings(live_docs)
    one_stats = CorpusStats.of([(one, None)])
    assert stats.average_idf == one_stats.average_idf  # fsum: the order of terms is irrelevant
    okapi = BM25Okapi(live_docs)
    for q in QUERIES:
        tokens = tokenize(q)
        segmented = _scores(parts, stats, tokens)
        assert np.array_equal(segmented, _scores([(one, None)], one_stats, tokens))
        np.testing.assert_allclose(segmented, okapi.get_scores(tokens), rtol=1e-9, atol=1e-9)


def test_negative_idf_floor_matches_rank_bm25():
    # "china" is in more than half the documents: its raw idf is negative and gets the floor.
    docs = [["china", "russia"], ["china", "nato"], ["china"], ["ukraine"]]
    postings = _postings(docs)
    stats = CorpusStats.of([(postings, None)])
    np.testing.assert_allclose(_scores([(postings, None)], stats, ["china", "nato"]),
                               BM25Okapi(docs).get_scores(["china", "nato"]))


def test_terms_of_deleted_documents_leave_the_statistics():
    docs = [["a1", "b1"], ["b1", "c1"], ["c1", "d1"]]
    postings = _postings(docs)
    live = np.asarray([False, True, True])  # the first document deleted: "a1" disappears
    stats = CorpusStats.of([(postings, live)])
    assert "a1" not in stats.terms and stats.n_docs == 2
    np.testing.assert_allclose(_scores([(postings, live)], stats, ["b1", "c1"]),
                               BM25Okapi(docs[1:]).get_scores(["b1", "c1"]))


def test_an_index_in_segments_scores_exactly_as_one_built_in_one_go(seed_corpus, tmp_path):
    """Through the real index: updates (added, changed, removed articles) give the same
    BM25 scores, bit for bit, as a full build of the final corpus, and BM25Okapi's."""
    from qa import build_index
    from qa.embed.chunk_input import embedding_input
    from qa.index import Index

    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    files = sorted(seed_corpus.glob("*.md"))
    (seed_corpus / "tulips.md").write_text("---\ntitle: Tulips\n---\nTulip growers in Lisse "
                                           "said China bought more bulbs than Russia.\n")
    build_index(seed_corpus, index, embedder=HashEmbedder())
    files[0].write_text(files[0].read_text() + "\nNATO and China met again in Lisse.\n")
    files[1].unlink()
    build_index(seed_corpus, index, embedder=HashEmbedder())
    segmented = Index.open(index)
    assert len(segmented.segments) == 3 and any(len(d) for d in segmented.deleted)
    fresh = tmp_path / "fresh-corpus"
    shutil.copytree(seed_corpus, fresh)
    build_index(fresh, tmp_path / "one", embedder=HashEmbedder())
    one = Index.open(tmp_path / "one")
    assert len(one.segments) == 1
    docs = [tokenize(embedding_input(a.title, c.text)) for a in one.articles()
            for c in one.chunks_of(a.id)]
    okapi = BM25Okapi(docs)
    by_id_one = {int(i): r for r, i in enumerate(one.chunk_ids)}
    for q in ["China Russia NATO", "tulip bulbs Lisse", "Katrina Yu Al Jazeera", "nato nato"]:
        tokens = tokenize(q)
        a, b = segmented.bm25_scores(tokens), one.bm25_scores(tokens)
        live = np.flatnonzero(segmented.live) if segmented.live is not None else np.arange(len(a))
        mine = {int(segmented.chunk_ids[r]): a[r] for r in live}
        theirs = {int(i): b[r] for i, r in by_id_one.items()}
        assert mine == theirs  # exactly equal floats, chunk by chunk
        order = [one.chunk(r).id for r in range(len(b))]
        np.testing.assert_allclose([theirs[i] for i in order], okapi.get_scores(tokens),
                                   rtol=1e-9, atol=1e-9)


def test_bm25_terms_are_stemmed_lowercased_and_without_stopwords():
    from qa.text import terms

    assert terms("What were the SANCTIONS on Russia's banks?") == ["sanction", "russia", "bank"]
    assert terms("the of and") == []


def _saved_and_loaded(postings: Postings, folder: Path) -> Postings:
    folder.mkdir()
    postings.save(folder)
    return Postings.load(folder, postings.n_docs)


def test_postings_keep_every_count_through_their_pair_codes(tmp_path):
    """What merges read back (`counts`) is what was counted, through a save and a load."""
    docs = [tokenize(d) for d in _real_docs()]
    vocab: dict[str, int] = {}
    counts = term_counts(docs, vocab)
    words = sorted(vocab, key=vocab.__getitem__)
    loaded = _saved_and_loaded(Postings.from_counts(counts, words), tmp_path / "seg")
    assert loaded.pair.dtype == np.uint16
    assert (loaded.counts() != counts[:, [vocab[w] for w in loaded.terms]]).nnz == 0


def test_more_pairs_than_small_codes_name_take_wide_codes(tmp_path):
    """A segment with more than 65,536 distinct (tf, length) pairs stores uint32 codes and
    scores as BM25Okapi's formula says."""
    n = 70_000
    i = np.arange(n)
    tf = 1 + i % 256  # term "a" this often, in a chunk this much longer: every pair distinct
    extra = i // 256
    counts = sparse.csr_matrix(
        (np.stack([tf, extra], 1).ravel(), np.tile([0, 1], n), np.arange(0, 2 * n + 1, 2)),
        shape=(n, 2))
    counts.eliminate_zeros()
    loaded = _saved_and_loaded(Postings.from_counts(counts, ["a", "b"]), tmp_path / "seg")
    assert loaded.pair.dtype == np.uint32 and len(loaded.pairs) > 1 << 16
    assert (loaded.counts() != counts).nnz == 0
    stats = CorpusStats.of([(loaded, None)])
    dl = tf + extra
    idf = np.log(n - n + 0.5) - np.log(n + 0.5)  # "a" is everywhere: floored
    avg_idf = (idf + np.log(n - np.count_nonzero(extra) + 0.5)
               - np.log(np.count_nonzero(extra) + 0.5)) / 2
    expected = 0.25 * avg_idf * (tf * 2.5 / (tf + 1.5 * (0.25 + 0.75 * dl / dl.mean())))
    np.testing.assert_allclose(_scores([(loaded, None)], stats, ["a"]), expected, rtol=1e-9)


def test_damaged_postings_are_refused_before_they_are_summed(tmp_path):
    """A chunk row past the segment, or a pair code past the table, raises ValueError (the
    index turns it into IndexCorruptError); nothing is written outside the scores."""
    docs = [["a1", "b1"], ["b1", "c1"], ["c1", "d1"]]
    postings = _postings(docs)
    stats = CorpusStats.of([(postings, None)])
    bad_row = Postings(postings.terms, postings.indptr, postings.docs.copy(), postings.pair,
                       postings.pairs, postings.doclen, postings.column)
    bad_row.docs[-1] = 7
    with pytest.raises(ValueError, match="outside"):
        Scorer(stats, [bad_row]).scores(["d1"])
    bad_row.docs[-1] = -1
    with pytest.raises(ValueError, match="outside"):
        Scorer(stats, [bad_row]).scores(["d1"])
    bad_code = Postings(postings.terms, postings.indptr, postings.docs, postings.pair.copy(),
                        postings.pairs, postings.doclen, postings.column)
    bad_code.pair[0] = len(postings.pairs)
    with pytest.raises(ValueError, match="past their table"):
        Scorer(stats, [bad_code]).scores([postings.terms[0]])


def test_top_candidates_hold_every_row_that_can_make_the_cut():
    """The rows `top_candidates` keeps include every row at or above the depth-th best score
    (ties too) among positive rows in the mask, whatever the scores' spread."""
    from qa.index.bm25 import top_candidates

    rng = np.random.default_rng(5)
    for n, positive, depth in ((100_000, 0.4, 100), (100_000, 0.001, 100), (500, 0.9, 40)):
        scores = np.where(rng.random(n) < positive, rng.integers(1, 50, n) / 7, 0.0)
        for mask in (None, rng.random(n) < 0.5):
            kept = top_candidates(scores, depth, mask)
            eligible = np.flatnonzero((scores > 0) & (True if mask is None else mask))
            best = np.sort(scores[eligible])[::-1]
            kth = best[min(depth, len(best)) - 1]
            must = eligible[scores[eligible] >= kth]
            assert set(must.tolist()) <= set(kept.tolist())
            assert set(kept.tolist()) <= set(eligible.tolist())
