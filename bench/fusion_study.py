"""How should dense and BM25 be fused? Document-level fusions compared on a BEIR index.

    .venv/bin/python bench/fusion_study.py [--beir ../shared/eval/scifact] [--no-write]

Uses the index `qa eval --beir` keeps (run that first). For every query of the `train` and
`test` splits it takes the top 1000 chunks of `mode="dense"` and of `mode="bm25"` (public
`Retriever.search`, scores included), collapses each list to documents (best chunk), and
scores four fusions on test:

- *chunk RRF*: what `mode="hybrid"` does today (RRF over chunk ranks, then collapse);
- *document RRF*: collapse first, then RRF (k=60) over document ranks;
- *convex*: min-max normalise each list's document scores per query, then
  `alpha * dense + (1 - alpha) * bm25`, with alpha tuned on the *train* split only (so the
  test figure is not fitted to test), and the best alpha on test for reference.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SECTION = "Fusion study: SciFact"
RRF_K = 60


def doc_scores(hits: list) -> dict[str, float]:
    """Best chunk score per BEIR document id."""
    from qa.evaluation import beir_doc_id

    best: dict[str, float] = {}
    for h in hits:
        doc = beir_doc_id(h.article_id)
        if doc not in best or h.score > best[doc]:
            best[doc] = h.score
    return best


def normalise(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    span = hi - lo or 1.0
    return {d: (s - lo) / span for d, s in scores.items()}


def rrf(*rankings: list[str]) -> list[str]:
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused, key=lambda d: -fused[d])


def ranked(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda d: -scores[d])


def convex(dense: dict[str, float], sparse: dict[str, float], alpha: float) -> list[str]:
    docs = set(dense) | set(sparse)
    fused = {d: alpha * dense.get(d, 0.0) + (1 - alpha) * sparse.get(d, 0.0) for d in docs}
    return ranked(fused)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beir", default=str(common.SCIFACT))
    parser.add_argument("--index", help="default: the index `qa eval --beir` keeps")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    import torch

    # One query at a time: one intra-op thread is much faster on a shared 2-core machine
    # (see "Query latency and memory"), and it does not change a single score.
    torch.set_num_threads(1)

    from qa import Retriever
    from qa.evaluation import default_eval_index, load_beir, mean, ndcg_at_k, recall_at_k

    test = load_beir(args.beir, "test")
    train = load_beir(args.beir, "train")
    retriever = Retriever.open(args.index or default_eval_index(test.name))
    retriever.warm_up()

    def lists(dataset):
        out = {}
        for qid, text in dataset.queries.items():
            dense = retriever.search(text, k=1000, mode="dense")
            sparse = retriever.search(text, k=1000, mode="bm25")
            hybrid = retriever.search(text, k=1000, mode="hybrid")
            out[qid] = (doc_scores(dense), doc_scores(sparse),
                        list(dict.fromkeys(doc for doc in (
                            h.article_id.split("/", 1)[-1] for h in hybrid))))
        return out

    def score(dataset, runs, fuse) -> tuple[float, float]:
        nd, rc = [], []
        for qid, (dense, sparse, hybrid) in runs.items():
            ranking = fuse(dense, sparse, hybrid)
            nd.append(ndcg_at_k(ranking, dataset.qrels[qid], 10))
            rc.append(recall_at_k(ranking, dataset.qrels[qid], 100))
        return mean(nd), mean(rc)

    train_runs, test_runs = lists(train), lists(test)
    alphas = [round(a * 0.05, 2) for a in range(21)]
    norm = lambda runs: {q: (normalise(d), normalise(s), h) for q, (d, s, h) in runs.items()}  # noqa: E731
    train_n, test_n = norm(train_runs), norm(test_runs)
    train_curve = {a: score(train, train_n, lambda d, s, h, a=a: convex(d, s, a))[0]
                   for a in alphas}
    test_curve = {a: score(test, test_n, lambda d, s, h, a=a: convex(d, s, a))[0]
                  for a in alphas}
    alpha = max(train_curve, key=train_curve.get)
    best_test = max(test_curve, key=test_curve.get)
    rows = [
        ("dense only", score(test, test_runs, lambda d, s, h: ranked(d))),
        ("BM25 only", score(test, test_runs, lambda d, s, h: ranked(s))),
        ("chunk RRF (today's hybrid)", score(test, test_runs, lambda d, s, h: h)),
        ("document RRF", score(test, test_runs, lambda d, s, h: rrf(ranked(d), ranked(s)))),
        (f"convex, alpha={alpha} tuned on train", score(test, test_n,
                                                        lambda d, s, h: convex(d, s, alpha))),
        (f"convex, alpha={best_test} (best on test; optimistic)",
         score(test, test_n, lambda d, s, h: convex(d, s, best_test))),
    ]
    out = [common.section_header(), "",
           f"SciFact test ({len(test.queries)} queries); alpha tuned on train "
           f"({len(train.queries)} queries). Document-level, as in the table above.", "",
           "| fusion | nDCG@10 | Recall@100 |", "|---|---:|---:|"]
    out += [f"| {name} | {nd:.4f} | {rc:.4f} |" for name, (nd, rc) in rows]
    out += ["", "nDCG@10 on train by alpha (weight of dense): "
            + ", ".join(f"{a}: {v:.3f}" for a, v in train_curve.items()), ""]
    body = "\n".join(out)
    print(body)
    print(json.dumps({"train_curve": train_curve, "test_curve": test_curve}))
    if not args.no_write:
        common.replace_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
