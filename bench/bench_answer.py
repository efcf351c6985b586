"""Warm answers: `Assistant.ask` latency, its time per stage and its cProfile, for this
checkout beside another (`--against`) in one run, and whether the two give the same answers.

    .venv/bin/python bench/bench_answer.py [--against /tmp/qa-before] [--corpora wikinews,10k]
        [--profiled 20] [--no-write]

Corpora: `wikinews` (the 295 Wikinews articles, ~1,646 chunks, built with the real model; the
questions are the test splits of bench/sets/wikinews.jsonl and wikinews_fresh.jsonl), `seeds`
(corpus/, the test split of bench/sets/seeds.jsonl), and synthetic sizes such as `10k` or
`100k` (bench/common.py: random chunk and sentence vectors, real query encoding; questions
from Wikinews headlines, as bench/bench_query.py asks). Each checkout builds its own index of
each corpus (formats differ), once, in a process of its own.

Measured in a fresh process per corpus and checkout: the model and the index are loaded and
three other questions asked first (warm), then every question once, timed: wall time per
answer and per stage (inclusive: a stage's time includes the stages it calls; "encode" is
every call of the model, "sentence vectors" the answerer's reads or embeddings of candidate
sentences). Then a fresh `Assistant` (empty caches, as in the timed pass) answers the first
`--profiled` questions under cProfile; the table gives the entries per answer. The answers
(citations, abstention) of the two checkouts are compared question by question.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

SECTION = "Warm answer: sentence vectors at index time"
SETS = {"wikinews": [("wikinews.jsonl", "test"), ("wikinews_fresh.jsonl", "test")],
        "seeds": [("seeds.jsonl", "test")]}
WIKINEWS = common.NEWS / "wikinews"
NOTES = [
    "What changed: candidate sentences are embedded when the index is built (a float16 part of "
    "each segment, qa/index/sentences.py) instead of at question time, the search's query "
    "vector is reused by the answerer instead of being encoded twice, and the question's spaCy "
    "parse runs on one BLAS thread (on two, OpenBLAS's threads waited for each other on "
    "spaCy's small matrices: 200-450 ms a parse at load 20, 29-32 ms on one thread).",
    "",
    "Same answers: citations and abstention equal question by question. On the synthetic "
    "sizes they cannot be: there the chunk and sentence vectors of the index are random "
    "(bench/common.py), while the code before embedded candidate sentences with the real "
    "model at question time; those rows measure time only.",
]
WARM_UP = ["What happened today?", "Who said it?", "Why did prices rise?"]
# (module, class or None, attribute, stage): what the timed pass wraps, where it exists.
STAGES = [
    ("qa.answer.assistant", None, "read_question", "read question"),
    ("qa.search.retriever", "Retriever", "find", "search"),  # `search` calls it, where it exists
    ("qa.search.retriever", "Retriever", "search", "search"),
    ("qa.search.retriever", "Retriever", "encode", "encode"),
    ("qa.answer.assistant", None, "gather", "candidates"),
    ("qa.answer.assistant", "Assistant", "_describe", "features"),
    ("qa.answer.evidence", "Evidence", "sentence_vectors", "sentence vectors"),
    ("qa.answer.scoring", "AnswerModel", "rank", "score"),
    ("qa.answer.compose", "Composer", "compose", "compose"),
]


def _corpus_index(corpus: str) -> tuple[Path, list[tuple[str, tuple[str, ...]]]]:
    """Build (once) this checkout's index of `corpus`; its questions (text, history)."""
    from qa import build_index
    from qa.evaluation.qasets import load_qa_examples

    if corpus in SETS:
        source = WIKINEWS if corpus == "wikinews" else common.ROOT / "corpus"
        index = common.index_folder(common.WORK / f"answer-{corpus}")
        build_index(corpus=source, index=index)
        asks = [(e.question, tuple(e.history)) for name, split in SETS[corpus]
                for e in load_qa_examples(common.ROOT / "bench" / "sets" / name, split)]
        return index, asks
    from bench_query import questions

    _, index, _ = common.synthetic_index(common.parse_sizes(corpus)[0])
    return index, [(q, ()) for q in questions(60)]


def _wrap(timings: dict[str, float]) -> None:
    """Time the stages of STAGES (those this checkout has) into `timings`."""
    import importlib

    done: set[tuple[str, str]] = set()
    for module, owner, attr, stage in STAGES:
        mod = importlib.import_module(module)
        target = getattr(mod, owner) if owner else mod
        fn = target.__dict__.get(attr) if owner else getattr(mod, attr, None)
        if fn is None or (module, stage) in done:
            continue
        done.add((module, stage))

        def timed(*args, _fn=fn, _stage=stage, **kwargs):
            t = time.perf_counter()
            try:
                return _fn(*args, **kwargs)
            finally:
                timings[_stage] += time.perf_counter() - t

        setattr(target, attr, timed)


def _answer_key(answer) -> dict:
    return {"abstained": answer.abstained, "confidence": round(answer.confidence or 0.0, 6),
            "citations": [[c.article_id, c.start, c.end] for c in answer.citations]}


