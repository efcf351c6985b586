"""Build throughput by embedding backend, side by side in one run (issue 6's build target).

    .venv/bin/python bench/bench_build_backends.py [--docs 400] [--rounds 3] [--no-write]

A SciFact subset is written as a corpus; each round (variants in rotating order) times:
- *ST encode*: plain `SentenceTransformer.encode` fp32 (batch 32) on the build's own chunk
  texts — the reference the target is stated against;
- *build torch / onnx / onnx-int8 / openvino*: a whole `qa.build_index(full=True)` of that
  corpus (ingest, chunking, embedding, BM25, FAISS, writing), the model already loaded.
  openvino runs the fp32 export in bf16 where the CPU has it (the precision is printed).
Throughput is chunks per second; the ratio is against ST encode in the same round. Quality of
each backend is measured separately with `qa eval --beir` (see the SciFact sections).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SECTION = "Build throughput by backend"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=400, help="SciFact documents in the corpus")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()

    from sentence_transformers import SentenceTransformer

    from qa import build_index, config
    from qa.build import embedding_input
    from qa.embedding import build_embedder, default_embedder
    from qa.ingest import load_corpus
    from qa.build import CHUNKING
    from qa.chunking import chunk_article

    work = Path(tempfile.mkdtemp(prefix="qa-bench-backends-"))
    corpus = work / "corpus"
    corpus.mkdir()
    with open(common.SCIFACT / "corpus.jsonl", encoding="utf-8") as src, \
            open(corpus / "scifact.jsonl", "w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= args.docs:
                break
            dst.write(line)
    articles, _ = load_corpus(corpus)
    texts = [
        embedding_input(a.title, c.text)
        for a in articles
        for c in chunk_article(a, target_words=CHUNKING["target_words"],
                               max_words=CHUNKING["max_words"],
                               overlap_sentences=CHUNKING["overlap_sentences"])
    ]
    n = len(texts)
    st = SentenceTransformer(config.resolve_model_path(config.PACKAGED_MODEL), device="cpu")
    embedders = {
        "build torch": default_embedder(),
        "build onnx": build_embedder(None, "onnx"),
        "build onnx-int8": build_embedder(None, "onnx-int8"),
        "build openvino": build_embedder(None, "openvino"),
    }
    for e in embedders.values():  # load and warm up outside the timings
        e.encode(texts[:8])
    st.encode(texts[:8])
    precision = getattr(embedders["build openvino"], "precision", None)
    print(f"openvino precision: {precision}", flush=True)

    def run_st() -> float:
        t = time.perf_counter()
        st.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        return time.perf_counter() - t

    def run_build(name: str) -> float:
        index = work / f"index-{name.split()[-1]}"
        t = time.perf_counter()
        report = build_index(corpus, index, full=True, embedder=embedders[name])
        elapsed = time.perf_counter() - t
        assert report.chunks == n, (report.chunks, n)
        return elapsed

    variants = {"ST encode": run_st, **{k: (lambda k=k: run_build(k)) for k in embedders}}
    times: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for r in range(args.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            times[name].append(variants[name]())
            print(f"round {r + 1} {name}: {n / times[name][-1]:.1f} chunks/s", flush=True)
    shutil.rmtree(work, ignore_errors=True)

    ref = statistics.median(times["ST encode"])
    rows = []
    for name in names:
        med = statistics.median(times[name])
        ratios = [a / b for a, b in zip(times["ST encode"], times[name])]
        rows.append((name, n / med, ref / med, min(ratios), max(ratios)))
    table = ["| variant | chunks/s (median) | vs ST encode | per-round ratio range |",
             "|---|---:|---:|---:|"]
    table += [f"| {a} | {b:.1f} | {c:.2f}x | {d:.2f}–{e:.2f} |" for a, b, c, d, e in rows]
    body = "\n".join([
        common.section_header(),
        "",
        f"{n} chunks from {args.docs} SciFact abstracts (title + ~150 words each), {args.rounds} "
        "rounds, variants in rotating order; a *build* is a whole `build_index(full=True)`. "
        "Ratios are per round, against plain `SentenceTransformer.encode` fp32 in that round. "
        f"openvino ran in {precision} (OpenVINO {_openvino_version()}, THROUGHPUT hint, "
        "batches of 16 in flight on one stream per core).",
        "",
        *table,
    ])
    print(body)
    print(json.dumps({r[0]: {"chunks_per_s": r[1], "ratio": r[2]} for r in rows}))
    if not args.no_write:
        common.replace_section(SECTION, body)


def _openvino_version() -> str:
    import openvino

    return openvino.__version__.split("-")[0]


if __name__ == "__main__":
    main()
