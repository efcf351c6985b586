"""Dense index candidates side by side: recall against exact search on real embeddings, and
time per query at the sizes qa meets.

    .venv/bin/python bench/bench_ann_recall.py [--index ~/.cache/qa/eval/scifact/index]
        [--news 20000] [--rows 100000] [--no-write]

Recall is measured on real vectors: SciFact's chunk vectors from the `qa eval --beir` index
(all-MiniLM-L6-v2), queried with SciFact's test queries encoded by the same model. Every
candidate is asked for the top 100, as qa's hybrid search asks its dense part
(`Retriever.search`: depth max(100, 4k)); recall@10 and @100 compare with exact search.
Time per query is measured twice: on the SciFact vectors alone, and at `--rows` (the SciFact
vectors plus random unit vectors up to that many rows: the scans' cost depends on the row
count, not the data; the graph's and the inverted file's depend on the data too, so their
times at `--rows` are indicative). One FAISS thread, one query at a time, as qa searches.

Candidates: flat float32 (the reference); qa's `ExactIndex` (8-bit scan + exact scores of
the candidates, certified by a bound; qa's choice up to `ANN_THRESHOLD`; with 2 and 4
candidates per result asked for); 8-bit and fp16
scalar-quantised flat alone; the int8 scan alone (no exact step); HNSW (M 32, float and
SQ8) at several efSearch; and IVF-SQ8 at the layout qa uses above the threshold, at several
nprobe.

`--news N` measures on real news instead: about N chunks of real Wikinews and Reuters-21578
stories (whole articles, in that order), indexed once by `qa index`'s own code with the
openvino backend into ~/.cache/qa/bench/news-real-N (outside git; ~12 chunks/s on the 2
cores here), queried with 300 real headlines turned into questions (Wikinews first, then
Reuters; many of their stories are in the index, as a reader's questions would be).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SECTION = "Approximate dense search: recall against exact"
K = 100  # what qa's hybrid search asks of the dense part


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", default=str(Path.home() / ".cache/qa/eval/scifact/index"))
    ap.add_argument("--rows", type=int, default=100_000,
                    help="rows for the second timing (real vectors + random unit vectors)")
    ap.add_argument("--timed", type=int, default=100, help="queries timed per candidate")
    ap.add_argument("--news", type=int, help="real news chunks to measure on instead of SciFact")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    import faiss

    import qa.index.dense as dense
    from qa import Retriever
    from qa.evaluation import load_beir
    from qa.index import Index

    if args.news:
        index, queries, what = news_index(args.news), news_questions(300), "news"
    else:
        index, what = Path(args.index), "SciFact"
        if not (index / "manifest.json").exists():
            raise SystemExit(f"No SciFact index in {index}: run `qa eval --beir "
                             f"{common.SCIFACT}` first (it builds one there).")
        queries = list(load_beir(common.SCIFACT, "test").queries.values())
    opened = Index.open(index)
    real = np.ascontiguousarray(opened.vectors(), dtype=np.float32)
    qv = np.ascontiguousarray(Retriever.open(index).encode(queries), dtype=np.float32)
    rng = np.random.default_rng(0)
    pad = rng.standard_normal((max(0, args.rows - len(real)), real.shape[1])).astype(np.float32)
    pad /= np.linalg.norm(pad, axis=1, keepdims=True)
    big = np.concatenate([real, pad])
    faiss.omp_set_num_threads(1)

    truth = _exact_top(real, qv)
    default_candidates = dense.CANDIDATES_PER_RESULT
    rows = []
    for name, note, make, settings in _candidates(faiss, dense, real):
        small, large = make(real), None
        for setting, prepare in settings:
            search = prepare(small)
            found, stats = [], {"widened": 0}
            for q in qv:
                found.append(search(q[None], stats))
            r10 = np.mean([len(set(f[:10]) & set(t[:10])) / 10 for f, t in zip(found, truth)])
            r100 = np.mean([len(set(f[:K]) & set(t[:K])) / K for f, t in zip(found, truth)])
            ms_small = _time(search, qv, args.timed)
            if large is None:  # built once per candidate, timed
                built = time.perf_counter()
                large = make(big)
                big_build = time.perf_counter() - built
            ms_big = _time(prepare(large), qv, args.timed)
            row = {"candidate": name, "setting": setting, "note": note, "recall@10": r10,
                   "recall@100": r100, "ms_real": ms_small, "ms_rows": ms_big,
                   "build_s_rows": big_build,
                   "widened": stats["widened"] / len(qv)}
            print(json.dumps(row), flush=True)
            rows.append(row)

    table = ["| candidate | setting | recall@10 | recall@100 | ms/query, "
             f"{len(real):,} real | ms/query, {len(big):,} rows | build s, {len(big):,} rows |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        table.append(f"| {r['candidate']} | {r['setting']} | {r['recall@10']:.3f} | "
                     f"{r['recall@100']:.3f} | {r['ms_real']:.2f} | {r['ms_rows']:.2f} | "
                     f"{r['build_s_rows']:.1f} |")
    source = (f"{len(real):,} real SciFact chunk vectors (all-MiniLM-L6-v2), {len(qv)} test "
              "queries" if what == "SciFact" else
              f"{len(real):,} real news chunk vectors (Wikinews and Reuters-21578 stories, "
              f"embedded by `qa index` with openvino, all-MiniLM-L6-v2), {len(qv)} real "
              "headlines as questions")
    body = "\n".join([
        common.section_header(), "",
        f"{source} encoded by the same model; each candidate asked for the top {K} (qa's dense "
        "depth), "
        "one FAISS thread, one query at a time. Recall is against exact search on the real "
        f"vectors; the second timing is at {len(big):,} rows (the real vectors plus random unit "
        "vectors: the scans cost what the row count says, the graph and the inverted file "
        "also depend on the data, so their figure there is indicative). Build s: making the "
        "index from float vectors in memory, as a reader or a build does.",
        "", *table, "",
        *[f"- *{name}*: {note}" for name, note in dict((r["candidate"], r["note"])
                                                        for r in rows).items()],
        "",
        f"qa's choice up to {dense.ANN_THRESHOLD:,} chunks is *ExactIndex*: exact by "
        "construction (recall 1.000 here; tests/test_dense.py checks its ids, order and scores "
        "against brute force), at a fraction of the flat scan's time. "
        f"ExactIndex needed its range search on {_share(rows, 'ExactIndex')} of the {what} "
        "queries (the rest were certified by the first scan's candidates).",
    ])
    dense.CANDIDATES_PER_RESULT = default_candidates
    print(body)
    if not args.no_write:
        common.replace_section(SECTION if what == "SciFact" else f"{SECTION} (real news)", body)


Search = Callable[[np.ndarray, dict], np.ndarray]


def news_index(n_chunks: int) -> Path:
    """A qa index of about `n_chunks` chunks of real news stories, built once (openvino)."""
    from qa import build_index

    base = common.WORK / f"news-real-{common.size_label(n_chunks)}"
    index, corpus = base / "index", base / "corpus"
    if (base / ".complete").exists():
        return index
    corpus.mkdir(parents=True, exist_ok=True)
    words, n = 0, 0
    with (corpus / "news.jsonl").open("w", encoding="utf-8") as out:
        for title, text, date in _chain(common.wikinews_stories(), common.reuters_stories()):
            if words >= 130 * n_chunks:  # chunks take ~130 new words each
                break
            out.write(json.dumps({"_id": f"n{n:06d}", "title": title, "date": date,
                                  "text": text}) + "\n")
            words, n = words + len(text.split()), n + 1
    report = build_index(corpus, index, backend="openvino")
    print(f"indexed {report.chunks} real news chunks of {n} stories", flush=True)
    (base / ".complete").write_text(str(report.chunks))
    return index


def news_questions(n: int) -> list[str]:
    """`n` real headlines as questions: Wikinews first, then Reuters-21578."""
    starts = ["What happened when", "Who said", "Why did", "When was it reported that"]
    out = []
    for i, (title, _, _) in enumerate(_chain(common.wikinews_stories(),
                                             common.reuters_stories())):
        if title.strip():
            out.append(f"{starts[i % len(starts)]} {title.strip().rstrip('.')}?")
        if len(out) >= n:
            break
    return out


def _chain(*iterators):
    for it in iterators:
        yield from it


def _candidates(faiss, dense, real: np.ndarray) -> list:
    """(name, note, make(vectors) -> index, [(setting, prepare(index) -> search)])."""
    d = real.shape[1]

    def plain(index) -> Search:
        return lambda q, stats: index.search(q, K)[1][0]

    def flat(v):
        index = faiss.IndexFlatIP(d)
        index.add(v)
        return index

    def exact(v):
        return dense.ExactIndex(v, np.arange(len(v), dtype=np.int64))

    def candidates(per_result: int) -> Callable:
        def prepare(index) -> Search:
            def search(q, stats):
                dense.CANDIDATES_PER_RESULT = per_result
                rows = index.search(q, K)[1]
                stats["widened"] += index.last_widened
                return rows
            return search
        return prepare

    def sq(kind):
        def make(v):
            index = faiss.IndexScalarQuantizer(d, kind, faiss.METRIC_INNER_PRODUCT)
            index.train(v)
            index.add(v)
            return index
        return make

    def int8_scan_only(index) -> Search:
        def search(q, stats):
            q8, _, _ = index.scan_query(q.reshape(-1).astype(np.float64))
            return index.scan.search(q8, K)[1][0]
        return search

    def hnsw(sq8: bool):
        def make(v):
            faiss.omp_set_num_threads(max(1, __import__("os").cpu_count() or 1))
            index = (faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, 32,
                                       faiss.METRIC_INNER_PRODUCT) if sq8
                     else faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT))
            index.hnsw.efConstruction = 80
            if sq8:
                index.train(v)
            index.add(v)
            faiss.omp_set_num_threads(1)
            return index
        return make

    def ef(value) -> Callable:
        def prepare(index) -> Search:
            index.hnsw.efSearch = value
            return plain(index)
        return prepare

    def ivf(v):
        layout = dense.ivf_layout(len(v))
        index = dense.ivf_index(dense.train_ivf(v, layout), v, np.arange(len(v)))
        faiss.omp_set_num_threads(1)
        return index

    def probe(fraction) -> Callable:
        def prepare(index) -> Search:
            index.nprobe = max(1, int(index.nlist * fraction))
            return plain(index)
        return prepare

    return [
        ("flat float32", "IndexFlatIP: exact, 4 bytes a dimension scanned", flat,
         [("-", plain)]),
        ("ExactIndex", "qa.index.dense: int8 codes scanned (1 byte a dimension, integer dot "
         "products), the best (2 or 4 per result) scored exactly from the float vectors, "
         "certified by a bound on the scan's error (else a range search): exact", exact,
         [(f"{c} candidates/result", candidates(c)) for c in (2, 4)]),
        ("int8 scan alone", "ExactIndex's scan without the exact step", exact,
         [("-", int8_scan_only)]),
        ("SQ8 flat", "IndexScalarQuantizer QT_8bit (trained per-dimension ranges)",
         sq(faiss.ScalarQuantizer.QT_8bit), [("-", plain)]),
        ("fp16 flat", "IndexScalarQuantizer QT_fp16", sq(faiss.ScalarQuantizer.QT_fp16),
         [("-", plain)]),
        ("HNSW32 flat", "IndexHNSWFlat M=32, efConstruction 80", hnsw(False),
         [(f"efSearch {e}", ef(e)) for e in (100, 200)]),
        ("HNSW32 SQ8", "IndexHNSWSQ QT_8bit M=32, efConstruction 80", hnsw(True),
         [(f"efSearch {e}", ef(e)) for e in (100, 200)]),
        ("IVF-SQ8", "qa's layout above the threshold (nlist 4·sqrt(n)), nprobe a share of it",
         ivf, [(f"nprobe nlist/{int(1 / f)}", probe(f)) for f in (1 / 48, 1 / 24, 1 / 12)]),
    ]


def _exact_top(vectors: np.ndarray, queries: np.ndarray) -> list[np.ndarray]:
    scores = queries.astype(np.float64) @ vectors.astype(np.float64).T
    return [np.argsort(-s, kind="stable")[:K] for s in scores]


def _time(search: Search, queries: np.ndarray, n: int) -> float:
    stats = {"widened": 0}
    search(queries[:1], stats)
    took = []
    for q in queries[:n]:
        t = time.perf_counter()
        search(q[None], stats)
        took.append(time.perf_counter() - t)
    return 1000 * float(np.median(took))


def _share(rows: list[dict], name: str) -> str:
    found = [f"{r['widened']:.0%} ({r['setting']})" for r in rows if r["candidate"] == name]
    return ", ".join(found) or "n/a"


if __name__ == "__main__":
    main()