def measure(corpus: str, profiled: int) -> dict:
    from qa import Retriever
    from qa.answer import Assistant

    index, asks = _corpus_index(corpus)
    retriever = Retriever.open(index)
    retriever.warm_up()
    assistant = Assistant(retriever)
    for q in WARM_UP:
        assistant.ask(q)
    stages: dict[str, list[float]] = defaultdict(list)
    timings: dict[str, float] = defaultdict(float)
    _wrap(timings)
    walls, answers = [], []
    for q, history in asks:
        timings.clear()
        t = time.perf_counter()
        answer = assistant.ask(q, list(history))
        walls.append((time.perf_counter() - t) * 1000)
        for stage in {s for *_, s in STAGES}:
            stages[stage].append(timings.get(stage, 0.0) * 1000)
        answers.append(_answer_key(answer))
    fresh = Assistant(retriever)
    for q in WARM_UP:
        fresh.ask(q)
    profile = cProfile.Profile()
    profile.enable()
    for q, history in asks[:profiled]:
        fresh.ask(q, list(history))
    profile.disable()
    n = min(profiled, len(asks))
    files = retriever.manifest.files
    sentence_bytes = sum(v for k, v in files.items() if k.endswith("/sent_vectors.npy"))
    return {"corpus": corpus, "chunks": retriever.stats.chunks, "questions": len(asks),
            "sentence_bytes_per_chunk": sentence_bytes / max(retriever.stats.chunks, 1),
            "p50_ms": common.percentile(walls, 50), "p90_ms": common.percentile(walls, 90),
            "mean_ms": statistics.fmean(walls),
            "stages_p50_ms": {s: common.percentile(v, 50) for s, v in stages.items()},
            "stages_mean_ms": {s: statistics.fmean(v) for s, v in stages.items()},
            "profile": _top(profile, n), "answers": answers, "load": common._load()}


def _top(profile: cProfile.Profile, n: int, rows: int = 14) -> list[list]:
    stats = pstats.Stats(profile, stream=io.StringIO())
    stats.sort_stats("cumulative")
    out = []
    for func in stats.fcn_list:  # type: ignore[attr-defined]
        _, calls, own, cumulative, _ = stats.stats[func]  # type: ignore[attr-defined]
        filename, line, name = func
        short = filename.split("site-packages/")[-1]
        short = short[short.rfind("/qa/") + 1:] if "/qa/" in short else short
        if name in ("<built-in method builtins.exec>", "ask") and "assistant" not in short:
            continue
        out.append([round(cumulative / n * 1000, 1), round(own / n * 1000, 1),
                    round(calls / n, 1), f"{short}:{line}({name})"])
        if len(out) >= rows:
            break
    return out


def render(results: dict[str, dict[str, dict]], commits: dict[str, str], corpora: list[str],
           command: str) -> str:
    labels = list(results)
    out = [common.section_header(command), "",
           "Checkouts: " + ", ".join(f"{c} = {commits[c]}" for c in labels) + ". Warm: model "
           "and index loaded, three other questions asked first; each question then asked "
           "once. Stages are inclusive (search includes its query encoding; features include "
           "the sentence vectors).", ""]
    out += ["| corpus | chunks | questions | " + " | ".join(
        f"p50 ms {c} | p90 ms {c}" for c in labels) + " | same answers |",
        "|---|---:|---:|" + "---:|---:|" * len(labels) + "---:|"]
    for corpus in corpora:
        rows = [results[c][corpus] for c in labels]
        same = ""
        if len(rows) == 2:
            a, b = rows[0]["answers"], rows[1]["answers"]
            cites = sum(x["citations"] == y["citations"] and x["abstained"] == y["abstained"]
                        for x, y in zip(a, b))
            same = f"{cites} / {len(a)}"
        out.append(f"| {corpus} | {rows[-1]['chunks']} | {rows[-1]['questions']} | " + " | ".join(
            f"{r['p50_ms']:.0f} | {r['p90_ms']:.0f}" for r in rows) + f" | {same} |")
    out += ["", *NOTES]
    last = labels[-1]
    sizes = ", ".join(f"{corpus} {results[last][corpus]['sentence_bytes_per_chunk']:,.0f}"
                      for corpus in corpora)
    out += ["", f"The sentence vectors part ({last}) takes, in bytes per chunk: {sizes}."]
    out += ["", "Time per stage, mean ms per answer (inclusive):", "",
            "| corpus | checkout | " + " | ".join(s for s in dict.fromkeys(s for *_, s in STAGES))
            + " | answer |", "|---|---|" + "---:|" * (len(dict.fromkeys(s for *_, s in STAGES)) + 1)]
    for corpus in corpora:
        for c in labels:
            r = results[c][corpus]
            out.append(f"| {corpus} | {c} | " + " | ".join(
                f"{r['stages_mean_ms'].get(s, 0.0):.1f}" for s in dict.fromkeys(
                    s for *_, s in STAGES)) + f" | {r['mean_ms']:.1f} |")
    for corpus in corpora:
        for c in labels:
            r = results[c][corpus]
            out += ["", f"cProfile, {corpus}, {c}: per answer (cumulative ms, own ms, calls):", "",
                    "| cumulative ms | own ms | calls | function |", "|---:|---:|---:|---|"]
            out += [f"| {a} | {b} | {n} | `{f}` |" for a, b, n, f in r["profile"]]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", help="another checkout of qa to measure beside this one")
    parser.add_argument("--corpora", default="wikinews,10k")
    parser.add_argument("--profiled", type=int, default=20, help="answers under cProfile")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args.profiled)))
        return 0
    corpora = args.corpora.split(",")
    codes = {"before": args.against, "after": None} if args.against else {"after": None}
    commits = {c: common.code_commit(p) for c, p in codes.items()}
    results: dict[str, dict[str, dict]] = {c: {} for c in codes}
    for corpus in corpora:
        for c, path in codes.items():
            r = common.run_json([__file__, "--child", corpus, "--profiled", str(args.profiled)],
                                code=path)
            results[c][corpus] = r
            print(c, corpus, f"p50 {r['p50_ms']:.0f} ms", json.dumps(r["stages_mean_ms"]),
                  flush=True)
    (common.WORK / "answer-bench.json").write_text(json.dumps(results))
    body = render(results, commits, corpora, common.command_line())
    print(body)
    if not args.no_write:
        common.replace_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
