"""Query latency and memory at growing index sizes.

    .venv/bin/python bench/bench_query.py [--sizes 1k,10k,100k,1M] [--queries 50]
        [--against /tmp/qa-before] [--segments 10 --segments-size 1M] [--no-write]

For each size, in a fresh child process (so peak RSS is that size's alone):
open the index, load the model, then time `Retriever.search(k=10)` in hybrid and in BM25-only
mode, and `Assistant.ask`, over the same questions; report p50/p95 and the peak RSS.

The indexes are synthetic (bench/common.py): articles recombined from real Reuters-21578 and
Wikinews sentences, with random unit vectors instead of embeddings. The *query* is embedded
by the real model, so hybrid latency includes the real query encoding. Questions are Wikinews
headlines turned into questions; their answers are mostly not in the synthetic corpus, which
makes `ask` do its full work (score every candidate sentence) before it answers or abstains.
SciFact (real vectors, 8.8k chunks) is measured as well when its eval index exists.

`--against PATH` measures another checkout of qa (a git worktree) in the same run, size by
size, with these same scripts (see bench/common.py `code_env`). `--segments K` adds two rows
for this checkout at `--segments-size`: the index as K live segments (a build of most of the
corpus, then K-1 updates of one part file each), and the same index merged into one
(`qa index --optimize`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SECTION = "Query latency and memory"
SCIFACT_INDEX = Path.home() / ".cache" / "qa" / "eval" / "scifact" / "index"


def questions(n: int) -> list[str]:
    """`n` news questions built from Wikinews headlines (real wording, varied length)."""
    starts = ["What happened when", "Who said", "Why did", "When was it reported that"]
    out = []
    for i, (title, _, _) in enumerate(common.wikinews_stories()):
        out.append(f"{starts[i % len(starts)]} {title.rstrip('.')}?")
        if len(out) >= n:
            break
    return out


def scifact_questions(n: int) -> list[str]:
    """The first `n` SciFact test claims, as questions over the SciFact index."""
    lines = (common.SCIFACT / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines[:n]]


def measure(index: Path, asks: list[str], label: str, vectors: str) -> dict:
    """Open `index`, warm the model, and time searches and answers."""
    from qa import Retriever

    common.warm_page_cache(index)  # both checkouts' indexes start from a warm page cache
    rss_before_open = common.peak_rss_mib()
    started = time.perf_counter()
    retriever = Retriever.open(index)
    open_seconds = time.perf_counter() - started
    rss_after_open = common.peak_rss_mib()
    retriever.warm_up()
    retriever.search(asks[0], k=10, mode="hybrid")  # first FAISS call pays one-off set-up

    def timed(fn) -> list[float]:
        out = []
        for q in asks:
            t = time.perf_counter()
            fn(q)
            out.append((time.perf_counter() - t) * 1000)
        return out

    hybrid = timed(lambda q: retriever.search(q, k=10, mode="hybrid"))
    bm25 = timed(lambda q: retriever.search(q, k=10, mode="bm25"))
    split = stage_split(retriever, asks)
    ask: list[float] = []
    ask_error = None
    try:
        if os.environ.get("QA_BENCH_NO_ASK"):
            raise ImportError("not measured (--no-ask)")
        from qa.answer import Assistant

        assistant = Assistant(retriever)
        assistant.ask(asks[0])
        ask = timed(assistant.ask)
    except ImportError as exc:  # the answering module may not exist yet in a partial tree
        ask_error = f"qa.answer unavailable: {exc}"
    row = {
        "label": label,
        "vectors": vectors,
        "chunks": retriever.stats.chunks,
        "queries": len(asks),
        "open_seconds": open_seconds,
        "hybrid_p50_ms": common.percentile(hybrid, 50),
        "hybrid_p95_ms": common.percentile(hybrid, 95),
        "bm25_p50_ms": common.percentile(bm25, 50),
        "bm25_p95_ms": common.percentile(bm25, 95),
        "ask_p50_ms": common.percentile(ask, 50) if ask else None,
        "ask_p95_ms": common.percentile(ask, 95) if ask else None,
        "ask_error": ask_error,
        "rss_interpreter_mib": rss_before_open,
        "rss_after_open_mib": rss_after_open,
        "peak_rss_mib": common.peak_rss_mib(),
        "hybrid_split_p50_ms": split,
        "cpu": _cpu(),
    }
    return row


STAGES = {  # (owner module, class or None, function) -> stage of a hybrid search
    "encode": ("qa.search.retriever", "Retriever", "encode"),
    # The store backend holds the index's methods bound at open, so the stages are wrapped
    # where the backend calls them: its dense search, and the BM25 scorer.
    "dense": ("qa.index.local", "LocalBackend", "dense_search"),
    "bm25": ("qa.index.bm25", "Scorer", "scores"),
}


def stage_split(retriever, asks: list[str]) -> dict[str, float] | None:
    """p50 ms of each stage of a hybrid search (query encoding, dense search, BM25 scores,
    and the rest: BM25's top-k, fusion, hits), timed by wrapping the stage functions for a
    second pass over the questions (the figures above are taken unwrapped). None where the
    code measured has other stage functions (an older checkout)."""
    import importlib

    spent: dict[str, float] = {}
    saved = []
    try:
        for stage, (module, cls, name) in STAGES.items():
            owner = getattr(importlib.import_module(module), cls)
            fn = getattr(owner, name)
            saved.append((owner, name, fn))

            def wrapped(*a, _fn=fn, _stage=stage, **kw):
                t = time.perf_counter()
                try:
                    return _fn(*a, **kw)
                finally:
                    spent[_stage] = spent.get(_stage, 0.0) + time.perf_counter() - t

            setattr(owner, name, wrapped)
    except (ImportError, AttributeError):
        for owner, name, fn in saved:
            setattr(owner, name, fn)
        return None
    per: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "rest")}
    try:
        for q in asks:
            spent.clear()
            t = time.perf_counter()
            retriever.search(q, k=10, mode="hybrid")
            total = time.perf_counter() - t
            for stage in STAGES:
                per[stage].append(1000 * spent.get(stage, 0.0))
            per["rest"].append(1000 * (total - sum(spent.values())))
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)
    return {stage: common.percentile(v, 50) for stage, v in per.items()}


def _use_flat_dense() -> None:
    """Search exact segments with a flat float32 FAISS index, as qa did before ExactIndex
    (`--flat-too`): Index.dense_search then takes its selector path, as it does for IVF."""
    from qa.index import dense

    load = dense.load_dense_index

    def flat(folder, layout, ids, dim):
        if dense.is_ivf(layout):
            return load(folder, layout, ids, dim)
        index = dense.flat_index(dense.read_vectors(folder)[:], ids)
        dense.set_faiss_threads("search")
        return index

    dense.load_dense_index = flat


def _cpu() -> str:
    """The CPU model and the flags that decide the kernels, printed with every row."""
    try:
        from qa.embed.calibrate import cpu
    except ImportError:  # an older checkout
        return common.cpu_flags()
    return cpu().describe()


def child(spec: str, n_queries: int) -> dict:
    """One index (`synth:<chunks>`, `segmented:<chunks>:<k>`, `merged:<chunks>:<k>` or
    `scifact`), measured in this process."""

    if spec == "scifact":
        return measure(SCIFACT_INDEX, scifact_questions(n_queries), "SciFact", "real")
    kind, size_text, *rest = spec.split(":")
    size = int(size_text)
    label = common.size_label(size)
    code = os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or None
    if code and Path(code).resolve() == common.ROOT.resolve():
        code = None  # this checkout, named on PYTHONPATH (another one may be installed)
    # Built (or reused) in a grandchild so the build's memory does not count here.
    if kind == "synth":
        common.run_json([__file__, "--build", str(size)], code=code)
        index = common.index_folder(common.WORK / f"synth-{label}")
        return measure(index, questions(n_queries), label, "random")
    k = int(rest[0])
    info = common.run_json([__file__, "--build-segmented", f"{size}:{k}"])
    base = common.WORK / f"synth-{label}" / f"segmented-{k}"
    index = base / "index" if kind == "segmented" else base / "merged"
    what = f"{label}, {info['segments']} segments" if kind == "segmented" else f"{label}, merged"
    return measure(index, questions(n_queries), what, "random")


def render(rows: list[dict], threads: int | None = None,
           commits: dict[str, str] | None = None) -> str:
    """The Markdown body of this script's section."""
    def ms(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.1f}"

    out = [common.section_header(), ""]
    if commits and len(commits) > 1:
        out += [f"Side by side in one run: *before* = `{commits['before']}` (a git worktree of "
                f"an earlier commit), *after* = `{commits['after']}`.", ""]
    rounds = max((r.get("rounds", 1) for r in rows), default=1)
    if rounds > 1:
        out += [f"Every figure is the median of {rounds} rounds; each round measured every row "
                "once, one after another, each in a fresh process.", ""]
    segmented = [r for r in rows if "segments" in r["label"]]
    merged = [r for r in rows if r["label"].endswith("merged")]
    if segmented and merged:
        ratio = segmented[0]["hybrid_p50_ms"] / merged[0]["hybrid_p50_ms"]
        out += [f"Hybrid p50 with {segmented[0]['label'].split(', ')[1]} / merged into one: "
                f"{segmented[0]['hybrid_p50_ms']:.1f} / {merged[0]['hybrid_p50_ms']:.1f} ms = "
                f"**{ratio:.2f}x** (target: at most 1.2x).", ""]
    out += [
        "| index | code | chunks | vectors | open s | hybrid p50/p95 ms | BM25 p50/p95 ms | "
        "ask p50/p95 ms | RSS after open MiB | peak RSS MiB |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['label']} | {r.get('code', 'after')} | {r['chunks']} | {r['vectors']} | "
            f"{r['open_seconds']:.2f} | "
            f"{ms(r['hybrid_p50_ms'])} / {ms(r['hybrid_p95_ms'])} | "
            f"{ms(r['bm25_p50_ms'])} / {ms(r['bm25_p95_ms'])} | "
            f"{ms(r['ask_p50_ms'])} / {ms(r['ask_p95_ms'])} | "
            f"{r['rss_after_open_mib']:.0f} | {r['peak_rss_mib']:.0f} |"
        )
    split_rows = [r for r in rows if r.get("hybrid_split_p50_ms")]
    if split_rows:
        out += ["", "Where a hybrid search's time goes (p50 ms of each stage, a second pass "
                "over the same questions with the stage functions wrapped):", "",
                "| index | code | encode query | dense search | BM25 scores | rest (BM25 top-k, "
                "fusion, hits) |", "|---|---|---:|---:|---:|---:|"]
        for r in split_rows:
            sp = r["hybrid_split_p50_ms"]
            out.append(f"| {r['label']} | {r.get('code', 'after')} | {ms(sp['encode'])} | "
                       f"{ms(sp['dense'])} | {ms(sp['bm25'])} | {ms(sp['rest'])} |")
    if any(r.get("code") == "flat" for r in rows):
        out += ["", "*code* `flat`: this checkout with exact segments searched by a flat "
                "float32 FAISS index (IndexFlatIP, qa's exact search before `ExactIndex`; "
                "`--flat-too`), the same index and questions, in the same run."]
    out += [
        "",
        "- *hybrid*: `Retriever.search(q, k=10, mode=\"hybrid\")` after `warm_up()`: query "
        "encoding + FAISS + BM25 + fusion. The question is encoded by the ONNX export of the "
        "model that `qa index` writes beside the index (the product's query path; the synthetic "
        "indexes get it from `ensure_query_model`). *BM25*: `mode=\"bm25\"`. *ask*: "
        "`Assistant(retriever).ask(q)`, one question at a time, no history. Every file of "
        "the index is read once before it is opened (a warm page cache for every row).",
        "- *vectors*: `random` = synthetic corpus (recombined Reuters-21578 + Wikinews "
        "sentences) with random unit vectors (bench/common.py `RandomEmbedder`); `real` = "
        "embedded by all-MiniLM-L6-v2. Up to 200k chunks the dense part is exact search "
        "(`ExactIndex`: an int8 scan, then exact scores of the candidates, certified by a "
        "bound); above, IVF-SQ8 scanning nprobe = nlist/12 lists (qa/index/dense.py).",
        "- *RSS after open*: peak RSS once the index is open, before the model loads; "
        "*peak RSS*: the process's high-water mark (VmHWM) after the model loaded and every "
        "search and ask ran: the ONNX Runtime query model, the dense index (IVF-SQ8 codes: "
        "~390 MiB at 1M) and the chunk tables; texts, sentence spans and BM25 postings are "
        "read by range (qa/index/diskarray.py), not mapped. One child process per size"
        + ("." if any(r["chunks"] > 200_000 for r in rows) else
           "; sizes above 100k were not run (`--sizes 1M` builds a 1M-chunk synthetic index "
           "first)."),
        f"- torch threads: {threads or 'torch default (one per core)'}. This matters only when "
        "queries go through torch (no ONNX export): on this shared 2-core machine under load, "
        "encoding one question with 2 intra-op threads took ~2.4 s at the median against "
        "~0.12 s with 1 thread, while batch throughput was about equal.",
        "",
    ]
    return "\n".join(out)


def _median_row(runs: list[dict]) -> dict:
    """One row whose every number is the median of that figure over the rounds."""
    row = dict(runs[0])
    for key, value in row.items():
        if isinstance(value, float):
            values = sorted(r[key] for r in runs if r.get(key) is not None)
            row[key] = values[len(values) // 2] if values else None
        elif isinstance(value, dict):  # the stage split: each stage's median
            parts = [r[key] for r in runs if isinstance(r.get(key), dict)]
            row[key] = {k: sorted(p[k] for p in parts)[len(parts) // 2] for k in value}
    row["rounds"] = len(runs)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1k,10k,100k",
                        help="synthetic sizes (default 1k,10k,100k; 1M takes a long build)")
    parser.add_argument("--queries", type=int, default=50, help="questions per size")
    parser.add_argument("--no-scifact", action="store_true", help="skip the SciFact row")
    parser.add_argument("--threads", type=int,
                        help="torch intra-op threads for the model (default: torch's choice, "
                             "one per core); see the section text for why it matters here")
    parser.add_argument("--against", help="another checkout of qa to measure beside this one")
    parser.add_argument("--segments", type=int, help="also measure an index in this many "
                        "segments, and merged (this checkout only)")
    parser.add_argument("--segments-size", default="1M", help="its size (default 1M)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every row this many times, the rows of each round after "
                             "one another, and report each figure's median over the rounds "
                             "(on a shared machine, load that comes and goes then hits both "
                             "checkouts alike)")
    parser.add_argument("--flat-too", action="store_true",
                        help="also measure each synthetic size with the dense part searched by "
                             "a flat float32 FAISS index (the exact search before ExactIndex), "
                             "same code and index otherwise")
    parser.add_argument("--no-write", action="store_true", help="print; leave the doc alone")
    parser.add_argument("--no-ask", action="store_true",
                        help="time searches only, not Assistant.ask (children inherit it)")
    parser.add_argument("--section", default=SECTION,
                        help=f"the docs/benchmarks.md section to write (default {SECTION!r})")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--dense", help=argparse.SUPPRESS)
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--build-segmented", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.build:
        _, _, info = common.synthetic_index(args.build)
        print(json.dumps(info))
        return 0
    if args.build_segmented:
        size, k = (int(x) for x in args.build_segmented.split(":"))
        index, info = common.segmented_index(size, k)
        common.merged_copy(index)
        print(json.dumps(info))
        return 0
    if args.child:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        if args.dense == "flat":
            _use_flat_dense()
        row = child(args.child, args.queries)
        row["threads"] = args.threads or "default"
        print(json.dumps(row))
        return 0

    if args.no_ask:
        os.environ["QA_BENCH_NO_ASK"] = "1"
    specs = [f"synth:{n}" for n in common.parse_sizes(args.sizes)] if args.sizes else []
    if not args.no_scifact and (SCIFACT_INDEX / "manifest.json").exists():
        specs.append("scifact")
    codes = {"before": args.against, "after": None} if args.against else {"after": None}
    commits = {c: common.code_commit(path) for c, path in codes.items()}
    plan: list[tuple[str, str, str | None]] = []  # (child spec, code label, checkout)
    for spec in specs:
        for c, path in codes.items():
            if spec == "scifact" and path is not None:
                continue  # the eval index is in this checkout's format
            plan.append((spec, c, path))
        if args.flat_too and spec.startswith("synth:") and int(spec[6:]) <= 200_000:
            plan.append((spec, "flat", None))  # above 200k chunks the dense part is IVF
    if args.segments:
        size = common.parse_sizes(args.segments_size)[0]
        plan += [(f"{kind}:{size}:{args.segments}", "after", None)
                 for kind in ("segmented", "merged")]
    extra = ["--threads", str(args.threads)] if args.threads else []
    runs: dict[int, list[dict]] = {i: [] for i in range(len(plan))}
    for round_ in range(args.rounds):
        for i, (spec, c, path) in enumerate(plan):
            dense = ["--dense", "flat"] if c == "flat" else []
            row = common.run_json([__file__, "--child", spec, "--queries", str(args.queries),
                                   *extra, *dense], code=path)
            row["code"], row["round"] = c, round_ + 1
            print(json.dumps(row), flush=True)
            runs[i].append(row)
    rows = [_median_row(runs[i]) for i in range(len(plan))]
    body = render(rows, args.threads, commits)
    print(body)
    if not args.no_write:
        common.replace_section(args.section, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
