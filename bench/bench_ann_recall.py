"""Recall@10 of the approximate dense index (IVF-SQ8, used above 200k chunks) against exact
search, on real embeddings: SciFact's chunk vectors from the `qa eval --beir` index, queried
with SciFact's test queries.

    .venv/bin/python bench/bench_ann_recall.py [--index ~/.cache/qa/eval/scifact/index]

The IVF layout is the one `qa.index.dense.ivf_layout` gives a corpus of this size if it were above
the threshold (nlist = 4·sqrt(n), nprobe = nlist/48); `--nprobe-scale` tries more probes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SECTION = "Approximate dense search: recall against exact"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", default=str(Path.home() / ".cache/qa/eval/scifact/index"))
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    import faiss

    import qa.index.dense as dense
    from qa import Retriever
    from qa.evaluation import load_beir
    from qa.index import Index

    index = Path(args.index)
    opened = Index.open(index)
    vectors = opened.vectors().astype(np.float32)
    ids = opened.chunk_ids if opened.live is None else opened.chunk_ids[opened.live]
    queries = list(load_beir(common.SCIFACT, "test").queries.values())
    qv = Retriever.open(index).encode(queries)
    exact = dense.flat_index(vectors, ids)
    _, truth = exact.search(qv, 10)
    layout = dense.ivf_layout(len(vectors))  # the approximate layout, forced on this corpus
    ivf = dense.ivf_index(dense.train_ivf(vectors, layout), vectors, ids)
    rows = []
    for scale in (0.25, 0.5, 1):
        ivf.nprobe = max(1, int(layout["nprobe"] * scale))
        t = time.perf_counter()
        _, got = ivf.search(qv, 10)
        ms = 1000 * (time.perf_counter() - t) / len(queries)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, got)])
        rows.append((ivf.nprobe, recall, ms))
    table = ["| nprobe | of nlist | recall@10 vs exact | ms/query |", "|---:|---:|---:|---:|"]
    table += [f"| {p} | {layout['nlist']} | {r:.3f} | {ms:.2f} |" for p, r, ms in rows]
    body = "\n".join([
        common.section_header(), "",
        f"{len(vectors)} real SciFact chunk vectors (all-MiniLM-L6-v2), {len(queries)} test "
        "queries encoded by the same model. IVF-SQ8 with the layout qa uses above "
        f"{200_000:,} chunks (nlist = 4·sqrt(n) = {layout['nlist']}, default nprobe = "
        f"{layout['nprobe']}, i.e. nlist/12). At 1M chunks the same rule gives nlist 4004, nprobe 333.",
        "", *table,
    ])
    print(body)
    print(json.dumps(rows))
    if not args.no_write:
        common.replace_section(SECTION, body)


if __name__ == "__main__":
    main()
