"""Search on a Milvus store (milvus-lite) beside the local store, and the answer dev set on both.

    .venv/bin/python bench/bench_milvus.py [--sizes 10k,100k] [--queries 30] [--no-write]

For each size, the synthetic index of bench/common.py (real Reuters-21578 and Wikinews
sentences recombined, random unit vectors; the query is embedded by the real model) is
measured as it is, on the local store, and as a hard-linked copy moved into a milvus-lite
file (`build_index(store="milvus")`: the stored vectors upserted, nothing embedded; the move
is timed), each in a fresh child process, one after the other in the same run: hybrid, dense
and BM25 `Retriever.search(k=10)` p50/p95 over the same questions.

milvus-lite is Milvus's embedded test double: pure Python, one process, an exact scan. Its
figures say what the store seam costs on it, not what a Milvus cluster serves.

Then the answer dev set (bench/sets/seeds.jsonl over the seed corpus, the real model) is asked on
the local store and on milvus-lite (a copy of the same index, moved): figures side by side and
every question whose answer differs.

milvus-lite serves its file on a 127.0.0.1 port, so the children that open it run in a network
namespace of their own (`unshare -n`; only loopback exists there).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SECTION = "Search on a Milvus store (milvus-lite)"
DEVSET = common.ROOT / "bench" / "sets" / "seeds.jsonl"


def run_child(args: list[str], *, isolated: bool) -> dict:
    """A child of this script, in a network namespace when it opens milvus-lite."""
    cmd = [*(common.netns_prefix() if isolated else []), sys.executable, __file__, *args]
    proc = subprocess.run(cmd, cwd=common.ROOT, capture_output=True, text=True, timeout=14400)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def linked_copy(src: Path, dst: Path) -> Path:
    """A copy of an index folder whose files are hard links (segments are immutable and
    every file is replaced by rename, so the copy never writes into the original)."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, copy_function=os.link)
    return dst


# --- children --------------------------------------------------------------------------------
def child_prepare(size: int) -> dict:
    """The local synthetic index (built once, cached) and its copy on milvus-lite."""
    from qa import build_index

    corpus, index, _ = common.synthetic_index(size)
    base = common.WORK / f"milvus-{common.size_label(size)}"
    base.mkdir(parents=True, exist_ok=True)
    moved = linked_copy(index, base / "index")
    db = base / "store.db"
    if db.exists():
        shutil.rmtree(db)
    started = time.perf_counter()
    report = build_index(corpus, moved, embedder=common.RandomEmbedder(), store="milvus",
                         milvus_uri=str(db))
    seconds = time.perf_counter() - started
    return {"local": str(index), "milvus": str(moved), "chunks": report.chunks,
            "move_seconds": seconds, "embedded": report.embedded_chunks}


def child_measure(index: str, n_queries: int) -> dict:
    from bench_query import questions

    from qa import Retriever

    asks = questions(n_queries)
    retriever = Retriever.open(index)
    retriever.warm_up()
    retriever.search(asks[0], k=10)  # first call: the store's one-off set-up (load, FAISS)
    out: dict = {"store": retriever.index.store.name, "chunks": retriever.stats.chunks}
    for mode in ("hybrid", "dense", "bm25"):
        times = []
        for q in asks:
            t = time.perf_counter()
            retriever.search(q, k=10, mode=mode)
            times.append((time.perf_counter() - t) * 1000)
        out[f"{mode}_p50_ms"] = common.percentile(times, 50)
        out[f"{mode}_p95_ms"] = common.percentile(times, 95)
    return out


def child_devset(store: str) -> dict:
    """The dev set on the seed corpus: the local index, or a copy moved to milvus-lite."""
    from qa import Retriever, build_index
    from qa.evaluation import evaluate_qa
    from qa.index import Index

    base = common.WORK / "milvus-devset"
    corpus = common.ROOT / "corpus"
    local = base / "index"
    build_index(corpus, local)  # the real model; cached between runs
    index = local
    if store == "milvus":
        index = linked_copy(local, base / "index-milvus")
        db = base / "store.db"
        if db.exists():
            shutil.rmtree(db)
        model = Index.open(local).manifest.model.name
        build_index(corpus, index, store="milvus", milvus_uri=str(db), model=model)
    retriever = Retriever.open(index)
    report = evaluate_qa(DEVSET, corpus=corpus, retriever=retriever)
    return {"store": retriever.index.store.name,
            "figures": {k: v for k, v in report.as_json().items() if k in ("qa", "questions")},
            "answers": {o.question: {"abstained": o.qa.abstained, "cited": list(o.qa.cited),
                                     "in_citations": o.qa.in_citations}
                        for o in report.outcomes}}


