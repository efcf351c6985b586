"""The exact dense search below the IVF threshold (qa.index.dense.ExactIndex): an 8-bit scan
with a bound, then exact scores. Its answers must be an exact search's — ids, order and
scores, ties by chunk id — whatever the data, the date mask or the segmentation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import HashEmbedder

from qa import Retriever, build_index
from qa.index import Index, dense


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _truth(vectors: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int,
           allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Brute force: every score as ExactIndex defines it, sorted by (-score, id)."""
    scores = np.einsum("ij,j->i", vectors, q.reshape(-1).astype(np.float32)).astype(np.float64)
    rows = np.arange(len(vectors)) if allowed is None else np.flatnonzero(allowed)
    order = rows[np.lexsort((ids[rows], -scores[rows]))][:k]
    return scores[order], order


def _clustered(n: int, d: int, seed: int) -> np.ndarray:
    """Unit vectors around a few hundred centres: near neighbours in crowds, like topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 200), d))
    return _unit(centres[rng.integers(0, len(centres), n)] + 0.35 * rng.standard_normal((n, d)))


@pytest.mark.parametrize("d", [64, 384])
def test_the_scan_finds_exactly_what_brute_force_finds(d):
    vectors = _clustered(20_000, d, seed=d)
    ids = np.random.default_rng(1).permutation(10 * len(vectors))[: len(vectors)]
    index = dense.ExactIndex(vectors, ids)
    queries = _unit(np.random.default_rng(2).standard_normal((20, d)))
    queries = np.concatenate([queries, vectors[:20] + 0.0])  # and queries near crowds
    scanned = 0
    for q in queries:
        for k in (1, 10, 100):
            scores, rows = index.search(q[None], k)
            want_scores, want_rows = _truth(vectors, ids, q, k)
            assert np.array_equal(rows, want_rows)
            assert np.array_equal(scores, want_scores)  # to the bit
            scanned += index.last_scored < len(vectors)
    assert scanned == 3 * len(queries)  # every search took the scan, none scored everything


def test_the_range_search_keeps_it_exact_when_the_candidates_do_not_suffice(monkeypatch):
    monkeypatch.setattr(dense, "CANDIDATES_PER_RESULT", 1)  # too few: the bound must widen
    vectors = _clustered(12_000, 384, seed=5)
    ids = np.arange(len(vectors), dtype=np.int64)
    index = dense.ExactIndex(vectors, ids)
    allowed = np.random.default_rng(7).random(len(vectors)) < 0.5
    for mask in (None, allowed):  # the range search honours the mask too
        widened = 0
        for q in _unit(np.random.default_rng(6).standard_normal((15, 384))):
            scores, rows = index.search(q[None], 50, mask)
            want_scores, want_rows = _truth(vectors, ids, q, 50, mask)
            assert np.array_equal(rows, want_rows) and np.array_equal(scores, want_scores)
            widened += index.last_widened
        assert widened > 0


def test_ties_go_to_the_lower_chunk_id_and_masks_are_honoured():
    rng = np.random.default_rng(7)
    base = _unit(rng.standard_normal((3000, 384)))
    vectors = np.concatenate([base, base, base])  # every vector three times: all scores tie
    ids = rng.permutation(len(vectors)).astype(np.int64)
    index = dense.ExactIndex(vectors, ids)
    allowed = rng.random(len(vectors)) < 0.7
    for q in base[:10]:
        for mask in (None, allowed):
            scores, rows = index.search(q[None], 40, mask)
            want_scores, want_rows = _truth(vectors, ids, q, 40, mask)
            assert np.array_equal(rows, want_rows) and np.array_equal(scores, want_scores)
            assert index.last_scored < len(vectors)
            if mask is not None:
                assert mask[rows].all()


def test_a_narrow_mask_is_scored_directly_and_an_empty_one_finds_nothing():
    vectors = _clustered(10_000, 64, seed=8)
    ids = np.arange(len(vectors), dtype=np.int64)
    index = dense.ExactIndex(vectors, ids)
    allowed = np.zeros(len(vectors), bool)
    allowed[::97] = True
    q = vectors[3]
    scores, rows = index.search(q[None], 20, allowed)
    assert np.array_equal(rows, _truth(vectors, ids, q, 20, allowed)[1])
    assert index.last_scored == allowed.sum()
    scores, rows = index.search(q[None], 20, np.zeros(len(vectors), bool))
    assert len(rows) == 0 and len(scores) == 0


def test_segments_merged_by_score_equal_one_index_of_all_vectors():
    vectors = _clustered(15_000, 384, seed=9)
    ids = np.random.default_rng(10).permutation(len(vectors)).astype(np.int64)
    whole = dense.ExactIndex(vectors, ids)
    cuts = [0, 2_500, 9_000, 15_000]
    parts = [dense.ExactIndex(vectors[a:b], ids[a:b]) for a, b in zip(cuts, cuts[1:])]
    for q in _unit(np.random.default_rng(11).standard_normal((10, 384))):
        s1, r1 = whole.search(q[None], 100)
        found = [(p.search(q[None], 100), a) for p, a in zip(parts, cuts)]
        s2 = np.concatenate([s for (s, _), _ in found])
        r2 = np.concatenate([r + a for (_, r), a in found])
        order = np.lexsort((ids[r2], -s2))[:100]
        assert np.array_equal(r2[order], r1) and np.array_equal(s2[order], s1)


def test_the_bound_holds_for_every_row_and_is_not_vacuous():
    """eps(q) bounds |scan score / lam - exact score| for every row (the exactness proof
    rests on it), and is within 100x of the largest error seen (a bound of 1 would also
    hold and make every search score everything)."""
    rng = np.random.default_rng(13)
    for vectors in (_clustered(5000, 384, seed=14), _unit(rng.standard_normal((5000, 64)))):
        index = dense.ExactIndex(vectors, np.arange(len(vectors), dtype=np.int64))
        for q in _unit(rng.standard_normal((10, vectors.shape[1]))):
            q8, lam, eps = index.scan_query(q.astype(np.float64))
            approx, rows = index.scan.search(q8, len(vectors))
            exact = np.einsum("ij,j->i", vectors[rows[0]], q.astype(np.float32))
            miss = np.abs(approx[0] / lam - exact).max()
            assert miss <= eps < 100 * miss


def test_the_scan_kernel_takes_integer_dot_products():
    """What the bound relies on: FAISS's QT_8bit_direct_signed scores an integer query by
    exact integer dot products with the codes (it rounds other queries its own way)."""
    import faiss

    rng = np.random.default_rng(12)
    for d in (64, 384):
        codes = rng.integers(-127, 128, (500, d)).astype(np.float32)
        scan = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit_direct_signed,
                                          faiss.METRIC_INNER_PRODUCT)
        scan.add(codes)
        q = np.rint(rng.standard_normal((1, d)) * 60).clip(-127, 127).astype(np.float32)
        got, rows = scan.search(q, 500)
        assert np.array_equal(got[0], (codes.astype(np.int64) @ q[0].astype(np.int64))[rows[0]])


def test_a_segmented_index_scans_to_the_same_dense_answers(seed_corpus, tmp_path, monkeypatch):
    """The index's own dense search through the scan path (small segments would otherwise be
    scored whole): updates, deletions and a date mask, against the corpus built in one go."""
    import shutil

    from index.test_segments import _one_go, _updates

    monkeypatch.setattr(dense, "SCAN_MIN_ROWS", 0)
    monkeypatch.setattr(dense, "CANDIDATES_PER_RESULT", 1)
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    _updates(seed_corpus, index)
    one = _one_go(seed_corpus, tmp_path)
    segmented, whole = Index.open(index), Index.open(one)
    assert len(segmented.segments) > 1 and segmented.live is not None
    emb = HashEmbedder()
    dates = segmented.chunk_date
    for text in ["Who is Katrina Yu?", "tulip growers Lisse", "China Russia sanctions Ukraine"]:
        qv = emb.encode([text])
        for depth in (1, 3, 8):
            for lo in (None, 20220201):
                a_mask = None if lo is None else dates >= lo
                b_mask = None if lo is None else whole.chunk_date >= lo
                a_rows, a_scores = segmented.dense_search(qv, depth, a_mask)
                b_rows, b_scores = whole.dense_search(qv, depth, b_mask)
                assert np.array_equal(segmented.chunk_ids[a_rows], whole.chunk_ids[b_rows])
                assert np.array_equal(a_scores, b_scores)
                vectors = segmented.vectors()
                live = np.flatnonzero(segmented.live)
                mask = None if a_mask is None else a_mask[live]
                want_scores, want = _truth(vectors, segmented.chunk_ids[live], qv, depth, mask)
                assert np.array_equal(a_scores, want_scores)
    shutil.rmtree(one)
    r = Retriever.open(index, embedder=HashEmbedder())
    assert r.search("tulip growers Lisse", k=1, mode="dense")[0].article_id == "tulips"


def test_a_small_segment_is_scored_exactly_without_a_scan():
    """At most SCAN_MIN_ROWS rows: no 8-bit scan is made (nor FAISS imported for it), and a
    search is the exact top-k, with or without a filter."""
    rng = np.random.default_rng(21)
    vectors = _unit(rng.standard_normal((dense.SCAN_MIN_ROWS, 32)))
    ids = np.arange(len(vectors), dtype=np.int64)
    index = dense.ExactIndex(vectors, ids)
    assert index.scan is None
    q = _unit(rng.standard_normal((1, 32)))[0]
    exact = np.einsum("ij,j->i", vectors, q.astype(np.float32)).astype(np.float64)
    scores, rows = index.search(q.reshape(1, -1), 10)
    assert np.array_equal(rows, np.lexsort((ids, -exact))[:10])
    assert np.array_equal(scores, exact[rows])
    allowed = np.zeros(len(vectors), bool)
    allowed[::3] = True
    scores, rows = index.search(q.reshape(1, -1), 5, allowed)
    kept = np.flatnonzero(allowed)
    assert np.array_equal(rows, kept[np.lexsort((ids[kept], -exact[kept]))[:5]])
    assert dense.ExactIndex(np.vstack([vectors, vectors[:1]]), np.arange(len(vectors) + 1)
                            ).scan is not None
