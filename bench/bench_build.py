"""Build speed: a full build against plain `SentenceTransformer.encode`, and incremental adds;
optionally the same figures for another version of qa in the same run (`--against`).

    .venv/bin/python bench/bench_build.py [--docs N] [--sizes 100k,1M] [--skip-full]
        [--against /tmp/qa-before] [--profile] [--no-write]

1. Full build of SciFact (5,183 abstracts, ~8.8k chunks) with the real model, then plain
   `SentenceTransformer.encode` on exactly the strings the build embedded (title + chunk
   text), in the same process, so the ratio shows what the build adds on top of the model.
   The model is loaded before either is timed; its load time is reported on its own.
2. Incremental rebuild: one new article (a real Wikinews story) added to synthetic corpora of
   100k and 1M chunks. Those indexes are built once with `RandomEmbedder` (see
   bench/common.py), in a process of their own; the timed rebuild runs in a fresh process
   that first loads the real model (the default build backend) and then adds the article:
   its wall time, the time of each stage, and the process's peak RSS.

`--against PATH` measures a second checkout of qa (a git worktree of an earlier commit) in
the same run: each figure is taken for both, one after the other, by these same scripts (the
child imports `qa` from PATH; its indexes get folders of their own, since formats differ).
`--profile` adds cProfile's largest costs of this checkout's incremental rebuilds.

Each measurement runs in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402  (needs the path above)

SECTION = "Build"
TARGETS = {"add_s": {100_000: 0.5, 1_000_000: 2.0}, "rss_mib": {1_000_000: 1536}}


def full_build(docs: int | None, backend: str) -> dict:
    """Time a full SciFact build and plain encode of the same strings."""
    from qa import Retriever, build_index
    from qa.build.builder import embedding_input
    from qa.embed.calibrate import build_embedder
    from qa.embed.embedder import SentenceTransformerEmbedder, backend_of

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
        embedder = build_embedder(None, backend)
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
        plain = SentenceTransformerEmbedder()
        plain.load()
        model = plain._model
        model.encode(texts[:32], batch_size=32, normalize_embeddings=True,
                     convert_to_numpy=True, show_progress_bar=False)
        started = time.perf_counter()
        model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                     show_progress_bar=False)
        plain_seconds = time.perf_counter() - started
        # The build also embeds each distinct sentence an answer may cite (the sentence
        # vectors part): the same strings, encoded plainly, for the ratio of all the work.
        sentences = _cited_sentences(retriever)
        started = time.perf_counter()
        if sentences:
            model.encode(sentences, batch_size=32, normalize_embeddings=True,
                         convert_to_numpy=True, show_progress_bar=False)
        plain_sentences_seconds = time.perf_counter() - started

        embed_seconds = stages.get("embed_last", 0) - stages.get("embed_first", 0)
        return {
            "documents": report.articles,
            "chunks": report.chunks,
            "backend": backend_of(embedder),
            "model_load_seconds": model_load,
            "build_seconds": build_seconds,
            "build_chunks_per_s": report.chunks / build_seconds,
            "embed_stage_seconds": embed_seconds,
            "plain_encode_seconds": plain_seconds,
            "plain_chunks_per_s": len(texts) / plain_seconds,
            "ratio": (report.chunks / build_seconds) / (len(texts) / plain_seconds),
            "sentences": len(sentences),
            "plain_sentences_seconds": plain_sentences_seconds,
            "ratio_all": (plain_seconds + plain_sentences_seconds) / build_seconds,
            "peak_rss_mib": common.peak_rss_mib(),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _cited_sentences(retriever) -> list[str]:
    """The distinct sentence texts a build embeds (qa.build.parts.embed_sentences): every
    sentence of every chunk that an answer may cite."""
    from qa.index.sentences import cited_rows

    unique: dict[str, None] = {}
    for article in retriever.articles():
        text = retriever.article(article.id).text
        spans = [span for chunk in retriever.chunks_of(article.id) for span in chunk.sentences]
        for i in cited_rows(text, spans, retriever.phrases_of(article.id)):
            unique.setdefault(text[spans[i][0]:spans[i][1]], None)
    return list(unique)


def prepare(n_chunks: int) -> dict:
    """The base index of `n_chunks` chunks, as it was built (an earlier added article
    removed): built or brought back here, so the timed process starts from it."""
    _, _, info = common.synthetic_index(n_chunks)
    return info


def incremental(n_chunks: int, backend: str, profile: bool = False) -> dict:
    """Load the model, then add one real article to the synthetic index; time the update."""
    from qa import build_index
    from qa.embed.calibrate import build_embedder

    base = common.WORK / f"synth-{common.size_label(n_chunks)}"
    corpus, index = base / "corpus", common.index_folder(base)
    common.warm_page_cache(index)  # what an earlier build evicted: equal footing for both
    embedder = build_embedder(None, backend)
    embedder.encode(["warm-up"])  # the model is loaded before the clock starts
    rss_model = common.peak_rss_mib()
    title, text, _ = next(common.wikinews_stories())
    (corpus / f"added-{int(time.time())}.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    marks: list[tuple[str, float]] = []

    def progress(stage: str, done: int, total: int) -> None:
        marks.append((f"{stage} {done}/{total}", time.perf_counter()))

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    report = build_index(corpus=corpus, index=index, embedder=embedder, progress=progress)
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
    stages = _stages(started, marks, started + seconds)
    out = {
        "size": n_chunks,
        "chunks": report.chunks,
        "added": len(report.added),
        "embedded_chunks": report.embedded_chunks,
        "backend": backend,
        "seconds": seconds,
        "stages": stages,
        "rss_model_mib": rss_model,
        "peak_rss_mib": common.peak_rss_mib(),
    }
    if profiler is not None:
        out["profile"] = _top(profiler)
    return out


def _stages(start: float, marks: list[tuple[str, float]], end: float) -> dict[str, float]:
    """Seconds from the start to the corpus read, to the embedding, to the write, to the end."""
    at = {name: t for name, t in reversed(marks)}  # the first time each mark was seen
    read_done = next((t for n, t in marks if n.startswith("read") and not n.endswith("0/0")), start)
    embed_start = next((t for n, t in marks if n.startswith("embed")), read_done)
    write_start = at.get("write 0/1", end)
    return {"open + read corpus": read_done - start, "diff + chunk + quotes": embed_start - read_done,
            "embed": write_start - embed_start, "write + publish": end - write_start}


def _top(profiler, n: int = 14) -> list[list]:
    """The largest cumulative costs among qa's own functions."""
    import pstats

    stats = pstats.Stats(profiler)
    rows = []
    for (file, line, func), (_, calls, own, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "/qa/" in file:
            rows.append([round(cum, 3), round(own, 3), calls,
                         f"{file.split('/qa/', 1)[1]}:{line}({func})"])
    rows.sort(key=lambda r: -r[0])
    others = []
    for (file, line, func), (_, calls, own, _cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        others.append([round(own, 3), calls, f"{Path(file).name}:{line}({func})"])
    others.sort(key=lambda r: -r[0])
    return rows[:n] + [["own"] + r for r in others[:8]]


def _row(label: str, before: object, after: object, target: str = "") -> str:
    return f"| {label} | {before} | {after} | {target} |"


def render(full: dict[str, dict], incs: dict[str, list[dict]], codes: dict[str, str]) -> str:
    """The Markdown body of the `## Build` section."""
    labels = list(codes)
    two = len(labels) == 2
    head = [common.section_header(), ""]
    if two:
        head += [f"Side by side in one run: *before* = `{codes['before']}` (a git worktree of "
                 f"an earlier commit), *after* = `{codes['after']}`.", ""]
    out = head
    cols = " | ".join(labels)
    out += [f"| figure | {cols} | target |", "|---|" + "---:|" * len(labels) + "---|"]

    def line(name: str, values: list[str], target: str = "") -> None:
        out.append(f"| {name} | " + " | ".join(values) + f" | {target} |")

    if full:
        line("full build, SciFact: chunks/s (build s)",
             [f"{full[c]['build_chunks_per_s']:.1f} ({full[c]['build_seconds']:.1f})" if c in full
              else "–" for c in labels], "no worse")
        line("full build / plain encode of its chunks", [f"{full[c]['ratio']:.2f}" if c in full
                                                         else "–" for c in labels])
        line("plain encode of every string the build embeds (chunks and cited sentences) / "
             "full build", [f"{full[c]['ratio_all']:.2f}" if "ratio_all" in full.get(c, {})
                            else "–" for c in labels])
    sizes = sorted({r["size"] for rows in incs.values() for r in rows})
    for size in sizes:
        rows = {c: next((r for r in incs.get(c, []) if r["size"] == size), None) for c in labels}
        label = common.size_label(size)
        target = TARGETS["add_s"].get(size)
        line(f"add one article, {label} chunks: s",
             [f"{r['seconds']:.2f}" if r else "–" for r in rows.values()],
             f"≤ {target} s" if target else "")
        rss_target = TARGETS["rss_mib"].get(size)
        line(f"peak RSS of that update, {label}: MiB",
             [f"{r['peak_rss_mib']:.0f}" if r else "–" for r in rows.values()],
             f"≤ {rss_target} MiB (1.5 GB)" if rss_target else "")
    out.append("")
    for size in sizes:
        for c in labels:
            r = next((r for r in incs.get(c, []) if r["size"] == size), None)
            if r:
                parts = ", ".join(f"{k} {v:.2f} s" for k, v in r["stages"].items())
                out.append(f"- {common.size_label(size)}, {c}: {parts}; {r['chunks']} chunks after, "
                           f"{r['embedded_chunks']} embedded ({r['backend']}); RSS with the model "
                           f"loaded {r['rss_model_mib']:.0f} MiB.")
    if full:
        for c in labels:
            if c in full:
                f = full[c]
                out.append(f"- Full build, {c}: {f['documents']} documents, {f['chunks']} chunks, "
                           f"{f['backend']}; model load {f['model_load_seconds']:.1f} s (not "
                           f"counted); embed stage {f['embed_stage_seconds']:.1f} of "
                           f"{f['build_seconds']:.1f} s; plain encode {f['plain_chunks_per_s']:.1f} "
                           f"chunks/s"
                           + (f", and {f['plain_sentences_seconds']:.1f} s for its "
                              f"{f['sentences']} distinct cited sentences" if "sentences" in f
                              else "")
                           + f"; peak RSS {f['peak_rss_mib']:.0f} MiB.")
    out += [
        "",
        "*Full build* is `build_index(full=True)` (read, chunk, quotes, embed, BM25, FAISS, "
        "write) with the build backend `--backend`, model loaded beforehand; *plain encode* is "
        "`SentenceTransformer.encode(batch_size=32)` on the same title+chunk strings in the same "
        "process, and then on the distinct sentences the build embedded for the sentence "
        "vectors part (an answer's citable sentences). *Add one article*: a fresh process loads the real model, then `build_index` "
        "adds one Wikinews story to a synthetic corpus (recombined Reuters-21578 and Wikinews "
        "sentences, random unit vectors from `bench/common.py` `RandomEmbedder`, so the base "
        "builds in minutes; every file of the index is read once first, so both checkouts "
        "start from a warm page cache); peak RSS is that process's VmHWM, model included. "
        "Both checkouts use the same build backend (`--backend`). Stages are cut at the "
        "build's progress marks.",
        "",
    ]
    profiles = [(c, r) for c in labels for r in incs.get(c, []) if r.get("profile")]
    for c, r in profiles:
        out += [f"Profile of the {common.size_label(r['size'])} add ({c}; cProfile, so slower "
                "than above): qa's functions by cumulative time, then the largest own times.", "",
                "| cumulative s | own s | calls | function |", "|---:|---:|---:|---|"]
        for row in r["profile"]:
            if row[0] == "own":
                out.append(f"| | {row[1]} | {row[2]} | `{row[3]}` |")
            else:
                out.append(f"| {row[0]} | {row[1]} | {row[2]} | `{row[3]}` |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, help="only the first N SciFact documents")
    parser.add_argument("--sizes", default="100k,1M", help="incremental sizes (default 100k,1M)")
    parser.add_argument("--skip-full", action="store_true", help="only the incremental part")
    parser.add_argument("--against", help="another checkout of qa to measure beside this one")
    parser.add_argument("--profile", action="store_true",
                        help="profile this checkout's incremental rebuilds")
    parser.add_argument("--backend", default="openvino",
                        help="build backend of the timed builds, the same for both checkouts "
                             "(default openvino)")
    parser.add_argument("--runs", type=int, default=1,
                        help="incremental adds per size and checkout (the median is kept)")
    parser.add_argument("--isa", choices=["avx2"],
                        help="cap every runtime at this instruction set, children included "
                             "(bench/common.py ISA_CAPS): an AVX2-only CPU emulated here")
    parser.add_argument("--section", default=SECTION, help="the docs/benchmarks.md section")
    parser.add_argument("--no-write", action="store_true", help="print; leave the doc alone")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:  # one measurement in a fresh process; the parent reads the JSON line
        kind, _, value = args.child.partition(":")
        if kind == "full":
            result = full_build(int(value) if value else None, args.backend)
        elif kind == "prepare":
            result = prepare(int(value))
        else:
            result = incremental(int(value), args.backend, profile=kind == "inc-profile")
        print(json.dumps(result))
        return 0

    if args.isa:  # the children inherit the caps: torch and OpenVINO read them at load
        os.environ.update(common.ISA_CAPS)
    codes = {"before": args.against, "after": None} if args.against else {"after": None}
    commits = {c: common.code_commit(path) for c, path in codes.items()}
    full: dict[str, dict] = {}
    if not args.skip_full:
        for c, path in codes.items():
            full[c] = common.run_json([__file__, "--child", f"full:{args.docs or ''}",
                                       "--backend", args.backend], code=path)
            print(c, json.dumps(full[c], indent=1), flush=True)
    incs: dict[str, list[dict]] = {c: [] for c in codes}
    for size in common.parse_sizes(args.sizes) if args.sizes else []:
        for c, path in codes.items():
            runs = []
            profiled = args.profile and path is None
            for run in range(args.runs + profiled):  # the profiled run is not timed
                info = common.run_json([__file__, "--child", f"prepare:{size}"], code=path)
                print(c, "base", json.dumps(info), flush=True)
                kind = "inc-profile" if run == args.runs else "inc"
                result = common.run_json([__file__, "--child", f"{kind}:{size}",
                                          "--backend", args.backend], code=path)
                print(c, json.dumps({k: v for k, v in result.items() if k != "profile"}), flush=True)
                runs.append(result)
            timed = sorted(runs[: args.runs], key=lambda r: r["seconds"])[args.runs // 2]
            if profiled:
                timed = dict(timed, profile=runs[-1]["profile"])
            incs[c].append(timed)
    body = render(full, incs, commits)
    if args.isa:
        caps = ", ".join(f"{k}={v}" for k, v in common.ISA_CAPS.items())
        body = body.replace("\n", f"\n- Capped at AVX2 for every runtime ({caps}).\n", 1)
    print(body)
    if not args.no_write:
        common.replace_section(args.section, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
