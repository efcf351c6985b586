"""Load and start-up: time to open an index, and wall time of a cold `qa ask`.

    .venv/bin/python bench/bench_startup.py [--sizes 10k,100k] [--runs 3] [--no-write]

- *Open*: `Retriever.open(index)` in a fresh process (the OS file cache is warm, as it is for
  a user who ran `qa` a minute ago), plus the `import qa.search.retriever` that precedes it.
- *Cold `qa ask`*: the whole command from a new process to the printed answer: interpreter
  start, imports, index open, model load, search and answer, on the seed corpus index and
  on the synthetic indexes.
The chat's time to screen and to ready is measured by bench/bench_tui.py in its own section.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SECTION = "Load and start-up"
QA = Path(sys.executable).with_name("qa")
QUESTION = "What did China say about Ukraine's sovereignty?"


def open_child(index: str) -> dict:
    """Import and open in this (fresh) process."""
    t = time.perf_counter()
    from qa.search.retriever import Retriever

    imported = time.perf_counter() - t
    t = time.perf_counter()
    retriever = Retriever.open(index)
    opened = time.perf_counter() - t
    return {"import_seconds": imported, "open_seconds": opened,
            "chunks": retriever.stats.chunks, "rss_mib": common.peak_rss_mib()}


def cold_ask(index: Path, runs: int) -> dict:
    """Median wall time of `qa ask QUESTION --index index` in a new process."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run([str(QA), "ask", QUESTION, "--index", str(index)],
                              capture_output=True, text=True, cwd=common.ROOT, timeout=600)
        times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return {"median_seconds": statistics.median(times), "min_seconds": min(times),
            "runs": runs}


def seed_index() -> Path:
    """The seed corpus (corpus/) built into a bench folder, so index/ is left to the user."""
    from qa import build_index

    index = common.WORK / "seed-index"
    build_index(corpus=common.ROOT / "corpus", index=index)
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k", help="synthetic indexes to open")
    parser.add_argument("--runs", type=int, default=3, help="cold runs per measurement")
    parser.add_argument("--no-write", action="store_true", help="print; leave the doc alone")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(open_child(args.child)))
        return 0

    targets: list[tuple[str, Path]] = [("seed corpus (5 articles)", seed_index())]
    for size in common.parse_sizes(args.sizes) if args.sizes else []:
        _, index, _ = common.synthetic_index(size)
        targets.append((f"synthetic {common.size_label(size)}", index))

    rows = []
    for label, index in targets:
        opens = [common.run_json([__file__, "--child", str(index)]) for _ in range(args.runs)]
        row = {
            "label": label,
            "chunks": opens[0]["chunks"],
            "import_seconds": statistics.median(o["import_seconds"] for o in opens),
            "open_seconds": statistics.median(o["open_seconds"] for o in opens),
            "rss_mib": statistics.median(o["rss_mib"] for o in opens),
            "ask": cold_ask(index, args.runs),
        }
        print(json.dumps(row))
        rows.append(row)

    out = [common.section_header(), "",
           "| index | chunks | import s | open s | RSS after open MiB | cold `qa ask` s |",
           "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        ask = r["ask"]
        ask_text = f"{ask['median_seconds']:.1f}" if "median_seconds" in ask else (
            f"n/a ({ask['error']})")
        out.append(f"| {r['label']} | {r['chunks']} | {r['import_seconds']:.2f} | "
                   f"{r['open_seconds']:.3f} | {r['rss_mib']:.0f} | {ask_text} |")
    out += [
        "",
        f"Medians of {args.runs} runs, each in a new process. *import*: `import qa.search.retriever`; "
        "*open*: `Retriever.open` (manifest, chunk tables, BM25 weights; the model is not "
        "loaded). *Cold `qa ask`*: wall time of "
        f"`qa ask \"{QUESTION}\" --index ...` from process start to exit, model load "
        "included. Chat time-to-screen and time-to-ready: see *Chat start-up*.",
        "",
    ]
    body = "\n".join(out)
    print(body)
    if not args.no_write:
        common.replace_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
