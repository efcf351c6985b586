"""Quality figures into docs/benchmarks.md: `qa eval --beir` on SciFact and `qa eval --qa`.

    .venv/bin/python bench/bench_quality.py [--skip-beir] [--split test] [--no-write]

Runs `qa eval --beir` on SciFact (the table beside the published anchors) and `qa eval --qa`
on the TEST split of each question set — bench/sets/seeds.jsonl over corpus/, the SQuAD 2.0
subset, bench/sets/wikinews.jsonl and bench/sets/wikinews_fresh.jsonl (all test) over the
Wikinews articles — with the naive baseline in the same run: answer in cited text, cited
characters, abstention, answers at confidence >= 0.8 that are wrong, whether the answer
phrase holds the answer, and the reliability of the confidence. Tuning
(bench/fit_answerer.py) reads only the dev splits.
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
QA_SECTION = "Answer quality: test splits, qa beside the baseline"

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


def qa_body(results: list[tuple[str, dict]], command: str) -> str:
    """qa beside the baseline on each set's split, where abstention stands, and how reliable
    qa's confidence is."""
    rows = ["| set (split) | questions | answer in cited text, qa / baseline | cited chars, qa / "
            "baseline | false abstention | unanswerable abstained | off-topic abstained | "
            "sure and wrong | phrase holds answer | answer in top-5 | p50 ms, qa / baseline |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def rate(v: float | None) -> str:
        return "—" if v is None else f"{v:.3f}"

    for name, d in results:
        qa, base, kinds = d["qa"], d["baseline"], d["kinds"]
        rows.append(
            f"| {name} ({d['split']}) | {d['questions']} ({kinds['answerable']} answerable) | "
            f"**{rate(qa['answer_in_citations'])}** / {rate(base['answer_in_citations'])} | "
            f"{qa['cited_characters'] or 0:.0f} / {base['cited_characters'] or 0:.0f} | "
            f"{rate(qa['false_abstention'])} | {rate(qa['correct_abstention_unanswerable'])} | "
            f"{rate(qa['correct_abstention_off_topic'])} | {rate(qa.get('sure_and_wrong'))} | "
            f"{rate(qa.get('phrase_holds_answer'))} | {rate(d['answer_in_top_k'])} | "
            f"{qa['p50_ms'] or 0:.0f} / {base['p50_ms'] or 0:.0f} |")
    out = [f"Command: `{command}` (one run per set; qa and the baseline answer the same "
           "questions in the same run).", "", *rows, "",
           "*Sure and wrong*: answers given at confidence >= 0.8 whose cited text holds no "
           "expected answer, as a share of all answered questions. *Phrase holds answer*: of "
           "the answers whose citations hold an expected answer, the share whose marked answer "
           "phrase holds one.", ""]
    for name, d in results:
        curve = d.get("curve") or []
        picks = [p for p in curve if p["false_abstention"] is not None
                 and p["false_abstention"] <= 0.10]
        if picks:
            p = max(picks, key=lambda p: p["threshold"])
            out.append(f"- {name}: at false abstention <= 0.10 (threshold {p['threshold']:.2f}) "
                       f"qa abstains on {rate(p['correct_abstention_unanswerable'])} of the "
                       f"unanswerable and {rate(p['correct_abstention_off_topic'])} of the "
                       "off-topic questions.")
    out += ["", "Reliability of the confidence (answers given, by confidence: answers / share "
                "right):", "",
            "| set (split) | " + " | ".join(
                f"{b['low']:.1f}-{b['high']:.1f}" for b in (results[0][1].get("reliability")
                                                            or [])) + " |",
            "|---|" + "---:|" * len(results[0][1].get("reliability") or [])]
    for name, d in results:
        bins = d.get("reliability") or []
        out.append(f"| {name} ({d['split']}) | " + " | ".join(
            f"{b['answers']} / {rate(b['right'])}" for b in bins) + " |")
    return "\n".join(out) + "\n"


WIKINEWS = common.ROOT.parent / "shared" / "news" / "wikinews"
SQUAD_SPLIT = common.ROOT / "bench" / "sets" / "squad2-split.json"  # its dev and test articles
SETS = (  # (name, file, corpus or None for SQuAD, splits it has, its split file or None)
    ("seeds", common.ROOT / "bench" / "sets" / "seeds.jsonl", common.ROOT / "corpus",
     ("dev", "test"), None),
    ("SQuAD 2.0 subset", common.ROOT.parent / "shared" / "eval" / "squad2-dev-subset"
     / "dev-v2.0-first5.json", None, ("dev", "test"), SQUAD_SPLIT),
    ("Wikinews", common.ROOT / "bench" / "sets" / "wikinews.jsonl", WIKINEWS, ("dev", "test"),
     None),
    ("Wikinews, new questions", common.ROOT / "bench" / "sets" / "wikinews_fresh.jsonl", WIKINEWS,
     ("test",), None),
    ("Wikinews, dev questions", common.ROOT / "bench" / "sets" / "wikinews_dev.jsonl", WIKINEWS,
     ("dev",), None),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beir", default=str(common.SCIFACT))
    parser.add_argument("--beir-json", help="read the --beir figures from this file")
    parser.add_argument("--split", action="append", choices=["dev", "test"],
                        help="question-set split(s) to report (default: test; dev for tuning)")
    parser.add_argument("--skip-beir", action="store_true")
    parser.add_argument("--skip-qa", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    args.split = args.split or ["test"]

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
        results = []
        for name, file, corpus, splits, split_file in SETS:
            for split in args.split:
                if split not in splits:
                    continue
                extra = ["--corpus", str(corpus)] if corpus else []
                extra += ["--split-file", str(split_file)] if split_file else []
                data, _ = run_eval(["--qa", str(file), "--split", split, *extra])
                results.append((name, data))
        body = qa_body(results, "qa eval --qa SET --split SPLIT [--corpus DIR] [--split-file FILE]")
        print(body)
        if not args.no_write:
            common.replace_section(QA_SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
