"""Where time goes: cProfile of a build and of queries, with the biggest entries kept.

    .venv/bin/python bench/bench_profile.py [--docs 300] [--size 100k] [--no-write]

Three profiles, each in its own child process:
1. a full build of the first `--docs` SciFact abstracts with the real model;
2. an incremental build that adds one article to the synthetic `--size` index;
3. 30 hybrid searches and 30 `Assistant.ask` calls on the synthetic `--size` index.
Each prints the functions with the largest cumulative time (the calls they make included)
and the largest own time, and the `.prof` files are left in the bench folder for snakeviz
or `python -m pstats`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SECTION = "Where the time goes (profiles)"


def _top(profile: cProfile.Profile | str, sort: str, n: int) -> list[dict]:
    stats = pstats.Stats(profile, stream=io.StringIO())
    stats.sort_stats(sort)
    rows = []
    for func in stats.fcn_list[:n]:  # type: ignore[attr-defined]  (set by sort_stats)
        cc, nc, tt, ct, _ = stats.stats[func]  # type: ignore[attr-defined]
        filename, line, name = func
        short = filename.split("site-packages/")[-1].split("/work/main/")[-1]
        rows.append({"function": f"{short}:{line}({name})", "calls": nc,
                     "own_s": round(tt, 3), "cumulative_s": round(ct, 3)})
    return rows


def _run(profile_name: str, fn) -> dict:
    profile = cProfile.Profile()
    t = time.perf_counter()
    profile.enable()
    fn()
    profile.disable()
    wall = time.perf_counter() - t
    out = common.WORK / f"{profile_name}.prof"
    out.parent.mkdir(parents=True, exist_ok=True)
    profile.dump_stats(out)
    return {"name": profile_name, "wall_s": wall, "file": str(out),
            "cumulative": _top(profile, "cumulative", 400), "own": _top(profile, "tottime", 12),
            "peak_rss_mib": common.peak_rss_mib()}


def profile_full_build(docs: int) -> dict:
    from qa import build_index

    work = Path(tempfile.mkdtemp(prefix="qa-prof-", dir=common.WORK.parent))
    try:
        (work / "corpus").mkdir()
        lines = (common.SCIFACT / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
        (work / "corpus" / "scifact.jsonl").write_text("\n".join(lines[:docs]) + "\n")
        # Model load included: it is part of what a user's first `qa index` pays.
        return _run("build-full", lambda: build_index(corpus=work / "corpus",
                                                      index=work / "index", full=True))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def profile_incremental(size: int) -> dict:
    from qa import build_index
    from qa.embed.embedder import SentenceTransformerEmbedder

    corpus, index, _ = common.index_plus_one_article(size, "added-profile.txt")
    embedder = SentenceTransformerEmbedder()
    embedder.load()
    return _run(f"build-incremental-{common.size_label(size)}",
                lambda: build_index(corpus=corpus, index=index, embedder=embedder))


def profile_queries(size: int) -> dict:
    from qa import Retriever
    from qa.answer import Assistant

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_query import questions

    _, index, _ = common.synthetic_index(size)
    retriever = Retriever.open(index)
    retriever.warm_up()
    asks = questions(30)
    retriever.search(asks[0], k=10)
    assistant = Assistant(retriever)

    def work() -> None:
        for q in asks:
            retriever.search(q, k=10, mode="hybrid")
        for q in asks:
            assistant.ask(q)

    return _run(f"queries-{common.size_label(size)}", work)


def _ours(rows: list[dict]) -> list[dict]:
    """Rows for qa's own functions (where in our code the time is spent, callees included)."""
    return [row for row in rows if row["function"].startswith("qa/")]


def render(results: list[dict], command: str | None = None) -> str:
    out = [common.section_header(command), ""]
    for r in results:
        out += [f"### {r['name']} ({r['wall_s']:.1f} s under the profiler, peak RSS "
                f"{r['peak_rss_mib']:.0f} MiB)", "",
                "qa's functions by cumulative time (callees included):", "",
                "| cumulative s | own s | calls | function |", "|---:|---:|---:|---|"]
        for row in _ours(r["cumulative"])[:12]:
            out.append(f"| {row['cumulative_s']:.2f} | {row['own_s']:.2f} | {row['calls']} | "
                       f"`{row['function']}` |")
        out += ["", "Largest own time (anywhere, libraries included):", "",
                "| own s | calls | function |", "|---:|---:|---|"]
        for row in r["own"][:8]:
            out.append(f"| {row['own_s']:.2f} | {row['calls']} | `{row['function']}` |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=300, help="SciFact documents to build")
    parser.add_argument("--size", default="100k", help="synthetic index size for 2 and 3")
    parser.add_argument("--only", help="comma list of full,incremental,queries")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default torch's)")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite the section from the .prof files of the last run")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = common.parse_sizes(args.size)[0]
    if args.child:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        fn = {"full": lambda: profile_full_build(args.docs),
              "incremental": lambda: profile_incremental(size),
              "queries": lambda: profile_queries(size)}[args.child]
        print(json.dumps(fn()))
        return 0
    if args.render_only:
        saved = json.loads((common.WORK / "profiles.json").read_text())
        for r in saved:
            r["cumulative"] = _top(r["file"], "cumulative", 400)
            r["own"] = _top(r["file"], "tottime", 12)
        common.replace_section(SECTION, render(saved, saved[0].get("command")))
        return 0
    kinds = (args.only or "full,incremental,queries").split(",")
    results = []
    for kind in kinds:
        extra = ["--threads", str(args.threads)] if args.threads else []
        r = common.run_json([__file__, "--child", kind, "--docs", str(args.docs),
                             "--size", args.size, *extra])
        print(f"== {r['name']}: {r['wall_s']:.1f} s")
        for row in _ours(r["cumulative"])[:12]:
            print(f"  {row['cumulative_s']:8.2f} {row['own_s']:8.2f} {row['calls']:>8} "
                  f"{row['function']}")
        results.append(r)
    body = render(results)
    summary = [{k: r[k] for k in ("name", "wall_s", "file", "peak_rss_mib")} for r in results]
    for row in summary:  # a later --render-only names the run that made the profiles
        row["command"] = common.command_line()
    (common.WORK / "profiles.json").write_text(json.dumps(summary))
    if not args.no_write:
        common.replace_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