# --- the report ------------------------------------------------------------------------------
def render(rows: list[dict], dev: dict[str, dict] | None) -> str:
    lines = [common.section_header(), "",
             "Search (k=10), p50 / p95 in ms, each store in its own process, one after the "
             "other. Synthetic indexes (random unit vectors, real query encoding). "
             "**milvus-lite is a test double** (embedded, pure Python, exact scan): its figures "
             "are not a Milvus cluster's.", "",
             "| chunks | store | hybrid p50 / p95 | dense p50 / p95 | BM25 p50 / p95 | "
             "move into the store |",
             "|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        move = f"{r['move_seconds']:.0f} s ({r['chunks'] / r['move_seconds']:.0f} chunks/s, " \
               f"{r['embedded']} embedded)" if r.get("move_seconds") else "—"
        lines.append(
            f"| {r['chunks']:,} | {r['store']} | {r['hybrid_p50_ms']:.1f} / "
            f"{r['hybrid_p95_ms']:.1f} | {r['dense_p50_ms']:.1f} / {r['dense_p95_ms']:.1f} | "
            f"{r['bm25_p50_ms']:.1f} / {r['bm25_p95_ms']:.1f} | {move} |")
    if dev:
        local, milvus = dev["local"], dev["milvus"]
        lines += ["", "The answer dev set (bench/sets/seeds.jsonl, seed corpus, real model), the same "
                  "index on each store:", "",
                  "| store | answer in citations | false abstention | correct abstention "
                  "(unanswerable / off-topic) | answered |", "|---|---:|---:|---:|---:|"]
        for name, run in (("local", local), ("milvus-lite", milvus)):
            f = run["figures"]["qa"]
            lines.append(
                f"| {name} | {_pct(f['answer_in_citations'])} | {_pct(f['false_abstention'])} | "
                f"{_pct(f['correct_abstention_unanswerable'])} / "
                f"{_pct(f['correct_abstention_off_topic'])} | {f['answered']} |")
        differ = [q for q in local["answers"]
                  if _shown(local["answers"][q]) != _shown(milvus["answers"].get(q))]
        lines += ["", f"Answers equal (the same abstention, or the same cited sentences) on "
                  f"{len(local['answers']) - len(differ)} of {len(local['answers'])} questions; "
                  "where they differ, Milvus's BM25 (its own analyzer and statistics) reordered "
                  "the lexical list:"]
        for q in differ:
            a, b = local["answers"][q], milvus["answers"][q]
            lines.append(f"- {q!r}: local {_answer(a)}; milvus-lite {_answer(b)}")
    return "\n".join(lines)


def _shown(a: dict | None) -> tuple | None:
    """What a user sees of an answer: an abstention, or the cited sentences."""
    if a is None:
        return None
    return (True,) if a["abstained"] else (False, tuple(a["cited"]))


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def _answer(a: dict) -> str:
    if a["abstained"]:
        return "abstains"
    first = " ".join(a["cited"][0].split()) if a["cited"] else ""
    first = first[:90] + ("…" if len(first) > 90 else "")
    hit = "answer cited" if a["in_citations"] else "answer not cited"
    n = len(a["cited"])
    return f"{n} sentence{'s' if n != 1 else ''}, {hit} (first: “{first}”)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k")
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--no-devset", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        result = (child_prepare(int(rest[0])) if kind == "prepare" else
                  child_measure(rest[0], int(rest[1])) if kind == "measure" else
                  child_devset(rest[0]))
        print(json.dumps(result), flush=True)
        return 0
    rows = []
    for size in common.parse_sizes(args.sizes):
        prep = run_child(["--child", "prepare", str(size)], isolated=True)
        print(f"{common.size_label(size)}: moved {prep['chunks']} chunks into milvus-lite in "
              f"{prep['move_seconds']:.1f} s", file=sys.stderr, flush=True)
        for store in ("local", "milvus"):
            row = run_child(["--child", "measure", prep[store], str(args.queries)],
                            isolated=store == "milvus")
            if store == "milvus":
                row.update(move_seconds=prep["move_seconds"], embedded=prep["embedded"])
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    dev = None
    if not args.no_devset:
        dev = {store: run_child(["--child", "devset", store], isolated=store == "milvus")
               for store in ("local", "milvus")}
    text = render(rows, dev)
    print(text)
    if not args.no_write:
        common.replace_section(SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
