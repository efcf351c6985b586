"""Build speed: a full build against plain `SentenceTransformer.encode`, and incremental adds.

    .venv/bin/python bench/bench_build.py [--docs N] [--sizes 10k,100k] [--no-write]

1. Full build of SciFact (5,183 abstracts, ~8.8k chunks) with the real model, then plain
   `SentenceTransformer.encode` on exactly the strings the build embedded (title + chunk
   text), in the same process, so the ratio shows what the build adds on top of the model.
   The model is loaded before either is timed; its load time is reported on its own.
2. Incremental rebuild: one new article (a real Wikinews story) added to synthetic corpora of
   10k and 100k chunks. Those indexes are built once with `RandomEmbedder` (see
   bench/common.py); the timed rebuild uses the real, already loaded, model, so it embeds the
   new article for real and reuses everything else.

Each incremental size runs in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402  (needs the path above)

SECTION = "Build"


def full_build(docs: int | None) -> dict:
    """Time a full SciFact build and plain encode of the same strings."""
    from qa import Retriever, build_index
    from qa.build import embedding_input
    from qa.embedding import SentenceTransformerEmbedder

    work = Path(tempfile.mkdtemp(prefix="qa-bench-build-", dir=common.WORK.parent))
    try:
        corpus = work / "corpus"
        corpus.mkdir()
        with (common.SCIFACT / "corpus.jsonl").open(encoding="utf-8") as src, (
            corpus / "scifact.jsonl"
        ).open("w", encoding="utf-8") as dst:
            for number, line in enumerate(src):
                if docs is not None and number >= docs:
                    break
                dst.write(line)

        t = time.perf_counter()
        embedder = SentenceTransformerEmbedder()
        embedder.load()
        embedder.encode(["warm-up sentence so the first batch is not special"])
        model_load = time.perf_counter() - t

        stages: dict[str, float] = {}

        def progress(stage: str, done: int, total: int) -> None:
            now = time.perf_counter()
            stages.setdefault(f"{stage}_first", now)
            stages[f"{stage}_last"] = now

        started = time.perf_counter()
        report = build_index(corpus=corpus, index=work / "index", full=True, progress=progress,
                             embedder=embedder)
        build_seconds = time.perf_counter() - started

        retriever = Retriever.open(work / "index", embedder=embedder)
        texts = [
            embedding_input(article.title, chunk.text)
            for article in retriever.articles()
            for chunk in retriever.chunks_of(article.id)
        ]
        model = embedder._model  # the very same SentenceTransformer the build used
        started = time.perf_counter()
        model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                     show_progress_bar=False)
        plain_seconds = time.perf_counter() - started

        embed_seconds = stages.get("embed_last", 0) - stages.get("embed_first", 0)
        return {
            "documents": report.articles,
            "chunks": report.chunks,
            "model_load_seconds": model_load,
            "build_seconds": build_seconds,
            "build_chunks_per_s": report.chunks / build_seconds,
            "embed_stage_seconds": embed_seconds,
            "plain_encode_seconds": plain_seconds,
            "plain_chunks_per_s": len(texts) / plain_seconds,
            "ratio": (report.chunks / build_seconds) / (len(texts) / plain_seconds),
            "peak_rss_mib": common.peak_rss_mib(),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def incremental(n_chunks: int) -> dict:
    """Add one real article to a synthetic index of `n_chunks` chunks; time the rebuild."""
    from qa import build_index
    from qa.embedding import build_embedder, default_backend

    corpus, index, base = common.index_plus_one_article(n_chunks, f"added-{int(time.time())}.txt")
    backend = default_backend()  # what `qa index` uses
    embedder = build_embedder(None, backend)
    embedder.encode(["warm-up"])  # loads the model: "model already loaded"
    started = time.perf_counter()
    report = build_index(corpus=corpus, index=index, embedder=embedder)
    seconds = time.perf_counter() - started
    return {
        "size": n_chunks,
        "chunks": report.chunks,
        "added": len(report.added),
        "embedded_chunks": report.embedded_chunks,
        "backend": backend,
        "seconds": seconds,
        "base_build_seconds_random_vectors": base["seconds"],
        "peak_rss_mib": common.peak_rss_mib(),
    }


def render(full: dict | None, incs: list[dict]) -> str:
    """The Markdown body of the `## Build` section."""
    out = [common.section_header(), ""]
    if full:
        out += [
            "### Full build (SciFact, real model)",
            "",
            "| documents | chunks | build s | build chunks/s | plain encode chunks/s | ratio |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {full['documents']} | {full['chunks']} | {full['build_seconds']:.1f} | "
            f"{full['build_chunks_per_s']:.1f} | {full['plain_chunks_per_s']:.1f} | "
            f"{full['ratio']:.2f} |",
            "",
            f"Model load (not in either figure): {full['model_load_seconds']:.1f} s. "
            f"Embed stage of the build: {full['embed_stage_seconds']:.1f} s of "
            f"{full['build_seconds']:.1f} s. Peak RSS of the process: "
            f"{full['peak_rss_mib']:.0f} MiB.",
            "",
            "*Build chunks/s* is chunks in the index / wall time of `build_index(full=True)` "
            "(read, chunk, quotes, embed, BM25, FAISS, write). *Plain encode* is "
            "`SentenceTransformer.encode(batch_size=32)` on the same title+chunk strings in "
            "the same process. *Ratio* = build / plain: 1.0 would mean the build costs "
            "nothing beyond the model.",
            "",
        ]
    if incs:
        out += [
            "### Incremental rebuild: one article added",
            "",
            "| index size | chunks after | embedded | backend | rebuild s | peak RSS MiB |",
            "|---:|---:|---:|---|---:|---:|",
        ]
        for r in incs:
            out.append(
                f"| {common.size_label(r['size'])} | {r['chunks']} | {r['embedded_chunks']} | "
                f"{r.get('backend', 'torch')} | {r['seconds']:.2f} | {r['peak_rss_mib']:.0f} |"
            )
        out += [
            "",
            "Synthetic corpora of recombined Reuters-21578 and Wikinews sentences; their "
            "stored vectors are random unit vectors (`bench/common.py` `RandomEmbedder`), so "
            "the base index builds in minutes. The timed rebuild uses the real model, loaded "
            "beforehand, and embeds only the new article; the rest is the cost of reading the "
            "corpus, diffing hashes, copying reused rows, refitting BM25 and writing a new "
            "generation.",
            "",
        ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, help="only the first N SciFact documents")
    parser.add_argument("--sizes", default="10k,100k", help="incremental sizes (default 10k,100k)")
    parser.add_argument("--skip-full", action="store_true", help="only the incremental part")
    parser.add_argument("--no-write", action="store_true", help="print; leave the doc alone")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:  # one measurement in a fresh process; the parent reads the JSON line
        kind, _, value = args.child.partition(":")
        result = full_build(int(value) if value else None) if kind == "full" else incremental(
            int(value))
        print(json.dumps(result))
        return 0

    full = None
    if not args.skip_full:
        full = common.run_json([__file__, "--child", f"full:{args.docs or ''}"])
        print(json.dumps(full, indent=1))
    incs = []
    for size in common.parse_sizes(args.sizes) if args.sizes else []:
        result = common.run_json([__file__, "--child", f"inc:{size}"])
        print(json.dumps(result, indent=1))
        incs.append(result)
    body = render(full, incs)
    print(body)
    if not args.no_write:
        common.replace_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
