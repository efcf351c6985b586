"""Quality figures into docs/benchmarks.md: `qa eval --beir` on SciFact and `qa eval --qa`.

    .venv/bin/python bench/bench_quality.py [--beir ../shared/eval/scifact] [--qa-index DIR]
                                            [--beir-json FILE] [--qa-json FILE] [--no-write]

Runs the two `qa eval` commands (or reads their `--json` output from files, when a long run
was done already) and writes the SciFact table next to the published anchors, and the
dev-set figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

QA = Path(sys.executable).with_name("qa")
BEIR_SECTION = "Retrieval quality: SciFact (BEIR)"
QA_SECTION = "Answer quality: dev set"
# The development set the answers were tuned on, and the held-out one written before
# looking at answers: the second is the honest figure.
DEV_SETS = [common.ROOT / "qa" / "devset.jsonl", common.ROOT / "qa" / "devset_heldout.jsonl"]

# Published SciFact test nDCG@10 figures to compare with (see the issue): Pyserini BM25
# (BEIR's multifield), all-MiniLM-L6-v2 alone, and the two usual ways of fusing them.
ANCHORS = [
    ("BM25 (Pyserini)", 0.679),
    ("all-MiniLM-L6-v2", 0.645),
    ("BM25 + MiniLM, RRF", 0.714),
    ("BM25 + MiniLM, tuned convex combination", 0.734),
]


def run_eval(args: list[str]) -> tuple[dict, str]:
    """Run `qa eval ... --json`; return the figures and the command line shown in the doc."""
    proc = subprocess.run([str(QA), "eval", *args, "--json"], cwd=common.ROOT,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"qa eval {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout), "qa eval " + " ".join(args)


def beir_body(data: dict, command: str) -> str:
    ds = data["dataset"]
    modes = [m for m in ("hybrid", "dense", "bm25") if m in data]
    out = [common.section_header(command), "",
           f"{ds['documents']} documents, {ds['queries']} {ds['split']} queries, "
           f"{ds['chunks']} chunks. Document-level scores: a document ranks at its best "
           "chunk (1000 chunks retrieved per query, collapsed to documents), so the figures "
           "compare with published BEIR numbers.", "",
           "| mode | nDCG@10 | Recall@100 | MRR@10 |", "|---|---:|---:|---:|"]
    for m in modes:
        s = data[m]
        out.append(f"| {m} | {s['ndcg@10']:.4f} | {s['recall@100']:.4f} | {s['mrr@10']:.4f} |")
    out += ["", "Published anchors (nDCG@10):", "", "| system | nDCG@10 | ours - anchor |",
            "|---|---:|---:|"]
    ours = {"BM25 (Pyserini)": data.get("bm25"), "all-MiniLM-L6-v2": data.get("dense"),
            "BM25 + MiniLM, RRF": data.get("hybrid"),
            "BM25 + MiniLM, tuned convex combination": data.get("hybrid")}
    for name, value in ANCHORS:
        mine = ours.get(name)
        delta = f"{mine['ndcg@10'] - value:+.4f}" if mine else "n/a"
        out.append(f"| {name} | {value:.3f} | {delta} |")
    out += ["", "*ours - anchor* compares our BM25 with Pyserini BM25, our dense mode with "
            "MiniLM alone, and our hybrid with both fusion anchors.", ""]
    return "\n".join(out)


def qa_body(data: dict, command: str) -> str:
    def show(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    k = data["k"]
    abstained = sum(1 for o in data["outcomes"] if o["abstained"])
    out = [common.section_header(command), "",
           f"{data['questions']} questions ({data['answerable']} answerable) from "
           f"`{Path(data['file']).name}`, asked one at a time.", "",
           "| figure | value | over |", "|---|---:|---|",
           f"| answer in top-{k} passages | {show(data[f'answer_in_top_{k}'])} | "
           f"{data['answerable']} answerable |",
           f"| answer inside cited sentences | {show(data['answer_in_citations'])} | "
           f"{data['answerable']} answerable |",
           f"| abstention precision | {show(data['abstention_precision'])} | "
           f"{abstained} abstentions |",
           f"| abstention recall | {show(data['abstention_recall'])} | "
           f"{data['questions'] - data['answerable']} unanswerable |", "",
           "An answer is *found* when any expected string occurs (case-insensitive, spacing "
           "ignored) in the top-k passages or in the concatenated cited sentences; an "
           "abstention counts as a miss. Abstention precision = abstentions on unanswerable "
           "questions / all abstentions; recall = abstentions on unanswerable / unanswerable.",
           ""]
    misses = [o["question"] for o in data["outcomes"]
              if o["answerable"] and not o["in_citations"]]
    wrong_answers = [o["question"] for o in data["outcomes"]
                     if not o["answerable"] and not o["abstained"]]
    if misses:
        out += ["Answerable but not answered in the citations: "
                + "; ".join(f"“{q}”" for q in misses) + ".", ""]
    if wrong_answers:
        out += ["Unanswerable but answered: " + "; ".join(f"“{q}”" for q in wrong_answers)
                + ".", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beir", default=str(common.SCIFACT))
    parser.add_argument("--beir-json", help="read the --beir figures from this file")
    parser.add_argument("--qa-index", default=str(common.WORK / "seed-index"),
                        help="index of corpus/ for the dev set (built when missing)")
    parser.add_argument("--qa-file", action="append",
                        help="dev set to run (repeatable; default: both packaged sets)")
    parser.add_argument("--qa-json", action="append",
                        help="read --qa figures from this file (repeatable)")
    parser.add_argument("--skip-beir", action="store_true")
    parser.add_argument("--skip-qa", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    beir_display = "../shared/eval/scifact" if Path(args.beir).resolve() == \
        common.SCIFACT.resolve() else args.beir
    if not args.skip_beir:
        if args.beir_json:
            data, cmd = json.loads(Path(args.beir_json).read_text()), f"qa eval --beir {beir_display}"
        else:
            data, cmd = run_eval(["--beir", args.beir])
            cmd = f"qa eval --beir {beir_display}"
        body = beir_body(data, cmd)
        print(body)
        if not args.no_write:
            common.replace_section(BEIR_SECTION, body)
    if not args.skip_qa:
        if args.qa_json:
            results = [json.loads(Path(f).read_text()) for f in args.qa_json]
        else:
            from qa import build_index

            build_index(corpus=common.ROOT / "corpus", index=args.qa_index)
            files = args.qa_file or [str(f) for f in DEV_SETS if f.exists()]
            results = [run_eval(["--qa", f, "--index", args.qa_index])[0] for f in files]
        parts = []
        for data in results:
            name = Path(data["file"]).name
            parts.append(f"### {name}\n\n" + qa_body(
                data, f"qa index --corpus corpus --index IDX && qa eval --qa qa/{name} --index IDX"))
        body = "\n".join(parts)
        print(body)
        if not args.no_write:
            common.replace_section(QA_SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
